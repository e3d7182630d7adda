import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_SECONDS } from '../../contracts/webhooks.js';
import { webhookUrlProblem } from '../../runtime/domain/request-schema.js';
import { retryDelaySeconds, webhookEventOf, webhookIdOf } from '../../runtime/webhooks/delivery.js';
import { newStoredSecret, receiverSecret, signatureOf, signedHeaders } from '../../runtime/webhooks/signing.js';

describe('signing (Standard Webhooks)', () => {
  const stored = 'q3Yx7bM0pLr9aZcTn2Vw8KdEfGh4JsUoWi6XyQ1Re5tB'; // what Secrets Manager might generate
  const secret = receiverSecret(stored);

  it('the receiver secret is whsec_ + the base64 of the stored value, whatever characters it has', () => {
    expect(secret).toBe(`whsec_${Buffer.from(stored).toString('base64')}`);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), (value) => {
        const formatted = receiverSecret(value);
        expect(formatted.startsWith('whsec_')).toBe(true);
        // Strict base64, which standardwebhooks' decoder requires: it accepts the secret.
        expect(() => new Webhook(formatted)).not.toThrow();
      }),
    );
  });

  it('new local secrets are 32 random bytes, different each time', () => {
    const [a, b] = [newStoredSecret(), newStoredSecret()];
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
  });

  it('the signature is v1, + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the decoded secret (computed from the spec)', () => {
    const message = { id: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', timestamp: new Date(1_674_087_231_000), body: '{"jobId":"a","status":"SUCCEEDED"}' };
    const expected = createHmac('sha256', Buffer.from(stored)).update(`${message.id}.1674087231.${message.body}`).digest('base64');
    expect(signatureOf(message, secret)).toBe(`v1,${expected}`);
    expect(signedHeaders(message, secret)).toEqual({ 'webhook-id': message.id, 'webhook-timestamp': '1674087231', 'webhook-signature': `v1,${expected}` });
  });

  it('standardwebhooks verifies what we sign (any id, body and time), and signs the same', () => {
    const verifier = new Webhook(secret);
    fc.assert(
      fc.property(fc.stringMatching(/^msg_[A-Za-z0-9]{1,40}$/), fc.json(), fc.integer({ min: -120, max: 120 }), (id, body, skewSeconds) => {
        const timestamp = new Date(Date.now() + skewSeconds * 1000);
        const headers = signedHeaders({ id, timestamp, body }, secret);
        expect(verifier.verify(body, headers)).toBeDefined();
        expect(verifier.sign(id, timestamp, body)).toBe(headers['webhook-signature']);
      }),
      { numRuns: 200 },
    );
  });

  it('standardwebhooks rejects a changed body, id, timestamp, secret, or a stale timestamp', () => {
    const verifier = new Webhook(secret);
    const message = { id: 'msg_1', timestamp: new Date(), body: '{"status":"SUCCEEDED"}' };
    const headers = signedHeaders(message, secret);
    expect(() => verifier.verify('{"status":"FAILED"}', headers)).toThrow();
    expect(() => verifier.verify(message.body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
    expect(() => verifier.verify(message.body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) })).toThrow();
    expect(() => new Webhook(receiverSecret('another')).verify(message.body, headers)).toThrow();
    const old = signedHeaders({ ...message, timestamp: new Date(Date.now() - 10 * 60_000) }, secret);
    expect(() => verifier.verify(message.body, old)).toThrow(/too old/i);
  });

  it('refuses to sign with a secret that is not whsec_', () => {
    expect(() => signatureOf({ id: 'x', timestamp: new Date(), body: '' }, stored)).toThrow(/whsec_/);
  });
});

describe('the retry schedule', () => {
  it('is 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over more than 24 hours', () => {
    expect(WEBHOOK_RETRY_SECONDS).toEqual([5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(8);
    const total = WEBHOOK_RETRY_SECONDS.reduce((sum, seconds) => sum + seconds, 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3600);
  });

  it('each wait fits one Step Functions Wait state and never shrinks', () => {
    for (const [index, seconds] of WEBHOOK_RETRY_SECONDS.entries()) {
      expect(seconds).toBeGreaterThan(0);
      if (index > 0) expect(seconds).toBeGreaterThanOrEqual(WEBHOOK_RETRY_SECONDS[index - 1]!);
    }
  });

  it('attempt n waits the n-th entry; the last attempt waits nothing', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(retryDelaySeconds)).toEqual([...WEBHOOK_RETRY_SECONDS]);
    expect(retryDelaySeconds(8)).toBeUndefined();
    expect(retryDelaySeconds(9)).toBeUndefined();
  });
});

describe('events and their webhook-id', () => {
  it('maps the bus events to webhook events', () => {
    for (const type of ['Job Succeeded', 'Job Failed', 'Job Timed Out', 'Job Cancelled']) expect(webhookEventOf(type)).toBe('completed');
    expect(webhookEventOf('Job Started')).toBe('started');
    expect(webhookEventOf('Job Progress')).toBe('progress');
    expect(webhookEventOf('Job Late Video Stored')).toBeUndefined();
  });

  it('one id per event: the same for a republished event, another for another progress, job or event', () => {
    const id = webhookIdOf('progress', { jobId: 'j1', status: 'RUNNING', progress: 30 });
    expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(webhookIdOf('progress', { jobId: 'j1', status: 'RUNNING', progress: 30 })).toBe(id);
    expect(webhookIdOf('progress', { jobId: 'j1', status: 'RUNNING', progress: 50 })).not.toBe(id);
    expect(webhookIdOf('progress', { jobId: 'j2', status: 'RUNNING', progress: 30 })).not.toBe(id);
    // A job completes once: the completion's id does not depend on what the detail carries.
    expect(webhookIdOf('completed', { jobId: 'j1', status: 'SUCCEEDED', progress: 100 })).toBe(webhookIdOf('completed', { jobId: 'j1' }));
    expect(webhookIdOf('started', { jobId: 'j1' })).not.toBe(webhookIdOf('completed', { jobId: 'j1' }));
  });
});

describe('webhook URLs as written', () => {
  it.each([
    ['https://hooks.example.com/video', false, undefined],
    ['https://93.184.216.34:8443/x', false, undefined],
    ['https://[2606:4700::1111]/x', false, undefined],
    ['http://hooks.example.com/x', false, 'must be an https:// URL'],
    ['https://10.0.0.8/x', false, 'a private address'],
    ['https://127.0.0.1/x', false, 'a loopback address'],
    ['https://[::1]/x', false, 'loopback'],
    ['https://[::ffff:169.254.169.254]/x', false, 'link-local'],
    ['https://localhost/x', false, 'not localhost'],
    ['https://a:b@hooks.example.com/x', false, 'credentials'],
    ['https:/hooks.example.com', false, 'https://'],
    ['ftp://hooks.example.com', false, 'https://'],
    ['http://127.0.0.1:9000/hook', true, undefined],
    ['http://localhost:9000/hook', true, undefined],
    ['http://10.0.0.8/x', true, 'loopback host, locally'],
  ])('%s (local switch %s): %s', (url, allowLoopback, problem) => {
    const found = webhookUrlProblem(url, allowLoopback);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
