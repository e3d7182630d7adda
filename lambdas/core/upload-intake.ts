import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ValidationError } from './errors.js';
import type { JobRecord } from './job.js';
import { acceptJob, rejectJob, type IntakeDeps } from './job-intake.js';
import * as z from './zod.js';

export const UPLOAD_PREFIX = 'incoming/';
export const ACCEPTED_PREFIX = 'accepted/';
export const REJECTED_PREFIX = 'rejected/';
const SPEC_SUFFIX = /\.json$/i;
const IMAGE_SUFFIX = /\.(jpe?g|png|webp)$/i;
/** Object metadata an image upload may carry (S3 hands user metadata back with lower-case names). */
const IMAGE_METADATA = ['prompt', 'ratio', 'duration', 'resolution'] as const;

export interface UploadedObject {
  bucket: string;
  key: string;
  etag?: string;
  versionId?: string;
}

/**
 * What the trigger reads of S3's "Object Created" EventBridge event. Powertools' parser has a schema
 * of the whole event, but it is written in classic zod, which would put all of zod (about 440 KiB)
 * back into the function; the rule delivers only S3's own events, so the fields we use are the ones
 * worth checking. Anything else fails the invocation loudly.
 */
const objectCreatedEventSchema = z.object({
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({ key: z.string(), etag: z.optional(z.string()), 'version-id': z.optional(z.string()) }),
  }),
});

