import { isIP } from 'node:net';
import { MEDIA_PREFIXES } from '../../contracts/bucket.js';
import { ValidationError, type FieldIssue } from './errors.js';
import { PRIORITIES, type Priority } from '../admission/admission-line.js';
import { isLoopbackHost } from '../net/loopback.js';
import { nonPublicReason } from '../net/address-ranges.js';
import { DEFAULT_WEBHOOK_EVENTS, WEBHOOK_EVENTS, type WebhookEvent } from '../../contracts/webhooks.js';
import * as z from './zod.js';

/**
 * The provider's create body (see provider-api.md), the one contract shared by the intake, the
 * S3 trigger, the batch reader and the provider simulator. Parsing fills the provider's
 * defaults, so what we store and forward is explicit.
 */

export const DEFAULT_MODELS = ['seedance-fast'] as const;
export const MAX_PROMPT_CHARS = 10_000;
export const MAX_IMAGES = 9;
export const MAX_VIDEOS = 3;
export const MAX_AUDIO_CLIPS = 3;
export const MIN_DURATION_SECONDS = 4;
export const MAX_DURATION_SECONDS = 15;
/** The provider caps a whole body at 64 MB; API Gateway caps ours at 10 MB, so that is our limit. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_METADATA_ENTRIES = 20;
export const MAX_URL_CHARS = 4096;
const METADATA_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
export const MAX_METADATA_KEY_CHARS = 64;
export const MAX_METADATA_VALUE_CHARS = 512;

export const RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', 'adaptive'] as const;
export const RESOLUTIONS = ['480p', '720p'] as const;
export const FRAME_ROLES = ['first_frame', 'last_frame'] as const;
export const WEB_SEARCH_WARNING = 'web_search applies to text-only requests; the provider ignores it when media is attached';

const DATA_URI = /^data:[a-z]+\/[a-z0-9.+-]+(;[a-z0-9-]+=[^;,]+)*;base64,[a-z0-9+/]+={0,2}$/i;

function isHttpsUrl(value: string): boolean {
  // The URL parser forgives `https:/host` and spaces; the provider needs the URL as written to work.
  if (!value.startsWith('https://') || /\s/.test(value)) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname.length > 0;
  } catch {
    return false;
  }
}

export interface RequestSchemaOptions {
  /** The models the API accepts; the provider's list changes, so it is configuration. */
  models?: readonly string[];
  /** Our bucket: media may then be `s3://<bucket>/<key>`, presigned for the provider at submit time. */
  mediaBucket?: string;
  /** The local stack's S3 has no TLS: its presigned http://127.0.0.1 URLs pass only where this is set. */
  allowLoopbackHttp?: boolean;
  /** The local stack's switch for plain-http loopback video URLs (ALLOW_INSECURE_LOOPBACK_VIDEO_URLS): webhook receivers on loopback too. */
  allowLoopbackWebhooks?: boolean;
}

function isLoopbackHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && isLoopbackHost(url.hostname);
  } catch {
    return false;
  }
}

