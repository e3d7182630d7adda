import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's commands as a user types them (README.md, top): every ```bash block, in order, through
 * bash, in a fresh copy of the checkout (sharing only node_modules), so `npm run generate`, `npm start`,
 * `npx video-pipeline`, curl and the aws CLI run exactly as written, and what they make (`.local/`,
 * `out/`, `clips/`) is the copy's.
 * What differs from a user's terminal is said here: the ports (free ones instead of 3000 and 3001,
 * replaced in the commands' text), a small LOCAL_TIME_SCALE so jobs take about a second, and the block
 * that is `npm start` alone runs in the background, as in a second terminal. A block that begins with
 * `# not run by the README test:` is skipped, with its reason; one that needs a tool this machine does
 * not have (the aws CLI) is skipped too, so that `npm test` passes with Node and npm only.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOT_RUN = '# not run by the README test:';
/** The ports the README's commands name: npm start's defaults. */
const README_API = '127.0.0.1:3000';
const README_S3 = '127.0.0.1:3001';
/** Jobs of about a second (the provider's 1–5 minutes × 0.01). */
const TIME_SCALE = '0.01';
/** Not copied: git's, the installed packages (linked instead), and what the commands make. */
const NOT_COPIED = new Set(['.git', 'node_modules', '.local', 'out', 'clips', 'cdk.out', 'cat.mp4']);

interface Block {
  /** The README line of its first command. */
  line: number;
  text: string;
}

function bashBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let start = -1;
  for (const [index, line] of lines.entries()) {
    if (start < 0 && line === '```bash') start = index;
    else if (start >= 0 && line === '```') {
      blocks.push({ line: start + 2, text: lines.slice(start + 1, index).join('\n') });
      start = -1;
    }
  }
  return blocks;
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = bashBlocks(readme);
const hasAwsCli = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0;

/** The block's first command, to name its test. */
function firstCommand(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim() && !line.startsWith('#'))
      ?.trim() ?? text.split('\n')[0]!
  );
}

function isStackBlock(block: Block): boolean {
  return /^npm start\b[^\n]*$/.test(block.text.trim());
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let workspace: string;
let env: NodeJS.ProcessEnv;
let ports: { api: string; s3: string };
let stack: { child: ChildProcess; output: () => string; exited: Promise<number | null> } | undefined;

/** The block's text with this run's ports for the README's. */
function asRun(text: string): string {
  return text.replaceAll(README_API, `127.0.0.1:${ports.api}`).replaceAll(README_S3, `127.0.0.1:${ports.s3}`);
}

/** Its own process group, so the whole of it (bash, npm, node) can be stopped as Ctrl-C would. */
function bash(script: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn('bash', ['-c', script], { cwd: workspace, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * One block as a user pastes it into the terminal of the earlier ones: what they exported is there
 * (kept in a file between blocks); the first command that fails fails the block.
 */
async function runBlock(text: string): Promise<{ code: number | null; output: string }> {
  const state = join(workspace, '.readme-test-state.sh');
  const run = bash(`if [ -f '${state}' ]; then source '${state}'; fi\nset -e\n${asRun(text)}\nexport -p > '${state}'\n`);
  const timer = setTimeout(() => process.kill(-run.child.pid!, 'SIGKILL'), 150_000);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, output: run.output() };
}

async function startStack(text: string): Promise<void> {
  stack = bash(asRun(text));
  const ready = /^export AWS_REGION=.*$/m;
  const started = Date.now();
  while (!ready.test(stack.output())) {
    const exited = await Promise.race([stack.exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 100))]);
    if (exited || Date.now() - started > 90_000) throw new Error(`npm start did not get ready:\n${stack.output()}`);
  }
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'video-pipeline-readme-'));
  for (const entry of readdirSync(ROOT)) {
    if (!NOT_COPIED.has(entry)) await cp(join(ROOT, entry), join(workspace, entry), { recursive: true });
  }
  await symlink(join(ROOT, 'node_modules'), join(workspace, 'node_modules'));
  ports = { api: String(await freePort()), s3: String(await freePort()) };
  const inherited = Object.entries(process.env).filter(([name]) => !/^(AWS_|VIDEO_PIPELINE_|LOCAL_DATA_DIR$|S3$|BUCKET$)/.test(name));
  env = { ...Object.fromEntries(inherited), PORT: ports.api, S3_PORT: ports.s3, LOCAL_TIME_SCALE: TIME_SCALE, POWERTOOLS_LOG_LEVEL: 'SILENT' };
});

afterAll(async () => {
  if (stack && stack.child.exitCode === null) {
    process.kill(-stack.child.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-stack!.child.pid!, 'SIGKILL'), 20_000);
    await stack.exited;
    clearTimeout(timer);
  }
  if (workspace) await rm(workspace, { recursive: true, force: true });
});

describe('the README', () => {
  it('has its shell commands in ```bash blocks only, so none escapes this test', () => {
    expect(readme.match(/^```(sh|shell|console|zsh)$/gm)).toBeNull();
    expect(blocks.length).toBeGreaterThan(10);
  });

  const reasonNotRun = (block: (typeof blocks)[number]) =>
    block.text.startsWith(NOT_RUN) ? block.text.split('\n')[0]!.slice(NOT_RUN.length).trim() : undefined;

  // Not a skipped test each: a block that cannot run offline says why, in the README itself.
  it('says why of every block it does not run (install, the whole test run, a deployed stack, tail -f)', () => {
    const notRun = blocks.filter((block) => block.text.startsWith(NOT_RUN));
    expect(notRun.length).toBeGreaterThan(0);
    for (const block of notRun) expect(reasonNotRun(block), `line ${block.line}`).toMatch(/\S/);
  });

  for (const block of blocks.filter((candidate) => reasonNotRun(candidate) === undefined)) {
    const name = `line ${block.line}: ${firstCommand(block.text)}`;
    const runsAsWritten = async () => {
      const { code, output } = await runBlock(block.text);
      expect(code, `README line ${block.line}:\n${block.text}\n---\n${output}`).toBe(0);
    };
    if (/^aws /m.test(block.text)) {
      // The aws CLI is not part of what npm test needs: where it is missing, these blocks are not run.
      it.runIf(hasAwsCli)(`${name} (with the aws CLI)`, runsAsWritten, 180_000);
    } else if (isStackBlock(block)) {
      it(`${name} (in the background), printing the export lines the README shows`, async () => {
        await startStack(block.text);
        const exportBlock = blocks.find((other) => other.text.startsWith('export AWS_ENDPOINT_URL_S3='));
        expect(exportBlock, 'the README shows the export lines npm start prints').toBeDefined();
        const printed = stack!
          .output()
          .split('\n')
          .filter((line) => line.startsWith('export '));
        expect(printed).toEqual(asRun(exportBlock!.text).split('\n'));
      }, 120_000);
    } else {
      it(name, runsAsWritten, 180_000);
    }
  }
});
