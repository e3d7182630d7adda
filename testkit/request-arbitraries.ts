import fc from 'fast-check';

/**
 * fast-check arbitraries for POST /jobs bodies, written from docs/provider-api.md and the README's request
 * contract, NOT from the zod schema (the schema is what they test):
 *
 * - `validCaseArb`: a body the API must accept, with the content combination it exercises;
 * - `mutationArb`: a valid body with exactly one rule broken, and what the API must answer (the
 *   status, the error code and, for a VALIDATION_ERROR, the issue path it must name);
 * - `fuzzCaseArb`: either, as test/e2e/fuzz.test.ts and bench/fuzz-intake.ts send them
 *   (request-oracle.ts sends and judges them).
 *
 * Where a broken rule spans several items the path is the one the README/schema chose: the first
 * item past the limit for counts (the 2nd text, the 10th image, the 4th video or audio clip), the
 * first audio for "audio without an image or video", the `role` of the first reference item (in
 * array order) when frame and reference modes mix, the `role` of the second first_frame/last_frame,
 * and the `role` of a last_frame without a first_frame.
 */

// ---- The contract, restated from docs/provider-api.md / README -------------------------------

export const MODEL = 'seedance-fast';
export const RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', 'adaptive'] as const;
export const RESOLUTIONS = ['480p', '720p'] as const;
export const MAX_TEXT_CHARS = 10_000;
export const MAX_URL_CHARS = 4096;
export const MAX_IMAGES = 9;
export const MAX_VIDEOS = 3;
export const MAX_AUDIO = 3;
export const MAX_METADATA_ENTRIES = 20;
/** README, HTTP API: metadata keys are plain names of at most 64 characters, values at most 512. */
export const MAX_METADATA_KEY_CHARS = 64;
const METADATA_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const MAX_METADATA_VALUE_CHARS = 512;
/** API Gateway's limit, which the API applies to the whole body (README, HTTP API). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

const TOP_LEVEL_FIELDS = ['model', 'content', 'generate_audio', 'resolution', 'ratio', 'duration', 'tools', 'watermark', 'metadata', 'webhook'];
/** README, Webhooks: the events a webhook may name; `completed` when it names none. */
export const WEBHOOK_EVENT_NAMES = ['started', 'progress', 'completed'] as const;

export type Item = Record<string, unknown>;
export interface CreateBody {
  model: string;
  content: Item[];
  generate_audio?: boolean;
  resolution?: string;
  ratio?: string;
  duration?: number;
  tools?: { type: string }[];
  watermark?: boolean;
  metadata?: Record<string, string>;
  webhook?: { url: string; events?: string[] };
}

/** What a content item is for: its type and, for an image, its mode. */
export type Slot = 'text' | 'first_frame' | 'last_frame' | 'ref_image' | 'video' | 'audio';
export interface Tagged {
  slot: Slot;
  item: Item;
}

const ITEM_FIELDS = {
  text: ['type', 'text'],
  image_url: ['type', 'image_url', 'role'],
  video_url: ['type', 'video_url', 'role'],
  audio_url: ['type', 'audio_url', 'role'],
};
const ALL_ITEM_FIELDS = ['text', 'image_url', 'video_url', 'audio_url', 'role'];

const MEDIA_FIELD = { image_url: 'image_url', video_url: 'video_url', audio_url: 'audio_url' } as const;

// ---- Leaves ------------------------------------------------------------------------------------

/** Copies `obj` with `key` set as an own property, even `__proto__`. */
export function withKey<T extends object>(obj: T, key: string, value: unknown): T {
  const copy = { ...obj };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function without<T extends object>(obj: T, key: string): T {
  const copy = { ...obj } as Record<string, unknown>;
  delete copy[key];
  return copy as T;
}

const nonBlankChar = fc.constantFrom('a', 'Z', '7', 'é', '猫', '🎹', '.', '"', '\\', '<');

/** Prompts of 1..10,000 UTF-16 units with at least one non-blank character. */
export const textArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('A cat playing piano in a sunlit room', 'x', ' padded prompt ', 'line one\nline two\t'), weight: 2 },
  {
    arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }).filter((text) => text.trim().length > 0 && text.length <= MAX_TEXT_CHARS),
    weight: 4,
  },
  // Any UTF-16 code units, lone surrogates included: still a JSON string.
  {
    arbitrary: fc
      .tuple(nonBlankChar, fc.string({ unit: 'binary', maxLength: 100 }))
      .map(([first, rest]) => first + rest)
      .filter((text) => text.length <= MAX_TEXT_CHARS),
    weight: 1,
  },
  // Long prompts, up to exactly the limit.
  {
    arbitrary: fc
      .tuple(fc.oneof(fc.integer({ min: 200, max: MAX_TEXT_CHARS }), fc.constant(MAX_TEXT_CHARS)), nonBlankChar, fc.string({ maxLength: 30 }))
      .map(([length, first, pattern]) => {
        const unit = first + pattern;
        return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
      }),
    weight: 2,
  },
);

const pathSegment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,24}$/);

/** https URLs of at most 4,096 characters: fast-check's web URLs, plain ones, and ones at the limit. */
export const httpsUrlArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.webUrl({ validSchemes: ['https'], withQueryParameters: true, withFragments: true }), weight: 3 },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom('example.com', 'cdn.example.org', 'media-1.example.net', '203.0.113.7', 'xn--bcher-kva.example'),
        fc.array(pathSegment, { maxLength: 4 }),
      )
      .map(([host, segments]) => `https://${host}/${segments.join('/')}`),
    weight: 3,
  },
  {
    arbitrary: fc.integer({ min: MAX_URL_CHARS - 64, max: MAX_URL_CHARS }).map((length) => padUrl('https://example.com/', length)),
    weight: 1,
  },
);

