import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startS3, type S3Emulator } from '../../local/emulators/emulators.js';
import { VideoCopyError, VideoUnavailableError } from '../../runtime/domain/errors.js';
import { MAX_PARTS, MIN_PART_SIZE, partSizeFor, storeVideo, type StoreVideoDeps } from '../../runtime/workflow/store-video.js';

const MIB = 1024 * 1024;
const BUCKET = 'videos';

/** What the S3 client put on the wire: operation, the payload-hash header, checksum headers, body size. */
interface Sent {
  operation: string;
  contentSha256?: string;
  checksumHeaders: string[];
  bodyBytes?: number;
  body?: unknown;
}

let directory: string;
let emulator: S3Emulator;
let s3: S3Client;
let sent: Sent[];
let partsInFlight = 0;
let mostPartsInFlight = 0;
/** Holds each UploadPart this long before sending it (a slow S3), so parts overlap for certain. */
let partDelayMs = 0;
let server: Server;
let base: string;
/** Paths the test server serves: a body, optionally cut after some bytes (Content-Length still announces all). */
const videos = new Map<string, { body: Buffer; cutAfter?: number; status?: number }>();

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'store-video-'));
  emulator = await startS3({ directory, bucket: BUCKET });
  s3 = new S3Client({ endpoint: emulator.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  // Innermost: sees each request as it is sent, after checksums and signing.
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      const headers = request.headers;
      sent.push({
        operation: String(context.commandName).replace(/Command$/, ''),
        contentSha256: headers['x-amz-content-sha256'],
        checksumHeaders: Object.keys(headers).filter((name) => name.startsWith('x-amz-checksum-')),
        ...(Buffer.isBuffer(request.body) || request.body instanceof Uint8Array ? { bodyBytes: (request.body as Uint8Array).length, body: request.body } : {}),
      });
      const isPart = context.commandName === 'UploadPartCommand';
      if (isPart) mostPartsInFlight = Math.max(mostPartsInFlight, ++partsInFlight);
      try {
        if (isPart && partDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, partDelayMs));
        return await next(args);
      } finally {
        if (isPart) partsInFlight--;
      }
    },
    { step: 'deserialize', priority: 'low', name: 'recordSent' },
  );
  server = createServer((request, response) => {
    const video = videos.get(request.url ?? '');
    if (!video) return void response.writeHead(404).end();
    if (video.status) return void response.writeHead(video.status).end();
    response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': video.body.length });
    if (video.cutAfter === undefined) return void response.end(video.body);
    response.write(video.body.subarray(0, video.cutAfter), () => setTimeout(() => response.destroy(), 20));
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  s3.destroy();
  await new Promise<void>((closed) => server.close(() => closed()));
  await emulator.close();
  await rm(directory, { recursive: true, force: true });
});

beforeEach(() => {
  sent = [];
  mostPartsInFlight = 0;
  partDelayMs = 0;
});

const deps = (overrides: Partial<StoreVideoDeps> = {}): StoreVideoDeps => ({
  s3,
  bucket: BUCKET,
  now: () => new Date('2026-03-12T23:20:00Z'),
  allowInsecureLoopback: true,
  ...overrides,
});
const input = (jobId: string, path: string) => ({ jobId, videoUrl: `${base}${path}`, submittedAt: '2026-03-12T23:11:30Z' });
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
async function stored(key: string): Promise<Buffer> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}
async function uploadsLeft(): Promise<string[]> {
  return readdir(join(directory, BUCKET, '._S3rver_uploads')).catch(() => []);
}

describe('partSizeFor', () => {
  it('keeps the preferred size while 10,000 parts hold the video, and never goes under S3’s 5 MiB', () => {
    expect(partSizeFor(undefined)).toBe(8 * MIB);
    expect(partSizeFor(1024 * MIB)).toBe(8 * MIB);
    expect(partSizeFor(1024 * MIB, 1 * MIB)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(undefined, 6 * MIB)).toBe(6 * MIB);
  });

  it('grows (to whole MiB) when the announced length needs more than 10,000 parts', () => {
    const bytes = 100 * 1024 * MIB; // 100 GiB
    const size = partSizeFor(bytes);
    expect(size % MIB).toBe(0);
    expect(Math.ceil(bytes / size)).toBeLessThanOrEqual(MAX_PARTS);
    expect(Math.ceil(bytes / (size - MIB))).toBeGreaterThan(MAX_PARTS);
  });
});

