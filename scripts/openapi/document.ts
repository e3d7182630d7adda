import {
  ConflictError,
  MalformedJsonError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
  type ErrorBody,
  type PipelineError,
} from '../../runtime/domain/errors.js';
import { DEFAULT_PAGE_SIZE, jobIdSchema, listQuery, MAX_PAGE_SIZE, submitQuery } from '../../runtime/intake/intake-query.js';
import { JOB_ID_RULE, JOB_STATUSES } from '../../runtime/domain/job.js';
import { OPENAPI_PATH } from '../../runtime/intake/openapi.js';
import { described, jobViewSchema } from './job-view-schema.js';
import { providerCreatedSchema, providerErrorSchema, providerTaskEnvelopeSchema, providerTaskErrorSchema } from './provider-schemas.js';
import { DROP_IN_STAGE, PROVIDER_GENERATIONS_PATH, UNAUTHORIZED_BODY } from '../../contracts/drop-in.js';
import {
  createJobRequestSchema,
  createProviderRequestSchema,
  DEFAULT_MODELS,
  MAX_AUDIO_CLIPS,
  MAX_BODY_BYTES,
  MAX_DURATION_SECONDS,
  MAX_IMAGES,
  MAX_METADATA_ENTRIES,
  MAX_METADATA_KEY_CHARS,
  MAX_METADATA_VALUE_CHARS,
  MAX_PROMPT_CHARS,
  MAX_URL_CHARS,
  MAX_VIDEOS,
  MIN_DURATION_SECONDS,
  WEB_SEARCH_WARNING,
} from '../../runtime/domain/request-schema.js';
import * as z from '../../runtime/domain/zod.js';

/**
 * The HTTP API as an OpenAPI 3.1 document, generated from the zod schemas the intake validates with
 * (request body, query strings) and the response schemas below (the job record's is in
 * job-view-schema.ts). `npm run openapi` (scripts/openapi.ts) writes it to openapi.json at the
 * repository root, and the intake serves that file (runtime/intake/openapi.ts): the generator and
 * its schemas stay out of the function's bundle. test/unit/openapi.test.ts checks the file is what
 * this writes and that the document describes every route and error the intake answers.
 *
 * JSON Schema cannot say everything zod checks: the cross-item rules of `content` (a superRefine)
 * and the string refinements (URLs, the configured models) are written out in descriptions. Where a
 * refinement has an exact JSON Schema equivalent (duration, a non-blank prompt, the metadata entry
 * cap) it is added to the generated schema by `tightenRequestSchema`, which fails loudly if the
 * schema it patches changes shape.
 */

type Json = Record<string, unknown>;

// ---- Errors -----------------------------------------------------------------------------------

export interface DocumentedError {
  code: string;
  status: number;
  when: string;
}

const documented = (error: PipelineError, when: string): DocumentedError => ({ code: error.code, status: error.httpStatus, when });

/** Every error the intake answers, its status taken from the error class itself. */
export const INTAKE_ERRORS: readonly DocumentedError[] = [
  documented(
    new ValidationError([]),
    'the body, the job id in the path, a query parameter or a header breaks a rule, or a query parameter or header is sent twice; `issues[].path` names each field, e.g. `content[1].image_url.url` (`body` when the body is not an object, `path.jobId`, `query.<name>` for the query string, `headers.idempotency-key`, `headers.content-type`)',
  ),
  documented(new MalformedJsonError(''), 'empty body, invalid JSON, or bytes that are not UTF-8'),
  documented(new UnsupportedMediaTypeError(''), 'Content-Type is not `application/json`, or names a charset other than utf-8'),
  documented(new PayloadTooLargeError(''), `the body is over ${MAX_BODY_BYTES / 1024 / 1024} MB (API Gateway's own limit)`),
  documented(new NotFoundError(''), 'unknown job id; also any path the API does not serve'),
  documented(
    new MethodNotAllowedError(''),
    'a method the path does not serve (on AWS, API Gateway itself answers methods and paths it has no route for: `403 { message }`)',
  ),
  documented(new ConflictError(''), 'an Idempotency-Key reused with another body; cancelling a job that has ended'),
  // intake-routes.ts answers it for anything that is not a PipelineError.
  { code: 'INTERNAL_ERROR', status: 500, when: 'a bug on our side, logged; bad input is never a 500' },
];