function padUrl(prefix: string, length: number): string {
  return prefix + 'a'.repeat(Math.max(0, length - prefix.length));
}

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/svg+xml'];
const AUDIO_TYPES = ['audio/mpeg', 'audio/wav', 'audio/x-wav', 'audio/mp4', 'audio/ogg', 'audio/aac', 'audio/webm'];

function dataUriArb(mediaTypes: string[]): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...mediaTypes),
      fc.option(fc.constantFrom(';name=clip.bin', ';charset=utf-8', ';filename=a-b_c.png'), { nil: undefined }),
      fc.oneof(
        { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 256 }), weight: 8 },
        // Past 4,096 characters: the URL length limit is for https URLs, not data: URIs.
        { arbitrary: fc.uint8Array({ minLength: 3100, maxLength: 4500 }), weight: 1 },
      ),
    )
    .map(([mediaType, parameter, bytes]) => `data:${mediaType}${parameter ?? ''};base64,${Buffer.from(bytes).toString('base64')}`);
}

export const imageUrlArb = fc.oneof(httpsUrlArb, dataUriArb(IMAGE_TYPES));
export const audioUrlArb = fc.oneof(httpsUrlArb, dataUriArb(AUDIO_TYPES));
export const videoUrlArb = httpsUrlArb;

function optionalRole(role: string) {
  return fc.boolean().map((present) => (present ? { role } : {}));
}

export function itemArb(slot: Slot): fc.Arbitrary<Item> {
  switch (slot) {
    case 'text':
      return textArb.map((text) => ({ type: 'text', text }));
    case 'first_frame':
    case 'last_frame':
      return imageUrlArb.map((url) => ({ type: 'image_url', image_url: { url }, role: slot }));
    case 'ref_image':
      return fc.tuple(imageUrlArb, optionalRole('reference_image')).map(([url, role]) => ({ type: 'image_url', image_url: { url }, ...role }));
    case 'video':
      return fc.tuple(videoUrlArb, optionalRole('reference_video')).map(([url, role]) => ({ type: 'video_url', video_url: { url }, ...role }));
    case 'audio':
      return fc.tuple(audioUrlArb, optionalRole('reference_audio')).map(([url, role]) => ({ type: 'audio_url', audio_url: { url }, ...role }));
  }
}

/** One item per slot, in a random order. */
export function taggedContentArb(slots: Slot[]): fc.Arbitrary<Tagged[]> {
  if (slots.length === 0) return fc.constant([]);
  return fc
    .tuple(...slots.map((slot) => itemArb(slot).map((item): Tagged => ({ slot, item }))))
    .chain((tagged) => fc.shuffledSubarray(tagged, { minLength: tagged.length, maxLength: tagged.length }));
}

const repeat = (slot: Slot, count: number): Slot[] => Array.from({ length: count }, () => slot);

// ---- Valid bodies ------------------------------------------------------------------------------

/** The allowed combinations (docs/provider-api.md): text optional, but audio never without an image or a video. */
export const COMBINATIONS = [
  'text',
  'text+image',
  'text+video',
  'text+image+audio',
  'text+image+video',
  'text+video+audio',
  'text+image+video+audio',
  'image',
  'video',
  'image+audio',
  'image+video',
  'video+audio',
  'image+video+audio',
] as const;
export type Combination = (typeof COMBINATIONS)[number];
export type ImageMode = 'none' | 'frame' | 'reference';

export interface ValidCase {
  body: CreateBody;
  combination: Combination;
  imageMode: ImageMode;
  content: Tagged[];
}

/** The slots of one allowed combination; images alone may be in either mode. */
export function combinationSlotsArb(combination: Combination): fc.Arbitrary<{ slots: Slot[]; imageMode: ImageMode }> {
  const parts = new Set(combination.split('+'));
  const text: Slot[] = parts.has('text') ? ['text'] : [];
  const videos = parts.has('video') ? fc.integer({ min: 1, max: MAX_VIDEOS }) : fc.constant(0);
  const audio = parts.has('audio') ? fc.integer({ min: 1, max: MAX_AUDIO }) : fc.constant(0);
  const onlyImages = parts.has('image') && !parts.has('video') && !parts.has('audio');
  const images: fc.Arbitrary<{ imageSlots: Slot[]; imageMode: ImageMode }> = !parts.has('image')
    ? fc.constant({ imageSlots: [], imageMode: 'none' })
    : fc.oneof(
        fc.integer({ min: 1, max: MAX_IMAGES }).map((count) => ({ imageSlots: repeat('ref_image', count), imageMode: 'reference' as const })),
        ...(onlyImages
          ? [fc.boolean().map((last) => ({ imageSlots: ['first_frame', ...(last ? ['last_frame' as const] : [])] as Slot[], imageMode: 'frame' as const }))]
          : []),
      );
  return fc.tuple(images, videos, audio).map(([{ imageSlots, imageMode }, videoCount, audioCount]) => ({
    slots: [...text, ...imageSlots, ...repeat('video', videoCount), ...repeat('audio', audioCount)],
    imageMode,
  }));
}

