import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { VideoCopyError, VideoUnavailableError } from '../domain/errors.js';
import { videoKeyFor } from '../../contracts/bucket.js';
import type { JobOutput } from '../domain/job.js';
import type { Resolve } from '../net/dns.js';
import { guardedGet, type RequestFunction } from '../net/guarded-get.js';
import { refusalIn } from '../net/url-guard.js';

export interface StoreVideoInput {
  jobId: string;
  videoUrl?: string;
  submittedAt: string;
}

export interface StoreVideoDeps {
  s3: S3Client;
  bucket: string;
  /** Issues the download's HTTP request (default: node:http / node:https through the URL guard's agent). */
  request?: RequestFunction;
  /** Host name resolution for the URL guard (default: the system resolver). */
  resolve?: Resolve;
  now: () => Date;
  /** Lets the local stack fetch from its loopback simulator: http and loopback, for loopback hosts only. */
  allowInsecureLoopback: boolean;
  /** The preferred part size; raised when the announced length needs it (10,000 parts at most). */
  partSizeBytes?: number;
  /** Parts uploading at once. Bounds memory: (queueSize + 1) part buffers, reused, whatever the video's size. */
  queueSize?: number;
}

export interface StoredVideo extends JobOutput {
  storedAt: string;
}

export const VIDEO_CONTENT_TYPE = 'video/mp4';
const MIB = 1024 * 1024;
export const DEFAULT_PART_SIZE = 8 * MIB;
export const DEFAULT_QUEUE_SIZE = 2;
/** S3's limits: parts of 5 MiB or more (all but the last), at most 10,000 of them. */
export const MIN_PART_SIZE = 5 * MIB;
export const MAX_PARTS = 10_000;
const DOWNLOAD_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * The part size for a download of `expectedBytes` (when announced): the preferred size, at least
 * S3's minimum, and large enough that the video fits in 10,000 parts (rounded up to a whole MiB).
 */
export function partSizeFor(expectedBytes: number | undefined, preferred = DEFAULT_PART_SIZE): number {
  const size = Math.max(preferred, MIN_PART_SIZE);
  if (expectedBytes === undefined || !Number.isFinite(expectedBytes)) return size;
  return Math.max(size, Math.ceil(expectedBytes / MAX_PARTS / MIB) * MIB);
}

/**
 * Each part (and a single PutObject) carries a CRC32 checksum that S3 verifies, so its payload need
 * not also be signed: sending `UNSIGNED-PAYLOAD` spares the signer a second SHA-256 pass over every
 * byte (it hashes any Buffer body otherwise, https or not). Only when the checksum header is there.
 */
type Handler = (args: { request: unknown }) => Promise<unknown>;
const unsignedWhenChecksummed =
  (next: Handler): Handler =>
  async (args) => {
    const headers = (args.request as { headers?: Record<string, string> }).headers;
    if (headers && Object.keys(headers).some((name) => name.toLowerCase().startsWith('x-amz-checksum-'))) {
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    }
    return next(args);
  };
function withUnsignedPayload<C extends { middlewareStack: object }>(command: C): C {
  (command.middlewareStack as { addRelativeTo: (middleware: unknown, options: object) => void }).addRelativeTo(unsignedWhenChecksummed, {
    relation: 'before',
    toMiddleware: 'httpSigningMiddleware',
    name: 'videoCopyUnsignedPayload',
  });
  return command;
}

export interface CopyTarget {
  s3: S3Client;
  bucket: string;
  key: string;
}

export interface Copied {
  bytes: number;
  sha256: string;
}

/**
 * Streams `body` into s3://bucket/key: one PutObject when it fits in one part, otherwise a multipart
 * upload with `queueSize` parts in flight, each read straight into one of `queueSize + 1` part
 * buffers that are reused (no concatenation, no garbage per part). The body is hashed as it arrives.
 * The download's length is checked before the object is made; on any failure the multipart upload is
 * aborted (after the parts in flight settle), so no partial object or orphaned parts remain.
 */
