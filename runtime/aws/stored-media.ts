import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SNIFF_BYTES, type MediaReader } from '../domain/media-check.js';

/** An object replaced between our HeadObject and GetObject is read again, this many times at most. */
const READ_ATTEMPTS = 3;

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const isMissing = (error: unknown) => ['NotFound', 'NoSuchKey'].includes((error as Error).name) || statusOf(error) === 404;

/**
 * Reads what checkS3Media needs of an object: its size (HeadObject) and its first bytes (a ranged
 * GET of that same version, skipped for an empty object, to which S3 answers any range with 416).
 */
export function createS3MediaReader(s3: S3Client): MediaReader {
  return async ({ bucket, key }) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { ContentLength: bytes = 0, ETag } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        if (bytes === 0) return { bytes, head: new Uint8Array() };
        const answer = await s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${Math.min(SNIFF_BYTES, bytes) - 1}`, ...(ETag ? { IfMatch: ETag } : {}) }),
        );
        return { bytes, head: (await answer.Body?.transformToByteArray()) ?? new Uint8Array() };
      } catch (error) {
        if (isMissing(error)) return undefined;
        if (statusOf(error) !== 412 || attempt >= READ_ATTEMPTS) throw error;
      }
    }
  };
}