/** The object an "Object Created" event names; throws on any other event. */
export function uploadedObjectOf(event: unknown): UploadedObject {
  const { detail } = objectCreatedEventSchema.parse(event);
  return {
    bucket: detail.bucket.name,
    key: detail.object.key,
    ...(detail.object.etag ? { etag: detail.object.etag } : {}),
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
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'accepted' | 'rejected' | 'replayed'; jobId: string; status: JobRecord['status'] };

/** The same object version always maps to the same job, so S3's at-least-once delivery makes one job. */
export function uploadJobId(object: UploadedObject): string {
  const version = object.versionId ?? object.etag ?? '';
  return `upload-${createHash('sha256').update(`${object.bucket}/${object.key}#${version}`).digest('hex').slice(0, 40)}`;
}

/** S3 returns non-ASCII metadata as an RFC 2047 encoded word; a prompt should read as it was written. */
function decodeMetadataValue(value: string): string {
  const encoded = /^=\?utf-8\?b\?([^?]*)\?=$/i.exec(value.trim());
  return encoded ? Buffer.from(encoded[1]!, 'base64').toString('utf8') : value;
}

function isMissing(error: unknown): boolean {
  return error instanceof NoSuchKey || error instanceof NotFound || (error as { name?: string }).name === 'NotFound';
}

/**
 * An object created under `incoming/`: a `.json` job spec, or an image with a `prompt` in its metadata.
 * A valid one becomes a job and moves to `accepted/`; an invalid one becomes a FAILED job with its
 * issues and moves to `rejected/`, with the reason beside it. Anything else is left where it is.
 */
export async function handleUpload(object: UploadedObject, deps: UploadDeps): Promise<UploadOutcome> {
  if (object.bucket !== deps.bucket) return { outcome: 'ignored', reason: `not our bucket (${object.bucket})` };
  if (!object.key.startsWith(UPLOAD_PREFIX)) return { outcome: 'ignored', reason: `not under ${UPLOAD_PREFIX}` };
  const isSpec = SPEC_SUFFIX.test(object.key);
  if (!isSpec && !IMAGE_SUFFIX.test(object.key)) return { outcome: 'ignored', reason: 'neither a .json spec nor an image' };

  const jobId = uploadJobId(object);
  const relative = object.key.slice(UPLOAD_PREFIX.length);
  const acceptedKey = `${ACCEPTED_PREFIX}${relative}`;
  const rejectedKey = `${REJECTED_PREFIX}${relative}`;
  const trigger = { type: 's3' as const, source: `s3://${object.bucket}/${object.key}` };

  const existing = await deps.jobs.get(jobId);
  if (existing) {
    const rejected = existing.error?.code === 'VALIDATION_ERROR';
    await moveIfPresent(deps, object.key, rejected ? rejectedKey : acceptedKey);
    return { outcome: 'replayed', jobId, status: existing.status };
  }

  let body: unknown;
  if (isSpec) {
    const text = await readObjectText(deps, object.key);
    if (text === undefined) return { outcome: 'ignored', reason: 'the object is gone (already handled)' };
    try {
      body = JSON.parse(text);
    } catch (error) {
      return reject(new ValidationError([{ path: 'body', message: `the spec is not valid JSON: ${(error as Error).message}` }]));
    }
  } else {
    const metadata = await readImageMetadata(deps, object.key);
    if (metadata === undefined) return { outcome: 'ignored', reason: 'the object is gone (already handled)' };
    if (!metadata.prompt) return { outcome: 'ignored', reason: 'an image without a prompt in its metadata (media for a spec?)' };
    // The job names the image where it will live once accepted, so the provider can still fetch it then.
    await copyObject(deps, object.key, acceptedKey);
    body = {
      model: deps.defaultModel,
      content: [
        { type: 'text', text: metadata.prompt },
        { type: 'image_url', image_url: { url: `s3://${deps.bucket}/${acceptedKey}` }, role: 'first_frame' },
      ],
      ...(metadata.ratio ? { ratio: metadata.ratio } : {}),
      ...(metadata.resolution ? { resolution: metadata.resolution } : {}),
      ...(metadata.duration ? { duration: Number(metadata.duration) } : {}),
    };
  }

  try {
    const { job } = await acceptJob({ body, trigger, jobId }, deps);
    // A spec moves now; an image was copied to accepted/ before its job named it there.
    if (isSpec) await moveIfPresent(deps, object.key, acceptedKey);
    else await deleteObject(deps, object.key);
    return { outcome: 'accepted', jobId, status: job.status };
  } catch (error) {
    if (error instanceof ValidationError) {
      if (!isSpec) await deleteObject(deps, acceptedKey);
      return reject(error);
    }
    throw error;
  }

  async function reject(error: ValidationError): Promise<UploadOutcome> {
    const { job } = await rejectJob({ jobId, trigger }, error, deps);
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: `${rejectedKey}.reason.json`,
        Body: JSON.stringify({ jobId, source: trigger.source, error: job.error }, null, 2),
        ContentType: 'application/json',
      }),
    );
    await moveIfPresent(deps, object.key, rejectedKey);
    return { outcome: 'rejected', jobId, status: job.status };
  }
}

async function readObjectText(deps: UploadDeps, key: string): Promise<string | undefined> {
  try {
    const answer = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    return (await answer.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function readImageMetadata(deps: UploadDeps, key: string): Promise<Partial<Record<(typeof IMAGE_METADATA)[number], string>> | undefined> {
  try {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key }));
    const metadata = Object.fromEntries(Object.entries(head.Metadata ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    return Object.fromEntries(
      IMAGE_METADATA.flatMap((name) => (metadata[name] ? [[name, decodeMetadataValue(metadata[name])]] : [])),
    );
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function copyObject(deps: UploadDeps, from: string, to: string): Promise<void> {
  await deps.s3.send(
    new CopyObjectCommand({ Bucket: deps.bucket, Key: to, CopySource: `${deps.bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}` }),
  );
}

async function deleteObject(deps: UploadDeps, key: string): Promise<void> {
  await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: key }));
}

/** Copy then delete: S3 has no move. Safe to repeat, so a replayed event finishes a move a crash cut short. */
async function moveIfPresent(deps: UploadDeps, from: string, to: string): Promise<void> {
  try {
    await copyObject(deps, from, to);
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  await deleteObject(deps, from);
}