const metadataKeyArb = fc.oneof(
  { arbitrary: fc.stringMatching(METADATA_KEY), weight: 6 },
  // Names objects treat specially must still be stored as plain keys.
  {
    arbitrary: fc.constantFrom('customer', 'order-id', 'a.b', '0', 'constructor', 'toString', 'hasOwnProperty', 'k'.repeat(MAX_METADATA_KEY_CHARS)),
    weight: 2,
  },
);
const metadataValueArb = fc.oneof(
  { arbitrary: fc.string({ maxLength: 64 }), weight: 6 },
  { arbitrary: fc.constantFrom('', 'v'.repeat(MAX_METADATA_VALUE_CHARS)), weight: 1 },
);

/** A flat string map of at most 20 entries (README). Built with own properties, so any key survives JSON. */
export const metadataArb: fc.Arbitrary<Record<string, string>> = fc
  .uniqueArray(fc.tuple(metadataKeyArb, metadataValueArb), { maxLength: MAX_METADATA_ENTRIES, selector: ([key]) => key })
  .map((entries) => Object.fromEntries(entries));

/**
 * Webhook receivers the API must accept, deployed or local (README, Webhooks): https to a public
 * address. Offline, only an IP literal is sure to resolve, so they are literals (outside every
 * special-purpose range). The local stack's loopback exception is test/e2e/webhooks.test.ts's.
 */
const publicIpv4 = fc
  .tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 }))
  .filter(([a]) => ![10, 100, 127, 169, 172, 192, 198, 203].includes(a) && !(a === 0))
  .map((octets) => octets.join('.'));
export const webhookUrlArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(publicIpv4, fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }), fc.array(pathSegment, { maxLength: 3 }))
    .map(([host, port, segments]) => `https://${host}${port ? `:${port}` : ''}/${segments.join('/')}`),
  fc.constantFrom('https://[2606:4700:4700::1111]/hook', 'https://[2a00:1450:4001:80b::200e]:8443/video-ready?x=1'),
);
export const webhookArb: fc.Arbitrary<NonNullable<CreateBody['webhook']>> = fc.record(
  {
    url: webhookUrlArb,
    events: fc.subarray([...WEBHOOK_EVENT_NAMES], { minLength: 1 }).chain((events) => fc.shuffledSubarray(events, { minLength: events.length })),
  },
  { requiredKeys: ['url'] },
);

/** Everything but model and content; each field optional. */
export const fieldsArb = fc.record(
  {
    generate_audio: fc.boolean(),
    resolution: fc.constantFrom(...RESOLUTIONS),
    ratio: fc.constantFrom(...RATIOS),
    duration: fc.oneof(fc.constant(-1), fc.integer({ min: 4, max: 15 })),
    tools: fc.constant(null).map((): { type: string }[] => [{ type: 'web_search' }]),
    watermark: fc.boolean(),
    metadata: metadataArb,
    webhook: webhookArb,
  },
  { requiredKeys: [] },
);

function bodyOf(content: Tagged[], fields: Partial<CreateBody>): CreateBody {
  return { model: MODEL, content: content.map((tagged) => tagged.item), ...fields };
}

export const validCaseArb: fc.Arbitrary<ValidCase> = fc
  .constantFrom(...COMBINATIONS)
  .chain((combination) =>
    combinationSlotsArb(combination).chain(({ slots, imageMode }) =>
      fc.tuple(taggedContentArb(slots), fieldsArb).map(([content, fields]) => ({ body: bodyOf(content, fields), combination, imageMode, content })),
    ),
  );

export const validBodyArb: fc.Arbitrary<CreateBody> = validCaseArb.map((valid) => valid.body);

// ---- Mutations ---------------------------------------------------------------------------------

export interface Expectation {
  status: 400 | 413 | 415;
  code: 'VALIDATION_ERROR' | 'MALFORMED_JSON' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE';
  /** For a VALIDATION_ERROR: the path `error.issues[].path` must contain (any of these). */
  paths?: string[];
}

export interface Mutation {
  kind: string;
  /** The body sent (JSON-encoded), unless `raw` is set. */
  body: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  raw?: string;
  contentType?: string;
  expected: Expectation;
  /** The first of `expected.paths` ('' when it names none). */
  expectedPath: string;
}

type MutationCase = Omit<Mutation, 'kind' | 'expected' | 'expectedPath'> & {
  paths?: string[];
  status?: Expectation['status'];
  code?: Expectation['code'];
};

const at = (index: number, ...rest: string[]) => `content[${index}]${rest.map((segment) => `.${segment}`).join('')}`;
const indexesOf = (content: Tagged[], ...slots: Slot[]) => content.flatMap((tagged, index) => (slots.includes(tagged.slot) ? [index] : []));
export const mediaField = (item: Item) => MEDIA_FIELD[item.type as keyof typeof MEDIA_FIELD];

/** A valid body whose content is made of these slots (shuffled). */
function bodyWith(slots: fc.Arbitrary<Slot[]>) {
  return slots.chain((chosen) => fc.tuple(taggedContentArb(chosen), fieldsArb)).map(([content, fields]) => ({ content, body: bodyOf(content, fields) }));
}

const optionalText = fc.boolean().map((text): Slot[] => (text ? ['text'] : []));
const count = (min: number, max: number) => fc.integer({ min, max });

const anySlots: fc.Arbitrary<Slot[]> = fc.constantFrom(...COMBINATIONS).chain((combination) => combinationSlotsArb(combination).map(({ slots }) => slots));
const mediaSlots = anySlots.filter((slots) => slots.some((slot) => slot !== 'text'));

