import { describe, expect, it } from 'vitest';
import type { HttpRequest, IntakeRouteDeps } from '../../runtime/intake/http-exchange.js';
import { handleIntakeRequest } from '../../runtime/intake/intake-routes.js';
import { OPENAPI_PATH } from '../../runtime/intake/openapi.js';
import { createJobRequestSchema, createProviderRequestSchema, MAX_BODY_BYTES } from '../../runtime/domain/request-schema.js';

/**
 * What the router makes of the parts of a request a client controls besides the body: the job id in
 * the path, the query string, the headers. Each bad one is a 400 naming it, before any dependency is
 * called; the dependencies here fail the test if they are.
 */

const calls: string[] = [];

function deps(): IntakeRouteDeps {
  const record = (name: string) => () => {
    calls.push(name);
    throw new Error(`${name} must not be called`);
  };
  const refuse = new Proxy({}, { get: (_target, name) => record(String(name)) });
  return {
    // A well-formed id of no job: the only call a refused request could still make is this read.
    jobs: new Proxy({}, { get: (_target, name) => (name === 'get' ? async () => undefined : record(`jobs.${String(name)}`)) }),
    requests: refuse,
    workflow: refuse,
    announcer: refuse,
    schema: createJobRequestSchema(),
    providerSchema: createProviderRequestSchema(),
    deadlineSeconds: 1800,
    now: () => new Date('2026-11-24T12:00:00Z'),
    newJobId: () => 'job-1',
    maxBodyBytes: MAX_BODY_BYTES,
    downloadUrlFor: record('downloadUrlFor'),
    onUnexpectedError: (error: unknown) => calls.push(`unexpected: ${String(error)}`),
  } as unknown as IntakeRouteDeps;
}

function request(method: string, path: string, extra: Partial<HttpRequest> = {}): HttpRequest {
  return { method, path, headers: {}, query: {}, body: undefined, baseUrl: 'https://api.example.com/v1', caller: 'tester', ...extra };
}

async function answer(method: string, path: string, extra: Partial<HttpRequest> = {}) {
  calls.length = 0;
  const response = await handleIntakeRequest(request(method, path, extra), deps());
  const body = JSON.parse(response.body) as { error?: { code: string; issues?: { path: string; message: string }[] } };
  return { status: response.statusCode, code: body.error?.code, paths: body.error?.issues?.map((issue) => issue.path) ?? [] };
}

const VALID_BODY = JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }] });
const post = (extra: Partial<HttpRequest> = {}): Partial<HttpRequest> => ({ headers: { 'content-type': ['application/json'] }, body: VALID_BODY, ...extra });

describe('the job id in the path', () => {
  it.each(['%', '%ZZ', '%E0%A4%A', '%ED%A0%80', 'abc%', '%C0%AF', '%FF'])(
    '%s, malformed percent-encoding: 400 naming path.jobId (GET and DELETE)',
    async (segment) => {
      for (const method of ['GET', 'DELETE']) {
        expect(await answer(method, `/jobs/${segment}`)).toEqual({ status: 400, code: 'VALIDATION_ERROR', paths: ['path.jobId'] });
        expect(calls).toEqual([]);
      }
    },
  );

  it.each([
    ['over DynamoDB’s 2,048-byte key limit', 'a'.repeat(2049)],
    ['one character past 128', 'a'.repeat(129)],
    ['a slash, encoded', 'a%2Fb'],
    ['a space', 'a%20b'],
    ['a dot segment', '..'],
    ['an encoded dot segment', '%2E%2E'],
    ['a leading dash', '-job'],
    ['non-ASCII', '%C3%A9t%C3%A9'],
    ['a NUL', 'a%00'],
  ])('%s: 400 naming path.jobId (GET and DELETE)', async (_name, segment) => {
    for (const method of ['GET', 'DELETE']) {
      expect(await answer(method, `/jobs/${segment}`)).toEqual({ status: 400, code: 'VALIDATION_ERROR', paths: ['path.jobId'] });
      expect(calls).toEqual([]);
    }
  });

  it.each([
    '3f1c0a52-6a1e-4f0e-9d5b-1f2e3d4c5b6a',
    `idem-${'0'.repeat(40)}`,
    `upload-${'a'.repeat(40)}`,
    `batch-${'f'.repeat(40)}`,
    'a'.repeat(128),
    'a.b_c:d-e',
    'job%2D1',
  ])('a well-formed id of no job is a 404: %s', async (segment) => {
    expect((await answer('GET', `/jobs/${segment}`)).status).toBe(404);
    expect((await answer('DELETE', `/jobs/${segment}`)).status).toBe(404);
  });
});