/** `s3://bucket/key` → its parts, or undefined for anything else. */
export function parseS3Uri(value: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(value);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

/** S3's own limit on a key, in UTF-8 bytes. */
const MAX_S3_KEY_BYTES = 1024;

/** A key under a media prefix, in plain segments: no `.`/`..` or empty segment, backslash or control character. */
export function isMediaKey(key: string): boolean {
  return (
    MEDIA_PREFIXES.some((prefix) => key.startsWith(prefix) && key.length > prefix.length) &&
    new TextEncoder().encode(key).length <= MAX_S3_KEY_BYTES &&
    !/[\\\u0000-\u001f\u007f]/.test(key) &&
    key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
  );
}

function isOurMedia(location: { bucket: string; key: string } | undefined, bucket: string): boolean {
  return location !== undefined && location.bucket === bucket && isMediaKey(location.key);
}

function mediaUrl(options: RequestSchemaOptions, allowDataUri: boolean) {
  const accepted = [
    `an https:// URL (at most ${MAX_URL_CHARS} characters)`,
    ...(allowDataUri ? ['a base64 data: URI'] : []),
    ...(options.mediaBucket ? [`s3://${options.mediaBucket}/<key> with the key under ${MEDIA_PREFIXES.join(' or ')}`] : []),
  ];
  return z
    .string()
    .check(
      z.refine(
        (value) =>
          ((isHttpsUrl(value) || (options.allowLoopbackHttp === true && isLoopbackHttpUrl(value))) && value.length <= MAX_URL_CHARS) ||
          (allowDataUri && DATA_URI.test(value)) ||
          (options.mediaBucket !== undefined && isOurMedia(parseS3Uri(value), options.mediaBucket)),
        { message: `must be ${accepted.join(' or ')}` },
      ),
    );
}

const textItem = z.strictObject({
  type: z.literal('text'),
  // Kept as written (not trimmed): the prompt is the user's, spaces included.
  text: z.string().check(
    z.maxLength(MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`),
    z.refine((value) => value.trim().length > 0, { message: 'must not be empty' }),
  ),
});

function contentItem(options: RequestSchemaOptions) {
  const imageItem = z.strictObject({
    type: z.literal('image_url'),
    image_url: z.strictObject({ url: mediaUrl(options, true) }),
    role: z.optional(z.enum(['first_frame', 'last_frame', 'reference_image'])),
  });
  const videoItem = z.strictObject({
    type: z.literal('video_url'),
    video_url: z.strictObject({ url: mediaUrl(options, false) }),
    role: z.optional(z.literal('reference_video')),
  });
  const audioItem = z.strictObject({
    type: z.literal('audio_url'),
    audio_url: z.strictObject({ url: mediaUrl(options, true) }),
    role: z.optional(z.literal('reference_audio')),
  });
  return z.discriminatedUnion('type', [textItem, imageItem, videoItem, audioItem], {
    error: (issue) => (issue.code === 'invalid_union' ? 'type must be one of text, image_url, video_url, audio_url' : undefined),
  });
}

export type ContentItem = z.infer<ReturnType<typeof contentItem>>;

const duration = z.number({ error: 'must be an integer' }).check(
  z.int('must be an integer'),
  z.refine((value) => value === -1 || (value >= MIN_DURATION_SECONDS && value <= MAX_DURATION_SECONDS), {
    message: `must be -1 (the model decides) or an integer from ${MIN_DURATION_SECONDS} to ${MAX_DURATION_SECONDS}`,
  }),
);

function providerShape(options: RequestSchemaOptions) {
  const models = options.models ?? DEFAULT_MODELS;
  return {
    model: z.string().check(z.refine((value) => models.includes(value), { message: `must be one of: ${models.join(', ')}` })),
    content: z.array(contentItem(options)).check(z.minLength(1, 'must contain at least one item')),
    generate_audio: z._default(z.boolean(), true),
    resolution: z._default(z.enum(RESOLUTIONS), '720p'),
    ratio: z._default(z.enum(RATIOS), 'adaptive'),
    duration: z._default(duration, 5),
    tools: z.optional(
      z
        .array(z.strictObject({ type: z.literal('web_search') }))
        .check(z.minLength(1, 'must be [{"type":"web_search"}] or left out'), z.maxLength(1, 'at most one tool')),
    ),
    watermark: z._default(z.boolean(), false),
  };
}

const METADATA_KEY_MESSAGE = `keys are names of 1 to ${MAX_METADATA_KEY_CHARS} characters: a letter or digit, then letters, digits, _ . : -`;

// zod/mini has no preprocess: it is this pipe, a transform that sees the raw input, then the schema.
const metadata = z.pipe(
  z.transform((value: unknown, payload) => {
    // JSON.parse makes `__proto__` an own key, but zod's record silently skips it: refuse it here.
    if (value !== null && typeof value === 'object' && Object.hasOwn(value, '__proto__')) {
      payload.issues.push({ code: 'custom', path: ['__proto__'], message: METADATA_KEY_MESSAGE, input: value });
    }
    return value;
  }),
  z
    .record(
      // Plain names only: no empty key, and none of the `__proto__`-like names objects treat specially.
      z.string().check(z.maxLength(MAX_METADATA_KEY_CHARS), z.regex(METADATA_KEY)),
      z.string().check(z.maxLength(MAX_METADATA_VALUE_CHARS, `values must be at most ${MAX_METADATA_VALUE_CHARS} characters`)),
      { error: (issue) => (issue.code === 'invalid_key' ? METADATA_KEY_MESSAGE : undefined) },
    )
    .check(z.refine((value) => Object.keys(value).length <= MAX_METADATA_ENTRIES, { message: `at most ${MAX_METADATA_ENTRIES} entries` })),
);

/**
 * Why a webhook URL is refused as written, or undefined: https (or, under the local switch, http to
 * a loopback host), no credentials in it, and an IP literal must be public. The names it resolves to
 * are checked at submission too (runtime/intake/job-intake.ts) and at every connect (runtime/net/).
 */
export function webhookUrlProblem(value: string, allowLoopback: boolean): string | undefined {
  if (value.length > MAX_URL_CHARS || /\s/.test(value)) return `must be a URL of at most ${MAX_URL_CHARS} characters, without spaces`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an https:// URL';
  }
  const loopback = allowLoopback && isLoopbackHost(url.hostname);
  if (!(url.protocol === 'https:' && value.startsWith('https://')) && !(loopback && url.protocol === 'http:')) {
    return allowLoopback ? 'must be an https:// URL (or http:// to a loopback host, locally)' : 'must be an https:// URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (loopback) return undefined;
  if (url.hostname.toLowerCase() === 'localhost' || url.hostname.toLowerCase().endsWith('.localhost')) return 'must name a public host, not localhost';
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  // A name is resolved and checked at submission; an IP literal can be judged here.
  if (isIP(literal) === 0) return undefined;
  const reason = nonPublicReason(literal);
  return reason ? `must name a public address; ${literal} is ${reason}` : undefined;
}

function webhookSchema(options: RequestSchemaOptions) {
  return z.strictObject({
    url: z.string().check(
      z.superRefine((value, ctx) => {
        const problem = webhookUrlProblem(value, options.allowLoopbackWebhooks === true);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
      }),
    ),
    events: z._default(
      z.array(z.enum(WEBHOOK_EVENTS, { error: `must be one of ${WEBHOOK_EVENTS.join(', ')}` })).check(
        z.minLength(1, `must name at least one of ${WEBHOOK_EVENTS.join(', ')}`),
        z.refine((events) => new Set(events).size === events.length, { message: 'must not name an event twice' }),
      ),
      () => [...DEFAULT_WEBHOOK_EVENTS],
    ),
  });
}

export type WebhookRequest = { url: string; events: WebhookEvent[] };

type ContentRulesInput = { content: ContentItem[] };

/** The rules that span several content items: combinations, counts and role mixing. */
function checkContentRules(body: ContentRulesInput, ctx: z.core.$RefinementCtx): void {
  const at = (index: number, ...rest: (string | number)[]) => ['content', index, ...rest];
  const indexesOf = (type: ContentItem['type']) => body.content.flatMap((item, index) => (item.type === type ? [index] : []));
  const texts = indexesOf('text');
  const images = indexesOf('image_url');
  const videos = indexesOf('video_url');
  const audios = indexesOf('audio_url');

  const tooMany = (indexes: number[], max: number, noun: string) => {
    if (indexes.length > max) {
      ctx.addIssue({ code: 'custom', path: at(indexes[max]!), message: `at most ${max} ${noun} are allowed` });
    }
  };
  tooMany(texts, 1, 'text items');
  tooMany(images, MAX_IMAGES, 'images');
  tooMany(videos, MAX_VIDEOS, 'videos');
  tooMany(audios, MAX_AUDIO_CLIPS, 'audio clips');

  if (audios.length > 0 && images.length === 0 && videos.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: at(audios[0]!),
      message: 'audio needs an image or a video beside it',
    });
  }

  const roleOf = (index: number) => (body.content[index] as { role?: string }).role;
  const frameImages = images.filter((index) => FRAME_ROLES.includes(roleOf(index) as never));
  const referenceItems = body.content.flatMap((item, index) => (item.type !== 'text' && !FRAME_ROLES.includes(roleOf(index) as never) ? [index] : []));
  if (frameImages.length > 0 && referenceItems.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: at(referenceItems[0]!, 'role'),
      message: 'first_frame/last_frame images cannot be mixed with reference images, videos or audio',
    });
  }
  for (const role of FRAME_ROLES) {
    const withRole = images.filter((index) => roleOf(index) === role);
    if (withRole.length > 1) {
      ctx.addIssue({ code: 'custom', path: at(withRole[1]!, 'role'), message: `only one image may be the ${role}` });
    }
  }
  const lastFrame = images.find((index) => roleOf(index) === 'last_frame');
  if (lastFrame !== undefined && !images.some((index) => roleOf(index) === 'first_frame')) {
    ctx.addIssue({ code: 'custom', path: at(lastFrame, 'role'), message: 'a last_frame needs a first_frame' });
  }
}

export function createProviderRequestSchema(options: RequestSchemaOptions = {}) {
  return z.strictObject(providerShape(options)).check(z.superRefine(checkContentRules));
}

/** POST /jobs: the provider body plus our own optional metadata and lane in the admission line. */
export function createJobRequestSchema(options: RequestSchemaOptions = {}) {
  return z
    .strictObject({
      ...providerShape(options),
      metadata: z.optional(metadata),
      priority: z.optional(z.enum(PRIORITIES, { error: `must be one of ${PRIORITIES.join(', ')}` })),
      webhook: z.optional(webhookSchema(options)),
    })
    .check(z.superRefine(checkContentRules));
}

export type ProviderRequest = z.output<ReturnType<typeof createProviderRequestSchema>>;
export type JobRequestInput = z.input<ReturnType<typeof createJobRequestSchema>>;
export type JobRequest = z.output<ReturnType<typeof createJobRequestSchema>>;

/** The path of an issue about the body as a whole (not JSON object, wrong type). */
export const BODY_PATH = 'body';

/** `content[1].image_url.url` — the form users and docs write paths in. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return BODY_PATH;
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`)).join('');
}

export function toFieldIssues(error: z.core.$ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatIssuePath([...issue.path, key]), message: 'unknown field' }))
      : [{ path: formatIssuePath(issue.path), message: issue.message }],
  );
}

/** Parses or throws a ValidationError naming every offending field. */
export function parseWith<T extends z.core.$ZodType>(schema: T, body: unknown): z.output<T> {
  const result = z.safeParse(schema, body);
  if (!result.success) throw new ValidationError(toFieldIssues(result.error));
  return result.data;
}

/** The provider's warnings we pass back to the caller instead of failing the request. */
export function requestWarnings(request: Pick<ProviderRequest, 'tools' | 'content'>): string[] {
  const usesWebSearch = request.tools?.some((tool) => tool.type === 'web_search') ?? false;
  const hasMedia = request.content.some((item) => item.type !== 'text');
  return usesWebSearch && hasMedia ? [WEB_SEARCH_WARNING] : [];
}

/** Splits our job body into what goes to the provider and what stays with us. */
export function splitJobRequest(request: JobRequest): {
  providerRequest: ProviderRequest;
  metadata?: Record<string, string>;
  priority?: Priority;
  webhook?: WebhookRequest;
} {
  const { metadata: jobMetadata, priority, webhook, ...providerRequest } = request;
  return { providerRequest, ...(jobMetadata ? { metadata: jobMetadata } : {}), ...(priority ? { priority } : {}), ...(webhook ? { webhook } : {}) };
}
