import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  MalformedJsonError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../runtime/domain/errors.js';
import type { HttpRequest, HttpResponse, IntakeRouteDeps } from '../../runtime/intake/http-exchange.js';
import { handleIntakeRequest } from '../../runtime/intake/intake-routes.js';
import { createJobRepository } from '../../runtime/aws/job-repository.js';
import type { JobRecord } from '../../runtime/domain/job.js';
import { OPENAPI_PATH } from '../../runtime/intake/openapi.js';
import { PROVIDER_GENERATIONS_PATH, UNAUTHORIZED_BODY } from '../../contracts/drop-in.js';
import { INTAKE_ERRORS, openApiDocument, renderOpenApiJson } from '../../scripts/openapi/document.js';
import { createJobRequestSchema, createProviderRequestSchema, MAX_BODY_BYTES } from '../../runtime/domain/request-schema.js';
import { synthesizePipelineTemplate } from '../../local/stack/cloud-assembly.js';
import { apiPathOf, resourcesOfType, type CfnJson } from '../../testkit/cfn-template.js';
import { startJobsTable } from '../../testkit/jobs-table.js';
import { PROVIDER_EXAMPLE_REQUEST } from '../../testkit/provider-fixtures.js';
import { mutationArb, validBodyArb } from '../../testkit/request-arbitraries.js';

/**
 * The OpenAPI document (scripts/openapi/document.ts): a valid OpenAPI 3.1 document, checked with
 * @seriousme/openapi-schema-validator (the official 3.1 schema, run by ajv) and its schemas with ajv's
 * draft 2020-12; complete (every route the intake and API Gateway serve, every error code); true (the
 * intake's real answers validate against what it documents); and committed as generated.
 */

const ROOT = new URL('../../', import.meta.url);
const document = openApiDocument() as unknown as Json;
type Json = Record<string, any>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** `METHOD /path` of every operation the document describes. */
function documentedOperations(): string[] {
  return Object.entries(document.paths as Json).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => (item as Json)[method]).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

// ajv-formats is CommonJS: under NodeNext its plugin is the `default` of the module; some loaders unwrap it.
type FormatsPlugin = typeof addFormatsImport.default;
const addFormats: FormatsPlugin = (addFormatsImport as unknown as { default?: FormatsPlugin }).default ?? (addFormatsImport as unknown as FormatsPlugin);

/** An ajv (strict, draft 2020-12, formats) holding the document, so `#/components/...` refs resolve. */
function documentAjv() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  // The document's own keywords are not JSON Schema: known, never applied.
  ajv.addVocabulary(['openapi', 'info', 'servers', 'security', 'tags', 'paths', 'components']);
  ajv.addSchema(document, 'openapi.json');
  const cache = new Map<string, ValidateFunction>();
  return {
    ajv,
    /** The validator of the schema at a JSON pointer of the document. */
    at(pointer: string): ValidateFunction {
      let validate = cache.get(pointer);
      if (!validate) {
        validate = ajv.compile({ $ref: `openapi.json#${pointer}` });
        cache.set(pointer, validate);
      }
      return validate;
    },
  };
}

