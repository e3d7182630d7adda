import fc from 'fast-check';
import type { RawAnswer, RawRequest } from './raw-http.js';
import { validBodyArb } from './request-arbitraries.js';

/**
 * fast-check arbitraries for everything a client controls besides the body's fields: the job id in
 * the path, the query string (repeated, unknown and odd parameters, `limit` spelled every way Number()
 * reads), forged cursors, repeated headers, charsets, and body bytes that are not UTF-8. Written from
 * the README's HTTP API section, not from the intake's code; `judgeSurfaceAnswer` is the oracle shared
 * by test/e2e/fuzz.test.ts and bench/fuzz-intake.ts.
 *
 * No case is meant to record a job: every POST here must be refused, so the fuzz's "one job per 202"
 * count still holds. The few cases that must be served (a well-formed cursor, a decimal limit, an
 * unknown but well-formed job id) only read.
 */

// ---- The contract, restated from the README ---------------------------------------------------

/** README: a job id is 1 to 128 characters, a letter or digit then letters, digits, `. _ : -`. */
const ID_FIRST = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ID_REST = `${ID_FIRST}._:-`;
const MAX_ID_CHARS = 128;
const STATUSES = ['QUEUED', 'SUBMITTED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const;
const TRIGGERS = ['http', 's3', 'schedule'] as const;
const MAX_PAGE_SIZE = 100;
/** The parameters each route takes (README): any other is refused. */
const ROUTE_PARAMETERS = {
  'GET /jobs': ['status', 'trigger', 'limit', 'cursor'],
  'POST /jobs': ['schedule'],
  'GET /jobs/{jobId}': [],
  'DELETE /jobs/{jobId}': [],
  'GET /openapi.json': [],
} as const;
type Route = keyof typeof ROUTE_PARAMETERS;

export interface SurfaceExpectation {
  status: number;
  code?: string;
  /** `error.issues[].path` must contain this one. */
  path?: string;
}

export interface SurfaceCase {
  kind: string;
  request: RawRequest;
  expected: SurfaceExpectation;
}

// ---- Building blocks ---------------------------------------------------------------------------

const idChar = fc.constantFrom(...ID_REST);
const wellFormedIdArb = fc.tuple(fc.constantFrom(...ID_FIRST), fc.array(idChar, { maxLength: MAX_ID_CHARS - 1 })).map(([first, rest]) => first + rest.join(''));

const JSON_HEADER = ['content-type', 'application/json'] as const;

/** A valid body: a POST case is refused for its path, query or headers, never for the body. */
const validJsonArb = validBodyArb.map((body) => JSON.stringify(body));

const query = (pairs: readonly (readonly [string, string])[]) =>
  pairs.length === 0 ? '' : `?${pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`;

/** A request on a route, with a valid body when it is a POST. */
function onRoute(route: Route, pairs: readonly (readonly [string, string])[], jobId = 'job-1'): fc.Arbitrary<RawRequest> {
  const [method, template] = route.split(' ') as [string, string];
  const target = template.replace('{jobId}', jobId) + query(pairs);
  if (method !== 'POST') return fc.constant({ method, target });
  return validJsonArb.map((body) => ({ method, target, headers: [JSON_HEADER], body }));
}

const validValueOf = (name: string): fc.Arbitrary<string> =>
  ({
    status: fc.constantFrom(...STATUSES),
    trigger: fc.constantFrom(...TRIGGERS),
    limit: fc.integer({ min: 1, max: MAX_PAGE_SIZE }).map(String),
    cursor: fc.string({ minLength: 1, maxLength: 20 }),
    schedule: fc.constantFrom('now', 'batch'),
  })[name] ?? fc.string({ maxLength: 10 });

const refused = (path: string): SurfaceExpectation => ({ status: 400, code: 'VALIDATION_ERROR', path });
/** The routes that take a job id in the path: the job itself, and running it again. */
const pathMethod = fc.constantFrom(['GET', ''] as const, ['DELETE', ''] as const, ['POST', '/rerun'] as const);

// ---- The job id in the path ---------------------------------------------------------------------

/** Percent-encodings that decode to no UTF-8 string: cut, not hex, overlong, a surrogate, past U+10FFFF. */
const badEscapeArb = fc.oneof(
  fc.constantFrom(
    '%',
    '%Z',
    '%ZZ',
    '%G0',
    '%%',
    '%E0%A4%A',
    '%E0%A4',
    '%C3',
    '%80',
    '%FF',
    '%FE',
    '%C0%AF',
    '%E0%80%AF',
    '%ED%A0%80',
    '%ED%BF%BF',
    '%F4%90%80%80',
    '%F8%88%80%80%80',
  ),
  fc.tuple(fc.constantFrom(...'0123456789abcdefABCDEF'), fc.constantFrom(...'gGzZ-_.')).map(([hex, other]) => `%${hex}${other}`),
);

const badPercentEncoding = fc
  .tuple(pathMethod, fc.string({ unit: idChar, maxLength: 8 }), badEscapeArb, fc.string({ unit: idChar, maxLength: 8 }))
  .map(([[method, route], before, escape, after]): SurfaceCase => ({
    kind: 'path:bad-percent-encoding',
    request: { method, target: `/jobs/${before}${escape}${after}${route}` },
    expected: refused('path.jobId'),
  }));

const overLongId = fc
  .tuple(pathMethod, fc.oneof(fc.integer({ min: MAX_ID_CHARS + 1, max: 2048 }), fc.integer({ min: 2049, max: 8000 })), idChar)
  .map(([[method, route], length, char]): SurfaceCase => ({
    kind: 'path:over-long-id',
    request: { method, target: `/jobs/a${char.repeat(length - 1)}${route}` },
    expected: refused('path.jobId'),
  }));

/** A character no id has; every one is sent percent-encoded, as a client would. */
const oddCharArb = fc.oneof(
  fc.constantFrom(
    ' ',
    '/',
    '%',
    '?',
    '#',
    '"',
    '<',
    '>',
    '\\',
    '^',
    '`',
    '{',
    '|',
    '}',
    '~',
    '!',
    '$',
    '&',
    "'",
    '(',
    ')',
    '*',
    '+',
    ',',
    ';',
    '=',
    '@',
    '[',
    ']',
  ),
  fc.constantFrom('é', 'ß', '猫', '🎹', '\u0000', '\n', '\u001f', '\u007f', '\u00a0', '\u200b', '\ufeff'),
);

const oddCharacters = fc
  .tuple(pathMethod, fc.string({ unit: idChar, maxLength: 10 }), oddCharArb, fc.string({ unit: idChar, maxLength: 10 }))
  .map(([[method, route], before, odd, after]) => [method, route, `a${before}${odd}${after}`] as const)
  .chain(([method, route, id]) =>
    fc
      .oneof(
        fc.constant(id),
        // The first character is narrower: never `.`, so neither `.` nor `..` is an id.
        fc.constantFrom('.', '..', '_job', '-job', ':job', '.job'),
      )
      .map((odd): SurfaceCase => ({
        kind: 'path:odd-characters',
        request: { method, target: `/jobs/${encodeURIComponent(odd)}${route}` },
        expected: refused('path.jobId'),
      })),
  );

const unknownId = fc.tuple(pathMethod, fc.oneof(wellFormedIdArb, fc.uuid().map(String))).map(([[method, route], id]): SurfaceCase => ({
  kind: 'path:unknown-id',
  request: { method, target: `/jobs/${id}${route}` },
  expected: { status: 404, code: 'NOT_FOUND' },
}));

// ---- The query string ---------------------------------------------------------------------------

/** What Number() reads as a number but is not decimal digits, and numbers out of range. */
const badLimitArb = fc.oneof(
  fc.constantFrom(
    '0x10',
    '0X1A',
    '0b11',
    '0o7',
    '1e1',
    '1E2',
    ' 10',
    '10 ',
    '\t10',
    '+10',
    '-10',
    '-0',
    '10.0',
    '1.',
    '.5',
    '',
    '0',
    '00',
    '101',
    '1_0',
    '1,0',
    '١٠',
    '１０',
    'Infinity',
    'NaN',
    'ten',
  ),
  fc.integer({ min: MAX_PAGE_SIZE + 1 }).map(String),
  fc
    .integer({ min: 1, max: MAX_PAGE_SIZE })
    .chain((limit) => fc.constantFrom(` ${limit}`, `+${limit}`, `${limit}.0`, `0x${limit.toString(16)}`, `${limit}e0`, `${limit}n`)),
);

const limitNotDecimal = fc
  .tuple(badLimitArb, fc.option(fc.constantFrom(...STATUSES), { nil: undefined }))
  .chain(([limit, status]) => onRoute('GET /jobs', [...(status ? [['status', status] as const] : []), ['limit', limit]]))
  .map((request): SurfaceCase => ({ kind: 'query:limit-not-decimal', request, expected: refused('query.limit') }));

const limitDecimal = fc
  .tuple(fc.integer({ min: 1, max: MAX_PAGE_SIZE }), fc.integer({ min: 0, max: 3 }))
  .chain(([limit, zeros]) => onRoute('GET /jobs', [['limit', `${'0'.repeat(zeros)}${limit}`]]))
  .map((request): SurfaceCase => ({ kind: 'query:limit-decimal', request, expected: { status: 200 } }));

const anyRoute = fc.constantFrom(...(Object.keys(ROUTE_PARAMETERS) as Route[]));

/** A parameter given 2 or 3 times, on any route; POST /jobs?schedule=batch&schedule=now is the one the README names. */
const repeatedParameter = anyRoute
  .chain((route) => {
    const known = ROUTE_PARAMETERS[route] as readonly string[];
    const name = known.length > 0 ? fc.oneof(fc.constantFrom(...known), fc.constantFrom('x', 'limit')) : fc.constantFrom('x', 'status', 'v');
    return name.chain((chosen) =>
      fc.tuple(fc.constant(route), fc.constant(chosen), fc.array(validValueOf(chosen), { minLength: 2, maxLength: 3 }), fc.boolean()),
    );
  })
  .chain(([route, name, values, encodeName]) =>
    onRoute(
      route,
      values.map((value) => [name, value] as const),
    ).map((request): SurfaceCase => ({
      kind: 'query:repeated',
      // The same name spelled two ways is still one name once decoded: `limit` and `%6Cimit`.
      request: encodeName
        ? { ...request, target: request.target.replace(`&${name}=`, `&%${name.charCodeAt(0).toString(16).toUpperCase()}${name.slice(1)}=`) }
        : request,
      expected: refused(`query.${name}`),
    })),
  );

/** Names a route does not take: case and spacing variants, array syntax, prototype names, anything. */
const unknownNameArb = fc.oneof(
  fc.constantFrom('Limit', 'STATUS', 'limit[]', 'status ', ' limit', 'cursor.a', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x', ''),
  fc.string({ maxLength: 12 }),
);

const unknownParameter = fc
  .tuple(anyRoute, unknownNameArb, fc.string({ maxLength: 10 }))
  .filter(([route, name]) => !(ROUTE_PARAMETERS[route] as readonly string[]).includes(name))
  .chain(([route, name, value]) =>
    onRoute(route, [[name, value]]).map((request): SurfaceCase => ({ kind: 'query:unknown', request, expected: refused(`query.${name}`) })),
  );

// ---- Cursors ------------------------------------------------------------------------------------

/** README: the cursor is the `nextCursor` of a listing with the same status (or none). */
const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
const isoDateArb = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString());

/** The key a listing with `status` (or none) hands out, as DynamoDB orders it. */
/** The start key a listing of that status reads: the line index for QUEUED, the status index for the others, the creation index without one. */
function ourKey(status: string | undefined, jobId: string, createdAt: string): Record<string, string> {
  if (status === 'QUEUED') return { jobId, inLine: 'waiting', lineKey: `${createdAt}#${jobId}` };
  return status ? { jobId, status, createdAt } : { jobId, kind: 'job', createdAt };
}

const listingStatus = fc.option(fc.constantFrom(...STATUSES), { nil: undefined });

const forgedCursorArb = (status: string | undefined): fc.Arbitrary<string> =>
  fc.tuple(wellFormedIdArb, isoDateArb).chain(([jobId, createdAt]) => {
    const key = ourKey(status, jobId, createdAt);
    const otherStatus = fc.constantFrom(...STATUSES).filter((other) => other !== status);
    return fc.oneof(
      // Another listing's cursor: another status, or the other index.
      otherStatus.map((other) => cursorOf(ourKey(other, jobId, createdAt))),
      fc.constant(cursorOf(ourKey(status ? undefined : 'QUEUED', jobId, createdAt))),
      // One field missing, one too many, one of the wrong type or form.
      fc.constantFrom(...Object.keys(key)).map((field) => cursorOf(Object.fromEntries(Object.entries(key).filter(([name]) => name !== field)))),
      fc
        .tuple(fc.constantFrom('progress', 'a', 'updatedAt', '__proto__'), fc.jsonValue({ maxDepth: 1 }))
        .map(([field, value]) => cursorOf({ ...key, [field]: value })),
      fc.constantFrom<unknown>(7, null, true, [], {}, '', 'x'.repeat(3000), '../x', 'a b', '.job').map((jobId) => cursorOf({ ...key, jobId })),
      fc
        .constantFrom<unknown>(7, null, true, [], {}, '', 'yesterday', '2026-13-01T00:00:00Z', '2026-01-01')
        .map((created) => cursorOf({ ...key, createdAt: created })),
      // Not a key at all.
      fc
        .jsonValue({ maxDepth: 2 })
        .filter((value) => typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length !== 3)
        .map(cursorOf),
      fc.string({ minLength: 1, maxLength: 40 }).filter((text) => !/^[A-Za-z0-9_-]+$/.test(text)),
      fc.constant(`${cursorOf(key)}!`),
      fc.uint8Array({ minLength: 1, maxLength: 24 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
    );
  });

const forgedCursor = listingStatus
  .chain((status) => fc.tuple(fc.constant(status), forgedCursorArb(status)))
  .chain(([status, cursor]) => onRoute('GET /jobs', [...(status ? [['status', status] as const] : []), ['cursor', cursor]]))
  .map((request): SurfaceCase => ({ kind: 'cursor:forged', request, expected: refused('query.cursor') }));

/** A key of exactly the right shape is as good as ours: DynamoDB starts after it whether or not the job exists. */
const wellFormedCursor = fc
  .tuple(listingStatus, wellFormedIdArb, isoDateArb)
  .chain(([status, jobId, createdAt]) =>
    onRoute('GET /jobs', [...(status ? [['status', status] as const] : []), ['cursor', cursorOf(ourKey(status, jobId, createdAt))]]),
  )
  .map((request): SurfaceCase => ({ kind: 'cursor:well-formed', request, expected: { status: 200 } }));

// ---- Headers, charsets, bytes ------------------------------------------------------------------

const idempotencyKeyArb = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.:~!'), minLength: 1, maxLength: 20 });

/** Content-Type or Idempotency-Key sent 2 or 3 times, the later lines spelled as written or in lower case. */
const repeatedHeader = fc
  .tuple(
    fc.constantFrom(
      ['content-type', 'Content-Type'],
      ['content-type', 'content-type'],
      ['idempotency-key', 'Idempotency-Key'],
      ['idempotency-key', 'idempotency-key'],
    ),
    fc.array(idempotencyKeyArb, { minLength: 2, maxLength: 3 }),
    fc.array(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'), { minLength: 2, maxLength: 3 }),
    validJsonArb,
  )
  .map(([[name, spelling], keys, types, body]): SurfaceCase => {
    const values = name === 'content-type' ? types : keys;
    const headers = values.map((value, index) => [index === 0 ? name : spelling, value] as const);
    return {
      kind: 'headers:repeated',
      request: { method: 'POST', target: '/jobs?schedule=batch', headers: name === 'content-type' ? headers : [JSON_HEADER, ...headers], body },
      expected: refused(`headers.${name}`),
    };
  });

const charsetArb = fc.constantFrom(
  'utf-16',
  'UTF-16LE',
  'utf-16be',
  'utf-32',
  'iso-8859-1',
  'latin1',
  'windows-1252',
  'us-ascii',
  'utf8',
  'UTF_8',
  'utf-7',
  'shift_jis',
  'gbk',
  'big5',
  'koi8-r',
  '',
);

const notUtf8Charset = fc
  .tuple(
    fc.constantFrom('application/json', 'Application/JSON', 'application/problem+json'),
    charsetArb,
    fc.constantFrom('plain', 'quoted', 'upper-name', 'after-another', 'second-charset'),
    validJsonArb,
  )
  .map(([type, charset, how, body]): SurfaceCase => {
    const contentType = {
      plain: `${type}; charset=${charset}`,
      quoted: `${type};charset="${charset}"`,
      'upper-name': `${type}; CHARSET=${charset.toUpperCase()}`,
      'after-another': `${type}; version=1; charset=${charset}`,
      'second-charset': `${type}; charset=utf-8; charset=${charset}`,
    }[how];
    return {
      kind: 'charset:not-utf-8',
      request: { method: 'POST', target: '/jobs?schedule=batch', headers: [['content-type', contentType]], body },
      expected: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    };
  });

/** Byte sequences UTF-8 forbids: a stray continuation, 0xFE/0xFF, overlong forms, surrogates, past U+10FFFF, cut sequences. */
const BAD_UTF8 = [
  [0x80],
  [0xbf],
  [0xfe],
  [0xff],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x8e],
];

const notUtf8Body = fc
  .tuple(fc.constantFrom(...BAD_UTF8), fc.string({ unit: fc.constantFrom(...'A cat 猫🎹é'), maxLength: 20 }), fc.string({ maxLength: 20 }))
  .map(([bad, before, after]): SurfaceCase => {
    const head = Buffer.from(`{"model":"seedance-fast","content":[{"type":"text","text":${JSON.stringify(`x${before}`).slice(0, -1)}`);
    const tail = Buffer.from(`${JSON.stringify(after).slice(1)}}]}`);
    return {
      kind: 'body:not-utf-8',
      request: { method: 'POST', target: '/jobs?schedule=batch', headers: [JSON_HEADER], body: Buffer.concat([head, Buffer.from(bad), tail]) },
      expected: { status: 400, code: 'MALFORMED_JSON' },
    };
  });

// ---- Methods ------------------------------------------------------------------------------------

/** Methods Node's parser knows (others never reach the API) that no route serves. */
const wrongMethod = fc
  .tuple(
    fc.constantFrom('/jobs', '/jobs/job-1', '/jobs/%', '/jobs/job-1/rerun', '/openapi.json'),
    fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'PURGE'),
  )
  .map(([target, method]): SurfaceCase => ({ kind: 'method:not-allowed', request: { method, target }, expected: { status: 405, code: 'METHOD_NOT_ALLOWED' } }));

// ---- All of it ----------------------------------------------------------------------------------

const SURFACE: Record<string, fc.Arbitrary<SurfaceCase>> = {
  'path:bad-percent-encoding': badPercentEncoding,
  'path:over-long-id': overLongId,
  'path:odd-characters': oddCharacters,
  'path:unknown-id': unknownId,
  'query:limit-not-decimal': limitNotDecimal,
  'query:limit-decimal': limitDecimal,
  'query:repeated': repeatedParameter,
  'query:unknown': unknownParameter,
  'cursor:forged': forgedCursor,
  'cursor:well-formed': wellFormedCursor,
  'headers:repeated': repeatedHeader,
  'charset:not-utf-8': notUtf8Charset,
  'body:not-utf-8': notUtf8Body,
  'method:not-allowed': wrongMethod,
};

export const SURFACE_KINDS = Object.keys(SURFACE);

export function surfaceCaseOfKind(kind: string): fc.Arbitrary<SurfaceCase> {
  const arbitrary = SURFACE[kind];
  if (!arbitrary) throw new Error(`no surface kind ${kind}`);
  return arbitrary;
}

export const surfaceCaseArb: fc.Arbitrary<SurfaceCase> = fc.oneof(...SURFACE_KINDS.map((kind) => SURFACE[kind]!));

/** Undefined when the answer is right, else what is wrong with it. */
export function judgeSurfaceAnswer(surfaceCase: SurfaceCase, answer: RawAnswer): string | undefined {
  if (answer.status >= 500) return `a ${answer.status} (never allowed)`;
  const { expected } = surfaceCase;
  if (answer.status !== expected.status) return `expected ${expected.status}, got ${answer.status}`;
  const json = answer.json as { jobs?: unknown; error?: { code?: unknown; message?: unknown; issues?: { path?: unknown }[] } } | undefined;
  if (json === undefined || typeof json !== 'object' || json === null) return 'the answer is not a JSON object';
  if (expected.status === 200) return Array.isArray(json.jobs) ? undefined : 'a 200 without a jobs array';
  const error = json.error;
  if (!error || error.code !== expected.code) return `expected error.code ${expected.code}, got ${JSON.stringify(error?.code)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'the error has no message';
  if (expected.path !== undefined) {
    const named = (error.issues ?? []).map((issue) => issue.path);
    if (!named.includes(expected.path)) return `expected an issue at ${expected.path}, got ${JSON.stringify(named)}`;
  }
  return undefined;
}

/** The request in one line: method, target (cut), headers, body bytes. */
export function describeRequest(request: RawRequest, maxTarget = 160): string {
  const target = request.target.length > maxTarget ? `${request.target.slice(0, maxTarget)}…(${request.target.length} chars)` : request.target;
  const headers = (request.headers ?? []).map(([name, value]) => `${name}: ${value}`).join(' | ');
  const body = request.body === undefined ? '' : ` body ${Buffer.byteLength(request.body)} bytes`;
  return `${request.method} ${target}${headers ? `  [${headers}]` : ''}${body}`;
}
