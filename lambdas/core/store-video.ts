import { createHash } from 'node:crypto';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { VideoCopyError, VideoUnavailableError } from './errors.js';
import { videoKeyFor, type JobOutput } from './job.js';
import { guardedFetch, refusalIn, type Resolve } from './url-guard.js';

export interface StoreVideoInput {
  jobId: string;
  videoUrl?: string;
  submittedAt: string;
}

export interface StoreVideoDeps {
  s3: S3Client;
  bucket: string;
  fetch?: typeof fetch;
  /** Host name resolution for the URL guard (default: the system resolver). */
  resolve?: Resolve;
  now: () => Date;
  /** Lets the local stack fetch from its loopback simulator: http and loopback, for loopback hosts only. */
  allowInsecureLoopback: boolean;
  /** Bounds memory: at most partSize × (queueSize + 1) bytes are buffered at once. */
  partSizeBytes?: number;
  queueSize?: number;
}

export interface StoredVideo extends JobOutput {
  storedAt: string;
}

export const VIDEO_CONTENT_TYPE = 'video/mp4';
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 2;
const DOWNLOAD_TIMEOUT_MS = 10 * 60 * 1000;

/** Hashes and counts the bytes as they stream past, so nothing is read twice or held whole. */
class DigestingStream extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** Streams the provider's MP4 into our bucket under a deterministic key, with its sha256 and size. */
export async function storeVideo(input: StoreVideoInput, deps: StoreVideoDeps): Promise<StoredVideo> {
  if (!input.videoUrl) throw new VideoUnavailableError('the provider reported success but gave no video URL');
  const key = videoKeyFor(input.jobId, new Date(input.submittedAt));
  let response: Response;
  let url: URL;
  try {
    // Only https to public addresses, checked again at connect time and at every redirect (url-guard.ts).
    ({ response, url } = await guardedFetch(
      input.videoUrl,
      { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) },
      { allowInsecureLoopback: deps.allowInsecureLoopback, resolve: deps.resolve, fetch: deps.fetch },
    ));
  } catch (error) {
    const refusal = refusalIn(error);
    if (refusal) throw refusal;
    if (error instanceof VideoCopyError) throw error;
    const target = URL.canParse(input.videoUrl) ? new URL(input.videoUrl) : undefined;
    throw new VideoCopyError(`download of ${target ? `${target.host}${target.pathname}` : 'the video'} failed: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const message = `download of ${url.host}${url.pathname} answered HTTP ${response.status}`;
    // 5xx and 429 are passing faults; 4xx means the link is gone or was never ours to read.
    if (response.status >= 500 || response.status === 429) throw new VideoCopyError(message);
    throw new VideoUnavailableError(message);
  }
  const expectedBytes = Number(response.headers.get('content-length') ?? NaN);
  const digest = new DigestingStream();
  // pipeline (unlike pipe) hands a cut download's error on to the upload, which then aborts.
  const body = pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), digest, () => {});
  const upload = new Upload({
    client: deps.s3,
    params: { Bucket: deps.bucket, Key: key, Body: body, ContentType: VIDEO_CONTENT_TYPE },
    partSize: deps.partSizeBytes ?? DEFAULT_PART_SIZE,
    queueSize: deps.queueSize ?? DEFAULT_QUEUE_SIZE,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
  } catch (error) {
    throw new VideoCopyError(`copy of ${url.host}${url.pathname} to s3://${deps.bucket}/${key} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (Number.isFinite(expectedBytes) && expectedBytes !== digest.bytes) {
    throw new VideoCopyError(`download was cut: got ${digest.bytes} of ${expectedBytes} bytes`);
  }
  const stored = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key }));
  if (stored.ContentLength !== digest.bytes) {
    throw new VideoCopyError(`s3://${deps.bucket}/${key} holds ${stored.ContentLength} bytes, ${digest.bytes} were streamed`);
  }
  return {
    bucket: deps.bucket,
    key,
    bytes: digest.bytes,
    contentType: VIDEO_CONTENT_TYPE,
    sha256: digest.hash.digest('hex'),
    storedAt: deps.now().toISOString(),
  };
}
