import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CliError, EXIT, UnreachableError, UsageError } from './errors.js';

export type MediaKind = 'image' | 'video' | 'audio';

/** File types a local file may have, per kind of media; the Content-Type it is stored with. */
const FILE_TYPES: Record<MediaKind, Record<string, string>> = {
  image: { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' },
  video: { '.mp4': 'video/mp4', '.mov': 'video/quicktime' },
  audio: { '.mp3': 'audio/mpeg', '.wav': 'audio/wav' },
};

export interface MediaStore {
  bucket: string;
  s3: S3Client;
  /** Where S3 is reached, for error messages: the local s3rver URL, or the AWS region. */
  endpoint: string;
}

/** A URL (https:, s3:, data:, http: for a local one) goes to the API as written; it validates it. */
export function isUrl(reference: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(reference) && !/^[a-z]:[\\/]/i.test(reference);
}

async function readLocal(kind: MediaKind, path: string): Promise<{ bytes: Buffer; extension: string; contentType: string }> {
  const extension = extname(path).toLowerCase();
  const contentType = FILE_TYPES[kind][extension];
  if (!contentType) {
    throw new UsageError(`--${kind} ${path}: a local ${kind} must be ${Object.keys(FILE_TYPES[kind]).join(', ')} (or pass a URL)`);
  }
  try {
    return { bytes: await readFile(path), extension, contentType };
  } catch (error) {
    throw new UsageError(`--${kind} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Already uploaded (same bytes, same key)? Any failure (404, or 403 without s3:ListBucket) says upload it. */
async function exists(store: MediaStore, key: string): Promise<boolean> {
  try {
    await store.s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** A failed S3 request about `key`, as the CLI's error: unreachable (3), refused (2) or unexpected (4). */
export function uploadFailure(store: MediaStore, key: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const where = `s3://${store.bucket}/${key} (${store.endpoint})`;
  if (status === undefined) {
    return new UnreachableError(`cannot upload to ${where}: ${(error as Error).message}`, { cause: error });
  }
  return new CliError(
    `cannot upload to ${where}: HTTP ${status} ${(error as Error).name}: ${(error as Error).message}`,
    status === 403 || status === 404 ? EXIT.USAGE_OR_REFUSED : EXIT.UNEXPECTED,
    { cause: error },
  );
}

/**
 * A local file becomes `s3://<bucket>/media/<sha256>.<ext>`: uploaded once (the key is its content),
 * presigned for the provider when the job is submitted. A URL is returned as is.
 */
export async function mediaUrl(kind: MediaKind, reference: string, store: () => MediaStore | undefined): Promise<string> {
  if (isUrl(reference)) return reference;
  const file = await readLocal(kind, reference);
  const target = store();
  if (!target) {
    throw new UsageError(
      `--${kind} ${reference}: a local file is uploaded to the pipeline's bucket first: name it with --bucket or ` +
        'VIDEO_PIPELINE_BUCKET (deployed API), or run against the local stack of stack.json (no --api)',
    );
  }
  const key = `media/${createHash('sha256').update(file.bytes).digest('hex')}${file.extension}`;
  try {
    if (!(await exists(target, key))) {
      await target.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: file.bytes, ContentType: file.contentType }));
    }
  } catch (error) {
    throw uploadFailure(target, key, error);
  }
  return `s3://${target.bucket}/${key}`;
}
