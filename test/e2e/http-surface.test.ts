import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { errorOf, sendRaw, type RawRequest } from '../../testkit/raw-http.js';

/**
 * Every part of a request a client controls besides the body's fields — the job id in the path, the
 * query string, the cursor, the headers, the charset and the bytes of the body — answered over HTTP by
 * the local stack: a 4xx naming the part, never a 500, and nothing recorded or started.
 */

let fixture: StackFixture;
let apiUrl: string;

beforeAll(async () => {
  fixture = await startStackFixture();
  apiUrl = fixture.stack.apiUrl;
});

afterAll(async () => {
  await fixture?.close();
});

const JSON_HEADER = ['content-type', 'application/json'] as const;
const BODY = JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }] });
const send = (raw: RawRequest) => sendRaw(apiUrl, raw);

async function listedJobs(): Promise<number> {
  const answer = await send({ method: 'GET', target: '/jobs?limit=100' });
  return (answer.json as { jobs: unknown[] }).jobs.length;
}

/** Sends the request and checks it was refused as `status` + `code` naming `path`, leaving nothing behind. */
async function expectRefused(raw: RawRequest, status: number, code: string, path?: string): Promise<void> {
  const jobsBefore = await listedJobs();
  const executionsBefore = fixture.stack.engine.listExecutions().length;
  const answer = await send(raw);
  const error = errorOf(answer);
  expect({ status: answer.status, code: error.code }, `${raw.method} ${raw.target.slice(0, 80)}: ${answer.text.slice(0, 300)}`).toEqual({ status, code });
  expect(error.message).toBeTruthy();
  if (path) expect(error.paths).toContain(path);
  expect(await listedJobs()).toBe(jobsBefore);
  expect(fixture.stack.engine.listExecutions().length).toBe(executionsBefore);
}

describe('the job id in the path', () => {
  it.each(['%', '%ZZ', '%E0%A4%A', '%ED%A0%80'])('/jobs/%s (malformed percent-encoding): 400 naming path.jobId, GET and DELETE', async (segment) => {
    for (const method of ['GET', 'DELETE']) await expectRefused({ method, target: `/jobs/${segment}` }, 400, 'VALIDATION_ERROR', 'path.jobId');
  });

  it('an id past DynamoDB’s 2,048-byte key limit, or with characters no id has: 400 naming path.jobId', async () => {
    for (const segment of ['a'.repeat(2049), 'a'.repeat(129), 'a%2Fb', 'job%20one', '%2E%2E']) {
      for (const method of ['GET', 'DELETE']) await expectRefused({ method, target: `/jobs/${segment}` }, 400, 'VALIDATION_ERROR', 'path.jobId');
    }
  });

  it('a well-formed id of no job is still a 404', async () => {
    for (const method of ['GET', 'DELETE']) {
      const answer = await send({ method, target: `/jobs/${'a'.repeat(128)}` });
      expect(answer.status).toBe(404);
      expect(errorOf(answer).code).toBe('NOT_FOUND');
    }
  });
});

describe('the listing cursor', () => {
  let allCursor: string;

  beforeAll(async () => {
    for (let index = 0; index < 3; index += 1) {
      const created = await send({ method: 'POST', target: '/jobs?schedule=batch', headers: [JSON_HEADER], body: BODY });
      expect(created.status).toBe(202);
    }
    const page = await send({ method: 'GET', target: '/jobs?limit=1' });
    allCursor = (page.json as { nextCursor: string }).nextCursor;
  });

  it('a well-formed cursor that is not one of ours: 400 naming query.cursor', async () => {
    const forged = Buffer.from('{"a":1}').toString('base64url');
    await expectRefused({ method: 'GET', target: `/jobs?cursor=${forged}` }, 400, 'VALIDATION_ERROR', 'query.cursor');
    await expectRefused({ method: 'GET', target: `/jobs?status=QUEUED&cursor=${forged}` }, 400, 'VALIDATION_ERROR', 'query.cursor');
  });

  it('a cursor of a listing without status, reused with status=RUNNING or status=QUEUED (the line): 400 naming query.cursor', async () => {
    await expectRefused({ method: 'GET', target: `/jobs?status=RUNNING&cursor=${allCursor}` }, 400, 'VALIDATION_ERROR', 'query.cursor');
    await expectRefused({ method: 'GET', target: `/jobs?status=QUEUED&cursor=${allCursor}` }, 400, 'VALIDATION_ERROR', 'query.cursor');
    const next = await send({ method: 'GET', target: `/jobs?limit=1&cursor=${allCursor}` });
    expect(next.status).toBe(200);
    expect((next.json as { jobs: unknown[] }).jobs).toHaveLength(1);
  });
});