const fieldIssueSchema = described(
  z.object({
    path: described(
      z.string(),
      'the field, as `content[1].image_url.url`, `metadata.<key>`, `path.jobId`, `query.limit`, `headers.idempotency-key`, or `body`',
    ),
    message: z.string(),
  }),
  'One broken rule',
);

function errorBodySchema<Code extends z.ZodMiniType<string>>(code: Code) {
  return z.object({
    error: z.object({
      code,
      message: z.string(),
      issues: described(z.optional(z.array(fieldIssueSchema)), 'VALIDATION_ERROR only: every broken rule'),
    }),
  });
}

/** True only for identical types (optional fields included), unlike mutual assignability. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** The error schema is the shape errors.ts's toErrorBody makes. */
const _errorBodyMatches: Same<z.output<ReturnType<typeof errorBodySchema<z.ZodMiniString>>>, ErrorBody> = true;
void _errorBodyMatches;

/** API Gateway's own answers (auth, throttling, limits) are not ours: `{ message }`. */
const gatewayErrorSchema = described(z.object({ message: z.string() }), "API Gateway's own error answer");

// ---- Responses ----------------------------------------------------------------------------------

const jobCreatedSchema = described(
  z.object({
    jobId: z.string(),
    status: described(z.enum(JOB_STATUSES), 'QUEUED for a new job; a replay (200) answers the job as it is now'),
    createdAt: z.iso.datetime(),
    links: z.object({ self: described(z.url(), 'GET it to follow the job') }),
    waiting: described(z.boolean(), 'true when it waits in the admission line for a slot; false when it started at once (or was deferred)'),
    rerunOf: described(z.optional(z.string()), 'POST /jobs/{jobId}/rerun: the job this one runs again'),
    deferred: described(z.optional(z.literal(true)), '?schedule=batch: the job joins the admission line at the next batch run'),
    warnings: described(z.optional(z.array(z.string())), `e.g. "${WEB_SEARCH_WARNING}"`),
  }),
  'POST /jobs: the job was recorded in the admission line (and started at once if a slot was free)',
);

const jobPageSchema = described(
  z.object({
    jobs: described(z.array(jobViewSchema), 'newest first; with status=QUEUED, the admission line, next to start first'),
    nextCursor: described(z.optional(z.string()), 'present while more jobs remain: pass it as `cursor`'),
    links: z.optional(z.object({ next: described(z.url(), 'the next page, same filters') })),
  }),
  'One page of GET /jobs',
);

// ---- Schemas as JSON Schema ----------------------------------------------------------------------

/** A strict child of a generated schema: patching a shape that changed must fail, not do nothing. */
function child(schema: unknown, ...path: (string | number)[]): Json {
  let node = schema;
  for (const key of path) {
    const next = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[key] : undefined;
    if (next === undefined) throw new Error(`scripts/openapi/document.ts: the generated schema has no ${path.join('.')}; update tightenRequestSchema`);
    node = next;
  }
  return node as Json;
}

const mediaUrlDescription = (dataUri: boolean) =>
  [
    `An https:// URL (at most ${MAX_URL_CHARS} characters)`,
    ...(dataUri ? ['a base64 `data:` URI'] : []),
    "`s3://<the pipeline's bucket>/<key>` (presigned for the provider when the job is submitted)",
  ].join(', or ');

/**
 * The provider request's field-level refinements, as JSON Schema where an exact equivalent exists,
 * else as descriptions. Applied to the request body (input) and to the job record's request (output).
 */
