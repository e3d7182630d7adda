import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startConsoleProxy, TOKEN_HEADER, type ConsoleProxy } from '../../cli/console-proxy.js';
import { createSigner } from '../../cli/sigv4.js';
import { hasValidSignature, startFakeApi, type FakeApi } from '../../testkit/fake-api.js';

/**
 * `video-pipeline console`'s proxy signs with the user's AWS credentials, so it must serve its own
 * page only. Checked against a fake deployed API: what is refused never reaches it; what is
 * forwarded arrives signed.
 */

const CREDENTIALS = { accessKeyId: 'AKIDCONSOLETEST', secretAccessKey: 'console-test-secret', sessionToken: 'console-session' };
const REGION = 'eu-west-1';

let api: FakeApi;
let proxy: ConsoleProxy;

beforeAll(async () => {
  api = await startFakeApi((request) =>
    request.target.startsWith('/v1/jobs/')
      ? { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no such job' } } }
      : { status: 202, body: { jobs: [] } },
  );
  proxy = await startConsoleProxy({ apiUrl: api.url, sign: createSigner({ region: REGION, credentials: CREDENTIALS }) });
});

afterAll(async () => {
  await proxy?.close();
  await api?.close();
});

beforeEach(() => {
  api.received.length = 0;
});

interface Sent {
  method?: string;
  target: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A request with exactly these headers (Host included: a browser after DNS rebinding sends its own name). */
function send({
  method = 'GET',
  target,
  headers = {},
  body,
}: Sent): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  const { port } = new URL(proxy.origin);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path: target, headers: { host: `127.0.0.1:${port}`, ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: response.headers }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const own = () => ({ origin: proxy.origin, [TOKEN_HEADER]: proxy.token });
const codeOf = (text: string) => (JSON.parse(text) as { error: { code: string } }).error.code;

describe('the console proxy', () => {
  it('prints an address on 127.0.0.1 whose fragment carries a long random token', () => {
    expect(proxy.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(proxy.pageUrl).toBe(`${proxy.origin}/#token=${proxy.token}`);
    expect(proxy.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('serves its page without the token (it holds no secret), never framed, with a strict CSP', async () => {
    const page = await send({ target: '/' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('/_console/app.js');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect((await send({ target: '/_console/app.js' })).status).toBe(200);
    expect(api.received).toEqual([]);
  });

  it('forwards its page’s calls signed with SigV4, without the token, cookies or other headers', async () => {
    const listed = await send({
      target: '/jobs?status=RUNNING&limit=20',
      headers: { ...own(), 'sec-fetch-site': 'same-origin', cookie: 'a=b', 'x-other': '1' },
    });
    expect(listed.status).toBe(202);
    expect(JSON.parse(listed.text)).toEqual({ jobs: [] });
    const body = JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A lighthouse' }] });
    const posted = await send({ method: 'POST', target: '/jobs', headers: { ...own(), 'content-type': 'application/json', 'idempotency-key': 'k-1' }, body });
    expect(posted.status).toBe(202);
    const missing = await send({ target: '/jobs/job-1/rerun', method: 'POST', headers: own() });
    expect(missing.status).toBe(404);
    expect(codeOf(missing.text)).toBe('NOT_FOUND');

    expect(api.received.map((request) => `${request.method} ${request.target}`)).toEqual([
      'GET /v1/jobs?status=RUNNING&limit=20',
      'POST /v1/jobs',
      'POST /v1/jobs/job-1/rerun',
    ]);
    const [get, post] = api.received;
    for (const request of api.received) {
      expect(request.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=AKIDCONSOLETEST/\\d{8}/${REGION}/execute-api/aws4_request, `));
      expect(request.headers['x-amz-security-token']).toBe('console-session');
      expect(await hasValidSignature(request, new URL(api.url).origin, REGION, CREDENTIALS)).toBe(true);
      expect(request.headers[TOKEN_HEADER]).toBeUndefined();
      expect(request.headers.cookie).toBeUndefined();
      expect(request.headers['x-other']).toBeUndefined();
      expect(request.headers.origin).toBeUndefined();
    }
    // The check itself fails on a request that is not exactly what was signed.
    expect(await hasValidSignature({ ...post!, body: `${post!.body} ` }, new URL(api.url).origin, REGION, CREDENTIALS)).toBe(false);
    expect(get!.body).toBe('');
    expect(post!.body).toBe(body);
    expect(post!.headers['idempotency-key']).toBe('k-1');
    expect(post!.headers['content-type']).toBe('application/json');
  });

  it.each([
    ['no token', { origin: 'own' }, 403, 'CONSOLE_TOKEN'],
    ['a wrong token', { origin: 'own', token: 'x'.repeat(43) }, 403, 'CONSOLE_TOKEN'],
    ['the token of another run (a prefix of it)', { origin: 'own', token: 'prefix' }, 403, 'CONSOLE_TOKEN'],
    ['a foreign Origin, even with the token', { origin: 'http://evil.example', token: 'right' }, 403, 'FOREIGN_ORIGIN'],
    ['another port of 127.0.0.1 (same site, other origin)', { origin: 'http://127.0.0.1:1', token: 'right' }, 403, 'FOREIGN_ORIGIN'],
    ['a cross-site fetch (Sec-Fetch-Site)', { site: 'cross-site', token: 'right' }, 403, 'FOREIGN_ORIGIN'],
    ['a foreign Host: DNS rebinding', { host: 'evil.example', origin: 'http://evil.example', token: 'right' }, 403, 'FOREIGN_HOST'],
    ['a foreign Host with no Origin', { host: 'evil.example', token: 'right' }, 403, 'FOREIGN_HOST'],
    ['localhost instead of 127.0.0.1', { host: 'localhost', token: 'right' }, 403, 'FOREIGN_HOST'],
  ] as const)('refuses a call with %s, and the API never sees it', async (_case, how, status, code) => {
    const { port } = new URL(proxy.origin);
    const headers: Record<string, string> = {};
    if ('host' in how) headers.host = `${how.host}:${port}`;
    if ('origin' in how) headers.origin = how.origin === 'own' ? proxy.origin : how.origin;
    if ('site' in how) headers['sec-fetch-site'] = how.site;
    if ('token' in how) headers[TOKEN_HEADER] = how.token === 'right' ? proxy.token : how.token === 'prefix' ? proxy.token.slice(0, 20) : how.token;
    for (const [method, target] of [
      ['GET', '/jobs'],
      ['DELETE', '/jobs/job-1'],
      ['POST', '/jobs'],
    ] as const) {
      const answer = await send({ method, target, headers });
      expect(answer.status).toBe(status);
      expect(codeOf(answer.text)).toBe(code);
    }
    expect(api.received).toEqual([]);
  });

  it('refuses its page itself to a foreign Host, so a rebound name never loads it', async () => {
    const { port } = new URL(proxy.origin);
    const answer = await send({ target: '/', headers: { host: `evil.example:${port}` } });
    expect(answer.status).toBe(403);
    expect(answer.text).not.toContain('/_console/app.js');
  });

  it('answers a CORS preflight without any CORS permission', async () => {
    const answer = await send({
      method: 'OPTIONS',
      target: '/jobs',
      headers: { origin: 'http://evil.example', 'access-control-request-headers': TOKEN_HEADER },
    });
    expect(answer.status).toBe(403);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each([
    ['a path outside the API', 'GET', '/_local/stack', 404],
    ['a dot segment', 'GET', '/jobs/../admin', 404],
    ['an encoded dot segment', 'GET', '/jobs/%2e%2e/admin', 404],
    ['a method the API has not', 'PUT', '/jobs', 405],
  ] as const)('forwards only the API’s routes: %s is refused', async (_case, method, target, status) => {
    expect((await send({ method, target, headers: own() })).status).toBe(status);
    expect(api.received).toEqual([]);
  });
});
