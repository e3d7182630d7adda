import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';

/** The pipeline against a misbehaving provider: every fault ends in a clear, final state, never twice billed. */

let fixture: StackFixture;
let apiUrl: string;

beforeAll(async () => {
  fixture = await startStackFixture({ deadlineSeconds: 6 });
  apiUrl = fixture.stack.apiUrl;
});

afterEach(() => {
  fixture.stack.simulator.setFaults({});
});

afterAll(async () => {
  await fixture?.close();
});

const submit = async (text: string) =>
  (await postJob(apiUrl, { model: 'seedance-fast', content: [{ type: 'text', text }], duration: 4, generate_audio: false })).json.jobId;
const tasksFor = (text: string) =>
  fixture.stack.simulator.tasks().filter((task) => task.request.content[0]?.type === 'text' && task.request.content[0].text === text);

describe('creating the task', () => {
  it('a create answered 502 after the provider made the task ends SUBMISSION_UNCERTAIN, not retried', async () => {
    fixture.stack.simulator.setFaults({ create5xxRate: 1, create5xxKinds: ['502'] });
    const { job } = await waitForJob(apiUrl, await submit('An uncertain create'));
    expect(job.status).toBe('FAILED');
    expect(job.error?.code).toBe('SUBMISSION_UNCERTAIN');
    expect(job.error?.message).toMatch(/502/);
    expect(tasksFor('An uncertain create')).toHaveLength(1);
  });

  it('a create refused with 429 is retried with backoff and the job succeeds on one task', async () => {
    fixture.stack.simulator.setFaults({ create429Rate: 1 });
    const jobId = await submit('A throttled create');
    await expect.poll(() => fixture.stack.simulator.stats().createsRefused, { timeout: 10_000, interval: 10 }).toBeGreaterThanOrEqual(2);
    fixture.stack.simulator.setFaults({});
    const { job } = await waitForJob(apiUrl, jobId);
    expect(job.status).toBe('SUCCEEDED');
    expect(tasksFor('A throttled create')).toHaveLength(1);
  });

  it('a create that hangs past the client timeout is never retried blindly', async () => {
    // The hang outlasts the 300 s create timeout only on AWS; locally the task timeout is what fires.
    fixture.stack.simulator.setFaults({ createHangRate: 1 });
    const jobId = await submit('A hanging create');
    await expect.poll(() => tasksFor('A hanging create'), { timeout: 10_000, interval: 10 }).toHaveLength(1);
    const response = await fetch(`${apiUrl}/jobs/${jobId}`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    expect(tasksFor('A hanging create')).toHaveLength(1);
  });
});

describe('polling', () => {
  it('a provider that fails every poll until the deadline ends the job TIMED_OUT, saying why', async () => {
    fixture.stack.simulator.setFaults({ get5xxRate: 1 });
    const { job } = await waitForJob(apiUrl, await submit('A provider that keeps failing'), 20_000);
    expect(job.status).toBe('TIMED_OUT');
    expect(job.error?.code).toBe('DEADLINE_EXCEEDED');
    expect(job.error?.message).toMatch(/kept failing/);
    expect(tasksFor('A provider that keeps failing')).toHaveLength(1);
  });

  it('a task that never finishes ends TIMED_OUT at the deadline', async () => {
    fixture.stack.simulator.setFaults({ taskNeverFinishRate: 1 });
    const { job } = await waitForJob(apiUrl, await submit('A task that never ends'), 20_000);
    expect(job.status).toBe('TIMED_OUT');
    expect(job.error?.code).toBe('DEADLINE_EXCEEDED');
  });

  it('transient poll failures and malformed answers are absorbed: the job succeeds', async () => {
    fixture.stack.simulator.setFaults({ get5xxRate: 0.3, get429Rate: 0.2, malformedJsonRate: 0.2 });
    const { job } = await waitForJob(apiUrl, await submit('A flaky provider'), 20_000);
    expect(job.status).toBe('SUCCEEDED');
  });
});

describe('copying the video', () => {
  it('a download cut mid-stream is copied again from the start; the stored object is intact', async () => {
    fixture.stack.simulator.setFaults({ downloadCutRate: 1, downloadCutAfterBytes: 2000 });
    const jobId = await submit('A video whose download is cut');
    await expect.poll(() => fixture.stack.simulator.stats().downloadsCut, { timeout: 15_000, interval: 10 }).toBeGreaterThanOrEqual(1);
    fixture.stack.simulator.setFaults({});
    const { job } = await waitForJob(apiUrl, jobId);
    expect(job.status).toBe('SUCCEEDED');
    const video = Buffer.from(await (await fetch(job.downloadUrl!)).arrayBuffer());
    expect(video.length).toBe(job.output!.bytes);
    expect(createHash('sha256').update(video).digest('hex')).toBe(job.output!.sha256);
    expect(tasksFor('A video whose download is cut')[0]?.videoSha256).toBe(job.output!.sha256);
  });
});