export async function copyIntoBucket(
  body: AsyncIterable<Buffer> & { destroy(): void },
  target: CopyTarget,
  options: { partSize: number; queueSize: number; expectedBytes?: number },
): Promise<Copied> {
  const { s3, bucket, key } = target;
  const { partSize, queueSize, expectedBytes } = options;
  const hash = createHash('sha256');
  const spare: Buffer[] = [];
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let uploadId: string | undefined;
  let part: Buffer = Buffer.allocUnsafeSlow(partSize);
  let filled = 0;
  let bytes = 0;
  let nextPartNumber = 1;

  const checkLength = () => {
    if (expectedBytes !== undefined && bytes !== expectedBytes) throw new VideoCopyError(`download was cut: got ${bytes} of ${expectedBytes} bytes`);
  };
  const uploadPart = async (data: Buffer) => {
    uploadId ??= (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: VIDEO_CONTENT_TYPE, ChecksumAlgorithm: 'CRC32' })))
      .UploadId;
    if (!uploadId) throw new VideoCopyError('CreateMultipartUpload answered no UploadId');
    const PartNumber = nextPartNumber++;
    if (PartNumber > MAX_PARTS) throw new VideoCopyError(`the video needs more than ${MAX_PARTS} parts of ${partSize} bytes`);
    // A free slot first: at most queueSize parts in flight, while the next one fills.
    while (inFlight.size >= queueSize && !failure) await Promise.race(inFlight);
    if (failure) throw failure.error;
    const sent = s3
      .send(
        withUnsignedPayload(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber,
            Body: data,
            ContentLength: data.length,
            ChecksumAlgorithm: 'CRC32',
          }),
        ),
      )
      .then((result) => {
        if (!result.ETag) throw new Error(`part ${PartNumber} was answered without an ETag`);
        parts.push({ PartNumber, ETag: result.ETag, ...(result.ChecksumCRC32 ? { ChecksumCRC32: result.ChecksumCRC32 } : {}) });
        spare.push(data);
      })
      // Never an unhandled rejection: the first failure is kept and thrown by the reading loop.
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };

  try {
    for await (const chunk of body) {
      hash.update(chunk);
      bytes += chunk.length;
      for (let offset = 0; offset < chunk.length;) {
        const copied = chunk.copy(part, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === partSize) {
          await uploadPart(part);
          part = spare.pop() ?? Buffer.allocUnsafeSlow(partSize);
          filled = 0;
        }
      }
    }
    checkLength();
    if (nextPartNumber === 1) {
      // It fits in one part: a single PutObject, as S3 would have it (and one request, not three).
      await s3.send(
        withUnsignedPayload(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: part.subarray(0, filled),
            ContentLength: filled,
            ContentType: VIDEO_CONTENT_TYPE,
            ChecksumAlgorithm: 'CRC32',
          }),
        ),
      );
    } else {
      if (filled > 0) await uploadPart(part.subarray(0, filled));
      await Promise.all(inFlight);
      if (failure) throw failure.error;
      parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    }
  } catch (error) {
    body.destroy();
    await Promise.allSettled(inFlight);
    if (uploadId !== undefined) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch((abortError: unknown) => {
        if (error instanceof Error && error.cause === undefined) error.cause = abortError;
      });
    }
    throw error;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Streams the provider's MP4 into our bucket under a deterministic key, with its sha256 and size. */
export async function storeVideo(input: StoreVideoInput, deps: StoreVideoDeps): Promise<StoredVideo> {
  if (!input.videoUrl) throw new VideoUnavailableError('the provider reported success but gave no video URL');
  const key = videoKeyFor(input.jobId, new Date(input.submittedAt));
  const signal = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  let response: IncomingMessage;
  let url: URL;
  try {
    // Only https to public addresses, checked again at connect time and at every redirect (runtime/net: url-guard.ts, guarded-agent.ts, guarded-get.ts).
    ({ response, url } = await guardedGet(input.videoUrl, {
      signal,
      allowInsecureLoopback: deps.allowInsecureLoopback,
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
      ...(deps.request ? { request: deps.request } : {}),
    }));
  } catch (error) {
    const refusal = refusalIn(error);
    if (refusal) throw refusal;
    if (error instanceof VideoCopyError) throw error;
    const target = URL.canParse(input.videoUrl) ? new URL(input.videoUrl) : undefined;
    throw new VideoCopyError(`download of ${target ? `${target.host}${target.pathname}` : 'the video'} failed: ${(error as Error).message}`, { cause: error });
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) {
    response.destroy();
    const message = `download of ${url.host}${url.pathname} answered HTTP ${status}`;
    // 5xx and 429 are passing faults; 4xx means the link is gone or was never ours to read.
    if (status >= 500 || status === 429) throw new VideoCopyError(message);
    throw new VideoUnavailableError(message);
  }
  const announced = response.headers['content-length'];
  const expectedBytes = announced !== undefined && /^\d+$/.test(announced) ? Number(announced) : undefined;
  let copied: Copied;
  try {
    copied = await copyIntoBucket(
      response,
      { s3: deps.s3, bucket: deps.bucket, key },
      {
        partSize: partSizeFor(expectedBytes, deps.partSizeBytes),
        queueSize: Math.max(1, deps.queueSize ?? DEFAULT_QUEUE_SIZE),
        ...(expectedBytes !== undefined ? { expectedBytes } : {}),
      },
    );
  } catch (error) {
    if (error instanceof VideoCopyError || error instanceof VideoUnavailableError) throw error;
    throw new VideoCopyError(`copy of ${url.host}${url.pathname} to s3://${deps.bucket}/${key} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const stored = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key }));
  if (stored.ContentLength !== copied.bytes) {
    throw new VideoCopyError(`s3://${deps.bucket}/${key} holds ${stored.ContentLength} bytes, ${copied.bytes} were streamed`);
  }
  return {
    bucket: deps.bucket,
    key,
    bytes: copied.bytes,
    contentType: VIDEO_CONTENT_TYPE,
    sha256: copied.sha256,
    storedAt: deps.now().toISOString(),
  };
}
