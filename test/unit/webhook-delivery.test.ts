import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedPost } from '../../runtime/net/guarded-post.js';
import { Webhook } from 'standardwebhooks';
import { MAX_WEBHOOK_ATTEMPTS_KEPT, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_SECONDS } from '../../contracts/webhooks.js';
import { createWebhookAttemptLog } from '../../runtime/aws/webhook-attempts.js';
import { JOB_KIND, type JobRecord, type WebhookAttempt } from '../../runtime/domain/job.js';
import type { PostOutcome } from '../../runtime/net/guarded-post.js';
import { deliverWebhook, type DeliveryDeps, type JobBusEvent } from '../../runtime/webhooks/delivery.js';
import { receiverSecret } from '../../runtime/webhooks/signing.js';
import { startJobsTable } from '../../testkit/jobs-table.js';

const SECRET = receiverSecret('unit-test-secret');
const NOW = new Date();

const job = (webhook?: JobRecord['webhook']): JobRecord => ({
  jobId: 'job-1',
  kind: JOB_KIND,
  status: 'SUCCEEDED',
  progress: 100,
  trigger: { type: 'http', source: 'test' },
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
  deadlineAt: NOW.toISOString(),
  ...(webhook ? { webhook } : {}),
});

const completed: JobBusEvent = { 'detail-type': 'Job Succeeded', detail: { jobId: 'job-1', status: 'SUCCEEDED', progress: 100 } };

/** deliverWebhook with a job in memory, a receiver that answers `answer`, and the calls it saw. */
function harness(record: JobRecord | undefined, answer: PostOutcome) {
  const posts: { url: string; body: string; headers: Record<string, string> }[] = [];
  const recorded: { attempt: WebhookAttempt; gone: boolean }[] = [];
  const deps: DeliveryDeps = {
    jobs: { get: async () => record },
    attempts: { record: async (_jobId, attempt, gone) => void recorded.push({ attempt, gone }) },
    view: async (viewed) => ({ jobId: viewed.jobId, status: viewed.status }),
    secret: async () => SECRET,
    post: async (url, body, headers) => {
      posts.push({ url, body, headers });
      return answer;
    },
    now: () => NOW,
  };
  return { deps, posts, recorded };
}

describe('deliverWebhook (one attempt)', () => {
  const hook = { url: 'https://hooks.example.com/x', events: ['completed' as const] };

  it('2xx: delivered, signed so that standardwebhooks verifies it, the attempt recorded', async () => {
    const { deps, posts, recorded } = harness(job(hook), { status: 204 });
    const result = await deliverWebhook({ event: completed, attempt: 0 }, deps);
    expect(result).toMatchObject({ outcome: 'delivered', attempt: 1 });
    expect(posts).toHaveLength(1);
    expect(posts[0]!.url).toBe(hook.url);
    expect(JSON.parse(posts[0]!.body)).toEqual({ jobId: 'job-1', status: 'SUCCEEDED' });
    expect(posts[0]!.headers['webhook-event']).toBe('completed');
    expect(() => new Webhook(SECRET).verify(posts[0]!.body, posts[0]!.headers)).not.toThrow();
    expect(recorded).toEqual([{ attempt: { event: 'completed', webhookId: result.webhookId, attempt: 1, at: NOW.toISOString(), status: 204 }, gone: false }]);
  });

  it('a failure answers retry with the schedule’s wait; the last attempt answers exhausted', async () => {
    for (let attempt = 1; attempt <= WEBHOOK_MAX_ATTEMPTS; attempt++) {
      const { deps, recorded } = harness(job(hook), { status: 503 });
      const result = await deliverWebhook({ event: completed, attempt: attempt - 1 }, deps);
      if (attempt < WEBHOOK_MAX_ATTEMPTS) expect(result).toMatchObject({ outcome: 'retry', attempt, waitSeconds: WEBHOOK_RETRY_SECONDS[attempt - 1] });
      else expect(result).toMatchObject({ outcome: 'exhausted', attempt, reason: 'HTTP 503' });
      expect(recorded[0]!.attempt).toMatchObject({ attempt, status: 503 });
    }
  });

  it('no answer (timeout, refused address): recorded with the error, retried', async () => {
    const { deps, recorded } = harness(job(hook), { error: 'refusing to deliver a webhook to x: it resolves to 10.0.0.1, a private address', refused: true });
    expect(await deliverWebhook({ event: completed, attempt: 2 }, deps)).toMatchObject({ outcome: 'retry', attempt: 3, waitSeconds: WEBHOOK_RETRY_SECONDS[2] });
    expect(recorded[0]!.attempt).toMatchObject({ attempt: 3, error: expect.stringContaining('private address') });
    expect(recorded[0]!.attempt).not.toHaveProperty('status');
  });

  it('410: gone, recorded as stopping the job’s deliveries; a later event is skipped without a request', async () => {
    const first = harness(job(hook), { status: 410 });
    expect(await deliverWebhook({ event: completed, attempt: 0 }, first.deps)).toMatchObject({ outcome: 'gone' });
    expect(first.recorded[0]!.gone).toBe(true);
    const later = harness(job({ ...hook, goneAt: NOW.toISOString() }), { status: 200 });
    expect(await deliverWebhook({ event: completed, attempt: 0 }, later.deps)).toMatchObject({ outcome: 'skipped' });
    expect(later.posts).toEqual([]);
  });

  it('skips, without a request or a record: no job, no webhook, an event it did not ask for, an event that is no webhook event', async () => {
    const cases: [JobRecord | undefined, JobBusEvent][] = [
      [undefined, completed],
      [job(), completed],
      [job(hook), { 'detail-type': 'Job Progress', detail: { jobId: 'job-1', status: 'RUNNING', progress: 50 } }],
      [job(hook), { 'detail-type': 'Job Late Video Stored', detail: { jobId: 'job-1' } }],
    ];
    for (const [record, event] of cases) {
      const { deps, posts, recorded } = harness(record, { status: 200 });
      expect(await deliverWebhook({ event, attempt: 0 }, deps)).toMatchObject({ outcome: 'skipped' });
      expect([posts, recorded]).toEqual([[], []]);
    }
  });

  it('every attempt at one event carries the same webhook-id and a fresh timestamp', async () => {
    const ids = new Set<string>();
    for (let attempt = 0; attempt < 3; attempt++) {
      const { deps, posts } = harness(job(hook), { status: 500 });
      await deliverWebhook({ event: completed, attempt }, deps);
      ids.add(posts[0]!.headers['webhook-id']!);
    }
    expect(ids.size).toBe(1);
  });
});