describe('repeated and odd query parameters', () => {
  it('POST /jobs?schedule=batch&schedule=now: 400 naming query.schedule, no job, no execution', async () => {
    await expectRefused(
      { method: 'POST', target: '/jobs?schedule=batch&schedule=now', headers: [JSON_HEADER], body: BODY },
      400,
      'VALIDATION_ERROR',
      'query.schedule',
    );
  });

  it.each([
    ['/jobs?limit=1&limit=2', 'query.limit'],
    ['/jobs?status=QUEUED&status=QUEUED', 'query.status'],
    ['/jobs/job-1?x=1&x=2', 'query.x'],
    ['/openapi.json?v=1&v=2', 'query.v'],
  ])('GET %s: 400 naming %s', async (target, path) => {
    await expectRefused({ method: 'GET', target }, 400, 'VALIDATION_ERROR', path);
  });

  it.each(['0x10', '1e1', '%2010', '%2B10', '10.0', ''])('GET /jobs?limit=%s: 400 naming query.limit (decimal integers only)', async (limit) => {
    await expectRefused({ method: 'GET', target: `/jobs?limit=${limit}` }, 400, 'VALIDATION_ERROR', 'query.limit');
  });
});

describe('headers and the body’s bytes', () => {
  it.each([
    ['content-type', [JSON_HEADER, JSON_HEADER]],
    ['idempotency-key', [JSON_HEADER, ['Idempotency-Key', 'order-1'], ['idempotency-key', 'order-2']]],
  ] as const)('%s sent twice: 400 naming the header', async (name, headers) => {
    await expectRefused({ method: 'POST', target: '/jobs?schedule=batch', headers, body: BODY }, 400, 'VALIDATION_ERROR', `headers.${name}`);
  });

  it.each(['application/json; charset=utf-16', 'application/json; charset="ISO-8859-1"'])('Content-Type: %s is 415', async (contentType) => {
    await expectRefused(
      { method: 'POST', target: '/jobs?schedule=batch', headers: [['content-type', contentType]], body: BODY },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('bytes that are not UTF-8 are 400 MALFORMED_JSON, not read with U+FFFD in their place', async () => {
    const body = Buffer.concat([Buffer.from('{"model":"seedance-fast","content":[{"type":"text","text":"A cat '), Buffer.from([0xff]), Buffer.from('"}]}')]);
    await expectRefused({ method: 'POST', target: '/jobs?schedule=batch', headers: [JSON_HEADER], body }, 400, 'MALFORMED_JSON');
  });

  it('UTF-8 bytes are read as sent', async () => {
    const text = 'Un chat qui joue du piano 猫 🎹';
    const body = Buffer.from(JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text }] }));
    const created = await send({ method: 'POST', target: '/jobs?schedule=batch', headers: [['content-type', 'application/json; charset="UTF-8"']], body });
    expect(created.status).toBe(202);
    const job = await send({ method: 'GET', target: `/jobs/${(created.json as { jobId: string }).jobId}` });
    expect((job.json as { request: { content: { text: string }[] } }).request.content[0]!.text).toBe(text);
  });
});

describe('the request target', () => {
  it('`//` and `//host/jobs` are paths of this API (404), not URLs of another host', async () => {
    for (const target of ['//', '//evil.example/jobs']) {
      const answer = await send({ method: 'GET', target });
      expect(answer.status, `${target}: ${answer.text}`).toBe(404);
      expect(errorOf(answer).code).toBe('NOT_FOUND');
    }
  });
});
