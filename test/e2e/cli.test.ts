import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { probeMp4 } from '../../testkit/probe-mp4.js';
import { solidPng } from '../../testkit/png.js';
import { startStackProcess, type StackProcess } from '../../testkit/stack-process.js';

/**
 * The `video-pipeline` CLI as a user runs it: `npm start` in one process, `node cli/bin.mjs …` in
 * others, finding the stack through <LOCAL_DATA_DIR>/stack.json.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let dataDir: string;
let stack: StackProcess;
let simulatorUrl: string;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['cli/bin.mjs', ...args], {
    cwd: ROOT,
    // VIDEO_PIPELINE_API unset: the CLI must target the local stack of LOCAL_DATA_DIR.
    env: { ...process.env, VIDEO_PIPELINE_API: undefined, LOCAL_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

function jobIdOf(run: CliRun): string {
  const match = /^Job (\S+) accepted: QUEUED( \(already submitted with this Idempotency-Key\))?$/m.exec(run.stdout);
  if (!match) throw new Error(`no job id in:\n${run.stdout}\n${run.stderr}`);
  return match[1]!;
}

async function jobJson(jobId: string): Promise<Record<string, unknown> & { status: string; progress: number }> {
  const run = await cli(['status', jobId, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown> & { status: string; progress: number };
}

async function setSimulatorFaults(faults: Record<string, number>): Promise<void> {
  const answer = await fetch(`${simulatorUrl}/_admin/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  expect(answer.status).toBe(200);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-cli-'));
  stack = await startStackProcess({ PORT: '0', LOCAL_DATA_DIR: dataDir, LOCAL_TIME_SCALE: '0.01' });
  simulatorUrl = await vi.waitFor(
    () => {
      const match = /Provider simulator at (http:\/\/[^\s;]+)/.exec(stack.output());
      if (!match) throw new Error(`no simulator URL in:\n${stack.output()}`);
      return match[1]!;
    },
    { timeout: 2_000, interval: 20 },
  );
});

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('video-pipeline CLI against npm start', () => {
  it('generate --wait with a local PNG: uploads it, shows the progress, writes a playable MP4 (exit 0)', async () => {
    const png = solidPng(48, 64); // 3:4, so `adaptive` makes a portrait video only if the image was read
    const image = join(dataDir, 'first-frame.png');
    await writeFile(image, png);
    const out = join(dataDir, 'videos', 'piano.mp4');
    // TAKES_2S: the task runs 2 s of wall time, so the CLI's polls see it run and show the time left.
    const run = await cli([
      'generate',
      'A cat playing piano TAKES_2S',
      '--image',
      image,
      '--resolution',
      '480p',
      '--duration',
      '4',
      '--no-audio',
      '--wait',
      '--out',
      out,
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const jobId = jobIdOf(run);
    // Progress lines (stderr is not a terminal here): elapsed, status, percent and, while the task runs,
    // the time left to the job's estimatedFinishAt; it ends at 100 %.
    expect(run.stderr).toMatch(/^\s+\d+\.\d s {2}(SUBMITTED|RUNNING) +\d+% {2}\((about (\d+ min )?\d+ s left|due now)\)$/m);
    expect(run.stderr).toMatch(/^\s+\d+\.\d s {2}SUCCEEDED 100%$/m);
    expect(run.stdout).toContain(`Job ${jobId} SUCCEEDED in`);
    expect(run.stdout).toMatch(new RegExp(`^Video written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ bytes, sha256 [0-9a-f]{64}\\)$`, 'm'));

    const video = await readFile(out);
    const probe = await probeMp4(video);
    expect(probe).toMatchObject({ hasVideo: true, hasAudio: false, width: 360, height: 480 });
    expect(probe.durationSeconds).toBeCloseTo(4, 0);

    // The image went through the bucket, named by its content, as the first frame.
    const { bucket } = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as { bucket: string };
    const job = (await jobJson(jobId)) as unknown as {
      request: { content: { type: string; image_url?: { url: string }; role?: string }[] };
      output: { bytes: number; sha256: string };
    };
    const sha256 = createHash('sha256').update(png).digest('hex');
    expect(job.request.content[1]).toEqual({ type: 'image_url', image_url: { url: `s3://${bucket}/media/${sha256}.png` }, role: 'first_frame' });
    expect(job.output).toMatchObject({ bytes: video.length, sha256: createHash('sha256').update(video).digest('hex') });
  });

  it('generate without --wait prints the job and its status URL; status, list and download follow it', async () => {
    const submitted = await cli(['generate', 'A lighthouse at dusk', '--duration', '4', '--resolution', '480p', '--watermark']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = jobIdOf(submitted);
    expect(submitted.stdout).toContain(`  status: ${stack.apiUrl}/jobs/${jobId}`);

    // Each try starts the CLI (a second or more), so this wait is counted in tens of seconds, within the test's 60 s.
    const polled = await vi.waitFor(
      async () => {
        const run = await cli(['status', jobId, '--json']);
        if (run.code === 0 && (JSON.parse(run.stdout) as { status: string }).status !== 'SUCCEEDED') throw new Error(`job ${jobId} did not succeed`);
        return run;
      },
      { timeout: 50_000, interval: 250 },
    );
    expect(polled.code, polled.stderr).toBe(0);

    const status = await cli(['status', jobId]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^Job +${jobId}$`, 'm'));
    expect(status.stdout).toMatch(/^Status +SUCCEEDED$/m);
    expect(status.stdout).toMatch(/^Prompt +A lighthouse at dusk$/m);
    expect(status.stdout).toMatch(/^Request +seedance-fast · 480p · adaptive · 4 s · audio · watermark$/m);
    expect(status.stdout).toMatch(/^Output +s3:\/\/\S+\/videos\/\S+\.mp4 \(\d+ bytes, sha256 [0-9a-f]{64}\)$/m);

    const list = await cli(['list']);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^JOB ID +STATUS +PROGRESS +TRIGGER +CREATED +AGE$/);
    // Newest first: this job heads the table.
    expect(lines[1]).toMatch(new RegExp(`^${jobId} +SUCCEEDED +100% +http +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ +\\d+[smhd]$`));

    // --limit 1 stops after one job and says more remain; --status/--trigger filter.
    const one = await cli(['list', '--limit', '1', '--status', 'succeeded', '--trigger', 'http']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^JOB ID/),
      expect.stringMatching(new RegExp(`^${jobId} `)),
      '(the newest 1; more remain: raise --limit)',
    ]);
    const none = await cli(['list', '--status', 'FAILED']);
    expect(none.stdout.trim()).toBe('No jobs.');

    const out = join(dataDir, 'downloads', 'lighthouse.mp4');
    const download = await cli(['download', jobId, '--out', out]);
    expect(download.code, download.stderr).toBe(0);
    expect(download.stdout).toContain(`Video written to ${out}`);
    const video = await readFile(out);
    const job = (await jobJson(jobId)) as unknown as { output: { bytes: number; sha256: string } };
    expect(job.output).toEqual(expect.objectContaining({ bytes: video.length, sha256: createHash('sha256').update(video).digest('hex') }));
    expect((await probeMp4(video)).hasAudio).toBe(true);
  });

  it('rerun --wait runs a job again from its stored request (its uploaded image too), linked both ways; with the same Idempotency-Key it is one job', async () => {
    const image = join(dataDir, 'portrait.png');
    await writeFile(image, solidPng(48, 64));
    const original = await cli(['generate', 'A heron taking off', '--image', image, '--resolution', '480p', '--duration', '4', '--no-audio']);
    expect(original.code, original.stderr).toBe(0);
    const originalId = jobIdOf(original);

    const out = join(dataDir, 'videos', 'heron-again.mp4');
    const again = await cli(['rerun', originalId, '--idempotency-key', 'heron-1', '--wait', '--out', out]);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^Runs ${originalId} again$`, 'm'));
    const rerunId = jobIdOf(again);
    expect(rerunId).not.toBe(originalId);
    expect(again.stdout).toContain(`Job ${rerunId} SUCCEEDED in`);
    // The same request: the first frame made it a 3:4 portrait clip again.
    expect(await probeMp4(await readFile(out))).toMatchObject({ hasVideo: true, hasAudio: false, width: 360, height: 480 });

    const rerun = (await jobJson(rerunId)) as unknown as { rerunOf?: string; request: unknown };
    const first = (await jobJson(originalId)) as unknown as { reruns?: string[]; request: unknown };
    expect(rerun.rerunOf).toBe(originalId);
    expect(first.reruns).toEqual([rerunId]);
    expect(rerun.request).toEqual(first.request);

    const replay = await cli(['rerun', originalId, '--idempotency-key', 'heron-1']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain(`Job ${rerunId} accepted`);
    expect(replay.stdout).toContain('(already submitted with this Idempotency-Key)');
    expect(((await jobJson(originalId)) as unknown as { reruns?: string[] }).reruns).toEqual([rerunId]);

    const unknown = await cli(['rerun', 'no-such-job']);
    expect(unknown.code).toBe(2);
  });

  it('cancel stops a running job (exit 0), its --wait ends with exit 1, a second cancel is the 409 (exit 2)', async () => {
    // The provider task never finishes: the job is certainly still running when cancel comes.
    await setSimulatorFaults({ taskNeverFinishRate: 1 });
    const waiting = cli(['generate', 'A kite that never lands', '--duration', '4', '--wait']);
    let jobId: string;
    try {
      // Each try starts the CLI (a second or more), so this wait is counted in tens of seconds, within the test's 60 s.
      jobId = await vi.waitFor(
        async () => {
          const running = (
            await cli(['list', '--limit', '1', '--json']).then(
              (run) => JSON.parse(run.stdout) as { jobId: string; status: string; request: { content: { text?: string }[] } }[],
            )
          )
            .filter((job) => job.request.content[0]?.text === 'A kite that never lands' && job.status === 'RUNNING')
            .map((job) => job.jobId)[0];
          if (!running) throw new Error('the job did not reach RUNNING');
          return running;
        },
        { timeout: 50_000, interval: 100 },
      );
    } finally {
      await setSimulatorFaults({});
    }

    const cancelled = await cli(['cancel', jobId]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout.trim()).toBe(`Job ${jobId} CANCELLED`);

    const waited = await waiting;
    expect(waited.code, `${waited.stdout}\n${waited.stderr}`).toBe(1);
    expect(jobIdOf(waited)).toBe(jobId);
    expect(waited.stderr).toMatch(new RegExp(`^Job ${jobId} ended CANCELLED after [\\d.]+ s: CANCELLED: `, 'm'));

    const again = await cli(['cancel', jobId]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe(`job ${jobId} is CANCELLED: only a job that has not ended can be cancelled (HTTP 409 CONFLICT)`);

    const download = await cli(['download', jobId]);
    expect(download.code).toBe(2);
    expect(download.stderr).toContain(`job ${jobId} is CANCELLED: there is no video to download`);
  });

  it('a 400 prints each issue as "  path: message" (exit 2); an unknown job is the 404 (exit 2)', async () => {
    const refused = await cli(['generate', 'Too short', '--duration', '3']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^The API refused the request \(HTTP 400 VALIDATION_ERROR\):$/m);
    expect(refused.stderr).toMatch(/^ {2}duration: .*4 to 15$/m);

    const unknown = await cli(['status', 'no-such-job']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('no job no-such-job (HTTP 404 NOT_FOUND)');
  });

  it('upload: a spec and an image with --prompt each print the job the upload trigger made (exit 0); a refused spec prints its issues (exit 2)', async () => {
    const spec = join(dataDir, 'boat.json');
    await writeFile(
      spec,
      JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A paper boat' }], duration: 4, metadata: { customer: 'acme' } }),
    );
    const uploaded = await cli(['upload', spec]);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const { bucket, apiUrl } = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as { bucket: string; apiUrl: string };
    expect(uploaded.stdout).toContain(`Uploaded ${spec} to s3://${bucket}/incoming/boat.json\n`);
    const specJob = /^Job (upload-[0-9a-f]{40}) (QUEUED|SUBMITTED|RUNNING|SUCCEEDED)$/m.exec(uploaded.stdout)?.[1];
    expect(specJob, uploaded.stdout).toBeDefined();
    expect(uploaded.stdout).toContain(`  status: ${apiUrl}/jobs/${specJob}`);
    expect(await jobJson(specJob!)).toMatchObject({ trigger: { type: 's3', source: `s3://${bucket}/incoming/boat.json` }, metadata: { customer: 'acme' } });

    const image = join(dataDir, 'sunset.png');
    await writeFile(image, solidPng(64, 36));
    const imaged = await cli(['upload', image, '--prompt', 'The sun sinks', '--duration', '4']);
    expect(imaged.code, imaged.stderr).toBe(0);
    const imageJob = /^Job (upload-[0-9a-f]{40}) \S+$/m.exec(imaged.stdout)?.[1];
    const record = (await jobJson(imageJob!)) as unknown as { request: { content: { type: string; role?: string; text?: string }[]; duration: number } };
    expect(record.request.content).toEqual([{ type: 'text', text: 'The sun sinks' }, expect.objectContaining({ type: 'image_url', role: 'first_frame' })]);
    expect(record.request.duration).toBe(4);

    const bad = join(dataDir, 'bad.json');
    await writeFile(bad, JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'Too short' }], duration: 3 }));
    const refused = await cli(['upload', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/^Job upload-[0-9a-f]{40} FAILED$/m);
    expect(refused.stdout).toMatch(/^ {2}VALIDATION_ERROR: /m);
    expect(refused.stdout).toMatch(/^ {4}duration: .*4 to 15$/m);

    const noPrompt = await cli(['upload', image]);
    expect(noPrompt.code).toBe(2);
    expect(noPrompt.stderr).toContain('an image needs --prompt');
  });

  it("batch: uploads the manifest, whose upload runs the batch function, and prints each line's job (exit 0)", async () => {
    const manifest = join(dataDir, 'night.jsonl');
    await writeFile(
      manifest,
      [
        JSON.stringify({ id: 'boat', model: 'seedance-fast', content: [{ type: 'text', text: 'A paper boat' }], duration: 4 }),
        '',
        JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A red kite' }], duration: 4 }),
      ].join('\n'),
    );
    const run = await cli(['batch', manifest]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const { bucket } = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as { bucket: string };
    const jobs = [...run.stdout.matchAll(/^Job (batch-[0-9a-f]{40}) (QUEUED|SUBMITTED|RUNNING|SUCCEEDED) \(line (\d)\)$/gm)].map((match) => ({
      jobId: match[1]!,
      line: match[3]!,
    }));
    // The blank line makes no job.
    expect(
      jobs.map((job) => job.line),
      run.stdout,
    ).toEqual(['1', '3']);
    for (const job of jobs) {
      expect(await jobJson(job.jobId)).toMatchObject({ trigger: { type: 'schedule', source: `s3://${bucket}/batches/night.jsonl#L${job.line}` } });
    }
  });

  it('every command answers --help with its usage (exit 0)', async () => {
    for (const command of ['generate', 'upload', 'batch', 'status', 'list', 'download', 'cancel', 'rerun', 'console']) {
      const run = await cli([command, '--help']);
      expect(run.code, `${command}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^usage: video-pipeline ${command}\\b`));
    }
  });

  it('bad usage is exit 2 with the usage', async () => {
    const missing = await cli(['status']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('usage: video-pipeline status <jobId>');
    const unknownFlag = await cli(['list', '--colour']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/Unknown option '--colour'/);
    const unknownCommand = await cli(['render']);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain('unknown command render');
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
  });
});

describe('video-pipeline CLI without a stack', () => {
  it('no stack.json: exit 3, saying how to start one', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'video-pipeline-cli-none-'));
    try {
      const run = await cli(['list'], { LOCAL_DATA_DIR: empty });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('no local stack is running: start one with `npm start`, or pass --api <url>');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('a stack.json left by a process that no longer runs: exit 3, saying so', async () => {
    const stale = await mkdtemp(join(tmpdir(), 'video-pipeline-cli-stale-'));
    try {
      const gone = spawn(process.execPath, ['-e', '']);
      await once(gone, 'exit');
      await writeFile(
        join(stale, 'stack.json'),
        JSON.stringify({
          state: 'ready',
          pid: gone.pid,
          command: 'npm start',
          checkout: ROOT,
          dataDir: stale,
          apiUrl: 'http://127.0.0.1:9',
          s3Url: 'http://127.0.0.1:9',
          bucket: 'b',
          environment: {},
        }),
      );
      const run = await cli(['list'], { LOCAL_DATA_DIR: stale });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`(${join(stale, 'stack.json')} is left from npm start, pid ${gone.pid}, which no longer runs)`);
    } finally {
      await rm(stale, { recursive: true, force: true });
    }
  });

  it('a running stack whose API does not answer: exit 3, naming the URL that failed', async () => {
    const stale = await mkdtemp(join(tmpdir(), 'video-pipeline-cli-stale-'));
    try {
      // A port that was just free: nothing listens there any more, as when the stack hangs or is stopping.
      const server = createServer().listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      const apiUrl = `http://127.0.0.1:${port}`;
      await writeFile(
        join(stale, 'stack.json'),
        JSON.stringify({
          state: 'ready',
          pid: process.pid,
          command: 'npm start',
          checkout: ROOT,
          dataDir: stale,
          apiUrl,
          s3Url: apiUrl,
          bucket: 'b',
          environment: {},
        }),
      );
      const run = await cli(['status', 'abc'], { LOCAL_DATA_DIR: stale });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`cannot reach the API: GET ${apiUrl}/jobs/abc failed (ECONNREFUSED)`);
      expect(run.stderr).toContain('does not answer: start it again with `npm start`');
    } finally {
      await rm(stale, { recursive: true, force: true });
    }
  });
});
