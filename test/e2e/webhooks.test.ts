import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localS3Client } from '../../testkit/local-s3.js';
import { Webhook } from 'standardwebhooks';
import { getJob, postJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver.js';
import { waitForJob } from '../../testkit/wait-for-job.js';

/**
 * Webhooks end to end on the local stack: the synthesized delivery state machine on the local
 * engine, started by the template's rule on the stack's bus, POSTing to a real HTTP receiver that
 * verifies each delivery with the `standardwebhooks` package. Time is scaled down so the whole
 * retry schedule (27 h on AWS) fits in about 20 s.
 */

const TIME_SCALE = 0.0002;

let fixture: StackFixture;
let receiver: WebhookReceiver;
let apiUrl: string;

const text = (prompt: string) => ({ model: 'seedance-fast', content: [{ type: 'text', text: prompt }], duration: 4 });

beforeAll(async () => {
  receiver = await startWebhookReceiver(() => fixture.stack.webhookSecret);
  fixture = await startStackFixture({
    timeScale: TIME_SCALE,
    // Jobs that name no webhook go to the stack's default one.
    context: { webhookUrl: `${receiver.url}/default`, webhookEvents: 'completed' },
  });
  apiUrl = fixture.stack.apiUrl;
});

afterAll(async () => {
  await fixture?.close();
  await receiver?.close();
});

const deliveriesTo = (path: string, jobId: string) => receiver.deliveries.filter((delivery) => delivery.path === path && delivery.body.includes(jobId));

describe('a job with a webhook', () => {
  it('gets started, progress and completed, each signed so that standardwebhooks verifies it; the job lists every attempt', async () => {
    const { response, json } = await postJob(apiUrl, {
      ...text('A lighthouse at dusk'),
      webhook: { url: `${receiver.url}/all`, events: ['started', 'progress', 'completed'] },
    });
    expect(response.status).toBe(202);
    const { job } = await waitForJob(apiUrl, json.jobId);
    expect(job.status).toBe('SUCCEEDED');
    await vi.waitFor(() => expect(deliveriesTo('/all', json.jobId).filter((delivery) => delivery.event === 'completed')).toHaveLength(1), { timeout: 10_000 });
    await fixture.stack.webhookEngine.idle();
    const received = deliveriesTo('/all', json.jobId);
    expect(received.every((delivery) => delivery.verified)).toBe(true);
    expect(new Set(received.map((delivery) => delivery.event))).toEqual(new Set(['started', 'progress', 'completed']));
    // One delivery per event: each webhook-id once (the receiver answered 200 every time).
    expect(new Set(received.map((delivery) => delivery.webhookId)).size).toBe(received.length);

    // The body is the job's public view, as GET /jobs/{jobId} gives it.
    const completed = received.find((delivery) => delivery.event === 'completed')!;
    const body = JSON.parse(completed.body) as Record<string, unknown> & { links: { self: string } };
    expect(body).toMatchObject({ jobId: json.jobId, status: 'SUCCEEDED', progress: 100, webhook: { url: `${receiver.url}/all` } });
    expect(body.links.self).toBe(`${apiUrl}/jobs/${json.jobId}`);
    expect(body.downloadUrl).toEqual(expect.stringContaining('/videos/'));

    const shown = (await getJob(apiUrl, json.jobId)) as unknown as {
      webhook: { url: string; events: string[]; attempts: { event: string; attempt: number; status?: number; webhookId: string; at: string }[] };
    };
    expect(shown.webhook.events).toEqual(['started', 'progress', 'completed']);
    expect(shown.webhook.attempts).toHaveLength(received.length);
    for (const attempt of shown.webhook.attempts) {
      expect(attempt).toMatchObject({ attempt: 1, status: 200 });
      expect(received.map((delivery) => delivery.webhookId)).toContain(attempt.webhookId);
    }
  });

  it('a tampered delivery (body, timestamp or id changed) is rejected by standardwebhooks', async () => {
    const delivery = receiver.deliveries.find((candidate) => candidate.verified)!;
    const verifier = new Webhook(fixture.stack.webhookSecret);
    const headers = { 'webhook-id': delivery.webhookId, 'webhook-timestamp': delivery.timestamp, 'webhook-signature': '' };
    const signature = verifier.sign(delivery.webhookId, new Date(Number(delivery.timestamp) * 1000), delivery.body);
    expect(() => verifier.verify(delivery.body, { ...headers, 'webhook-signature': signature })).not.toThrow();
    const tamperedBody = delivery.body.replace('"status":"', '"status":"X');
    expect(() => verifier.verify(tamperedBody, { ...headers, 'webhook-signature': signature })).toThrow();
    expect(() => verifier.verify(delivery.body, { ...headers, 'webhook-id': 'msg_other', 'webhook-signature': signature })).toThrow();
    expect(() =>
      verifier.verify(delivery.body, { ...headers, 'webhook-timestamp': String(Number(delivery.timestamp) - 1), 'webhook-signature': signature }),
    ).toThrow();
    // …and by the receiver itself, over HTTP: it answers 400 and the delivery does not verify.
    const answer = await fetch(`${receiver.url}/tampered`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers, 'webhook-signature': signature },
      body: tamperedBody,
    });
    expect(answer.status).toBe(400);
    expect(receiver.deliveries.at(-1)).toMatchObject({ path: '/tampered', verified: false });
  });

  it('a job that fails, and a cancelled one, get `completed` too (default events)', async () => {
    const failed = await postJob(apiUrl, { ...text('FAIL_TASK please'), webhook: { url: `${receiver.url}/ends` } });
    expect(failed.response.status).toBe(202);
    expect((await waitForJob(apiUrl, failed.json.jobId)).job.status).toBe('FAILED');
    const waiting = await postJob(`${apiUrl}`, { ...text('Never runs'), webhook: { url: `${receiver.url}/ends` } }, {});
    const cancel = await fetch(`${apiUrl}/jobs/${waiting.json.jobId}`, { method: 'DELETE' });
    // It may have ended before the DELETE arrived (409): then it is announced as whatever it ended.
    expect([200, 409]).toContain(cancel.status);
    await vi.waitFor(
      () => {
        expect(deliveriesTo('/ends', failed.json.jobId).map((delivery) => JSON.parse(delivery.body).status)).toEqual(['FAILED']);
        expect(deliveriesTo('/ends', waiting.json.jobId)).toHaveLength(1);
      },
      { timeout: 10_000 },
    );
    expect(deliveriesTo('/ends', failed.json.jobId)[0]!.event).toBe('completed');
  });

  it('a job that names no webhook gets the stack default (context webhookUrl)', async () => {
    const { json } = await postJob(apiUrl, text('A red kite'));
    const { job } = await waitForJob(apiUrl, json.jobId);
    expect((job as unknown as { webhook: unknown }).webhook).toMatchObject({ url: `${receiver.url}/default`, events: ['completed'] });
    await vi.waitFor(() => expect(deliveriesTo('/default', json.jobId)).toHaveLength(1), { timeout: 10_000 });
    expect(deliveriesTo('/default', json.jobId)[0]!.verified).toBe(true);
  });

  it("410 Gone stops that job's deliveries at once: one attempt, no retry, goneAt on the job", async () => {
    receiver.answerWith((delivery) => (delivery.path === '/gone' ? 410 : 200));
    const { json } = await postJob(apiUrl, { ...text('A paper boat'), webhook: { url: `${receiver.url}/gone`, events: ['started', 'progress', 'completed'] } });
    await waitForJob(apiUrl, json.jobId);
    await vi.waitFor(async () => expect(((await getJob(apiUrl, json.jobId)) as unknown as { webhook: { goneAt?: string } }).webhook.goneAt).toBeDefined(), {
      timeout: 10_000,
    });
    await fixture.stack.webhookEngine.idle();
    const shown = (await getJob(apiUrl, json.jobId)) as unknown as { webhook: { attempts: { status?: number }[] } };
    // Events published before the 410 was recorded may each have made their one attempt; none is retried.
    expect(shown.webhook.attempts.every((attempt) => attempt.status === 410)).toBe(true);
    expect(deliveriesTo('/gone', json.jobId).length).toBe(shown.webhook.attempts.length);
    receiver.answerWith(() => 200);
  });

  it('an endpoint that always fails gets every attempt of the schedule, then the event goes to the dead-letter queue', async () => {
    receiver.answerWith((delivery) => (delivery.path === '/broken' ? 500 : 200));
    const { json } = await postJob(apiUrl, { ...text('A broken receiver'), webhook: { url: `${receiver.url}/broken` } });
    await waitForJob(apiUrl, json.jobId);
    await vi.waitFor(() => expect(fixture.stack.webhookDeadLetters().some((letter) => JSON.stringify(letter).includes(json.jobId))).toBe(true), {
      timeout: 40_000,
      interval: 200,
    });
    const attempts = deliveriesTo('/broken', json.jobId);
    expect(attempts).toHaveLength(8);
    expect(new Set(attempts.map((delivery) => delivery.webhookId)).size).toBe(1);
    const shown = (await getJob(apiUrl, json.jobId)) as unknown as { webhook: { attempts: { attempt: number; status?: number }[] } };
    expect(shown.webhook.attempts.map((attempt) => attempt.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(shown.webhook.attempts.every((attempt) => attempt.status === 500)).toBe(true);
    receiver.answerWith(() => 200);
  }, 60_000);
});

describe('the same field in an upload’s spec and on a manifest line', () => {
  it('a spec under incoming/ and a manifest line under batches/ each name their webhook, and get `completed`', async () => {
    const s3 = localS3Client(fixture.stack);
    const marker = `spec-${Date.now()}`;
    await s3.send(
      new PutObjectCommand({
        Bucket: fixture.stack.bucket,
        Key: `incoming/${marker}.json`,
        Body: JSON.stringify({ ...text(`An uploaded ${marker}`), webhook: { url: `${receiver.url}/upload` } }),
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: fixture.stack.bucket,
        Key: `batches/${marker}.jsonl`,
        Body: `${JSON.stringify({ id: 'one', ...text(`A batched ${marker}`), webhook: { url: `${receiver.url}/batch`, events: ['started', 'completed'] } })}\n`,
      }),
    );
    const arrived = (path: string) => receiver.deliveries.filter((delivery) => delivery.path === path && delivery.body.includes(marker));
    await vi.waitFor(
      () => {
        expect(arrived('/upload').map((delivery) => delivery.event)).toEqual(['completed']);
        expect(
          arrived('/batch')
            .map((delivery) => delivery.event)
            .sort(),
        ).toEqual(['completed', 'started']);
      },
      { timeout: 20_000, interval: 100 },
    );
    const uploaded = JSON.parse(arrived('/upload')[0]!.body) as { trigger: { type: string }; webhook: { url: string } };
    expect(uploaded.trigger.type).toBe('s3');
    expect(uploaded.webhook.url).toBe(`${receiver.url}/upload`);
    expect((JSON.parse(arrived('/batch')[0]!.body) as { trigger: { type: string } }).trigger.type).toBe('schedule');
    expect([...arrived('/upload'), ...arrived('/batch')].every((delivery) => delivery.verified)).toBe(true);
  }, 40_000);
});

describe('webhook URLs are checked at submission', () => {
  const refused = async (webhook: unknown) => {
    const { response, json } = await postJob(apiUrl, { ...text('x'), webhook });
    expect(response.status).toBe(400);
    return (json as unknown as { error: { code: string; issues: { path: string; message: string }[] } }).error;
  };

  it.each([
    ['plain http to a public host', { url: 'http://hooks.example.com/x' }, 'webhook.url'],
    ['a private address', { url: 'https://10.1.2.3/hook' }, 'webhook.url'],
    ['the metadata address', { url: 'https://169.254.169.254/latest' }, 'webhook.url'],
    ['credentials in the URL', { url: 'https://user:pass@hooks.example.com/x' }, 'webhook.url'],
    ['a name that does not resolve', { url: 'https://no-such-host.invalid/x' }, 'webhook.url'],
    ['an unknown event', { url: `https://93.184.216.34/x`, events: ['finished'] }, 'webhook.events[0]'],
    ['no events', { url: `https://93.184.216.34/x`, events: [] }, 'webhook.events'],
    ['an unknown field', { url: `https://93.184.216.34/x`, secret: 'mine' }, 'webhook.secret'],
  ])('%s: 400 VALIDATION_ERROR naming %s', async (_case, webhook, path) => {
    const error = await refused(webhook);
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.issues.map((issue) => issue.path)).toContain(path);
  });
});