function tightenRequestSchema(schema: Json): void {
  const properties = child(schema, 'properties');
  Object.assign(child(properties, 'model'), {
    description: `One of the configured models (PROVIDER_MODELS; by default: ${DEFAULT_MODELS.join(', ')})`,
  });
  const duration = child(properties, 'duration');
  delete duration.minimum;
  delete duration.maximum;
  Object.assign(duration, {
    description: `Seconds: ${MIN_DURATION_SECONDS} to ${MAX_DURATION_SECONDS}, or -1 (the model decides)`,
    anyOf: [{ const: -1 }, { minimum: MIN_DURATION_SECONDS, maximum: MAX_DURATION_SECONDS }],
  });
  Object.assign(child(properties, 'tools'), {
    description: `Only [{"type":"web_search"}]. Accepted with media too and answered with a warning: ${WEB_SEARCH_WARNING}`,
  });
  Object.assign(child(properties, 'content'), {
    description: 'The prompt and media. The rules that span several items are listed in the POST /jobs description',
  });
  const items = child(properties, 'content', 'items', 'oneOf') as unknown as Json[];
  const itemOfType = (type: string) => {
    const item = items.find((candidate) => child(candidate, 'properties', 'type').const === type);
    if (!item) throw new Error(`scripts/openapi/document.ts: the generated schema has no content item of type ${type}`);
    return child(item, 'properties');
  };
  // `\S`: ECMAScript's white space is the set String.prototype.trim removes, so this is "not blank".
  Object.assign(child(itemOfType('text'), 'text'), { pattern: '\\S', description: 'The prompt; not blank' });
  Object.assign(child(itemOfType('image_url'), 'image_url', 'properties', 'url'), { description: mediaUrlDescription(true) });
  Object.assign(child(itemOfType('image_url'), 'role'), {
    description: 'first_frame / last_frame, or reference_image (the default: an image without a role is a reference)',
  });
  Object.assign(child(itemOfType('video_url'), 'video_url', 'properties', 'url'), { description: mediaUrlDescription(false) });
  Object.assign(child(itemOfType('audio_url'), 'audio_url', 'properties', 'url'), { description: mediaUrlDescription(true) });
}

function tightenJobRequestSchema(schema: Json): void {
  tightenRequestSchema(schema);
  Object.assign(child(schema, 'properties', 'metadata'), {
    maxProperties: MAX_METADATA_ENTRIES,
    description: `Ours, not the provider's: at most ${MAX_METADATA_ENTRIES} entries, keys of 1 to ${MAX_METADATA_KEY_CHARS} characters (a letter or digit, then letters, digits, _ . : -), values of at most ${MAX_METADATA_VALUE_CHARS} characters. Kept on the job record`,
  });
  const webhook = child(schema, 'properties', 'webhook');
  Object.assign(webhook, {
    description:
      "Ours: where the job's events are POSTed, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature); the body is the job as GET /jobs/{jobId} answers it. " +
      "Without it, the stack's default webhook (if one is configured) is used. Kept on the job record, with every delivery attempt",
  });
  Object.assign(child(webhook, 'properties', 'url'), {
    maxLength: MAX_URL_CHARS,
    description: 'https:// to a host whose every address is public (checked at submission and at every connect, redirects included); no credentials in it',
  });
  Object.assign(child(webhook, 'properties', 'events'), {
    uniqueItems: true,
    description:
      '`started` (the provider accepted the task), `progress` (the recorded progress changed), `completed` (the job ended: SUCCEEDED, FAILED, TIMED_OUT or CANCELLED)',
  });
}

