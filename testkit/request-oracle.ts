/**
 * Sends the fuzz cases of request-arbitraries.ts and judges the answers: the oracle shared by
 * test/e2e/fuzz.test.ts and bench/fuzz-intake.ts, written from the README's request contract.
 */
import { ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { mediaField, type CreateBody, type FuzzCase, type Item, type ValidCase } from './request-arbitraries.js';

export interface Answer {
  status: number;
  json: unknown;
  text: string;
}

/** Every request goes in as a deferred (batch) job: validated as an immediate one, never executed. */
export async function sendCase(apiUrl: string, fuzzCase: FuzzCase): Promise<Answer> {
  const body = !fuzzCase.valid && fuzzCase.raw !== undefined ? fuzzCase.raw : JSON.stringify(fuzzCase.body);
  const contentType = fuzzCase.contentType ?? 'application/json';
  const response = await fetch(`${apiUrl}/jobs?schedule=batch`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

function hasMedia(body: CreateBody): boolean {
  return body.content.some((item) => item.type !== 'text');
}

/** Undefined when the answer is right, else what is wrong with it. */
export function judgeAnswer(fuzzCase: FuzzCase, answer: Answer): string | undefined {
  if (answer.status >= 500) return `a ${answer.status} (never allowed)`;
  const json = answer.json as Record<string, unknown> | undefined;
  if (json === undefined || typeof json !== 'object' || json === null) return `the answer is not a JSON object`;
  if (fuzzCase.valid) {
    if (answer.status !== 202) return `a valid body got ${answer.status}, not 202`;
    if (typeof json.jobId !== 'string' || json.jobId.length === 0) return 'no jobId in the 202';
    if (json.status !== 'QUEUED') return `status ${String(json.status)}, not QUEUED`;
    if (json.deferred !== true) return 'a ?schedule=batch job is not deferred';
    const warned = Array.isArray(json.warnings) && json.warnings.some((warning) => /web_search/.test(String(warning)));
    const shouldWarn = fuzzCase.body.tools !== undefined && hasMedia(fuzzCase.body);
    if (warned !== shouldWarn) return shouldWarn ? 'web_search with media but no warning' : `an unexpected warning: ${JSON.stringify(json.warnings)}`;
    return undefined;
  }
  const { expected } = fuzzCase;
  if (answer.status !== expected.status) return `expected ${expected.status}, got ${answer.status}`;
  const error = json.error as { code?: unknown; message?: unknown; issues?: { path?: unknown }[] } | undefined;
  if (!error || error.code !== expected.code) return `expected error.code ${expected.code}, got ${JSON.stringify(error?.code)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'the error has no message';
  if (expected.paths) {
    const named = (error.issues ?? []).map((issue) => issue.path);
    if (!expected.paths.some((path) => named.includes(path))) return `expected an issue at ${expected.paths.join(' or ')}, got ${JSON.stringify(named)}`;
  }
  return undefined;
}

const DEFAULTS = { generate_audio: true, resolution: '720p', ratio: 'adaptive', duration: 5, watermark: false };

/** JSON with object keys sorted (DynamoDB maps keep no order), as a string. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/**
 * Undefined when the recorded job (GET /jobs/{id}) holds what a valid body sent: its metadata
 * exactly, and its request with the provider's defaults filled in (README: "Parsing fills the
 * provider's defaults"), data: URIs elided to their media type and size, prompts possibly trimmed.
 */
export function judgeRecord(valid: ValidCase, job: Record<string, unknown>): string | undefined {
  const { metadata: sentMetadata, webhook: sentWebhook, ...sent } = valid.body;
  // README, Webhooks: kept on the job as sent, its events `completed` when it named none (the fuzz stack has no default webhook).
  const expectedWebhook = sentWebhook ? { url: sentWebhook.url, events: sentWebhook.events ?? ['completed'] } : undefined;
  if (!sameJson(job.webhook, expectedWebhook)) return `webhook recorded as ${describeBody(job.webhook)}, expected ${describeBody(expectedWebhook)}`;
  if (sentMetadata !== undefined) {
    if (!sameJson(job.metadata, sentMetadata)) {
      const recorded = (job.metadata ?? {}) as Record<string, unknown>;
      const lost = Object.keys(sentMetadata).filter((key) => !Object.hasOwn(recorded, key));
      const gained = Object.keys(recorded).filter((key) => !Object.hasOwn(sentMetadata, key));
      const changed = Object.keys(sentMetadata).filter((key) => Object.hasOwn(recorded, key) && recorded[key] !== sentMetadata[key]);
      return `metadata recorded differently: lost keys ${JSON.stringify(lost)}, gained ${JSON.stringify(gained)}, changed ${JSON.stringify(changed)}`;
    }
  } else if (job.metadata !== undefined) return `metadata ${describeBody(job.metadata)} appeared`;
  const request = job.request as Record<string, unknown> | undefined;
  if (!request) return 'the job has no request';
  for (const [field, value] of Object.entries({ ...DEFAULTS, ...sent })) {
    if (field === 'content') continue;
    if (!sameJson(request[field], value)) return `request.${field} is ${describeBody(request[field])}, expected ${describeBody(value)}`;
  }
  const extra = Object.keys(request).filter((field) => !(field in DEFAULTS) && !(field in sent));
  if (extra.length > 0) return `the request gained ${extra.join(', ')}`;
  const content = request.content as Item[] | undefined;
  if (!Array.isArray(content) || content.length !== sent.content.length)
    return `request.content has ${Array.isArray(content) ? content.length : 'no'} items, ${sent.content.length} were sent`;
  for (const [index, item] of sent.content.entries()) {
    const stored = content[index]!;
    if (item.type === 'text') {
      const text = item.text as string;
      if (stored.text !== text) return `content[${index}].text changed`;
      if (!sameJson({ ...stored, text }, item)) return `content[${index}] is ${describeBody(stored)}`;
      continue;
    }
    const field = mediaField(item);
    const url = (item[field] as { url: string }).url;
    const storedUrl = (stored[field] as { url?: unknown } | undefined)?.url;
    if (url.startsWith('data:')) {
      const mediaType = /^data:[^;,]+/.exec(url)![0];
      if (typeof storedUrl !== 'string' || !storedUrl.startsWith(mediaType)) return `content[${index}]: a data: URI was recorded as ${describeBody(storedUrl)}`;
    } else if (storedUrl !== url) return `content[${index}]: ${describeBody(url)} was recorded as ${describeBody(storedUrl)}`;
    if (!sameJson({ ...stored, [field]: { url } }, item)) return `content[${index}] is ${describeBody(stored)}`;
  }
  return undefined;
}

/** A printable summary of a body: long strings shortened so a failure report stays readable. */
export function describeBody(value: unknown, maxString = 200): string {
  const seen = JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'string' && inner.length > maxString ? `${inner.slice(0, maxString)}…(${inner.length} chars)` : inner,
  );
  return seen ?? String(value);
}

/** How many request bodies the stack stored in S3 (`requests/<jobId>.json`): one per accepted job. */
export async function countStoredRequests(stack: { s3Url: string; bucket: string }): Promise<number> {
  const s3 = new S3Client({
    endpoint: stack.s3Url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  try {
    // ListObjects (v1) with a marker: s3rver 3.7 answers a V2 continuation token with a 500.
    let total = 0;
    let marker: string | undefined;
    for (;;) {
      const page = await s3.send(new ListObjectsCommand({ Bucket: stack.bucket, Prefix: 'requests/', ...(marker ? { Marker: marker } : {}) }));
      const keys = page.Contents ?? [];
      total += keys.length;
      if (!page.IsTruncated || keys.length === 0) return total;
      marker = page.NextMarker ?? keys.at(-1)!.Key;
    }
  } finally {
    s3.destroy();
  }
}