describe('the query string', () => {
  it('POST /jobs?schedule=batch&schedule=now is refused, naming query.schedule, and starts nothing', async () => {
    expect(await answer('POST', '/jobs', post({ query: { schedule: ['batch', 'now'] } }))).toEqual({
      status: 400,
      code: 'VALIDATION_ERROR',
      paths: ['query.schedule'],
    });
    expect(calls).toEqual([]);
  });

  it.each([
    ['GET', '/jobs', 'status', ['QUEUED', 'QUEUED']],
    ['GET', '/jobs', 'limit', ['1', '2']],
    ['GET', '/jobs', 'cursor', ['a', 'b']],
    ['GET', '/jobs', 'trigger', ['http', 's3']],
    ['POST', '/jobs', 'schedule', ['batch', 'batch']],
    ['GET', '/jobs/job-1', 'x', ['1', '2']],
    ['DELETE', '/jobs/job-1', 'x', ['1', '2']],
    ['GET', OPENAPI_PATH, 'v', ['1', '1']],
  ])('%s %s with %s given twice (%j): 400 naming it', async (method, path, name, values) => {
    const result = await answer(method, path, post({ query: { [name]: values } }));
    expect(result).toEqual({ status: 400, code: 'VALIDATION_ERROR', paths: [`query.${name}`] });
    expect(calls).toEqual([]);
  });

  it.each([
    ['GET', '/jobs/job-1'],
    ['DELETE', '/jobs/job-1'],
    ['GET', OPENAPI_PATH],
  ])('%s %s takes no parameter: any is a 400 naming it', async (method, path) => {
    expect(await answer(method, path, { query: { status: ['QUEUED'] } })).toEqual({ status: 400, code: 'VALIDATION_ERROR', paths: ['query.status'] });
    expect(await answer(method, path, { query: Object.fromEntries([['__proto__', ['x']]]) })).toEqual({
      status: 400,
      code: 'VALIDATION_ERROR',
      paths: ['query.__proto__'],
    });
  });

  it.each(['0x10', '1e1', ' 10', '10 ', '+10', '-1', '10.0', '', '0', '101', '١٠', '9'.repeat(400)])(
    'limit=%j is refused, naming query.limit',
    async (limit) => {
      expect(await answer('GET', '/jobs', { query: { limit: [limit] } })).toEqual({ status: 400, code: 'VALIDATION_ERROR', paths: ['query.limit'] });
      expect(calls).toEqual([]);
    },
  );
});

describe('the headers', () => {
  it.each([
    ['content-type', ['application/json', 'application/json']],
    ['content-type', ['application/json', 'text/plain']],
    ['idempotency-key', ['order-1', 'order-2']],
  ])('%s sent twice (%j): 400 naming the header, and nothing is recorded', async (name, values) => {
    const result = await answer('POST', '/jobs', post({ headers: { 'content-type': ['application/json'], [name]: values } }));
    expect(result).toEqual({ status: 400, code: 'VALIDATION_ERROR', paths: [`headers.${name}`] });
    expect(calls).toEqual([]);
  });

  it('a charset other than utf-8 is a 415', async () => {
    const result = await answer('POST', '/jobs', post({ headers: { 'content-type': ['application/json; charset=utf-16'] } }));
    expect(result).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(calls).toEqual([]);
  });

  it('a body of bytes that are not UTF-8 is a 400 MALFORMED_JSON', async () => {
    const bytes = Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expect(await answer('POST', '/jobs', post({ body: bytes }))).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    expect(calls).toEqual([]);
  });
});