function withoutSchemaHeader(schema: Json): Json {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

const COMPONENT_URI = (id: string) => `#/components/schemas/${id}`;

interface Components {
  schemas: Record<string, Json>;
  /** The Idempotency-Key header's schema. */
  idempotencyKey: Json;
  /** The `{jobId}` path parameter's schema. */
  jobId: Json;
  listParameters: Json[];
  submitParameters: Json[];
}

const QUERY_DESCRIPTIONS: Record<string, string> = {
  status: 'only jobs with this status',
  trigger: 'only jobs made by this trigger type',
  limit: `page size: decimal digits, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})`,
  cursor:
    'the `nextCursor` of the previous page, sent with the same `status` (or none, if that listing had none): any other value is a 400 naming `query.cursor`',
  schedule: '`now` starts the job at once; `batch` records it deferred, for the next batch run (under the in-flight cap)',
};

/** One query parameter per property of a query schema, in the schema's order. */
function queryParameters(schema: z.core.$ZodType): Json[] {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Json;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(child(json, 'properties')).map(([name, property]) => {
    const description = QUERY_DESCRIPTIONS[name];
    if (description === undefined) throw new Error(`scripts/openapi/document.ts: describe the query parameter ${name}`);
    return { name, in: 'query', required: required.has(name), description, schema: property };
  });
}

/** The JSON Schemas of the document, from the zod schemas. */
function buildComponents(): Components {
  // What callers send: the input side (fields with defaults are optional).
  const requests = z.registry<{ id: string }>();
  requests.add(createJobRequestSchema(), { id: 'JobRequest' });
  requests.add(createProviderRequestSchema(), { id: 'GenerationRequest' });
  const requestSchemas = z.toJSONSchema(requests, { target: 'draft-2020-12', io: 'input', uri: COMPONENT_URI }).schemas;

  // What we answer: the output side (defaults filled). Plain z.object()s may gain fields, so they stay
  // open; strict ones (the request as stored) are closed, as they are when we parse.
  const responses = z.registry<{ id: string }>();
  responses.add(jobViewSchema.shape.request.def.innerType, { id: 'ProviderRequest' });
  responses.add(jobViewSchema, { id: 'JobView' });
  responses.add(jobCreatedSchema, { id: 'JobCreated' });
  responses.add(jobPageSchema, { id: 'JobPage' });
  responses.add(fieldIssueSchema, { id: 'FieldIssue' });
  responses.add(gatewayErrorSchema, { id: 'GatewayError' });
  responses.add(providerCreatedSchema, { id: 'GenerationCreated' });
  responses.add(providerTaskEnvelopeSchema, { id: 'GenerationTask' });
  responses.add(providerErrorSchema, { id: 'ProviderError' });
  responses.add(providerTaskErrorSchema, { id: 'ProviderTaskError' });
  for (const [status, codes] of errorCodesByStatus()) {
    responses.add(described(errorBodySchema(z.enum(codes)), `Error answer ${status}: ${codes.join(', ')}`), { id: `Error${status}` });
  }
  const responseSchemas = z.toJSONSchema(responses, {
    target: 'draft-2020-12',
    io: 'output',
    uri: COMPONENT_URI,
    override: (ctx) => {
      const def = ctx.zodSchema._zod.def as { type: string; catchall?: unknown };
      if (def.type === 'object' && def.catchall === undefined) delete ctx.jsonSchema.additionalProperties;
    },
  }).schemas;

  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries({ ...requestSchemas, ...responseSchemas })) schemas[id] = withoutSchemaHeader(schema as Json);
  tightenJobRequestSchema(child(schemas, 'JobRequest'));
  tightenRequestSchema(child(schemas, 'ProviderRequest'));
  tightenRequestSchema(child(schemas, 'GenerationRequest'));

  const idempotencyKey = withoutSchemaHeader(
    z.toJSONSchema(z.string().check(z.regex(/^[\x21-\x7e]{1,128}$/)), { target: 'draft-2020-12', io: 'input' }) as Json,
  );
  const jobId = withoutSchemaHeader(z.toJSONSchema(jobIdSchema, { target: 'draft-2020-12', io: 'input' }) as Json);
  const listParameters = queryParameters(listQuery);
  // zod's input side of `limit` is a string of digits; OpenAPI writes an integer query parameter as its
  // decimal digits (style form), which is exactly what the intake reads, and can say the range.
  const limit = listParameters.find((parameter) => parameter.name === 'limit');
  if (!limit) throw new Error('scripts/openapi/document.ts: the list query has no limit; update buildComponents');
  limit.schema = { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE };
  return { schemas, idempotencyKey, jobId, listParameters, submitParameters: queryParameters(submitQuery) };
}

