import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { getJob, postJob } from '../../testkit/local-stack-fixture.js';
import { startStackProcess, type StackProcess } from '../../testkit/stack-process.js';

/** `npm start` and `npm run generate` take cdk.json's context, overridden by -c, like `cdk synth`. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dataDir: string | undefined;
let running: StackProcess | undefined;

afterAll(async () => {
  await running?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A local command run to its end, as `npm run <script> -- <args>` runs it. */
function run(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

it('npm start -- -c jobDeadlineMinutes=7 -c maxJobsInFlight=8: the functions run with them, over cdk.json', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-context-'));
  running = await startStackProcess({ PORT: '0', LOCAL_DATA_DIR: dataDir, LOCAL_TIME_SCALE: '1' }, [
    '-c',
    'jobDeadlineMinutes=7',
    '--context',
    'maxJobsInFlight=8',
  ]);
  // cdk.json says 30 minutes; at time scale 1 the deadline a job gets is the -c one.
  const { response, json } = await postJob(running.apiUrl, { model: 'seedance-fast', content: [{ type: 'text', text: 'A deadline of seven minutes' }] });
  expect(response.status).toBe(202);
  const job = await getJob(running.apiUrl, json.jobId);
  // A job's deadline counts from its admission (it started at once: a free slot).
  const deadline = job as unknown as { admittedAt: string; deadlineAt: string };
  expect((Date.parse(deadline.deadlineAt) - Date.parse(deadline.admittedAt)) / 1000).toBe(7 * 60);

  const stackFile = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as { environment: Record<string, string> };
  expect(stackFile.environment).toMatchObject({ JOB_DEADLINE_SECONDS: '420', MAX_JOBS_IN_FLIGHT: '8' });
  expect(await running.stop()).toBe(0);
  running = undefined;
}, 90_000);

it('npm start with a bad -c value stops before starting anything: one line, exit code 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'video-pipeline-context-bad-'));
  try {
    const { code, stdout, stderr } = await run('local/commands/start.ts', ['-c', 'jobDeadlineMinutes=90'], { PORT: '0', LOCAL_DATA_DIR: dir });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^invalid CDK context: jobDeadlineMinutes \(from -c, "90"\): [^\n]+\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('npm run generate takes -c beside its own flags; a bad value is one line and exit code 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'video-pipeline-context-generate-'));
  try {
    const { code, stdout, stderr } = await run('local/commands/generate.ts', ['A cat', '--duration', '4', '-c', 'maxJobsInFlight=0'], { LOCAL_DATA_DIR: dir });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^invalid CDK context: maxJobsInFlight \(from -c, "0"\): [^\n]+\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