const jsonNonString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({}));
const jsonNonBoolean = fc.oneof(fc.constantFrom('true', 'false', 0, 1, null, [], {}), fc.string({ maxLength: 5 }));
const jsonNonNumber = fc.oneof(fc.constantFrom('5', '4', null, true, [], {}), fc.string({ maxLength: 5 }));
const unknownKey = (known: string[]) =>
  fc
    .oneof(
      fc.constantFrom('colour', 'extra', 'Model', 'prompt', 'callback_url', '__proto__', 'constructor', 'toString', ' model', 'type '),
      fc.string({ minLength: 1, maxLength: 20 }),
    )
    .filter((key) => !known.includes(key));

/** Replaces content item `index` of a body. */
function replaceItem(body: CreateBody, index: number, item: unknown): CreateBody {
  const content = [...body.content] as unknown[];
  content[index] = item;
  return { ...body, content: content as Item[] };
}

/** Media items of a valid body: [index, item] pairs. */
const pickMedia = (content: Tagged[], slots: Slot[] = ['first_frame', 'last_frame', 'ref_image', 'video', 'audio']) =>
  fc.constantFrom(...indexesOf(content, ...slots));

function setUrl(body: CreateBody, index: number, url: unknown): CreateBody {
  const item = body.content[index]!;
  const field = mediaField(item);
  return replaceItem(body, index, { ...item, [field]: { url } });
}

const urlPath = (body: CreateBody, index: number) => at(index, mediaField(body.content[index]!), 'url');

const hugeStrings = new Map<number, string>();
/** One shared string per size, so thousands of cases do not hold gigabytes. */
function hugeBase64(length: number): string {
  const rounded = Math.ceil(length / 4) * 4;
  let value = hugeStrings.get(rounded);
  if (value === undefined) hugeStrings.set(rounded, (value = 'A'.repeat(rounded)));
  return value;
}