function errorCodesByStatus(): Map<number, [string, ...string[]]> {
  const byStatus = new Map<number, [string, ...string[]]>();
  for (const { code, status } of INTAKE_ERRORS) {
    const codes = byStatus.get(status);
    if (codes) codes.push(code);
    else byStatus.set(status, [code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

// ---- The document --------------------------------------------------------------------------------

const json = (schema: Json, extra: Json = {}) => ({ content: { 'application/json': { schema, ...extra } } });
const ref = (id: string) => ({ $ref: COMPONENT_URI(id) });
const errorResponse = (status: number) => ({ $ref: `#/components/responses/Error${status}` });

/** The answers API Gateway gives itself, before the intake runs. */
/** POST /jobs and POST /jobs/{jobId}/rerun answer an Idempotency-Key replay alike. */
const IDEMPOTENT_REPLAY = {
  description: 'An Idempotency-Key replay: the job the first request made (nothing new was written)',
  headers: { Location: { $ref: '#/components/headers/Location' } },
  ...json(ref('JobCreated')),
};

const GATEWAY_RESPONSES = {
  '403': { $ref: '#/components/responses/GatewayForbidden' },
  '429': { $ref: '#/components/responses/GatewayThrottled' },
};

const CONTENT_RULES = [
  `**content**: 1 or more items; at most 1 \`text\` (at most ${MAX_PROMPT_CHARS.toLocaleString('en-US')} characters, not blank), ${MAX_IMAGES} \`image_url\`, ${MAX_VIDEOS} \`video_url\`, ${MAX_AUDIO_CLIPS} \`audio_url\`.`,
  '**combinations**: text · text+image(s) · text+video(s) · text+image+audio · text+image+video · text+video+audio · text+image+video+audio (text optional): audio never without an image or a video.',
  '**roles**: first_frame/last_frame images never mix with reference images, videos or audio; at most one `first_frame` and one `last_frame`, and a `last_frame` needs a `first_frame`; an image without a role counts as a reference.',
  `**URLs**: \`https://\` (at most ${MAX_URL_CHARS} characters); images and audio may also be base64 \`data:\` URIs; media may also be \`s3://<the pipeline's bucket>/<key>\`.`,
  `**model**: one of the configured models (by default ${DEFAULT_MODELS.join(', ')}).`,
  `**duration**: an integer from ${MIN_DURATION_SECONDS} to ${MAX_DURATION_SECONDS}, or -1 (the model decides).`,
  '**tools**: only `[{"type":"web_search"}]`; accepted with media too, passed on, and answered with a `warnings` entry (web search applies to text-only requests).',
  `**metadata**: a flat string map of at most ${MAX_METADATA_ENTRIES} entries.`,
  '**webhook**: `{ url, events? }`: https to a public address (a 400 naming `webhook.url` otherwise); events among started, progress, completed (default completed).',
  '**unknown fields** are rejected, at any depth.',
];

const EXAMPLE_REQUEST = {
  model: DEFAULT_MODELS[0],
  content: [
    { type: 'text', text: 'A cat playing piano in a sunlit room' },
    { type: 'image_url', image_url: { url: 'https://example.com/first-frame.png' }, role: 'first_frame' },
  ],
  resolution: '720p',
  duration: 5,
  metadata: { customer: 'acme' },
  webhook: { url: 'https://hooks.example.com/video-ready', events: ['completed'] },
};

/** The provider's own example create body (docs/provider-api.md §2.2). */
const PROVIDER_EXAMPLE = {
  model: DEFAULT_MODELS[0],
  content: [
    { type: 'text', text: 'A cat playing piano in a sunlit room' },
    { type: 'image_url', image_url: { url: 'https://example.com/reference.jpg' }, role: 'reference_image' },
  ],
  generate_audio: true,
  resolution: '720p',
  ratio: 'adaptive',
  duration: 5,
  tools: [{ type: 'web_search' }],
  watermark: false,
};

/** The provider routes are served by both APIs: Bearer tokens on the drop-in API, SigV4 on the IAM API. */
const PROVIDER_SECURITY = [{ bearer: [] }, { sigv4: [] }];

const PROVIDER_SERVERS = [
  {
    url: `https://{dropInApiId}.execute-api.{region}.amazonaws.com/${DROP_IN_STAGE}`,
    description: `The drop-in API (stage ${DROP_IN_STAGE}, stack output DropInApiUrl): a provider client's base URL; Bearer tokens`,
    variables: { dropInApiId: { default: 'def456', description: 'the drop-in RestApi id (stack output DropInApiUrl)' }, region: { default: 'us-east-1' } },
  },
  {
    url: 'https://{apiId}.execute-api.{region}.amazonaws.com/v1',
    description: 'The IAM API (stage v1): the same routes for SigV4 callers',
    variables: { apiId: { default: 'abc123', description: 'the RestApi id (stack output ApiUrl)' }, region: { default: 'us-east-1' } },
  },
  { url: 'http://127.0.0.1:3000', description: 'The local stack (`npm start`): the provider routes take the same tokens' },
];

const providerError = (description: string) => ({ description, ...json(ref('ProviderError')) });
const providerTaskError = (description: string) => ({ description, ...json(ref('ProviderTaskError')) });

function buildDocument() {
  const components = buildComponents();
  const jobIdParameter = {
    name: 'jobId',
    in: 'path',
    required: true,
    schema: components.jobId,
    description: `the \`jobId\` POST /jobs answered: ${JOB_ID_RULE}. Anything else (a malformed percent-encoding included) is a 400 naming \`path.jobId\`; a well-formed id of no job is a 404`,
  };
  const errorTable = INTAKE_ERRORS.map(({ code, status, when }) => `| \`${code}\` | ${status} | ${when} |`).join('\n');
  return {
    openapi: '3.1.1',
    info: {
      title: 'video-pipeline',
      version: '1.0.0',
      summary: 'Submit video generation jobs and follow them until the MP4 is in your bucket',
      description: [
        'Every answer is JSON. Every error of the intake is `{ "error": { "code", "message", "issues"? } }`; `issues[].path` names each broken field. Bad input is always a 4xx naming the field, never a 500, and never starts an execution.',
        '',
        '| code | HTTP | when |',
        '|---|---|---|',
        errorTable,
        '',
        'API Gateway answers some requests itself, before the intake runs, with its own `{ "message" }` body: 403 for a missing or bad SigV4 signature (and for methods or paths it has no route for), 429 when throttled, 413 past its 10 MB body limit.',
        '',
        "The provider's own routes (`/v1/video/generations`, tag provider) answer in the provider's shapes and take the provider's auth too, `Authorization: Bearer <token>`, on the drop-in API; their errors are the gateway's.",
        '',
        'The local stack (`npm start`) serves the same routes on `http://127.0.0.1:3000` without authentication, except the provider routes, which take the same tokens.',
      ].join('\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/v1',
        description: 'The deployed API (stage v1); requests are signed with AWS SigV4 (service `execute-api`)',
        variables: { apiId: { default: 'abc123', description: 'the RestApi id (stack output)' }, region: { default: 'us-east-1' } },
      },
      { url: 'http://127.0.0.1:3000', description: 'The local stack (`npm start`), no authentication' },
    ],
    security: [{ sigv4: [] }],
    tags: [
      { name: 'jobs', description: 'Video generation jobs' },
      { name: 'provider', description: "The provider's own routes, in its shapes, for programs written against the provider (drop-in provider API)" },
      { name: 'meta', description: 'About this API' },
    ],
    paths: {
      '/jobs': {
        post: {
          tags: ['jobs'],
          operationId: 'createJob',
          summary: 'Submit a job',
          description: [
            "The body is the provider's create body plus optional `metadata`, `priority` and `webhook`. Parsing fills the provider's defaults, so the stored and forwarded request is explicit.",
            '',
            'Besides the JSON Schema below, the intake checks these rules (JSON Schema cannot express the ones that span several items); each broken one is a VALIDATION_ERROR issue naming the field:',
            '',
            ...CONTENT_RULES.map((rule) => `- ${rule}`),
            '',
            'With an `Idempotency-Key`, the same key and body from the same caller answer 200 with the same job; the same key with another body is 409 CONFLICT.',
            '',
            'The body is UTF-8 JSON: a Content-Type naming another charset is a 415, bytes that are not UTF-8 a 400 MALFORMED_JSON. A query parameter or header (`Idempotency-Key`, `Content-Type`) sent twice is a 400 naming it.',
          ].join('\n'),
          parameters: [
            ...components.submitParameters,
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'Names one request of one caller (1 to 128 visible ASCII characters): a retry finds the job its first attempt made',
              schema: components.idempotencyKey,
            },
          ],
          requestBody: {
            required: true,
            ...json(ref('JobRequest'), { examples: { imageToVideo: { summary: 'A first frame and a prompt', value: EXAMPLE_REQUEST } } }),
          },
          responses: {
            '200': IDEMPOTENT_REPLAY,
            '202': {
              description: 'Recorded QUEUED; its workflow started (or, with `schedule=batch`, it waits for the next batch run)',
              headers: { Location: { $ref: '#/components/headers/Location' } },
              ...json(ref('JobCreated')),
            },
            '400': errorResponse(400),
            ...GATEWAY_RESPONSES,
            '409': errorResponse(409),
            '413': errorResponse(413),
            '415': errorResponse(415),
            '500': errorResponse(500),
          },
        },
        get: {
          tags: ['jobs'],
          operationId: 'listJobs',
          summary: 'List jobs, newest first',
          description:
            'Filtered by status and/or trigger type. `nextCursor` and `links.next` are present while more jobs remain. Unknown or repeated parameters are a 400.',
          parameters: components.listParameters,
          responses: {
            '200': { description: 'One page of jobs', ...json(ref('JobPage')) },
            '400': errorResponse(400),
            ...GATEWAY_RESPONSES,
            '500': errorResponse(500),
          },
        },
      },
      '/jobs/{jobId}': {
        parameters: [jobIdParameter],
        get: {
          tags: ['jobs'],
          operationId: 'getJob',
          summary: 'Get a job',
          description: 'The job record; once SUCCEEDED also `downloadUrl`, presigned for 1 hour. It takes no query parameter: any is a 400.',
          responses: {
            '200': { description: 'The job', ...json(ref('JobView')) },
            '400': errorResponse(400),
            ...GATEWAY_RESPONSES,
            '404': errorResponse(404),
            '500': errorResponse(500),
          },
        },
        delete: {
          tags: ['jobs'],
          operationId: 'cancelJob',
          summary: 'Cancel a job',
          description:
            'Records CANCELLED (final), stops the execution and announces `Job Cancelled`. The provider has no cancel call: a task it already runs finishes there and is not collected. It takes no query parameter: any is a 400.',
          responses: {
            '200': { description: 'The cancelled job', ...json(ref('JobView')) },
            '400': errorResponse(400),
            ...GATEWAY_RESPONSES,
            '404': errorResponse(404),
            '409': errorResponse(409),
            '500': errorResponse(500),
          },
        },
      },
      '/jobs/{jobId}/rerun': {
        parameters: [jobIdParameter],
        post: {
          tags: ['jobs'],
          operationId: 'rerunJob',
          summary: 'Run a job again',
          description:
            'A new job from the request the job stored (the copy in S3, `data:` media included, not the record, which elides them), with its metadata and priority, through the same intake as POST /jobs: the contract, the `s3://` media check, the admission line. The new job names the old in `rerunOf`; the old lists it in `reruns`. It takes no body and no query parameter (a 400). A job refused before it had a request (e.g. VALIDATION_ERROR) has nothing to run again: 409. With an `Idempotency-Key`, a retry finds the job its first attempt made.',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'Names one request of one caller (1 to 128 visible ASCII characters): a retry finds the job its first attempt made',
              schema: components.idempotencyKey,
            },
          ],
          responses: {
            '200': IDEMPOTENT_REPLAY,
            '202': {
              description: 'The new job, recorded QUEUED in the admission line (started at once if a slot was free)',
              headers: { Location: { $ref: '#/components/headers/Location' } },
              ...json(ref('JobCreated')),
            },
            '400': errorResponse(400),
            ...GATEWAY_RESPONSES,
            '404': errorResponse(404),
            '409': errorResponse(409),
            '500': errorResponse(500),
          },
        },
      },
      [PROVIDER_GENERATIONS_PATH]: {
        servers: PROVIDER_SERVERS,
        post: {
          tags: ['provider'],
          operationId: 'createGeneration',
          summary: "Submit a task the provider's way (drop-in provider API)",
          description: [
            "The provider's own create route (docs/provider-api.md), served by the pipeline so a program written for the provider changes only its base URL. The body is the provider's request exactly: the same fields and defaults as `POST /jobs`, without our `metadata` and `priority` (an unknown field here). Behind it the task is an ordinary job, with the same admission line, idempotency and completion events; its task id is the job id.",
            '',
            ...CONTENT_RULES.filter((rule) => !rule.startsWith('**metadata**')).map((rule) => `- ${rule}`),
            '',
            `Auth: \`Authorization: Bearer <token>\` (a token from \`video-pipeline token create\`) on the drop-in API (stage \`${DROP_IN_STAGE}\`), or SigV4 on the IAM API. A missing, unknown or revoked token is API Gateway's 401 \`${JSON.stringify(UNAUTHORIZED_BODY)}\`. Errors are the gateway's \`{ "error": { "message", "type", "code" } }\`.`,
          ].join('\n'),
          security: PROVIDER_SECURITY,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: "Ours, not the provider's (1 to 128 visible ASCII characters): with it, a retry finds the task its first attempt made",
              schema: components.idempotencyKey,
            },
          ],
          requestBody: {
            required: true,
            ...json(ref('GenerationRequest'), { examples: { providerExample: { summary: "The provider's own example", value: PROVIDER_EXAMPLE } } }),
          },
          responses: {
            '200': { description: 'The task (a new job, or the one an Idempotency-Key found)', ...json(ref('GenerationCreated')) },
            '400': providerError('validation_error (the message names each field), malformed_json'),
            '401': { $ref: '#/components/responses/ProviderUnauthorized' },
            '403': { $ref: '#/components/responses/GatewayForbidden' },
            '409': providerError('conflict: an Idempotency-Key reused with another body'),
            '413': providerError('payload_too_large: the body is over 10 MB'),
            '415': providerError('unsupported_media_type: Content-Type is not application/json'),
            '429': { $ref: '#/components/responses/ProviderThrottled' },
            '500': providerError('internal_error: a bug on our side, logged'),
          },
        },
      },
      [`${PROVIDER_GENERATIONS_PATH}/{task_id}`]: {
        servers: PROVIDER_SERVERS,
        parameters: [
          {
            name: 'task_id',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            description: 'The `task_id` the create answered (our job id). Any other value, or a task another token made, is 404 `task_not_exist`',
          },
        ],
        get: {
          tags: ['provider'],
          operationId: 'getGeneration',
          summary: "Poll a task the provider's way (drop-in provider API)",
          description:
            "The provider's own poll route, in the gateway's `{ code, message, data }` envelope. On SUCCESS, `result_url` is our copy of the video in S3, presigned for 1 hour. A token sees only the tasks it made; SigV4 callers see every job. It takes no query parameter: any is a 400.",
          security: PROVIDER_SECURITY,
          responses: {
            '200': { description: 'The task', ...json(ref('GenerationTask')) },
            '400': providerTaskError('validation_error: a query parameter was given'),
            '401': { $ref: '#/components/responses/ProviderUnauthorized' },
            '403': { $ref: '#/components/responses/GatewayForbidden' },
            '404': providerTaskError('task_not_exist: no such task, or one another token made'),
            '429': { $ref: '#/components/responses/ProviderThrottled' },
            '500': providerTaskError('internal_error: a bug on our side, logged'),
          },
        },
      },
      [OPENAPI_PATH]: {
        get: {
          tags: ['meta'],
          operationId: 'getOpenApiDocument',
          summary: 'This document',
          description: 'The OpenAPI 3.1 document of this API, generated from the schemas the intake validates with. It takes no query parameter: any is a 400.',
          responses: {
            '200': { description: 'The OpenAPI document', ...json({ type: 'object' }) },
            '400': errorResponse(400),
            ...GATEWAY_RESPONSES,
            '500': errorResponse(500),
          },
        },
      },
    },
    components: {
      schemas: components.schemas,
      responses: {
        ...Object.fromEntries(
          [...errorCodesByStatus()].map(([status]) => [
            `Error${status}`,
            {
              description: INTAKE_ERRORS.filter((error) => error.status === status)
                .map(({ code, when }) => `${code}: ${when}`)
                .join('. '),
              ...json(status === 413 ? { anyOf: [ref(`Error${status}`), ref('GatewayError')] } : ref(`Error${status}`)),
            },
          ]),
        ),
        GatewayForbidden: {
          description: 'API Gateway: a missing or bad SigV4 signature, a caller without execute-api:Invoke, or no such route',
          ...json(ref('GatewayError')),
        },
        GatewayThrottled: { description: 'API Gateway: throttled (the stage allows 50 requests/s, bursts of 100)', ...json(ref('GatewayError')) },
        ProviderUnauthorized: {
          description: "The drop-in API's token authorizer (API Gateway): a missing, malformed, unknown or revoked Bearer token",
          ...json(ref('ProviderError'), { example: UNAUTHORIZED_BODY }),
        },
        ProviderThrottled: {
          description:
            "API Gateway: throttled (each stage allows 50 requests/s, bursts of 100); the drop-in API answers in the gateway's shape (`rate_limit_error`)",
          ...json({ anyOf: [ref('ProviderError'), ref('GatewayError')] }),
        },
      },
      headers: {
        Location: { description: 'The job: `links.self`', schema: { type: 'string', format: 'uri' } },
      },
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description:
            'The deployed API uses IAM auth: sign every request with AWS Signature Version 4 (service `execute-api`); the caller needs execute-api:Invoke',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: `The provider's own auth, on the provider routes only: a token from \`video-pipeline token create\`, sent to the drop-in API (stage \`${DROP_IN_STAGE}\`, stack output DropInApiUrl); locally, to the local API`,
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildDocument>;

/**
 * Recursively sorts object keys so the file only changes when the content does; arrays keep their
 * order, and so do `properties` (the fields in the schema's order) and the document's top level.
 */
function canonical(value: unknown, keepOrder = true): unknown {
  if (Array.isArray(value)) return value.map((item) => canonical(item, false));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Json);
  if (!keepOrder) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, item]) => [key, canonical(item, key === 'properties')]));
}

let built: OpenApiDocument | undefined;

/** The document (built once per process). */
export function openApiDocument(): OpenApiDocument {
  built ??= canonical(buildDocument()) as OpenApiDocument;
  return built;
}

/** The document as `openapi.json` holds it: two-space indented, with a final newline. */
export function renderOpenApiJson(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