const pointer = (...segments: string[]) => segments.map((segment) => `/${segment.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

const schemas = documentAjv();
const validateJobRequest = schemas.at('/components/schemas/JobRequest');
const jobRequestSchema = createJobRequestSchema();

function explain(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors?.slice(0, 5));
}

describe('the document is valid OpenAPI 3.1', () => {
  it('validates against the official OpenAPI 3.1 schema, and every $ref resolves', async () => {
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors, JSON.stringify(result.errors, null, 1)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('every schema is valid JSON Schema 2020-12 and compiles in strict mode', () => {
    const located: Array<[string, unknown]> = Object.keys(document.components.schemas as Json).map((id) => [
      pointer('components', 'schemas', id),
      document.components.schemas[id],
    ]);
    for (const [path, item] of Object.entries(document.paths as Json)) {
      for (const method of HTTP_METHODS) {
        for (const [index, parameter] of (((item as Json)[method]?.parameters ?? []) as Json[]).entries()) {
          located.push([pointer('paths', path, method, 'parameters', String(index), 'schema'), parameter.schema]);
        }
      }
    }
    expect(located.length).toBeGreaterThan(10);
    for (const [at, schema] of located) {
      expect(schemas.ajv.validateSchema(schema as object), `${at}: ${JSON.stringify(schemas.ajv.errors)}`).toBe(true);
      expect(() => schemas.at(at), at).not.toThrow();
    }
  });

  it('names AWS SigV4 as the auth of the deployed API, for every operation', () => {
    expect(document.components.securitySchemes.sigv4).toMatchObject({
      type: 'apiKey',
      name: 'Authorization',
      in: 'header',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
    expect(document.security).toEqual([{ sigv4: [] }]);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    // The provider's routes take a Bearer token too (the drop-in API); every other operation SigV4 only.
    for (const operation of documentedOperations()) {
      const [method, path] = operation.split(' ') as [string, string];
      const security = document.paths[path][method.toLowerCase()].security;
      if (path.startsWith(PROVIDER_GENERATIONS_PATH)) expect(security, operation).toEqual([{ bearer: [] }, { sigv4: [] }]);
      else expect(security, operation).toBeUndefined();
    }
  });
});

describe('the committed openapi.json', () => {
  it('is exactly what `npm run openapi` writes', () => {
    const committed = readFileSync(new URL('openapi.json', ROOT), 'utf8');
    expect(committed, 'openapi.json is out of date: run `npm run openapi`').toBe(renderOpenApiJson());
  });
});

// ---- Routes ---------------------------------------------------------------------------------------

/** Deps whose every call fails: enough to tell which routes the router recognises. */
function unreachableDeps(): IntakeRouteDeps {
  const refuse = new Proxy(
    {},
    {
      get: (_target, name) => () => {
        throw new Error(`probe: ${String(name)} called`);
      },
    },
  );
  return {
    jobs: refuse,
    requests: refuse,
    workflow: refuse,
    announcer: refuse,
    schema: createJobRequestSchema(),
    providerSchema: createProviderRequestSchema(),
    readMedia: async () => Promise.reject(new Error('not used')),
    deadlineSeconds: 1800,
    now: () => new Date('2026-11-24T12:00:00Z'),
    newJobId: () => 'probe-job',
    maxBodyBytes: MAX_BODY_BYTES,
    downloadUrlFor: async () => 'https://example.com/video.mp4',
    onUnexpectedError: () => {},
  } as unknown as IntakeRouteDeps;
}

function httpRequest(method: string, path: string, extra: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method,
    path,
    headers: {},
    query: {},
    body: undefined,
    baseUrl: 'https://api.example.com/v1',
    caller: 'arn:aws:iam::123456789012:user/test',
    ...extra,
  };
}

/** The error of an answer, in our shape or the provider routes' two gateway shapes (their codes in lower case). */
function errorCodeOf(response: HttpResponse): { code: string; message: string } | undefined {
  const body = JSON.parse(response.body) as { error?: { code: string; message: string }; code?: string; message?: string; data?: unknown };
  const error = body.error ?? (body.data === null && body.code !== undefined ? { code: body.code, message: body.message ?? '' } : undefined);
  return error && { code: error.code.toUpperCase(), message: error.message };
}

describe('every route is documented', () => {
  const instance = (path: string) => path.replace(/\{[^}]+\}/g, 'probe-job');

  it('the router recognises exactly the documented (method, path) pairs', async () => {
    const deps = unreachableDeps();
    const probeMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    const served: string[] = [];
    for (const path of Object.keys(document.paths as Json)) {
      for (const method of probeMethods) {
        const response = await handleIntakeRequest(httpRequest(method, instance(path)), deps);
        const error = errorCodeOf(response);
        const unrouted = error?.code === 'METHOD_NOT_ALLOWED' || (error?.code === 'NOT_FOUND' && error.message.startsWith('no route'));
        if (!unrouted) served.push(`${method} ${path}`);
      }
    }
    expect(served.sort()).toEqual(documentedOperations().sort());
  });

  it('every path the router matches is a documented path (a new route in intake-routes.ts or provider-routes.ts fails here until documented)', () => {
    const source = ['runtime/intake/intake-routes.ts', 'runtime/intake/provider-routes.ts'].map((file) => readFileSync(new URL(file, ROOT), 'utf8')).join('\n');
    const documentedPaths = Object.keys(document.paths as Json).map(instance);
    // Regex literals that match paths: `/^\/jobs\/?$/`.
    const pathRegexes = [...source.matchAll(/\/(\^\\\/[^\n]*?\$)\/[a-z]*/g)].map((match) => new RegExp(match[1]!));
    expect(pathRegexes.length).toBeGreaterThanOrEqual(5);
    for (const regex of pathRegexes)
      expect(
        documentedPaths.some((path) => regex.test(path)),
        String(regex),
      ).toBe(true);
    // Path string literals, and constants compared with the path.
    for (const [, literal] of source.matchAll(/'(\/[^']*)'/g)) expect(documentedPaths, literal).toContain(literal);
    const constants = [...source.matchAll(/request\.path\s*===\s*([A-Za-z_]\w*)/g)].map((match) => match[1]);
    expect(constants, 'a route compared by a constant: document it and list it here').toEqual(['OPENAPI_PATH']);
    expect(documentedPaths).toContain(OPENAPI_PATH);
  });

  it('API Gateway routes exactly the documented operations to the intake: all with IAM auth, and the provider routes with a token too', () => {
    const template = synthesizePipelineTemplate() as unknown as CfnJson;
    const methods = resourcesOfType(template, 'AWS::ApiGateway::Method');
    const routesWith = (authorization: string) =>
      methods
        .filter(([, method]) => method.Properties!.AuthorizationType === authorization)
        .map(([, method]) => `${String(method.Properties!.HttpMethod)} ${apiPathOf(template, method.Properties!.ResourceId)}`)
        .sort();
    expect(routesWith('AWS_IAM')).toEqual(documentedOperations().sort());
    expect(routesWith('CUSTOM')).toEqual(
      documentedOperations()
        .filter((operation) => operation.includes(PROVIDER_GENERATIONS_PATH))
        .sort(),
    );
    expect(methods.length).toBe(routesWith('AWS_IAM').length + routesWith('CUSTOM').length);
  });
});

// ---- Errors ---------------------------------------------------------------------------------------

/** README, HTTP API: the error codes of the intake and their statuses. */
const README_ERRORS: Array<[string, number]> = [
  ['VALIDATION_ERROR', 400],
  ['MALFORMED_JSON', 400],
  ['UNSUPPORTED_MEDIA_TYPE', 415],
  ['PAYLOAD_TOO_LARGE', 413],
  ['NOT_FOUND', 404],
  ['METHOD_NOT_ALLOWED', 405],
  ['CONFLICT', 409],
  ['INTERNAL_ERROR', 500],
];

/** What a local `$ref` (`#/components/...`) points at. */
function resolve(ref: string): Json {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((node: Json, key) => node[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
}

/** The error codes a response schema allows (through $refs and anyOf). */
function codesOf(schema: Json): string[] {
  if (schema.$ref) return codesOf(resolve(schema.$ref as string));
  if (schema.anyOf) return (schema.anyOf as Json[]).flatMap(codesOf);
  return (schema.properties?.error?.properties?.code?.enum as string[] | undefined) ?? [];
}

function responseSchema(response: Json): Json | undefined {
  const resolved = response.$ref ? resolve(response.$ref as string) : response;
  return resolved.content?.['application/json']?.schema as Json | undefined;
}

describe('every error code is documented with its status', () => {
  it('the catalogue matches the README and the error classes', () => {
    expect(INTAKE_ERRORS.map(({ code, status }) => [code, status])).toEqual(README_ERRORS);
    const classes = [
      new ValidationError([]),
      new MalformedJsonError(''),
      new UnsupportedMediaTypeError(''),
      new PayloadTooLargeError(''),
      new NotFoundError(''),
      new MethodNotAllowedError(''),
      new ConflictError(''),
    ];
    expect(classes.map((error) => [error.code, error.httpStatus])).toEqual(README_ERRORS.slice(0, -1));
  });

  it.each(README_ERRORS)('%s is documented as a %i', (code, status) => {
    const component = document.components.responses[`Error${status}`] as Json;
    expect(codesOf(responseSchema(component)!)).toContain(code);
    expect(component.description).toContain(code);
    // Answered by at least one operation under that status, except 405: no operation of a path is
    // "the wrong method"; it is documented as a component response and in info.description.
    const operations = documentedOperations().filter((operation) => {
      const [method, path] = operation.split(' ') as [string, string];
      const response = document.paths[path][method.toLowerCase()].responses[String(status)] as Json | undefined;
      return response !== undefined && codesOf(responseSchema(response)!).includes(code);
    });
    if (status === 405) expect(operations).toEqual([]);
    else expect(operations.length, `${code} under ${status}`).toBeGreaterThan(0);
    expect(document.info.description).toContain(`| \`${code}\` | ${status} |`);
  });

  it('the operations answer the statuses the README gives them', () => {
    const statuses = (method: string, path: string) => Object.keys(document.paths[path][method].responses as Json).sort();
    expect(statuses('post', '/jobs')).toEqual(['200', '202', '400', '403', '409', '413', '415', '429', '500']);
    expect(statuses('get', '/jobs')).toEqual(['200', '400', '403', '429', '500']);
    expect(statuses('get', '/jobs/{jobId}')).toEqual(['200', '400', '403', '404', '429', '500']);
    expect(statuses('delete', '/jobs/{jobId}')).toEqual(['200', '400', '403', '404', '409', '429', '500']);
    expect(statuses('get', OPENAPI_PATH)).toEqual(['200', '400', '403', '429', '500']);
    expect(statuses('post', PROVIDER_GENERATIONS_PATH)).toEqual(['200', '400', '401', '403', '409', '413', '415', '429', '500']);
    expect(statuses('get', `${PROVIDER_GENERATIONS_PATH}/{task_id}`)).toEqual(['200', '400', '401', '403', '404', '429', '500']);
    expect(document.paths['/jobs'].post.parameters.map((parameter: Json) => `${parameter.in}:${parameter.name}`)).toEqual([
      'query:schedule',
      'header:Idempotency-Key',
    ]);
    expect(document.paths['/jobs'].get.parameters.map((parameter: Json) => parameter.name)).toEqual(['status', 'trigger', 'limit', 'cursor']);
  });

  it('documents the cross-item rules JSON Schema cannot express, in the POST /jobs description', () => {
    const description = document.paths['/jobs'].post.description as string;
    for (const rule of [
      'at most 1 `text`',
      '9 `image_url`',
      '3 `video_url`',
      '3 `audio_url`',
      'audio never without an image or a video',
      'a `last_frame` needs a `first_frame`',
      'never mix with reference images',
      'unknown fields',
    ]) {
      expect(description).toContain(rule);
    }
  });
});

// ---- The request schema, checked with ajv ---------------------------------------------------------

describe('the generated request schema (ajv)', () => {
  const accepts = (body: unknown) => validateJobRequest(body);

  it("accepts the provider's own example and the document's example", () => {
    expect(accepts(PROVIDER_EXAMPLE_REQUEST), explain(validateJobRequest)).toBe(true);
    const example = document.paths['/jobs'].post.requestBody.content['application/json'].examples.imageToVideo.value;
    expect(accepts(example), explain(validateJobRequest)).toBe(true);
    expect(jobRequestSchema.safeParse(example).success).toBe(true);
  });

  it('rejects unknown fields, at any depth', () => {
    expect(accepts({ ...PROVIDER_EXAMPLE_REQUEST, seed: 42 })).toBe(false);
    expect(accepts({ ...PROVIDER_EXAMPLE_REQUEST, content: [{ type: 'text', text: 'A cat', lang: 'en' }] })).toBe(false);
    expect(accepts({ ...PROVIDER_EXAMPLE_REQUEST, content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } }] })).toBe(
      false,
    );
    expect(accepts({ ...PROVIDER_EXAMPLE_REQUEST, tools: [{ type: 'web_search', limit: 3 }] })).toBe(false);
  });

  it('carries the exact JSON Schema equivalents of the field refinements (duration, blank prompt, metadata size)', () => {
    const body = { model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }] };
    const cases: Array<[unknown, boolean]> = [
      [{ ...body, duration: -1 }, true],
      [{ ...body, duration: 4 }, true],
      [{ ...body, duration: 15 }, true],
      [{ ...body, duration: 3 }, false],
      [{ ...body, duration: 16 }, false],
      [{ ...body, duration: 0 }, false],
      [{ ...body, duration: 5.5 }, false],
      [{ ...body, content: [{ type: 'text', text: ' \n\t ' }] }, false],
      [{ ...body, content: [{ type: 'text', text: ' x ' }] }, true],
      [{ ...body, metadata: Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`k${index}`, 'v'])) }, true],
      [{ ...body, metadata: Object.fromEntries(Array.from({ length: 21 }, (_, index) => [`k${index}`, 'v'])) }, false],
      [{ ...body, metadata: { '-dash': 'v' } }, false],
      [{ ...body, content: [] }, false],
      [{ ...body, ratio: '2:1' }, false],
    ];
    for (const [candidate, valid] of cases) {
      expect(accepts(candidate), JSON.stringify(candidate)).toBe(valid);
      expect(jobRequestSchema.safeParse(candidate).success, `zod: ${JSON.stringify(candidate)}`).toBe(valid);
    }
  });

  it('is never stricter than the intake: every valid body (fast-check, from the README contract) passes it', () => {
    fc.assert(
      fc.property(validBodyArb, (body) => {
        expect(jobRequestSchema.safeParse(body).success).toBe(true);
        expect(accepts(body), explain(validateJobRequest)).toBe(true);
      }),
      { numRuns: 300, seed: 20261124 },
    );
  });

  it('whatever it rejects, the intake rejects too (broken bodies, fast-check)', () => {
    let caught = 0;
    fc.assert(
      fc.property(
        mutationArb.filter((mutation) => mutation.raw === undefined && mutation.kind !== 'payload-too-large'),
        (mutation) => {
          if (!accepts(mutation.body)) {
            caught += 1;
            expect(jobRequestSchema.safeParse(mutation.body).success).toBe(false);
          }
        },
      ),
      { numRuns: 300, seed: 20261124 },
    );
    // Most broken rules are structural; the rest are the refinements only the intake checks.
    expect(caught).toBeGreaterThan(100);
  });

  it('the Idempotency-Key header schema is the rule the router applies', async () => {
    const header = schemas.at(pointer('paths', '/jobs', 'post', 'parameters', '1', 'schema'));
    for (const key of ['k', 'a'.repeat(128), 'a'.repeat(129), '', 'with space', 'é', '\x7f', '~!{}']) {
      const response = await handleIntakeRequest(httpRequest('POST', '/jobs', { headers: { 'idempotency-key': [key] } }), unreachableDeps());
      const refused = JSON.stringify(JSON.parse(response.body)).includes('headers.idempotency-key');
      expect(header(key), JSON.stringify(key)).toBe(!refused);
    }
  });

  it('the jobId path parameter schema is the rule the router applies', async () => {
    const jobId = schemas.at(pointer('paths', '/jobs/{jobId}', 'parameters', '0', 'schema'));
    const ids = ['a', 'job-1', 'idem-' + 'f'.repeat(40), 'A'.repeat(128), 'A'.repeat(129), '.', '..', '-x', 'a b', 'a/b', 'é', 'a~b'];
    for (const id of ids) {
      const response = await handleIntakeRequest(httpRequest('GET', `/jobs/${encodeURIComponent(id)}`), unreachableDeps());
      const refused = JSON.stringify(JSON.parse(response.body)).includes('path.jobId');
      expect(jobId(id), JSON.stringify(id)).toBe(!refused);
    }
  });

  it('the limit query parameter schema is the rule the router applies', async () => {
    const limit = schemas.at(pointer('paths', '/jobs', 'get', 'parameters', '2', 'schema'));
    for (const sent of ['1', '20', '100', '007', '0', '101', '-1', '+10', '0x10', '1e1', '10.0', ' 10', '']) {
      const response = await handleIntakeRequest(httpRequest('GET', '/jobs', { query: { limit: [sent] } }), unreachableDeps());
      const refused = JSON.stringify(JSON.parse(response.body)).includes('query.limit');
      // OpenAPI sends an integer query parameter as its decimal digits: those, and only those, are read.
      const documented = /^[0-9]+$/.test(sent) && limit(Number(sent));
      expect(documented, JSON.stringify(sent)).toBe(!refused);
    }
  });
});

