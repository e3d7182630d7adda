import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type S3Emulator } from '../../local/emulators/emulators.js';
import { s3Operation, S3_BILLING_CLASS, type S3RequestLine } from '../../local/emulators/s3/s3-requests.js';

const BUCKET = 'videos';

function line(method: string, target: string, headers: Record<string, string> = {}): S3RequestLine {
  const url = new URL(target, 'http://127.0.0.1');
  return { method, path: url.pathname, query: url.searchParams, header: (name) => headers[name] };
}

describe('s3Operation', () => {
  it.each([
    ['PUT', '/videos/requests/a.json', {}, 'PutObject'],
    ['PUT', '/videos/accepted/a.json', { 'x-amz-copy-source': '/videos/incoming/a.json' }, 'CopyObject'],
    ['POST', '/videos/videos/a.mp4?uploads', {}, 'CreateMultipartUpload'],
    ['PUT', '/videos/videos/a.mp4?partNumber=2&uploadId=u', {}, 'UploadPart'],
    ['PUT', '/videos/videos/a.mp4?partNumber=2&uploadId=u', { 'x-amz-copy-source': '/videos/b.mp4' }, 'UploadPartCopy'],
    ['POST', '/videos/videos/a.mp4?uploadId=u', {}, 'CompleteMultipartUpload'],
    ['DELETE', '/videos/videos/a.mp4?uploadId=u', {}, 'AbortMultipartUpload'],
    ['GET', '/videos/videos/a.mp4?uploadId=u', {}, 'ListParts'],
    ['GET', '/videos?list-type=2&prefix=batches%2F', {}, 'ListObjects'],
    ['GET', '/videos', {}, 'ListObjects'],
    ['GET', '/videos?uploads', {}, 'ListMultipartUploads'],
    ['GET', '/videos?location', {}, 'OtherRead'],
    ['GET', '/', {}, 'ListBuckets'],
    ['POST', '/videos', {}, 'PostObject'],
    ['POST', '/videos?delete', {}, 'DeleteObjects'],
    ['GET', '/videos/videos/a.mp4?X-Amz-Signature=abc&X-Amz-Expires=60', {}, 'GetObject'],
    ['HEAD', '/videos/videos/a.mp4', {}, 'HeadObject'],
    ['HEAD', '/videos', {}, 'HeadBucket'],
    ['DELETE', '/videos/incoming/a.json', {}, 'DeleteObject'],
  ] as const)('%s %s → %s', (method, target, headers, operation) => {
    expect(s3Operation(line(method, target, headers))).toBe(operation);
  });

  it('bills writes and listings as tier 1, reads as tier 2, deletes and cancels as free', () => {
    expect(S3_BILLING_CLASS.CopyObject).toBe('tier1');
    expect(S3_BILLING_CLASS.ListObjects).toBe('tier1');
    expect(S3_BILLING_CLASS.HeadObject).toBe('tier2');
    expect(S3_BILLING_CLASS.AbortMultipartUpload).toBe('free');
  });
});

describe('the local S3 counts every request it serves', () => {
  let directory: string;
  let emulator: S3Emulator;
  let s3: S3Client;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 's3-requests-'));
    emulator = await startS3({ directory, bucket: BUCKET });
    s3 = new S3Client({ endpoint: emulator.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  });

  afterAll(async () => {
    s3.destroy();
    await emulator.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("by operation, presigned GETs and the emulation's own HeadObject included", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a.txt', Body: 'a' }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'b.txt', CopySource: `${BUCKET}/a.txt` }));
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'b.txt' }));
    await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a.txt' }))).Body!.transformToString();
    const presigned = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'a.txt' }), { expiresIn: 60 });
    expect(await (await fetch(presigned)).text()).toBe('a');
    await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'c.bin' }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'c.bin', UploadId, PartNumber: 1, Body: 'c' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'c.bin', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
    const aborted = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'd.bin' }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'd.bin', UploadId: aborted.UploadId }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'b.txt' }));
    expect(emulator.requests()).toEqual({
      PutObject: 1,
      CopyObject: 1,
      HeadObject: 1,
      GetObject: 2,
      ListObjects: 1,
      CreateMultipartUpload: 2,
      UploadPart: 1,
      CompleteMultipartUpload: 1,
      AbortMultipartUpload: 1,
      DeleteObject: 1,
    });
  });
});