const MUTATIONS: Record<string, fc.Arbitrary<MutationCase>> = {
  // --- the body as a whole
  'body-not-object': fc.tuple(validBodyArb, fc.constantFrom('array', 'wrapped', 'string', 'number', 'null', 'boolean')).map(([body, shape]) => ({
    body: { array: [], wrapped: [body], string: JSON.stringify(body), number: 42, null: null, boolean: true }[shape],
    paths: ['body'],
  })),
  'malformed-json': fc.tuple(validBodyArb, fc.constantFrom('truncate', 'trailing-comma', 'single-quotes', 'blank')).map(([body, how]) => {
    const json = JSON.stringify(body);
    const raw = {
      truncate: json.slice(0, Math.max(1, json.length - 1)),
      'trailing-comma': `${json.slice(0, -1)},}`,
      'single-quotes': json.replaceAll('"', "'"),
      blank: ' \n ',
    }[how];
    return { body, raw, status: 400 as const, code: 'MALFORMED_JSON' as const };
  }),
  'wrong-content-type': fc
    .tuple(validBodyArb, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'json'))
    .map(([body, contentType]) => ({ body, contentType, status: 415 as const, code: 'UNSUPPORTED_MEDIA_TYPE' as const })),
  'payload-too-large': fc.tuple(fieldsArb, fc.constantFrom(4, 4096, 256 * 1024)).map(([fields, over]) => {
    // A valid body but for its size: one data: URI image that takes it past 10 MB.
    const base64 = hugeBase64(MAX_BODY_BYTES + over);
    const body = bodyOf([{ slot: 'ref_image', item: { type: 'image_url', image_url: { url: `data:image/png;base64,${base64}` } } }], fields);
    return { body, status: 413 as const, code: 'PAYLOAD_TOO_LARGE' as const };
  }),
  'unknown-top-level-field': fc
    .tuple(validBodyArb, unknownKey(TOP_LEVEL_FIELDS), fc.jsonValue({ maxDepth: 1 }))
    .map(([body, key, value]) => ({ body: withKey(body, key, value), paths: [key] })),

  // --- model
  'model-missing': validBodyArb.map((body) => ({ body: without(body, 'model'), paths: ['model'] })),
  'model-not-allowed': fc
    .tuple(validBodyArb, fc.oneof(fc.constantFrom('seedance-pro', 'Seedance-Fast', 'seedance-fast ', ' seedance-fast', '', 'seedance_fast'), fc.string()))
    .filter(([, model]) => model !== MODEL)
    .map(([body, model]) => ({ body: { ...body, model }, paths: ['model'] })),
  'model-wrong-type': fc.tuple(validBodyArb, jsonNonString).map(([body, model]) => ({ body: { ...body, model }, paths: ['model'] })),

  // --- content as a whole
  'content-missing': validBodyArb.map((body) => ({ body: without(body, 'content'), paths: ['content'] })),
  'content-empty': validBodyArb.map((body) => ({ body: { ...body, content: [] }, paths: ['content'] })),
  'content-not-array': fc
    .tuple(
      validBodyArb,
      fc.oneof(
        fc.constantFrom(null, 'a prompt', 1, true),
        validBodyArb.map((body) => body.content[0]),
      ),
    )
    .map(([body, content]) => ({ body: { ...body, content }, paths: ['content'] })),

  // --- one item
  'item-not-object': bodyWith(anySlots)
    .chain(({ body }) =>
      fc.tuple(fc.constant(body), fc.nat({ max: body.content.length - 1 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant([]))),
    )
    .map(([body, index, item]) => ({ body: replaceItem(body, index, item), paths: [at(index)] })),
  'item-unknown-type': bodyWith(anySlots)
    .chain(({ body }) =>
      fc.tuple(
        fc.constant(body),
        fc.nat({ max: body.content.length - 1 }),
        fc.option(fc.constantFrom('file_url', 'image', 'TEXT', 'input_audio', '', 'video'), { nil: undefined }),
      ),
    )
    .map(([body, index, type]) => {
      const item = body.content[index]!;
      return { body: replaceItem(body, index, type === undefined ? without(item, 'type') : { ...item, type }), paths: [at(index, 'type')] };
    }),
  'item-unknown-field': bodyWith(anySlots)
    .chain(({ body }) => fc.tuple(fc.constant(body), fc.nat({ max: body.content.length - 1 })))
    .chain(([body, index]) => {
      // A field of another item type (a role on a text, an image_url on a video…) is unknown too.
      const known = ITEM_FIELDS[body.content[index]!.type as keyof typeof ITEM_FIELDS];
      const key = fc
        .oneof(unknownKey(['type', 'text', 'image_url', 'video_url', 'audio_url', 'role']), fc.constantFrom(...ALL_ITEM_FIELDS))
        .filter((name) => !known.includes(name));
      return fc.tuple(fc.constant(body), fc.constant(index), key, fc.jsonValue({ maxDepth: 1 }));
    })
    .map(([body, index, key, value]) => ({ body: replaceItem(body, index, withKey(body.content[index]!, key, value)), paths: [at(index, key)] })),
  'media-object-unknown-field': bodyWith(mediaSlots)
    .chain(({ body, content }) => fc.tuple(fc.constant(body), pickMedia(content), unknownKey(['url']), fc.jsonValue({ maxDepth: 1 })))
    .map(([body, index, key, value]) => {
      const item = body.content[index]!;
      const field = mediaField(item);
      return { body: replaceItem(body, index, { ...item, [field]: withKey(item[field] as object, key, value) }), paths: [at(index, field, key)] };
    }),
  'text-blank': bodyWith(anySlots.filter((slots) => slots.includes('text')))
    .chain(({ body, content }) =>
      fc.tuple(fc.constant(body), fc.constant(indexesOf(content, 'text')[0]!), fc.constantFrom('', ' ', '\n\t ', '\u00a0\u3000', ' '.repeat(50))),
    )
    .map(([body, index, text]) => ({ body: replaceItem(body, index, { type: 'text', text }), paths: [at(index, 'text')] })),
  'text-too-long': bodyWith(anySlots.filter((slots) => slots.includes('text')))
    .chain(({ body, content }) =>
      fc.tuple(fc.constant(body), fc.constant(indexesOf(content, 'text')[0]!), fc.integer({ min: MAX_TEXT_CHARS + 1, max: MAX_TEXT_CHARS + 2000 })),
    )
    .map(([body, index, length]) => ({
      body: replaceItem(body, index, { type: 'text', text: 'word '.repeat(length).slice(0, length - 1) + 'x' }),
      paths: [at(index, 'text')],
    })),
  'text-wrong-type': bodyWith(anySlots.filter((slots) => slots.includes('text')))
    .chain(({ body, content }) => fc.tuple(fc.constant(body), fc.constant(indexesOf(content, 'text')[0]!), fc.option(jsonNonString, { nil: undefined })))
    .map(([body, index, text]) => ({
      body: replaceItem(body, index, text === undefined ? { type: 'text' } : { type: 'text', text }),
      paths: [at(index, 'text')],
    })),
  'wrong-role': bodyWith(mediaSlots)
    .chain(({ body, content }) => fc.tuple(fc.constant(body), pickMedia(content)))
    .chain(([body, index]) => {
      const type = body.content[index]!.type as string;
      const allowed =
        { image_url: ['first_frame', 'last_frame', 'reference_image'], video_url: ['reference_video'], audio_url: ['reference_audio'] }[type] ?? [];
      const wrong = fc
        .oneof(
          fc.constantFrom('first_frame', 'last_frame', 'reference_image', 'reference_video', 'reference_audio', 'FIRST_FRAME', 'first-frame', 'reference', ''),
          jsonNonString,
        )
        .filter((role) => !allowed.includes(role as string));
      return fc.tuple(fc.constant(body), fc.constant(index), wrong);
    })
    .map(([body, index, role]) => ({ body: replaceItem(body, index, { ...body.content[index]!, role }), paths: [at(index, 'role')] })),

  // --- URLs
  'http-url': bodyWith(mediaSlots)
    .chain(({ body, content }) => fc.tuple(fc.constant(body), pickMedia(content), fc.webUrl({ validSchemes: ['http'] })))
    .map(([body, index, url]) => ({ body: setUrl(body, index, url), paths: [urlPath(body, index)] })),
  'url-not-https': bodyWith(mediaSlots)
    .chain(({ body, content }) =>
      fc.tuple(
        fc.constant(body),
        pickMedia(content),
        fc.constantFrom(
          'ftp://example.com/a.png',
          'file:///etc/passwd',
          '/relative/a.png',
          'example.com/a.png',
          'javascript:alert(1)',
          'wss://example.com/a',
          's3://not-the-media-bucket-0/a.png',
          'https://',
          'http://127.0.0.1:9000/a.png',
          'HTTP://EXAMPLE.COM/A.PNG',
          '',
        ),
      ),
    )
    .map(([body, index, url]) => ({ body: setUrl(body, index, url), paths: [urlPath(body, index)] })),
  'url-too-long': bodyWith(mediaSlots)
    .chain(({ body, content }) => fc.tuple(fc.constant(body), pickMedia(content), fc.integer({ min: MAX_URL_CHARS + 1, max: MAX_URL_CHARS + 4000 })))
    .map(([body, index, length]) => ({ body: setUrl(body, index, padUrl('https://example.com/', length)), paths: [urlPath(body, index)] })),
  'data-uri-on-video': bodyWith(mediaSlots.filter((slots) => slots.includes('video')))
    .chain(({ body, content }) => fc.tuple(fc.constant(body), pickMedia(content, ['video']), dataUriArb(['video/mp4', 'video/webm', 'image/png'])))
    .map(([body, index, url]) => ({ body: setUrl(body, index, url), paths: [urlPath(body, index)] })),
  'malformed-data-uri': bodyWith(mediaSlots.filter((slots) => slots.some((slot) => slot !== 'video' && slot !== 'text')))
    .chain(({ body, content }) =>
      fc.tuple(
        fc.constant(body),
        pickMedia(content, ['first_frame', 'last_frame', 'ref_image', 'audio']),
        fc.constantFrom(
          'data:image/png;base64,',
          'data:image/png,iVBORw0KGgo',
          'data:;base64,iVBORw0KGgo=',
          'data:image/png;base64,iVBO Rw0K',
          'data:image/png;base64,iV=BO',
          'data:image/png;base64,####',
          'data:image;base64,AAAA',
          'data:base64,AAAA',
          'data:image/png;base64,AAAA===',
        ),
      ),
    )
    .map(([body, index, url]) => ({ body: setUrl(body, index, url), paths: [urlPath(body, index)] })),
  'url-wrong-type': bodyWith(mediaSlots)
    .chain(({ body, content }) => fc.tuple(fc.constant(body), pickMedia(content), fc.option(jsonNonString, { nil: undefined })))
    .map(([body, index, url]) => {
      const item = body.content[index]!;
      const field = mediaField(item);
      return { body: replaceItem(body, index, { ...item, [field]: url === undefined ? {} : { url } }), paths: [at(index, field, 'url')] };
    }),
  'media-object-not-object': bodyWith(mediaSlots)
    .chain(({ body, content }) =>
      fc.tuple(fc.constant(body), pickMedia(content), fc.option(fc.oneof(httpsUrlArb, fc.constant(null), fc.constant([])), { nil: undefined })),
    )
    .map(([body, index, value]) => {
      const item = body.content[index]!;
      const field = mediaField(item);
      return { body: replaceItem(body, index, value === undefined ? without(item, field) : { ...item, [field]: value }), paths: [at(index, field)] };
    }),

  // --- rules across items
  'two-texts': bodyWith(anySlots.map((slots) => (slots.includes('text') ? [...slots, 'text'] : [...slots, 'text', 'text']))).map(({ body, content }) => ({
    body,
    paths: [at(indexesOf(content, 'text')[1]!)],
  })),
  'too-many-images': bodyWith(
    fc
      .tuple(optionalText, count(MAX_IMAGES + 1, MAX_IMAGES + 2), count(0, MAX_VIDEOS), count(0, MAX_AUDIO))
      .map(([text, images, videos, audio]) => [...text, ...repeat('ref_image', images), ...repeat('video', videos), ...repeat('audio', audio)]),
  ).map(({ body, content }) => ({ body, paths: [at(indexesOf(content, 'ref_image')[MAX_IMAGES]!)] })),
  'too-many-videos': bodyWith(
    fc
      .tuple(optionalText, count(0, MAX_IMAGES), count(MAX_VIDEOS + 1, MAX_VIDEOS + 2), count(0, MAX_AUDIO))
      .map(([text, images, videos, audio]) => [...text, ...repeat('ref_image', images), ...repeat('video', videos), ...repeat('audio', audio)]),
  ).map(({ body, content }) => ({ body, paths: [at(indexesOf(content, 'video')[MAX_VIDEOS]!)] })),
  'too-many-audio': bodyWith(
    fc
      .tuple(optionalText, count(0, MAX_IMAGES), count(0, MAX_VIDEOS), count(MAX_AUDIO + 1, MAX_AUDIO + 2))
      .filter(([, images, videos]) => images + videos > 0)
      .map(([text, images, videos, audio]) => [...text, ...repeat('ref_image', images), ...repeat('video', videos), ...repeat('audio', audio)]),
  ).map(({ body, content }) => ({ body, paths: [at(indexesOf(content, 'audio')[MAX_AUDIO]!)] })),
  'audio-without-visual': bodyWith(fc.tuple(optionalText, count(1, MAX_AUDIO)).map(([text, audio]) => [...text, ...repeat('audio', audio)])).map(
    ({ body, content }) => ({ body, paths: [at(indexesOf(content, 'audio')[0]!)] }),
  ),
  'frame-mixed-with-reference': bodyWith(
    fc
      .tuple(optionalText, fc.boolean(), count(0, MAX_IMAGES - 2), count(0, MAX_VIDEOS), count(0, MAX_AUDIO))
      .filter(([, , images, videos, audio]) => images + videos + audio > 0)
      .map(([text, last, images, videos, audio]) => [
        ...text,
        'first_frame' as const,
        ...(last ? ['last_frame' as const] : []),
        ...repeat('ref_image', images),
        ...repeat('video', videos),
        ...repeat('audio', audio),
      ]),
  ).map(({ body, content }) => ({ body, paths: [at(indexesOf(content, 'ref_image', 'video', 'audio')[0]!, 'role')] })),
  'two-first-frames': bodyWith(
    fc.tuple(optionalText, fc.boolean()).map(([text, last]): Slot[] => [...text, 'first_frame', 'first_frame', ...(last ? ['last_frame' as const] : [])]),
  ).map(({ body, content }) => ({ body, paths: [at(indexesOf(content, 'first_frame')[1]!, 'role')] })),
  'two-last-frames': bodyWith(optionalText.map((text): Slot[] => [...text, 'first_frame', 'last_frame', 'last_frame'])).map(({ body, content }) => ({
    body,
    paths: [at(indexesOf(content, 'last_frame')[1]!, 'role')],
  })),
  'last-frame-without-first': bodyWith(optionalText.map((text): Slot[] => [...text, 'last_frame'])).map(({ body, content }) => ({
    body,
    paths: [at(indexesOf(content, 'last_frame')[0]!, 'role')],
  })),

  // --- the scalar fields
  'duration-not-integer': fc
    .tuple(
      validBodyArb,
      fc.oneof(
        fc.double({ min: -1, max: 16, noNaN: true }).filter((value) => !Number.isInteger(value)),
        fc.constantFrom(4.5, 5.000001, -1.5, 14.999),
      ),
    )
    .map(([body, duration]) => ({ body: { ...body, duration }, paths: ['duration'] })),
  'duration-too-short': fc
    .tuple(validBodyArb, fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -1_000_000, max: -2 })))
    .map(([body, duration]) => ({ body: { ...body, duration }, paths: ['duration'] })),
  'duration-too-long': fc
    .tuple(validBodyArb, fc.oneof(fc.integer({ min: 16, max: 60 }), fc.integer({ min: 61, max: Number.MAX_SAFE_INTEGER }), fc.constant(1e300)))
    .map(([body, duration]) => ({ body: { ...body, duration }, paths: ['duration'] })),
  'duration-wrong-type': fc.tuple(validBodyArb, jsonNonNumber).map(([body, duration]) => ({ body: { ...body, duration }, paths: ['duration'] })),
  'enum-not-allowed': fc
    .tuple(
      validBodyArb,
      fc.constantFrom('ratio', 'resolution'),
      fc.oneof(
        fc.constantFrom('16x9', '16:10', 'ADAPTIVE', 'auto', '1080p', '720P', '720', '4k', '', ' 720p'),
        fc.string({ maxLength: 6 }),
        fc.integer(),
        fc.constant(null),
      ),
    )
    .filter(([, field, value]) => !(field === 'ratio' ? (RATIOS as readonly unknown[]) : (RESOLUTIONS as readonly unknown[])).includes(value))
    .map(([body, field, value]) => ({ body: { ...body, [field]: value }, paths: [field] })),
  'boolean-wrong-type': fc
    .tuple(validBodyArb, fc.constantFrom('generate_audio', 'watermark'), jsonNonBoolean)
    .map(([body, field, value]) => ({ body: { ...body, [field]: value }, paths: [field] })),

  // --- tools
  'tool-unknown-type': fc
    .tuple(validBodyArb, fc.oneof(fc.constantFrom('code_interpreter', 'WEB_SEARCH', 'web-search', 'function', ''), fc.string({ maxLength: 10 })))
    .filter(([, type]) => type !== 'web_search')
    .map(([body, type]) => ({ body: { ...body, tools: [{ type }] }, paths: ['tools[0].type'] })),
  'tool-extra-field': fc
    .tuple(validBodyArb, unknownKey(['type']))
    .map(([body, key]) => ({ body: { ...body, tools: [withKey({ type: 'web_search' }, key, true)] }, paths: [`tools[0].${key}`] })),
  'tools-more-than-one': fc
    .tuple(validBodyArb, fc.integer({ min: 2, max: 3 }))
    .map(([body, n]) => ({ body: { ...body, tools: Array.from({ length: n }, () => ({ type: 'web_search' })) }, paths: ['tools'] })),
  'tools-not-array': fc
    .tuple(validBodyArb, fc.constantFrom({ type: 'web_search' }, 'web_search', true, null))
    .map(([body, tools]) => ({ body: { ...body, tools }, paths: ['tools'] })),

  // --- metadata
  'metadata-not-object': fc
    .tuple(validBodyArb, fc.constantFrom('customer=acme', 1, true, null, [['customer', 'acme']]))
    .map(([body, metadata]) => ({ body: { ...body, metadata }, paths: ['metadata'] })),
  'metadata-too-many': fc
    .tuple(validBodyArb, fc.integer({ min: MAX_METADATA_ENTRIES + 1, max: MAX_METADATA_ENTRIES + 10 }))
    .map(([body, n]) => ({ body: { ...body, metadata: Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, `v${i}`])) }, paths: ['metadata'] })),
  'metadata-value-not-string': fc
    .tuple(
      validBodyArb,
      fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/),
      fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant({ nested: 'x' }), fc.constant(['x'])),
    )
    .map(([body, key, value]) => ({ body: { ...body, metadata: { ...body.metadata, [key]: value } }, paths: [`metadata.${key}`] })),
  'metadata-value-too-long': fc
    .tuple(validBodyArb, fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/), fc.integer({ min: MAX_METADATA_VALUE_CHARS + 1, max: MAX_METADATA_VALUE_CHARS + 100 }))
    .map(([body, key, length]) => ({ body: { ...body, metadata: { [key]: 'v'.repeat(length) } }, paths: [`metadata.${key}`] })),
  'metadata-key-not-a-name': fc
    .tuple(validBodyArb, fc.constantFrom('__proto__', '', '_private', 'two words', 'ü-key', '-dash'))
    .map(([body, key]) => ({ body: { ...body, metadata: withKey({}, key, 'v') }, paths: [`metadata.${key}`] })),
  'metadata-key-too-long': fc.tuple(validBodyArb, fc.integer({ min: MAX_METADATA_KEY_CHARS + 1, max: MAX_METADATA_KEY_CHARS + 50 })).map(([body, length]) => {
    const key = 'k'.repeat(length);
    return { body: { ...body, metadata: { [key]: 'v' } }, paths: [`metadata.${key}`] };
  }),

  // --- webhook (README, Webhooks)
  'webhook-not-object': fc
    .tuple(validBodyArb, fc.constantFrom('https://93.184.216.34/hook', 1, true, null, [], [{ url: 'https://93.184.216.34/hook' }]))
    .map(([body, webhook]) => ({ body: { ...body, webhook }, paths: ['webhook'] })),
  'webhook-url-missing': fc
    .tuple(validBodyArb, fc.constantFrom({}, { events: ['completed'] }))
    .map(([body, webhook]) => ({ body: { ...body, webhook }, paths: ['webhook.url'] })),
  'webhook-url-not-https': fc
    .tuple(
      validBodyArb,
      fc.constantFrom(
        'http://93.184.216.34/hook',
        'ftp://93.184.216.34/hook',
        'https:/93.184.216.34/x',
        'not a url',
        '',
        'wss://93.184.216.34/',
        'https://93.184.216.34/a b',
      ),
    )
    .map(([body, url]) => ({ body: { ...body, webhook: { url } }, paths: ['webhook.url'] })),
  'webhook-url-not-public': fc
    .tuple(
      validBodyArb,
      fc.constantFrom(
        '10.0.0.1',
        '10.255.1.2',
        '172.16.0.9',
        '172.31.255.1',
        '192.168.1.1',
        '169.254.169.254',
        '100.64.0.1',
        '0.0.0.0',
        '192.0.2.10',
        '[fd00::1]',
        '[fe80::1]',
        '[::ffff:10.0.0.1]',
      ),
    )
    .map(([body, host]) => ({ body: { ...body, webhook: { url: `https://${host}/hook` } }, paths: ['webhook.url'] })),
  'webhook-url-credentials': validBodyArb.map((body) => ({
    body: { ...body, webhook: { url: 'https://user:secret@93.184.216.34/hook' } },
    paths: ['webhook.url'],
  })),
  'webhook-url-unresolvable': fc
    .tuple(validBodyArb, fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/))
    .map(([body, name]) => ({ body: { ...body, webhook: { url: `https://${name}.invalid/hook` } }, paths: ['webhook.url'] })),
  'webhook-url-too-long': validBodyArb.map((body) => ({
    body: { ...body, webhook: { url: padUrl('https://93.184.216.34/', MAX_URL_CHARS + 1) } },
    paths: ['webhook.url'],
  })),
  'webhook-events-unknown': fc
    .tuple(
      validBodyArb,
      fc.oneof(
        fc.constantFrom('finished', 'COMPLETED', 'succeeded', 'progress ', ''),
        fc.string({ maxLength: 8 }).filter((event) => !(WEBHOOK_EVENT_NAMES as readonly string[]).includes(event)),
      ),
    )
    .map(([body, event]) => ({
      body: { ...body, webhook: { url: 'https://93.184.216.34/hook', events: ['completed', event] } },
      paths: ['webhook.events[1]'],
    })),
  'webhook-events-empty-or-twice': fc
    .tuple(validBodyArb, fc.constantFrom([], ['completed', 'completed'], ['started', 'progress', 'started']))
    .map(([body, events]) => ({ body: { ...body, webhook: { url: 'https://93.184.216.34/hook', events } }, paths: ['webhook.events'] })),
  'webhook-events-not-array': fc
    .tuple(validBodyArb, fc.constantFrom('completed', null, 1, { completed: true }))
    .map(([body, events]) => ({ body: { ...body, webhook: { url: 'https://93.184.216.34/hook', events } }, paths: ['webhook.events'] })),
  'webhook-unknown-field': fc
    .tuple(validBodyArb, fc.constantFrom('secret', 'headers', 'method', 'Url', 'event'))
    .map(([body, key]) => ({ body: { ...body, webhook: { url: 'https://93.184.216.34/hook', [key]: 'x' } }, paths: [`webhook.${key}`] })),
};

