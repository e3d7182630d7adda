import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { UPLOAD_PREFIX, uploadKeysFor, type UploadKeys } from '../../contracts/bucket.js';
import { announceOnce } from '../workflow/announce-outcome.js';
import { PayloadTooLargeError, UploadSupersededError, ValidationError } from '../domain/errors.js';
import type { JobRecord } from '../domain/job.js';
import { acceptJob, rejectJob, type IntakeDeps } from '../intake/job-intake.js';
import { MAX_BODY_BYTES } from '../domain/request-schema.js';
import * as z from '../domain/zod.js';

/**
 * The largest image uploaded alone that becomes a job. The provider fetches it through a presigned
 * URL rather than in the request body (whose 64 MB cap is the only size it documents), so the limit is
 * ours: generous for a first frame, and it keeps a mistaken upload (a video renamed .png) from reaching it.
 */
export const MAX_IMAGE_BYTES = 30 * 1024 * 1024;
const SPEC_SUFFIX = /\.json$/i;
const IMAGE_SUFFIX = /\.(jpe?g|png|webp)$/i;
/** Object metadata an image upload may carry (S3 hands user metadata back with lower-case names). */
const IMAGE_METADATA = ['prompt', 'ratio', 'duration', 'resolution'] as const;
/** The codes of jobs refused at the door: their upload goes to rejected/ with the reason beside it. */
const REFUSED_CODES: ReadonlySet<string> = new Set(['VALIDATION_ERROR', 'PAYLOAD_TOO_LARGE', 'UPLOAD_SUPERSEDED']);

export interface UploadedObject {
  bucket: string;
  key: string;
  /** The ETag of the version the event announces, unquoted as the event carries it. */
  etag: string;
  /** Set when the bucket is versioned: names the version exactly. */
  versionId?: string;
}

/**
 * What the trigger reads of S3's "Object Created" EventBridge event. Powertools' parser has a schema
 * of the whole event, but it is written in classic zod, which would put all of zod (about 440 KiB)
 * back into the function; the rule delivers only S3's own events, so the fields we use are the ones
 * worth checking. S3 puts the new object's ETag in every Object Created event; without it the event
 * names no version the trigger could read exactly. Anything else fails the invocation loudly.
 */
const objectCreatedEventSchema = z.object({
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({ key: z.string(), etag: z.string().check(z.minLength(1)), 'version-id': z.optional(z.string()) }),
  }),
});

/** The object version an "Object Created" event names; throws on any other event. */
export function uploadedObjectOf(event: unknown): UploadedObject {
  const { detail } = objectCreatedEventSchema.parse(event);
  return {
    bucket: detail.bucket.name,
    key: detail.object.key,
    etag: detail.object.etag,
    ...(detail.object['version-id'] ? { versionId: detail.object['version-id'] } : {}),
  };
}

export interface UploadDeps extends IntakeDeps {
  s3: S3Client;
  bucket: string;
  /** The model an image upload asks for (its metadata carries no body). */
  defaultModel: string;
}

export type UploadOutcome =
  { outcome: 'ignored'; reason: string } | { outcome: 'accepted' | 'rejected' | 'replayed'; jobId: string; status: JobRecord['status'] };

/** The same object version always maps to the same job, so S3's at-least-once delivery makes one job. */
export function uploadJobId(object: UploadedObject): string {
  const version = object.versionId ?? object.etag;
  return `upload-${createHash('sha256').update(`${object.bucket}/${object.key}#${version}`).digest('hex').slice(0, 40)}`;
}

/** One upload and where its parts go. */
interface Upload extends UploadKeys {
  object: UploadedObject;
  jobId: string;
  isSpec: boolean;
  trigger: { type: 's3'; source: string };
}

function uploadOf(object: UploadedObject): Upload {
  const jobId = uploadJobId(object);
  return {
    object,
    jobId,
    isSpec: SPEC_SUFFIX.test(object.key),
    trigger: { type: 's3', source: `s3://${object.bucket}/${object.key}` },
    ...uploadKeysFor(object.key, object.versionId ?? object.etag, jobId),
  };
}

/**
 * Exactly the version an event names, on every request about it: its version id on a versioned bucket,
 * else its ETag as a precondition (S3 answers 412 once another version has replaced it).
 */
