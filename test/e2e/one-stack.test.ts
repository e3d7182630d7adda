import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStackProcess, type StackProcess } from '../../testkit/stack-process.js';

/**
 * One local stack per data directory, and the commands that find it (README, "Run the stack and call
 * it"): `npm start`, `npm run generate`, `npm run batch` and the CLI as separate processes, as a user
 * runs them in several terminals.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** tsx by its path: a command run from another folder would not find the package. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A local command (`tsx <script>`, as its npm script runs it) to its end; cwd defaults to the checkout. */
function run(script: string, args: string[], env: Record<string, string | undefined>, cwd = ROOT): Promise<Run> {
  const child = spawn(process.execPath, ['--import', TSX, join(ROOT, script), ...args], {
    cwd,
    env: {
      ...process.env,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      LOCAL_DATA_DIR: undefined,
      PORT: undefined,
      S3_PORT: undefined,
      VIDEO_PIPELINE_API: undefined,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** A server that speaks no HTTP: it hangs up on every connection. */
async function listen(port = 0): Promise<Server> {
  const server = createServer((socket) => socket.destroy()).listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** A port whose next one is free too: npm start puts the local S3 on PORT + 1 by default. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const first = await listen();
    const port = (first.address() as AddressInfo).port;
    const second = await listen(port + 1).catch(() => undefined);
    await new Promise((resolve) => first.close(resolve));
    if (second) {
      await new Promise((resolve) => second.close(resolve));
      return port;
    }
  }
}

interface StackJson {
  pid: number;
  apiUrl: string;
  s3Url: string;
}

let dataDir: string;
let port: number;
let stack: StackProcess | undefined;
const stackEnv = () => ({ PORT: String(port), LOCAL_DATA_DIR: dataDir, LOCAL_TIME_SCALE: '0.01' });
const stackJson = async () => JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as StackJson;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-one-stack-'));
  port = await freePortPair();
  stack = await startStackProcess(stackEnv());
});

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('one stack per data directory', () => {
  it("a second npm start on the same data directory stops with one line naming the first one's pid and port (exit 1); the first goes on", async () => {
    const { pid } = await stackJson();
    const second = await run('local/commands/start.ts', [], { ...stackEnv(), PORT: '0' });
    expect(second.code).toBe(1);
    expect(second.stdout).toBe('');
    expect(second.stderr).toBe(
      `npm start: a local stack already runs on ${dataDir}: npm start, pid ${pid}, API on port ${port}. Stop it first, or set LOCAL_DATA_DIR to another folder\n`,
    );
    expect((await fetch(`${stack!.apiUrl}/jobs`)).status).toBe(200);
  });

  it('a busy PORT or S3_PORT is one line naming what holds it (exit 1), and leaves no stack.json', async () => {
    const other = await mkdtemp(join(tmpdir(), 'video-pipeline-one-stack-other-'));
    const foreign = await listen();
    const foreignPort = (foreign.address() as AddressInfo).port;
    try {
      const onOurs = await run('local/commands/start.ts', [], { PORT: String(port), LOCAL_DATA_DIR: other });
      expect(onOurs.code).toBe(1);
      expect(onOurs.stderr).toBe(
        `npm start: PORT ${port} is in use by the local stack on ${dataDir} (pid ${(await stackJson()).pid}): stop it, or set PORT to a free port (PORT=0 takes any)\n`,
      );
      const onForeign = await run('local/commands/start.ts', [], { PORT: '0', S3_PORT: String(foreignPort), LOCAL_DATA_DIR: other });
      expect(onForeign.code).toBe(1);
      expect(onForeign.stderr).toBe(
        `npm start: S3_PORT ${foreignPort} is in use by another program: stop it, or set S3_PORT to a free port (S3_PORT=0 takes any)\n`,
      );
      expect(existsSync(join(other, 'stack.json'))).toBe(false);
    } finally {
      await new Promise((resolve) => foreign.close(resolve));
      await rm(other, { recursive: true, force: true });
    }
  });

  it('npm run generate while npm start runs submits to it and writes the video (exit 0)', async () => {
    const out = join(dataDir, 'clips');
    const generated = await run('local/commands/generate.ts', ['A paper boat', '--duration', '4', '--resolution', '480p', '--out', out], {
      LOCAL_DATA_DIR: dataDir,
    });
    expect(generated.code, `${generated.stdout}\n${generated.stderr}`).toBe(0);
    expect(generated.stdout).toContain(`Using the local stack of npm start (pid ${(await stackJson()).pid}) at ${stack!.apiUrl}\n`);
    const jobId = /^Job (\S+) accepted/m.exec(generated.stdout)![1]!;
    expect(generated.stdout).toContain(`written to ${join(out, `${jobId}.mp4`)}`);
    const job = (await (await fetch(`${stack!.apiUrl}/jobs/${jobId}`)).json()) as { status: string };
    expect(job.status).toBe('SUCCEEDED');
  });

  it("-c with a running stack is refused: the context is the running stack's (exit 2)", async () => {
    const generated = await run('local/commands/generate.ts', ['A kite', '-c', 'maxJobsInFlight=3'], { LOCAL_DATA_DIR: dataDir });
    expect(generated.code).toBe(2);
    expect(generated.stderr).toMatch(
      /^-c applies to a stack generate starts itself; npm start \(pid \d+\) at http:\S+ runs already: pass -c to npm start instead\n$/,
    );
  });

  it('without LOCAL_DATA_DIR, the CLI and npm run batch find the stack of this checkout on PORT', async () => {
    // Another folder: its .local holds no stack, so only the port can lead to ours.
    const elsewhere = await mkdtemp(join(tmpdir(), 'video-pipeline-one-stack-cwd-'));
    try {
      const listed = await run('cli/main.ts', ['list', '--limit', '1'], { PORT: String(port) }, elsewhere);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/^JOB ID/);
      const batch = await run('local/commands/batch.ts', [], { PORT: String(port) }, elsewhere);
      expect(batch.code, batch.stderr).toBe(0);
      expect(JSON.parse(batch.stdout)).toHaveProperty('manifests');
      const nothing = await run('cli/main.ts', ['list'], {}, elsewhere);
      expect(nothing.code).toBe(3);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('the local S3 is on PORT + 1 at every start; a stack.json left by a killed npm start is taken over', async () => {
    const before = await stackJson();
    expect(before.s3Url).toBe(`http://127.0.0.1:${port + 1}`);
    process.kill(before.pid, 'SIGKILL');
    await stack!.stop();
    // Left behind: the CLI calls it what it is.
    const stale = await run('cli/main.ts', ['list'], { LOCAL_DATA_DIR: dataDir });
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain(`which no longer runs`);

    stack = await startStackProcess(stackEnv());
    const after = await stackJson();
    expect(after.pid).not.toBe(before.pid);
    expect(after).toMatchObject({ apiUrl: before.apiUrl, s3Url: before.s3Url });
    await vi.waitFor(() => expect(stack!.output()).toContain(`export AWS_ENDPOINT_URL_S3=http://127.0.0.1:${port + 1} `), { timeout: 10_000 });
    // Ctrl-C (SIGTERM from a service manager alike) gives the data directory back.
    expect(await stack.stop()).toBe(0);
    stack = undefined;
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
  }, 120_000);
});

describe('--help', () => {
  it.each([
    ['local/commands/start.ts', 'usage: npm start'],
    ['local/commands/generate.ts', 'usage: npm run generate'],
    ['local/commands/batch.ts', 'usage: npm run batch'],
  ])('%s --help prints its usage (exit 0) and starts nothing', async (script, usage) => {
    const dir = await mkdtemp(join(tmpdir(), 'video-pipeline-help-'));
    try {
      const help = await run(script, ['--help'], { LOCAL_DATA_DIR: dir });
      expect(help.code).toBe(0);
      expect(help.stdout.startsWith(usage)).toBe(true);
      expect(existsSync(join(dir, 'stack.json'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
