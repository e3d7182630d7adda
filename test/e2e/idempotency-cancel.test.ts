import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob, postJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';

let fixture: StackFixture;
let apiUrl: string;

beforeAll(async () => {
  // Slow enough that a job is still running when the test cancels it.
  fixture = await startStackFixture({ timeScale: 0.05 });
  apiUrl = fixture.stack.apiUrl;
});

afterAll(async () => {
  await fixture?.close();
});

const body = (text: string) => ({ model: 'seedance-fast', content: [{ type: 'text', text }], duration: 4 });
const executionsOf = (jobId: string) => fixture.stack.engine.listExecutions().filter((execution) => execution.name.startsWith(jobId));

describe('Idempotency-Key', () => {
  it('the same key and body return the same job (200) and start one execution', async () => {
    const first = await postJob(apiUrl, body('An idempotent lighthouse'), { 'idempotency-key': 'order-42' });
    expect(first.response.status).toBe(202);
    const again = await postJob(apiUrl, body('An idempotent lighthouse'), { 'idempotency-key': 'order-42' });
    expect(again.response.status).toBe(200);
    expect(again.json.jobId).toBe(first.json.jobId);
    expect(again.response.headers.get('location')).toBe(first.response.headers.get('location'));
    expect(executionsOf(first.json.jobId)).toHaveLength(1);
  });

  it('the same key with another body is a 409 CONFLICT, and nothing is started', async () => {
    const first = await postJob(apiUrl, body('A first body'), { 'idempotency-key': 'order-43' });
    const executions = fixture.stack.engine.listExecutions().length;
    const other = await postJob(apiUrl, body('Another body'), { 'idempotency-key': 'order-43' });
    expect(other.response.status).toBe(409);
    expect((other.json.error as unknown as { code: string }).code).toBe('CONFLICT');
    expect(fixture.stack.engine.listExecutions()).toHaveLength(executions);
    expect((await getJob(apiUrl, first.json.jobId)).request.content[0]).toMatchObject({ text: 'A first body' });
  });

  it("twenty parallel POSTs with one key and twenty bodies: one job, and what it stores and runs is the winner's body", async () => {
    const texts = Array.from({ length: 20 }, (_, index) => `Racing body #${index}`);
    const answers = await Promise.all(texts.map((text) => postJob(apiUrl, body(text), { 'idempotency-key': 'order-race' })));
    const statuses = answers.map((answer) => answer.response.status).sort();
    expect(statuses).toEqual([202, ...Array<number>(19).fill(409)]);
    const winner = answers.find((answer) => answer.response.status === 202)!.json;
    const { job } = await waitForJob(apiUrl, winner.jobId, 60_000);
    expect(job.status).toBe('SUCCEEDED');
    const recorded = (job.request.content[0] as unknown as { text: string }).text;
    expect(texts).toContain(recorded);
    // The body in S3 and the provider's task are the recorded one, whatever the losers wrote meanwhile.
    const tasks = fixture.stack.simulator.tasks().filter((task) => task.id === job.providerTaskId);
    expect(tasks.map((task) => (task.request.content[0] as { text: string }).text)).toEqual([recorded]);
    const racing = fixture.stack.simulator.tasks().filter((task) => texts.includes((task.request.content[0] as { text?: string }).text ?? ''));
    expect(racing).toHaveLength(1);
  });

  it('without a key every POST is a new job; a malformed key is a 400 naming the header', async () => {
    const a = await postJob(apiUrl, body('Twice without a key'));
    const b = await postJob(apiUrl, body('Twice without a key'));
    expect(a.json.jobId).not.toBe(b.json.jobId);
    const bad = await postJob(apiUrl, body('x'), { 'idempotency-key': 'has spaces in it' });
    expect(bad.response.status).toBe(400);
    expect((bad.json.error as unknown as { issues: { path: string }[] }).issues[0]?.path).toBe('headers.idempotency-key');
  });
});

describe('DELETE /jobs/{jobId}', () => {
  it('stops the execution, records CANCELLED for good, and announces it', async () => {
    const { json } = await postJob(apiUrl, body('A job that will be cancelled'));
    // Let it reach the provider first.
    await expect.poll(async () => (await getJob(apiUrl, json.jobId)).status, { timeout: 4_000, interval: 20 }).not.toBe('QUEUED');
    const cancel = await fetch(`${apiUrl}/jobs/${json.jobId}`, { method: 'DELETE' });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as { status: string }).status).toBe('CANCELLED');
    const [execution] = executionsOf(json.jobId);
    expect(execution?.status).toBe('ABORTED');
    // Long after the provider task would have finished, nothing has moved the job again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const job = await getJob(apiUrl, json.jobId);
    expect(job).toMatchObject({ status: 'CANCELLED', error: { code: 'CANCELLED' } });
    expect(job.output).toBeUndefined();
    await fixture.stack.deliveriesIdle();
    const events = fixture.stack.events().filter((event) => (event.detail as { jobId: string }).jobId === json.jobId);
    expect(events.map((event) => event['detail-type'])).toEqual(['Job Cancelled']);

    const again = await fetch(`${apiUrl}/jobs/${json.jobId}`, { method: 'DELETE' });
    expect(again.status).toBe(409);
  });

  it('a finished job cannot be cancelled (409), an unknown one is 404', async () => {
    const { json } = await postJob(apiUrl, body('A job that finishes'));
    const { job } = await waitForJob(apiUrl, json.jobId, 60_000);
    expect(job.status).toBe('SUCCEEDED');
    const late = await fetch(`${apiUrl}/jobs/${json.jobId}`, { method: 'DELETE' });
    expect(late.status).toBe(409);
    expect((await getJob(apiUrl, json.jobId)).status).toBe('SUCCEEDED');
    expect((await fetch(`${apiUrl}/jobs/no-such-job`, { method: 'DELETE' })).status).toBe(404);
  });

  it('a job waiting for the batch is cancelled without ever starting', async () => {
    const queued = await fetch(`${apiUrl}/jobs?schedule=batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body('Never started')),
    });
    const { jobId } = (await queued.json()) as { jobId: string };
    expect((await fetch(`${apiUrl}/jobs/${jobId}`, { method: 'DELETE' })).status).toBe(200);
    expect(executionsOf(jobId)).toHaveLength(0);
    expect((await getJob(apiUrl, jobId)).status).toBe('CANCELLED');
  });
});
