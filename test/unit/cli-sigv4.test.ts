import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../cli/api-client.js';
import { regionOfApi } from '../../cli/region.js';
import { createSigner, type OutgoingRequest } from '../../cli/sigv4.js';

/** SigV4 of the CLI (IAM auth of the deployed API), checked without any network. */

const EXAMPLE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const AT = new Date('2015-08-30T12:36:00Z');

/** SigV4 written out from the specification, to check the SDK's signer as the CLI drives it. */
function referenceAuthorization(
  request: OutgoingRequest & { headers: Record<string, string> },
  region: string,
  service: string,
  secret: string,
  accessKeyId: string,
) {
  const sha = (data: string) => createHash('sha256').update(data).digest('hex');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const date = request.headers['x-amz-date']!;
  const names = Object.keys(request.headers)
    .filter((name) => name !== 'authorization')
    .sort();
  const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...request.url.searchParams]
    .map(([name, value]) => `${encode(name)}=${encode(value)}`)
    .sort()
    .join('&');
  const canonical = [
    request.method,
    request.url.pathname
      .split('/')
      .map((segment) => encode(decodeURIComponent(segment)))
      .join('/'),
    query,
    ...names.map((name) => `${name}:${request.headers[name]!.trim()}`),
    '',
    names.join(';'),
    sha(request.body ?? ''),
  ].join('\n');
  const scope = `${date.slice(0, 8)}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date.slice(0, 8)), region), service), 'aws4_request');
  return `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${hmac(key, toSign).toString('hex')}`;
}

describe('createSigner', () => {
  it('reproduces the AWS SigV4 test suite vector get-vanilla', async () => {
    const sign = createSigner({ region: 'us-east-1', service: 'service', credentials: EXAMPLE, now: () => AT });
    const signed = await sign({ method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {} });
    expect(signed.headers).toEqual({
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ' +
        'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    });
  });

  const api = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1';
  const post: OutgoingRequest = {
    method: 'POST',
    url: new URL(`${api}/jobs?schedule=batch`),
    headers: { accept: 'application/json', 'content-type': 'application/json', 'idempotency-key': 'nightly-42' },
    body: JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A lighthouse at dusk' }] }),
  };
  const session = { ...EXAMPLE, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' };

  it('signs an execute-api request: every header present, the scope names the region and execute-api', async () => {
    const sign = createSigner({ region: 'eu-west-1', credentials: session, now: () => AT });
    const { headers } = await sign(post);
    expect(headers).toMatchObject({
      host: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      'x-amz-security-token': session.sessionToken,
      'content-type': 'application/json',
      'idempotency-key': 'nightly-42',
    });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=accept;content-type;host;idempotency-key;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    // The same as SigV4 computed from its specification: path with the stage, sorted query, body hash.
    expect(headers.authorization).toBe(referenceAuthorization({ ...post, headers }, 'eu-west-1', 'execute-api', EXAMPLE.secretAccessKey, EXAMPLE.accessKeyId));
  });

  it('is deterministic for fixed credentials and time, and covers the body, the query and the time', async () => {
    const sign = createSigner({ region: 'eu-west-1', credentials: async () => session, now: () => AT });
    const first = (await sign(post)).headers.authorization;
    expect((await sign(post)).headers.authorization).toBe(first);
    expect((await sign({ ...post, body: post.body!.replace('dusk', 'dawn') })).headers.authorization).not.toBe(first);
    expect((await sign({ ...post, url: new URL(`${api}/jobs`) })).headers.authorization).not.toBe(first);
    const later = createSigner({ region: 'eu-west-1', credentials: session, now: () => new Date(AT.getTime() + 1000) });
    expect((await later(post)).headers.authorization).not.toBe(first);
  });
});

describe('regionOfApi', () => {
  it('reads the region from the execute-api hostname, else AWS_REGION / AWS_DEFAULT_REGION', () => {
    expect(regionOfApi(new URL('https://abc123.execute-api.ap-southeast-2.amazonaws.com/v1'), {})).toBe('ap-southeast-2');
    expect(regionOfApi(new URL('https://abc123.execute-api.cn-north-1.amazonaws.com.cn/v1'), { AWS_REGION: 'eu-west-1' })).toBe('cn-north-1');
    expect(regionOfApi(new URL('https://videos.example.com/'), { AWS_REGION: 'eu-central-1' })).toBe('eu-central-1');
    expect(regionOfApi(new URL('https://videos.example.com/'), { AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-west-2');
    expect(() => regionOfApi(new URL('https://videos.example.com/'), {})).toThrow(/set AWS_REGION/);
  });
});

describe('ApiClient with a signer', () => {
  it('sends the signed headers, leaving Host to fetch, and maps a 400 to its issues (exit 2)', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: URL, init: RequestInit) => {
      seen.push({ url: url.href, init });
      return new Response(
        JSON.stringify({ error: { code: 'VALIDATION_ERROR', message: 'The request is invalid', issues: [{ path: 'duration', message: 'must be 4..15' }] } }),
        { status: 400, headers: { 'content-type': 'application/json' } },
      );
    }) as typeof fetch;
    const client = new ApiClient({
      apiUrl: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/',
      sign: createSigner({ region: 'eu-west-1', credentials: EXAMPLE, now: () => AT }),
      fetch: fakeFetch,
    });
    const failure = await client.request({ method: 'POST', path: '/jobs', body: { duration: 3 } }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ exitCode: 2, status: 400, message: 'The API refused the request (HTTP 400 VALIDATION_ERROR):\n  duration: must be 4..15' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/jobs');
    const headers = seen[0]!.init.headers as Record<string, string>;
    expect(headers).not.toHaveProperty('host');
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    expect(headers.authorization).toMatch(
      /Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, /,
    );
    expect(seen[0]!.init.body).toBe('{"duration":3}');
  });

  it('says which URL failed when nothing answers (exit 3)', async () => {
    const refused = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }) as typeof fetch;
    const client = new ApiClient({ apiUrl: 'http://127.0.0.1:9', fetch: refused });
    await expect(client.request({ method: 'GET', path: '/jobs/abc' })).rejects.toMatchObject({
      exitCode: 3,
      message: 'cannot reach the API: GET http://127.0.0.1:9/jobs/abc failed (ECONNREFUSED)',
    });
  });
});