export const MUTATION_KINDS = Object.keys(MUTATIONS);

/** The mutations of one kind. */
export function mutationOfKind(kind: string): fc.Arbitrary<Mutation> {
  const arbitrary = MUTATIONS[kind];
  if (!arbitrary) throw new Error(`no mutation kind ${kind}`);
  return arbitrary.map(({ paths, status, code, ...rest }): Mutation => {
    const expected: Expectation = { status: status ?? 400, code: code ?? 'VALIDATION_ERROR', ...(paths ? { paths } : {}) };
    return { kind, ...rest, expected, expectedPath: paths?.[0] ?? '' };
  });
}

/** A valid body with exactly one rule broken, of any kind (the 10 MB bodies, slow to send, rarer). */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  ...MUTATION_KINDS.map((kind) => ({ weight: kind === 'payload-too-large' ? 1 : 10, arbitrary: mutationOfKind(kind) })),
);

// ---- Cases -------------------------------------------------------------------------------------

export type FuzzCase = ({ valid: true; kind: `valid:${Combination}`; contentType?: string } & ValidCase) | ({ valid: false } & Mutation);

/** Content-Types that are application/json (README): case does not matter, and a charset may be utf-8, quoted or not. */
const JSON_CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset="UTF-8"'];

/** About a third valid bodies, the rest mutated ones. */
export const fuzzCaseArb: fc.Arbitrary<FuzzCase> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .tuple(validCaseArb, fc.constantFrom(...JSON_CONTENT_TYPES))
      .map(([valid, contentType]): FuzzCase => ({ valid: true, kind: `valid:${valid.combination}`, contentType, ...valid })),
  },
  { weight: 2, arbitrary: mutationArb.map((mutation): FuzzCase => ({ valid: false, ...mutation })) },
);