function pinOf(object: UploadedObject): { VersionId: string } | { IfMatch: string } {
  return object.versionId ? { VersionId: object.versionId } : { IfMatch: `"${object.etag}"` };
}

/** The same pin for the source of a CopyObject. */
function pinnedCopySource(object: UploadedObject): { CopySource: string; CopySourceIfMatch?: string } {
  const source = `${object.bucket}/${encodeURIComponent(object.key).replace(/%2F/g, '/')}`;
  return object.versionId
    ? { CopySource: `${source}?versionId=${encodeURIComponent(object.versionId)}` }
    : { CopySource: source, CopySourceIfMatch: `"${object.etag}"` };
}

/** 412 (another version is current) or 404 (the key or version is gone): the pinned version is no longer there. */
function isVersionGone(error: unknown): boolean {
  const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
  return status === 412 || status === 404;
}

function superseded(object: UploadedObject): UploadSupersededError {
  const version = object.versionId ? `version ${object.versionId}` : `the version with ETag ${object.etag}`;
  return new UploadSupersededError(
    `${version} of s3://${object.bucket}/${object.key} was overwritten or deleted before it could be read; ` +
      'only a version that can still be read exactly runs (upload it again to run it)',
  );
}

/** S3 returns non-ASCII metadata as an RFC 2047 encoded word; a prompt should read as it was written. */
function decodeMetadataValue(value: string): string {
  const encoded = /^=\?utf-8\?b\?([^?]*)\?=$/i.exec(value.trim());
  return encoded ? Buffer.from(encoded[1]!, 'base64').toString('utf8') : value;
}

/**
 * An object created under `incoming/`: a `.json` job spec, or an image with a `prompt` in its metadata.
 * Each version the event names is read exactly (pinOf): one that can be runs once with its own bytes and
 * moves to `accepted/`; an invalid, oversized or no longer readable one becomes a FAILED job and moves
 * to `rejected/` with its reason beside it. Anything else is left where it is.
 */
export async function handleUpload(object: UploadedObject, deps: UploadDeps): Promise<UploadOutcome> {
  if (object.bucket !== deps.bucket) return { outcome: 'ignored', reason: `not our bucket (${object.bucket})` };
  if (!object.key.startsWith(UPLOAD_PREFIX)) return { outcome: 'ignored', reason: `not under ${UPLOAD_PREFIX}` };
  if (!SPEC_SUFFIX.test(object.key) && !IMAGE_SUFFIX.test(object.key)) return { outcome: 'ignored', reason: 'neither a .json spec nor an image' };
  const upload = uploadOf(object);
  const { jobId, trigger } = upload;

  const existing = await deps.jobs.get(jobId);
  if (existing) {
    // A refusal recorded by a run that stopped before announcing it is announced now (once).
    if (isRefused(existing)) await announceOnce(existing, deps);
    await settle(existing, upload, deps);
    return { outcome: 'replayed', jobId, status: existing.status };
  }

  try {
    const body = upload.isSpec ? await readSpec(deps, object) : await imageJobBody(deps, upload);
    if (body === undefined) return { outcome: 'ignored', reason: 'an image without a prompt in its metadata (media for a spec?)' };
    const { job, replayed } = await acceptJob({ body, trigger, jobId }, deps);
    await settle(job, upload, deps);
    return { outcome: replayed ? 'replayed' : 'accepted', jobId, status: job.status };
  } catch (error) {
    if (error instanceof ValidationError || error instanceof PayloadTooLargeError || error instanceof UploadSupersededError) {
      const { job, replayed } = await rejectJob({ jobId, trigger }, error, deps);
      await settle(job, upload, deps);
      return { outcome: replayed ? 'replayed' : 'rejected', jobId, status: job.status };
    }
    throw error;
  }
}

function isRefused(job: JobRecord): boolean {
  return job.error !== undefined && REFUSED_CODES.has(job.error.code);
}

/**
 * What follows a job's record; a replayed event repeats it, finishing what a crash cut short. A refused
 * upload gets its reason file, loses the image copy its job no longer needs, and moves to rejected/;
 * an accepted one moves to accepted/.
 */
