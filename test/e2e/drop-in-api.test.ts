import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UNAUTHORIZED_BODY } from '../../contracts/drop-in.js';
import { claimDataDir, type DataDirClaim } from '../../local/stack/stack-file.js';
import { ProviderAuthError } from '../../runtime/domain/errors.js';
import { requestShape } from '../../runtime/domain/job.js';
import { createProviderRequestSchema, parseWith } from '../../runtime/domain/request-schema.js';
import { pollTask } from '../../runtime/workflow/poll-task.js';
import { submitTask } from '../../runtime/workflow/submit-task.js';
import { createProviderClient } from '../../runtime/provider/provider-client.js';
import { getJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { probeMp4 } from '../../testkit/probe-mp4.js';
import { PROVIDER_EXAMPLE_REQUEST } from '../../testkit/provider-fixtures.js';

/**
 * The drop-in provider API on the local stack (README, Drop-in provider API): the provider's own
 * example request, byte for byte, sent with curl (fetch where there is none) and a token the CLI issued, ends with a result_url
 * that downloads the MP4; our own provider client, pointed at our API instead of the provider,
 * drives a job to SUCCESS; a missing, wrong or revoked token gets the gateway's 401.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

let fixture: StackFixture;
let apiUrl: string;
let token: string;
let tokenId: string;

/** The `video-pipeline` CLI, as the operator runs it, against this local stack (through its stack.json). */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['cli/bin.mjs', ...args], {
    cwd: ROOT,
    env: { ...process.env, VIDEO_PIPELINE_API: undefined, VIDEO_PIPELINE_TOKENS_TABLE: undefined, LOCAL_DATA_DIR: fixture.dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function createToken(name: string): Promise<{ token: string; tokenId: string }> {
  const created = await cli(['token', 'create', '--name', name]);
  expect(created.code, created.stderr).toBe(0);
  const issued = created.stdout.trim();
  expect(issued).toMatch(/^vpt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  return { token: issued, tokenId: issued.slice(4, 20) };
}

/** Whether curl is on this machine: `npm test` must pass with only Node and npm (README, Quick start). */
const HAS_CURL = spawnSync('curl', ['--version']).status === 0;

interface Call {
  method?: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  /** Sent exactly as these bytes (curl --data-binary @file). */
  bodyFile?: string;
  /** Where the answer's body is written instead of returned (curl -o). */
  outFile?: string;
}

/**
 * One request as a user of the provider's API sends it, with curl; where there is no curl, with fetch
 * and the same bytes.
 */
async function send(call: Call): Promise<{ status: number; body: string }> {
  if (HAS_CURL) {
    const args = ['-sS', '-w', '\n%{http_code}', '-X', call.method ?? 'GET', call.url];
    for (const [name, value] of Object.entries(call.headers ?? {})) args.push('-H', `${name}: ${value}`);
    if (call.bodyFile) args.push('--data-binary', `@${call.bodyFile}`);
    if (call.outFile) args.push('-o', call.outFile);
    const { stdout } = await run('curl', args);
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  }
  const response = await fetch(call.url, {
    method: call.method ?? 'GET',
    headers: call.headers ?? {},
    ...(call.bodyFile ? { body: await readFile(call.bodyFile) } : {}),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (call.outFile) await writeFile(call.outFile, bytes);
  return { status: response.status, body: call.outFile ? '' : bytes.toString('utf8') };
}

/** The provider's example request exactly as docs/provider-api.md §2.2 writes it (the provider's own documentation, restated verbatim). */
async function providerExampleBytes(): Promise<string> {
  const doc = await readFile(join(ROOT, 'docs/provider-api.md'), 'utf8');
  const section = doc.slice(doc.indexOf("### 2.2 The provider's own example"));
  const block = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("docs/provider-api.md has no JSON block under §2.2 The provider's own example");
  return block;
}

let claim: DataDirClaim | undefined;

beforeAll(async () => {
  fixture = await startStackFixture();
  apiUrl = fixture.stack.apiUrl;
  // What `npm start` writes, so the CLI finds this stack.
  claim = await claimDataDir(fixture.dataDir, 'the drop-in API test');
  await claim.ready({ apiUrl, s3Url: fixture.stack.s3Url, bucket: fixture.stack.bucket, environment: fixture.stack.environment });
  ({ token, tokenId } = await createToken('e2e'));
});

afterAll(async () => {
  await claim?.release();
  await fixture?.close();
});

describe(`the provider's own example request, byte for byte, with ${HAS_CURL ? 'curl' : 'fetch (no curl here)'}`, () => {
  it('is accepted in the provider shape and ends with a result_url that downloads the MP4', async () => {
    const bytes = await providerExampleBytes();
    // The documented request, not a re-serialisation: it parses to the fixture the unit tests use.
    expect(JSON.parse(bytes)).toEqual(PROVIDER_EXAMPLE_REQUEST);
    const file = join(fixture.dataDir, 'example-request.json');
    await writeFile(file, bytes);

    const created = await send({
      method: 'POST',
      url: `${apiUrl}/v1/video/generations`,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      bodyFile: file,
    });
    expect(created.status, created.body).toBe(200);
    const answer = JSON.parse(created.body) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['created_at', 'id', 'model', 'object', 'progress', 'status', 'task_id']);
    expect(answer).toMatchObject({ object: 'video', model: 'seedance-fast', status: '', progress: 0, task_id: answer.id });
    expect(Math.abs((answer.created_at as number) - Date.now() / 1000)).toBeLessThan(60);
    const taskId = answer.task_id as string;

    // Poll as a provider client does, until the task ends.
    const seen: string[] = [];
    const task = await vi.waitFor(
      async () => {
        const polled = await send({ url: `${apiUrl}/v1/video/generations/${taskId}`, headers: { Authorization: `Bearer ${token}` } });
        expect(polled.status, polled.body).toBe(200);
        const envelope = JSON.parse(polled.body) as { code: string; message: string; data: Record<string, string | number> };
        expect(envelope).toMatchObject({ code: 'success', message: '' });
        expect(envelope.data.progress).toMatch(/^\d{1,3}%$/);
        if (seen.at(-1) !== envelope.data.status) seen.push(envelope.data.status as string);
        if (envelope.data.status !== 'SUCCESS' && envelope.data.status !== 'FAILURE') throw new Error(`task ${taskId} still ${envelope.data.status}`);
        return envelope.data;
      },
      { timeout: 45_000, interval: 50 },
    );
    expect(task, JSON.stringify(task)).toMatchObject({ task_id: taskId, action: 'generate', status: 'SUCCESS', progress: '100%', fail_reason: '' });
    expect(seen.every((status) => ['NOT_START', 'QUEUED', 'IN_PROGRESS', 'SUCCESS'].includes(status))).toBe(true);
    const { submit_time, start_time, finish_time } = task as Record<string, number>;
    expect(submit_time).toBe(answer.created_at);
    expect(start_time).toBeGreaterThanOrEqual(submit_time!);
    expect(finish_time).toBeGreaterThanOrEqual(start_time!);

    // result_url is a presigned URL of our copy in S3, not the provider's.
    const resultUrl = task.result_url as string;
    expect(resultUrl.startsWith(fixture.stack.s3Url)).toBe(true);
    const video = join(fixture.dataDir, 'result.mp4');
    const download = await send({ url: resultUrl, outFile: video });
    expect(download.status).toBe(200);
    const probe = await probeMp4(await readFile(video));
    expect(probe).toMatchObject({ hasVideo: true, hasAudio: true, height: 720 });
    expect(probe.durationSeconds).toBeCloseTo(5, 0);

    // Behind the route it is an ordinary job, which records the token that made it (its id, never the token).
    const job = await getJob(apiUrl, taskId);
    expect(job.status).toBe('SUCCEEDED');
    expect((job as unknown as { trigger: unknown }).trigger).toEqual({ type: 'http', source: `token:${tokenId}` });
    expect(JSON.stringify(job)).not.toContain(token);
  });
});

describe('our own provider client, pointed at our API instead of the provider', () => {
  it('drives a job to SUCCESS through it, and reads the video from the result_url', async () => {
    const provider = createProviderClient({ baseUrl: apiUrl, apiKey: async () => token });
    const { tools: _textOnly, ...example } = PROVIDER_EXAMPLE_REQUEST;
    const { taskId } = await provider.createTask({ ...example, content: [{ type: 'text', text: 'A lighthouse at dusk' }], duration: 4 });
    const phases: string[] = [];
    const snapshot = await vi.waitFor(
      async () => {
        const current = await provider.getTask(taskId);
        if (phases.at(-1) !== current.phase) phases.push(current.phase);
        if (current.phase !== 'succeeded' && current.phase !== 'failed') throw new Error(`still ${current.phase}`);
        return current;
      },
      { timeout: 45_000, interval: 50 },
    );
    expect(snapshot).toMatchObject({ taskId, phase: 'succeeded', providerStatus: 'SUCCESS', progress: 100 });
    expect(snapshot.submitTime).toBeGreaterThan(0);
    const video = await fetch(snapshot.videoUrl!);
    expect(video.status).toBe(200);
    const probe = await probeMp4(new Uint8Array(await video.arrayBuffer()));
    expect(probe.durationSeconds).toBeCloseTo(4, 0);
  });

  it("one pipeline feeds another: a second pipeline's own SubmitTask and PollTask steps take this API for their provider", async () => {
    // The second pipeline's workflow steps (runtime/workflow), with our client as their provider. Its own
    // request store, slots and history are not what is under test: they answer as an empty pipeline's would.
    const provider = createProviderClient({ baseUrl: apiUrl, apiKey: async () => token });
    const request = parseWith(createProviderRequestSchema(), { model: 'seedance-fast', content: [{ type: 'text', text: 'A second pipeline' }], duration: 4 });
    const input = {
      jobId: 'downstream-job',
      requestKey: 'requests/downstream-job/x.json',
      shape: requestShape(request),
      deadlineAt: new Date(Date.now() + 60_000).toISOString(),
      notify: [],
    };
    const created: string[] = [];
    let poll = await submitTask(input, {
      provider,
      loadRequest: async () => request,
      presign: async () => Promise.reject(new Error('no s3:// media here')),
      loadHistory: async () => undefined,
      slots: {
        recordCreated: async (jobId) => void created.push(jobId),
        recordRefused: async () => Promise.reject(new Error('the first pipeline refused no create')),
      },
      now: () => new Date(),
      random: Math.random,
    });
    expect(created).toEqual(['downstream-job']);
    const statuses = [poll.jobStatus];
    while (poll.jobStatus !== 'SUCCEEDED') {
      // The second pipeline would wait poll.waitSeconds (adaptive, from these answers); here the local stack is fast.
      expect(poll.waitSeconds).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      poll = await pollTask(
        { jobId: input.jobId, shape: input.shape, deadlineAt: input.deadlineAt, poll },
        { provider, now: () => new Date(), random: Math.random, lateFollowSeconds: 60 },
      );
      if (statuses.at(-1) !== poll.jobStatus) statuses.push(poll.jobStatus);
      expect(poll.overdue).toBeUndefined();
    }
    expect(statuses[0]).toBe('SUBMITTED');
    expect(poll).toMatchObject({ jobStatus: 'SUCCEEDED', providerStatus: 'SUCCESS', progress: 100 });
    // What its StoreVideo would copy: our copy of the video, in the first pipeline's bucket.
    expect(poll.videoUrl!.startsWith(fixture.stack.s3Url)).toBe(true);
    expect((await fetch(poll.videoUrl!)).status).toBe(200);
    const upstream = await getJob(apiUrl, poll.providerTaskId);
    expect(upstream).toMatchObject({ status: 'SUCCEEDED', trigger: { type: 'http', source: `token:${tokenId}` } });
  });
});

describe('tokens', () => {
  const create = (authorization: string | undefined) =>
    fetch(`${apiUrl}/v1/video/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
      body: JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A refused cat' }] }),
    });

  it('a missing, malformed, unknown or wrong-secret token gets the gateway’s 401 and starts nothing', async () => {
    const executionsBefore = fixture.stack.engine.listExecutions().length;
    const wrongSecret = `${token.slice(0, 21)}${token.slice(21).replace(/^./, (first) => (first === 'A' ? 'B' : 'A'))}`;
    const cases = [
      undefined,
      '',
      'Bearer',
      `Basic ${token}`,
      'Bearer local-provider-key',
      `Bearer vpt_ffffffffffffffff_${'A'.repeat(43)}`,
      `Bearer ${wrongSecret}`,
    ];
    for (const authorization of cases) {
      const answer = await create(authorization);
      expect(answer.status, String(authorization)).toBe(401);
      expect(await answer.json()).toEqual(UNAUTHORIZED_BODY);
    }
    const poll = await fetch(`${apiUrl}/v1/video/generations/some-task`);
    expect(poll.status).toBe(401);
    expect(await poll.json()).toEqual(UNAUTHORIZED_BODY);
    expect(fixture.stack.engine.listExecutions().length).toBe(executionsBefore);
  });

  it('a token sees only the tasks it made: another’s is task_not_exist', async () => {
    const other = await createToken('other');
    const made = await create(`Bearer ${token}`);
    expect(made.status).toBe(200);
    const { task_id } = (await made.json()) as { task_id: string };
    const seenByOther = await fetch(`${apiUrl}/v1/video/generations/${task_id}`, { headers: { authorization: `Bearer ${other.token}` } });
    expect(seenByOther.status).toBe(404);
    expect(await seenByOther.json()).toMatchObject({ code: 'task_not_exist', data: null });
    const invalid = await fetch(`${apiUrl}/v1/video/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'x' }], duration: 3, metadata: { a: 'b' } }),
    });
    expect(invalid.status).toBe(400);
    const error = ((await invalid.json()) as { error: { message: string; type: string; code: string } }).error;
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'validation_error' });
    // The provider's contract exactly: our own `metadata` is an unknown field here.
    expect(error.message).toMatch(/duration: .*metadata: unknown field/);
  });

  it('token list shows them; a revoked token is refused from its next request, by the CLI and by our provider client alike', async () => {
    const listed = await cli(['token', 'list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const tokens = JSON.parse(listed.stdout) as { tokenId: string; name: string; revokedAt?: string }[];
    expect(tokens).toContainEqual({ tokenId, name: 'e2e', createdAt: expect.any(String) });
    expect(listed.stdout).not.toMatch(/vpt_|secretSha256/);

    const doomed = await createToken('doomed');
    expect((await create(`Bearer ${doomed.token}`)).status).toBe(200);
    const revoked = await cli(['token', 'revoke', doomed.tokenId]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const refused = await create(`Bearer ${doomed.token}`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual(UNAUTHORIZED_BODY);
    const provider = createProviderClient({ baseUrl: apiUrl, apiKey: async () => doomed.token });
    await expect(provider.getTask('any-task')).rejects.toBeInstanceOf(ProviderAuthError);

    const table = await cli(['token', 'list']);
    expect(table.stdout).toMatch(new RegExp(`${doomed.tokenId}\\s+doomed\\s+\\S+ \\S+\\s+revoked `));
    expect(table.stdout).toMatch(new RegExp(`${tokenId}\\s+e2e\\s+\\S+ \\S+\\s+active`));
    const unknown = await cli(['token', 'revoke', 'ffffffffffffffff']);
    expect(unknown.code).toBe(2);
  });

  it('the rest of the local API stays as it was, open (on AWS it is the IAM API)', async () => {
    expect((await fetch(`${apiUrl}/jobs?limit=1`)).status).toBe(200);
  });
});