describe('storeVideo into the local S3', () => {
  it('a video smaller than a part: one PutObject, checksummed rather than payload-signed; size and sha256 recorded', async () => {
    const body = randomBytes(300_000);
    videos.set('/small.mp4', { body });
    const result = await storeVideo(input('job-small', '/small.mp4'), deps());
    expect(result).toMatchObject({
      bucket: BUCKET,
      key: 'videos/2026/03/12/job-small.mp4',
      bytes: body.length,
      contentType: 'video/mp4',
      sha256: sha256(body),
    });
    expect(sent.map((request) => request.operation)).toEqual(['PutObject', 'HeadObject']);
    expect(sent[0]).toMatchObject({ contentSha256: 'UNSIGNED-PAYLOAD', checksumHeaders: ['x-amz-checksum-crc32'], bodyBytes: body.length });
    expect((await stored(result.key)).equals(body)).toBe(true);
  });

  it('a larger video: multipart in parts of the chosen size, completed in order, byte for byte; no upload left behind', async () => {
    const body = randomBytes(12 * MIB + 12_345);
    videos.set('/large.mp4', { body });
    const result = await storeVideo(input('job-large', '/large.mp4'), deps({ partSizeBytes: 5 * MIB, queueSize: 2 }));
    expect(result).toMatchObject({ bytes: body.length, sha256: sha256(body) });
    const operations = sent.map((request) => request.operation);
    expect(operations).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload', 'HeadObject']);
    const parts = sent.filter((request) => request.operation === 'UploadPart');
    expect(parts.map((part) => part.bodyBytes)).toEqual([5 * MIB, 5 * MIB, 2 * MIB + 12_345]);
    for (const part of parts) expect(part).toMatchObject({ contentSha256: 'UNSIGNED-PAYLOAD', checksumHeaders: ['x-amz-checksum-crc32'] });
    // S3's multipart ETag: the MD5 of the parts' MD5s, then the part count.
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: result.key }));
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect((await stored(result.key)).equals(body)).toBe(true);
    expect(await uploadsLeft()).toEqual([]);
  });

  it('memory is bounded: queueSize parts in flight and one filling, in buffers reused whatever the length', async () => {
    const body = randomBytes(31 * MIB);
    videos.set('/many-parts.mp4', { body });
    partDelayMs = 50;
    const result = await storeVideo(input('job-many', '/many-parts.mp4'), deps({ partSizeBytes: 5 * MIB, queueSize: 2 }));
    expect(result.sha256).toBe(sha256(body));
    const buffers = new Set(sent.filter((request) => request.operation === 'UploadPart').map((request) => (request.body as Buffer).buffer));
    expect(sent.filter((request) => request.operation === 'UploadPart')).toHaveLength(7);
    expect(buffers.size).toBeLessThanOrEqual(3);
    expect(mostPartsInFlight).toBe(2);
  });

  it('a download cut midway aborts the multipart upload: no object, no parts left, a retryable copy error', async () => {
    const body = randomBytes(12 * MIB);
    videos.set('/cut.mp4', { body, cutAfter: 7 * MIB });
    const error = await storeVideo(input('job-cut', '/cut.mp4'), deps({ partSizeBytes: 5 * MIB })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VideoCopyError);
    expect((error as VideoCopyError).retryable).toBe(true);
    const operations = sent.map((request) => request.operation);
    expect(operations).toContain('AbortMultipartUpload');
    expect(operations).not.toContain('CompleteMultipartUpload');
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'videos/2026/03/12/job-cut.mp4' }))).rejects.toMatchObject({ name: 'NotFound' });
    expect(await uploadsLeft()).toEqual([]);
  });

  it('a short small download is refused before anything is stored', async () => {
    const body = randomBytes(100_000);
    videos.set('/cut-small.mp4', { body, cutAfter: 40_000 });
    const error = await storeVideo(input('job-cut-small', '/cut-small.mp4'), deps()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VideoCopyError);
    expect(sent.map((request) => request.operation)).toEqual([]);
  });

  it('an S3 failure during the upload aborts it and is a retryable copy error', async () => {
    const body = randomBytes(11 * MIB);
    videos.set('/s3-fails.mp4', { body });
    const failing = new S3Client({
      endpoint: emulator.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    const operations: string[] = [];
    failing.middlewareStack.add(
      (next, context) => async (args) => {
        operations.push(String(context.commandName));
        if (context.commandName === 'UploadPartCommand' && operations.filter((name) => name === 'UploadPartCommand').length === 2) {
          throw Object.assign(new Error('connection reset by the test'), { name: 'TimeoutError' });
        }
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'failSecondPart' },
    );
    const error = await storeVideo(input('job-s3-fails', '/s3-fails.mp4'), deps({ s3: failing, partSizeBytes: 5 * MIB })).catch((caught: unknown) => caught);
    failing.destroy();
    expect(error).toBeInstanceOf(VideoCopyError);
    expect((error as Error).message).toMatch(/connection reset by the test/);
    expect(operations).toContain('AbortMultipartUploadCommand');
    expect(operations).not.toContain('CompleteMultipartUploadCommand');
    expect(await uploadsLeft()).toEqual([]);
  });

  it('HTTP answers: 404 is final (VIDEO_UNAVAILABLE), 503 and 429 are retried (copy errors)', async () => {
    videos.set('/gone.mp4', { body: Buffer.alloc(0), status: 404 });
    videos.set('/busy.mp4', { body: Buffer.alloc(0), status: 503 });
    videos.set('/slow-down.mp4', { body: Buffer.alloc(0), status: 429 });
    await expect(storeVideo(input('job-gone', '/gone.mp4'), deps())).rejects.toBeInstanceOf(VideoUnavailableError);
    await expect(storeVideo(input('job-busy', '/busy.mp4'), deps())).rejects.toBeInstanceOf(VideoCopyError);
    await expect(storeVideo(input('job-slow', '/slow-down.mp4'), deps())).rejects.toBeInstanceOf(VideoCopyError);
    expect(sent).toEqual([]);
  });
});