describe('the attempt log on the job (dynalite)', () => {
  let table: Awaited<ReturnType<typeof startJobsTable>>;
  beforeAll(async () => {
    table = await startJobsTable('WebhookAttempts');
  });
  afterAll(async () => table?.close());

  const attempt = (n: number): WebhookAttempt => ({
    event: 'completed',
    webhookId: 'msg_x',
    attempt: n,
    at: new Date(1_700_000_000_000 + n).toISOString(),
    status: 500,
  });

  it(`keeps the newest ${MAX_WEBHOOK_ATTEMPTS_KEPT} attempts, oldest first, and marks a 410 once`, async () => {
    await table.documents.send(new PutCommand({ TableName: 'WebhookAttempts', Item: job({ url: 'https://hooks.example.com/x', events: ['completed'] }) }));
    const log = createWebhookAttemptLog(table.documents, 'WebhookAttempts', 5);
    for (let n = 1; n <= 8; n++) await log.record('job-1', attempt(n), n === 7);
    const { Item } = await table.documents.send(new GetCommand({ TableName: 'WebhookAttempts', Key: { jobId: 'job-1' } }));
    const webhook = (Item as JobRecord).webhook!;
    expect(webhook.attempts!.map((entry) => entry.attempt)).toEqual([4, 5, 6, 7, 8]);
    expect(webhook.goneAt).toBe(attempt(7).at);
  });

  it('a job without a webhook is left alone', async () => {
    await table.documents.send(new PutCommand({ TableName: 'WebhookAttempts', Item: { ...job(), jobId: 'job-2' } }));
    await createWebhookAttemptLog(table.documents, 'WebhookAttempts').record('job-2', attempt(1), false);
    const { Item } = await table.documents.send(new GetCommand({ TableName: 'WebhookAttempts', Key: { jobId: 'job-2' } }));
    expect(Item).not.toHaveProperty('webhook');
  });
});

describe('guardedPost: the StoreVideo guard, for a POST', () => {
  let server: Server;
  let base: string;
  const received: { path: string; body: string; signature: string | undefined }[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body, signature: request.headers['webhook-signature'] as string | undefined });
        const redirect = /^\/redirect\?to=(.+)$/.exec(request.url ?? '');
        if (redirect) response.writeHead(307, { location: decodeURIComponent(redirect[1]!) }).end();
        else if (request.url === '/hang') return;
        else response.writeHead(202).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const options = { headers: { 'webhook-signature': 'v1,x' }, timeoutMs: 2000, allowInsecureLoopback: true };

  it('posts the body with its headers and answers the status', async () => {
    expect(await guardedPost(`${base}/a`, '{"a":1}', options)).toEqual({ status: 202 });
    expect(received.at(-1)).toEqual({ path: '/a', body: '{"a":1}', signature: 'v1,x' });
  });

  it('follows a redirect with the same signed POST, the target checked first', async () => {
    expect(await guardedPost(`${base}/redirect?to=${encodeURIComponent(`${base}/moved`)}`, '{"b":2}', options)).toEqual({ status: 202 });
    expect(received.at(-1)).toEqual({ path: '/moved', body: '{"b":2}', signature: 'v1,x' });
  });

  it('refuses a redirect to a private or metadata address without connecting', async () => {
    for (const target of ['https://10.0.0.7/x', 'http://169.254.169.254/latest/meta-data', 'https://192.168.1.1/']) {
      const outcome = await guardedPost(`${base}/redirect?to=${encodeURIComponent(target)}`, '{}', options);
      expect(outcome, target).toMatchObject({ refused: true, error: expect.stringMatching(/^refusing to deliver a webhook to /) });
    }
  });

  it('without the local switch, loopback is refused too, at connect', async () => {
    expect(await guardedPost(`${base}/a`, '{}', { ...options, allowInsecureLoopback: false })).toMatchObject({ refused: true });
    // A public name that resolves to loopback is refused at the connect, whatever the URL says.
    const resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    expect(await guardedPost('https://hooks.example.com/x', '{}', { ...options, allowInsecureLoopback: false, resolve })).toMatchObject({
      refused: true,
      error: expect.stringContaining('loopback'),
    });
  });

  it('a receiver that does not answer in time is an error, not a hang', async () => {
    const started = Date.now();
    expect(await guardedPost(`${base}/hang`, '{}', { ...options, timeoutMs: 300 })).toEqual({ error: 'no answer within 300 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