async function settle(job: JobRecord, upload: Upload, deps: UploadDeps): Promise<void> {
  if (!isRefused(job)) return moveUpload(deps, upload.object, upload.acceptedKey);
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.bucket,
      Key: upload.reasonKey,
      Body: JSON.stringify(
        {
          jobId: job.jobId,
          source: upload.trigger.source,
          etag: upload.object.etag,
          ...(upload.object.versionId ? { versionId: upload.object.versionId } : {}),
          error: job.error,
        },
        null,
        2,
      ),
      ContentType: 'application/json',
    }),
  );
  if (!upload.isSpec) await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: upload.mediaKey }));
  await moveUpload(deps, upload.object, upload.rejectedKey);
}

/**
 * Copy then delete (S3 has no move), both of exactly this version: once another version has replaced
 * it, there is nothing of this one left to move, and the other is its own event's to move.
 */
async function moveUpload(deps: UploadDeps, object: UploadedObject, to: string): Promise<void> {
  try {
    await deps.s3.send(new CopyObjectCommand({ Bucket: deps.bucket, Key: to, ...pinnedCopySource(object) }));
    await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: object.key, ...pinOf(object) }));
  } catch (error) {
    if (!isVersionGone(error)) throw error;
  }
}

/** The spec's JSON: refused unread when S3 reports it over the API's limit, and never read past that limit. */
async function readSpec(deps: UploadDeps, object: UploadedObject): Promise<unknown> {
  let answer;
  try {
    answer = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: object.key, ...pinOf(object) }));
  } catch (error) {
    if (isVersionGone(error)) throw superseded(object);
    throw error;
  }
  const body = answer.Body;
  if (!(body instanceof Readable)) throw new Error(`GetObject of ${object.key} answered without a body stream`);
  const tooLarge = (size: string) => new PayloadTooLargeError(`the spec is ${size} bytes; at most ${MAX_BODY_BYTES} are accepted (as by POST /jobs)`);
  if ((answer.ContentLength ?? 0) > MAX_BODY_BYTES) {
    body.destroy();
    throw tooLarge(String(answer.ContentLength));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Leaving the loop destroys the stream.
    if (size > MAX_BODY_BYTES) throw tooLarge(`over ${MAX_BODY_BYTES}`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new ValidationError([{ path: 'body', message: `the spec is not valid JSON: ${(error as Error).message}` }]);
  }
}

/**
 * The job body of an image uploaded alone, or undefined for an image without a prompt (media a spec may
 * name). The job gets its own copy of exactly this version, made before the job names it.
 */
async function imageJobBody(deps: UploadDeps, upload: Upload): Promise<Record<string, unknown> | undefined> {
  const { object } = upload;
  let head;
  try {
    head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: object.key, ...pinOf(object) }));
  } catch (error) {
    // Its metadata went with it: whether it had a prompt cannot be known, so it is refused, not ignored.
    if (isVersionGone(error)) throw superseded(object);
    throw error;
  }
  const stored = Object.fromEntries(Object.entries(head.Metadata ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const metadata: Partial<Record<(typeof IMAGE_METADATA)[number], string>> = Object.fromEntries(
    IMAGE_METADATA.flatMap((name) => (stored[name] ? [[name, decodeMetadataValue(stored[name])]] : [])),
  );
  if (!metadata.prompt) return undefined;
  if ((head.ContentLength ?? 0) > MAX_IMAGE_BYTES) {
    throw new PayloadTooLargeError(`the image is ${head.ContentLength} bytes; at most ${MAX_IMAGE_BYTES} are accepted for an image uploaded alone`);
  }
  try {
    await deps.s3.send(new CopyObjectCommand({ Bucket: deps.bucket, Key: upload.mediaKey, ...pinnedCopySource(object) }));
  } catch (error) {
    if (isVersionGone(error)) throw superseded(object);
    throw error;
  }
  return {
    model: deps.defaultModel,
    content: [
      { type: 'text', text: metadata.prompt },
      { type: 'image_url', image_url: { url: `s3://${deps.bucket}/${upload.mediaKey}` }, role: 'first_frame' },
    ],
    ...(metadata.ratio ? { ratio: metadata.ratio } : {}),
    ...(metadata.resolution ? { resolution: metadata.resolution } : {}),
    ...(metadata.duration ? { duration: Number(metadata.duration) } : {}),
  };
}