// ---- The intake's real answers validate against the document ----------------------------------

describe('the intake answers what the document says', () => {
  const TABLE = 'Jobs';
  let table: Awaited<ReturnType<typeof startJobsTable>>;
  let deps: IntakeRouteDeps;
  let counter = 0;
  const seen: Array<[string, number]> = [];

  beforeAll(async () => {
    table = await startJobsTable(TABLE);
    deps = {
      jobs: createJobRepository(table.documents, TABLE),
      requests: { save: async () => {}, load: async () => Promise.reject(new Error('not used')) },
      slots: table.slots(),
      workflow: {
        executionArnFor: (name) => `arn:aws:states:us-east-1:123456789012:execution:jobs:${name}`,
        start: async (input) => `arn:aws:states:us-east-1:123456789012:execution:jobs:${input.jobId}`,
        stop: async () => {},
        describe: async () => 'RUNNING',
      },
      announcer: { announce: async () => {}, announceLateVideo: async () => {} },
      schema: createJobRequestSchema(),
      providerSchema: createProviderRequestSchema(),
      readMedia: async () => Promise.reject(new Error('not used')),
      deadlineSeconds: 1800,
      maxQueueSeconds: 86_400,
      now: () => new Date(),
      newJobId: () => `job-${++counter}`,
      maxBodyBytes: MAX_BODY_BYTES,
      downloadUrlFor: async (output) => `https://${output.bucket}.s3.us-east-1.amazonaws.com/${output.key}?X-Amz-Signature=abc`,
      onUnexpectedError: () => {},
    };
  });

  afterAll(async () => {
    await table?.close();
  });

  /** Sends a request and checks the answer against the documented response of its operation. */
  async function call(method: string, path: string, extra: Partial<HttpRequest> = {}, overrides: Partial<IntakeRouteDeps> = {}) {
    const response = await handleIntakeRequest(httpRequest(method, path, extra), { ...deps, ...overrides });
    expect(response.headers['content-type']).toBe('application/json');
    const body = JSON.parse(response.body) as Json;
    const template = Object.keys(document.paths as Json).find((candidate) =>
      new RegExp(`^${candidate.replace(/\{[^}]+\}/g, '[^/]+').replace(/\./g, '\\.')}$`).test(path),
    );
    const operation = template ? (document.paths[template][method.toLowerCase()] as Json | undefined) : undefined;
    let at: string;
    if (operation) {
      const documented = operation.responses[String(response.statusCode)] as Json | undefined;
      expect(documented, `${method} ${path} answered an undocumented ${response.statusCode}`).toBeDefined();
      at = documented!.$ref
        ? `${(documented!.$ref as string).slice(1)}/content/application~1json/schema`
        : pointer('paths', template!, method.toLowerCase(), 'responses', String(response.statusCode), 'content', 'application/json', 'schema');
    } else {
      at = pointer('components', 'responses', `Error${response.statusCode}`, 'content', 'application/json', 'schema');
    }
    const validate = schemas.at(at);
    expect(validate(body), `${method} ${path} → ${response.statusCode} ${response.body.slice(0, 300)}: ${explain(validate)}`).toBe(true);
    // The provider routes' errors are the gateway's, not ours: checked on their own below.
    if (response.statusCode >= 400 && !path.startsWith(PROVIDER_GENERATIONS_PATH)) seen.push([body.error.code as string, response.statusCode]);
    return { status: response.statusCode, headers: response.headers, body };
  }

  const json = (body: unknown, headers: Record<string, string[]> = {}): Partial<HttpRequest> => ({
    headers: { 'content-type': ['application/json'], ...headers },
    body: JSON.stringify(body),
  });

  it('creates, replays, lists, reads, downloads and cancels as documented', async () => {
    const created = await call('POST', '/jobs', json(PROVIDER_EXAMPLE_REQUEST));
    expect(created.status).toBe(202);
    expect(created.body.warnings).toHaveLength(1);
    expect(created.headers.location).toBe(created.body.links.self);

    const deferred = await call('POST', '/jobs', {
      ...json({ model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }] }),
      query: { schedule: ['batch'] },
    });
    expect(deferred.body.deferred).toBe(true);

    const keyed = json(
      { model: 'seedance-fast', content: [{ type: 'text', text: 'A dog' }], metadata: { customer: 'acme' } },
      { 'idempotency-key': ['order-1'] },
    );
    expect((await call('POST', '/jobs', keyed)).status).toBe(202);
    expect((await call('POST', '/jobs', keyed)).status).toBe(200);
    const conflict = await call(
      'POST',
      '/jobs',
      json({ model: 'seedance-fast', content: [{ type: 'text', text: 'A bird' }] }, { 'idempotency-key': ['order-1'] }),
    );
    expect(conflict.status).toBe(409);

    const page = await call('GET', '/jobs', { query: { limit: ['1'] } });
    expect(page.body.jobs).toHaveLength(1);
    expect(page.body.nextCursor).toBeTypeOf('string');
    await call('GET', '/jobs', { query: { status: ['QUEUED'], trigger: ['http'] } });

    const record = await call('GET', `/jobs/${created.body.jobId as string}`);
    expect(record.body.request).toMatchObject({ model: 'seedance-fast', duration: 5 });

    const finished: JobRecord = {
      jobId: 'job-finished',
      kind: 'job',
      status: 'SUCCEEDED',
      progress: 100,
      request: {
        model: 'seedance-fast',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,…(1234 bytes)' } },
          { type: 'text', text: 'A cat' },
        ],
        generate_audio: true,
        resolution: '720p',
        ratio: 'adaptive',
        duration: -1,
        watermark: false,
      },
      requestKey: 'requests/job-finished.json',
      trigger: { type: 's3', source: 's3://bucket/incoming/cat.json' },
      providerTaskId: 'task-1',
      createdAt: '2026-11-24T12:00:00.000Z',
      updatedAt: '2026-11-24T12:03:00.000Z',
      submittedAt: '2026-11-24T12:00:01.000Z',
      finishedAt: '2026-11-24T12:03:00.000Z',
      deadlineAt: '2026-11-24T12:30:00.000Z',
      polls: 7,
      output: { bucket: 'bucket', key: 'videos/2026/11/24/job-finished.mp4', bytes: 123456, contentType: 'video/mp4', sha256: 'a'.repeat(64) },
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:jobs:job-finished',
      announcedAt: '2026-11-24T12:03:01.000Z',
    };
    await deps.jobs.create(finished);
    const done = await call('GET', '/jobs/job-finished');
    expect(done.body.downloadUrl).toMatch(/^https:\/\//);
    expect(done.body).not.toHaveProperty('requestKey');

    const cancelled = await call('DELETE', `/jobs/${created.body.jobId as string}`);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', error: { code: 'CANCELLED' } });
    expect((await call('DELETE', `/jobs/${created.body.jobId as string}`)).status).toBe(409);
    expect((await call('DELETE', '/jobs/job-finished')).status).toBe(409);
  });

  it('answers every error as documented', async () => {
    const invalid = await call('POST', '/jobs', json({ model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }], duration: 3, extra: 1 }));
    expect(invalid.body.error.issues.map((issue: Json) => issue.path).sort()).toEqual(['duration', 'extra']);
    expect((await call('POST', '/jobs', { headers: { 'content-type': ['application/json'] }, body: '{' })).body.error.code).toBe('MALFORMED_JSON');
    expect((await call('POST', '/jobs', { headers: { 'content-type': ['text/plain'] }, body: '{}' })).status).toBe(415);
    expect((await call('POST', '/jobs', json(PROVIDER_EXAMPLE_REQUEST), { maxBodyBytes: 100 })).status).toBe(413);
    expect((await call('POST', '/jobs', { ...json(PROVIDER_EXAMPLE_REQUEST), query: { schedule: ['later'] } })).status).toBe(400);
    expect((await call('GET', '/jobs', { query: { limit: ['0'], colour: ['red'] } })).status).toBe(400);
    expect((await call('GET', '/jobs/nope')).status).toBe(404);
    expect((await call('DELETE', '/jobs/nope')).status).toBe(404);
    expect((await call('GET', '/nowhere')).status).toBe(404);
    expect((await call('PUT', '/jobs')).status).toBe(405);
    expect((await call('POST', OPENAPI_PATH)).status).toBe(405);
    // A workflow that cannot start is no error of the caller's: the job waits at the front of the line.
    const notStarted = { workflow: { ...deps.workflow, start: async () => Promise.reject(new Error('ThrottlingException')) } };
    expect((await call('POST', '/jobs', json(PROVIDER_EXAMPLE_REQUEST), notStarted)).status).toBe(202);
    const broken = { jobs: { ...deps.jobs, get: async () => Promise.reject(new Error('a bug')) } };
    expect((await call('GET', '/jobs/job-1', {}, broken)).status).toBe(500);

    expect([...new Map(seen.map(([code, status]) => [`${code} ${status}`, [code, status]])).values()].sort()).toEqual([...README_ERRORS].sort());
  });

  it("the provider routes answer the provider's shapes as documented, errors included", async () => {
    const viaToken = { caller: 'token:0123456789abcdef', tokenId: '0123456789abcdef' };
    const created = await call('POST', PROVIDER_GENERATIONS_PATH, { ...json(PROVIDER_EXAMPLE_REQUEST), ...viaToken });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ object: 'video', model: 'seedance-fast', status: '', progress: 0, task_id: created.body.id });
    const taskPath = `${PROVIDER_GENERATIONS_PATH}/${created.body.task_id as string}`;
    const task = await call('GET', taskPath, viaToken);
    expect(task.body).toMatchObject({ code: 'success', message: '', data: { task_id: created.body.task_id, result_url: '', fail_reason: '' } });
    // SigV4 callers (no token) see every job; another token sees none of this one's.
    expect((await call('GET', taskPath)).status).toBe(200);
    const other = await call('GET', taskPath, { caller: 'token:fedcba9876543210', tokenId: 'fedcba9876543210' });
    expect(other).toMatchObject({ status: 404, body: { code: 'task_not_exist', data: null } });

    const finished = await call('GET', `${PROVIDER_GENERATIONS_PATH}/job-finished`);
    expect(finished.body.data).toMatchObject({ status: 'SUCCESS', progress: '100%', fail_reason: '' });
    expect(finished.body.data.result_url).toMatch(/^https:\/\//);

    const keyed = { ...json({ model: 'seedance-fast', content: [{ type: 'text', text: 'A fox' }] }, { 'idempotency-key': ['task-1'] }), ...viaToken };
    const first = await call('POST', PROVIDER_GENERATIONS_PATH, keyed);
    expect((await call('POST', PROVIDER_GENERATIONS_PATH, keyed)).body.task_id).toBe(first.body.task_id);
    const errors: Array<[number, string]> = [];
    const refused = async (...args: Parameters<typeof call>) => {
      const answer = await call(...args);
      errors.push([answer.status, (answer.body.error?.code ?? answer.body.code) as string]);
      return answer;
    };
    const conflicting = { ...json({ model: 'seedance-fast', content: [{ type: 'text', text: 'A wolf' }] }, { 'idempotency-key': ['task-1'] }), ...viaToken };
    expect((await refused('POST', PROVIDER_GENERATIONS_PATH, conflicting)).body.error.type).toBe('invalid_request_error');
    const withMetadata = await refused('POST', PROVIDER_GENERATIONS_PATH, json({ ...PROVIDER_EXAMPLE_REQUEST, metadata: { a: 'b' } }));
    expect(withMetadata.body.error.message).toContain('metadata: unknown field');
    await refused('POST', PROVIDER_GENERATIONS_PATH, { headers: { 'content-type': ['application/json'] }, body: '{' });
    await refused('POST', PROVIDER_GENERATIONS_PATH, { headers: { 'content-type': ['text/plain'] }, body: '{}' });
    await refused('POST', PROVIDER_GENERATIONS_PATH, json(PROVIDER_EXAMPLE_REQUEST), { maxBodyBytes: 100 });
    await refused('GET', `${PROVIDER_GENERATIONS_PATH}/nope`);
    await refused('GET', `${PROVIDER_GENERATIONS_PATH}/${encodeURIComponent('a b')}`);
    await refused('GET', taskPath, { query: { verbose: ['1'] } });
    const broken = { jobs: { ...deps.jobs, get: async () => Promise.reject(new Error('a bug')) } };
    const crashed = await refused('GET', taskPath, {}, broken);
    expect(crashed.body).toMatchObject({ code: 'internal_error', data: null });
    expect(errors).toEqual([
      [409, 'conflict'],
      [400, 'validation_error'],
      [400, 'malformed_json'],
      [415, 'unsupported_media_type'],
      [413, 'payload_too_large'],
      [404, 'task_not_exist'],
      [404, 'task_not_exist'],
      [400, 'validation_error'],
      [500, 'internal_error'],
    ]);
    // A token opens the provider's routes and nothing else.
    const jobsWithToken = await handleIntakeRequest(httpRequest('GET', '/jobs', viaToken), deps);
    expect(jobsWithToken.statusCode).toBe(404);
    expect(document.components.responses.ProviderUnauthorized.content['application/json'].example).toEqual(UNAUTHORIZED_BODY);
  });

  it('GET /openapi.json serves the committed document', async () => {
    const served = await call('GET', OPENAPI_PATH);
    expect(served.status).toBe(200);
    expect(served.body).toEqual(JSON.parse(readFileSync(fileURLToPath(new URL('openapi.json', ROOT)), 'utf8')));
  });
});
