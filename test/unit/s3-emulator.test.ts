import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type S3Emulator } from '../../local/emulators.js';

/** The local S3 completes multipart uploads as S3 does (local/s3-multipart.ts). */

const MIB = 1024 * 1024;
const BUCKET = 'videos';
let directory: string;
let emulator: S3Emulator;
let s3: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 's3-emulator-'));
  emulator = await startS3({ directory, bucket: BUCKET });
  s3 = new S3Client({ endpoint: emulator.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
});

afterAll(async () => {
  s3.destroy();
  await emulator.close();
  await rm(directory, { recursive: true, force: true });
});

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest();

async function upload(key: string, bodies: Buffer[]): Promise<{ UploadId: string; etags: string[] }> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const etags: string[] = [];
  for (const [index, body] of bodies.entries()) {
    etags.push((await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: body }))).ETag!);
  }
  return { UploadId: UploadId!, etags };
}
const complete = (key: string, UploadId: string, parts: { PartNumber: number; ETag: string }[]) =>
  s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } }));

describe('multipart uploads in the local S3', () => {
  it('assembles the parts in order and answers S3’s multipart ETag (MD5 of the part MD5s, "-<count>")', async () => {
    const bodies = [randomBytes(5 * MIB), randomBytes(5 * MIB), randomBytes(1234)];
    const { UploadId, etags } = await upload('videos/assembled.mp4', bodies);
    expect(etags).toEqual(bodies.map((body) => `"${md5(body).toString('hex')}"`));
    const done = await complete('videos/assembled.mp4', UploadId, etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })));
    const expected = `"${createHash('md5').update(Buffer.concat(bodies.map(md5))).digest('hex')}-3"`;
    expect(done.ETag).toBe(expected);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'videos/assembled.mp4' }));
    expect([head.ETag, head.ContentLength]).toEqual([expected, 10 * MIB + 1234]);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'videos/assembled.mp4', Range: `bytes=${5 * MIB - 2}-${5 * MIB + 1}` }));
    expect(Buffer.from(await object.Body!.transformToByteArray())).toEqual(Buffer.concat([bodies[0]!.subarray(-2), bodies[1]!.subarray(0, 2)]));
    expect(await readdir(join(directory, BUCKET, '._S3rver_uploads'))).toEqual([]);
  });

  it('refuses what S3 refuses: a part uploaded with another ETag, parts out of order, a small part before the last, an unknown upload', async () => {
    const bodies = [randomBytes(5 * MIB), randomBytes(5 * MIB)];
    const { UploadId, etags } = await upload('videos/refused.mp4', bodies);
    await expect(complete('videos/refused.mp4', UploadId, [{ PartNumber: 1, ETag: etags[1]! }, { PartNumber: 2, ETag: etags[1]! }])).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(complete('videos/refused.mp4', UploadId, [{ PartNumber: 1, ETag: etags[0]! }, { PartNumber: 3, ETag: etags[1]! }])).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(complete('videos/refused.mp4', UploadId, [{ PartNumber: 2, ETag: etags[1]! }, { PartNumber: 1, ETag: etags[0]! }])).rejects.toMatchObject({ name: 'InvalidPartOrder' });
    // Still complete-able after the refusals (nothing was consumed).
    await expect(complete('videos/refused.mp4', UploadId, [{ PartNumber: 1, ETag: etags[0]! }, { PartNumber: 2, ETag: etags[1]! }])).resolves.toMatchObject({ ETag: expect.stringMatching(/-2"$/) });

    const small = await upload('videos/small-part.mp4', [randomBytes(MIB), randomBytes(MIB)]);
    await expect(complete('videos/small-part.mp4', small.UploadId, small.etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })))).rejects.toMatchObject({ name: 'EntityTooSmall' });

    await expect(complete('videos/nothing.mp4', 'no-such-upload', [{ PartNumber: 1, ETag: etags[0]! }])).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'videos/nothing.mp4', UploadId: 'no-such-upload', PartNumber: 1, Body: Buffer.alloc(10) }))).rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('a single small part is a valid upload (the last part may be any size)', async () => {
    const body = Buffer.from('{"prompt":"a lighthouse"}');
    const { UploadId, etags } = await upload('incoming/one-part.json', [body]);
    const done = await complete('incoming/one-part.json', UploadId, [{ PartNumber: 1, ETag: etags[0]! }]);
    expect(done.ETag).toBe(`"${createHash('md5').update(md5(body)).digest('hex')}-1"`);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'incoming/one-part.json' }));
    expect(await object.Body!.transformToString()).toBe(body.toString());
  });

  it('AbortMultipartUpload removes the parts (s3rver alone answers 405); the upload is gone after', async () => {
    const { UploadId, etags } = await upload('videos/aborted.mp4', [randomBytes(5 * MIB), randomBytes(100)]);
    expect(await readdir(join(directory, BUCKET, '._S3rver_uploads'))).toContain(UploadId);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'videos/aborted.mp4', UploadId }));
    expect(await readdir(join(directory, BUCKET, '._S3rver_uploads'))).not.toContain(UploadId);
    await expect(complete('videos/aborted.mp4', UploadId, etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })))).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'videos/aborted.mp4', UploadId }))).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'videos/aborted.mp4', UploadId: '..' }))).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'videos/aborted.mp4' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('any list S3 accepts is assembled right: a subset of the parts, parts uploaded again, parts of odd sizes', async () => {
    const key = 'videos/mixed.mp4';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const put = async (PartNumber: number, body: Buffer) =>
      (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber, Body: body }))).ETag!;
    const one = randomBytes(5 * MIB);
    const twoFirst = randomBytes(5 * MIB);
    const three = randomBytes(6 * MIB); // larger than the slot: a file of its own
    const four = randomBytes(5 * MIB);
    const five = randomBytes(777);
    const etags = [await put(1, one), await put(2, twoFirst), await put(3, three), await put(4, four), await put(5, five)];
    const twoAgain = randomBytes(5 * MIB);
    const twoAgainEtag = await put(2, twoAgain); // a part uploaded again replaces the first copy
    // Part 4 left out: S3 builds the object from the parts listed.
    const listed = [
      { PartNumber: 1, ETag: etags[0]! },
      { PartNumber: 2, ETag: twoAgainEtag },
      { PartNumber: 3, ETag: etags[2]! },
      { PartNumber: 5, ETag: etags[4]! },
    ];
    await expect(complete(key, UploadId!, [{ ...listed[0]! }, { PartNumber: 2, ETag: etags[1]! }])).rejects.toMatchObject({ name: 'InvalidPart' });
    await complete(key, UploadId!, listed);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const body = Buffer.from(await object.Body!.transformToByteArray());
    expect(body.equals(Buffer.concat([one, twoAgain, three, five]))).toBe(true);
  });

  it('a failed upload of a part again leaves the first copy whole', async () => {
    const key = 'videos/retried.mp4';
    const first = [randomBytes(5 * MIB), randomBytes(1000)];
    const { UploadId, etags } = await upload(key, first);
    const { request } = await import('node:http');
    // Part 1 again, cut after 1 MiB of its 5: the connection drops, S3 keeps the part it had.
    await new Promise<void>((done) => {
      const url = new URL(`${emulator.url}/${BUCKET}/${key}?partNumber=1&uploadId=${UploadId}`);
      const req = request(url, { method: 'PUT', headers: { 'content-length': String(5 * MIB) } });
      req.on('error', () => done());
      req.write(randomBytes(MIB), () => setTimeout(() => (req.destroy(), done()), 50));
    });
    // It did reach the store: its bytes went to a file of their own, not over the part's slot.
    expect((await readdir(join(directory, BUCKET, '._S3rver_uploads', UploadId))).filter((name) => /^1\.\w+$/.test(name) && name !== '1.json')).toHaveLength(1);
    await complete(key, UploadId, etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })));
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(Buffer.concat(first))).toBe(true);
  });
});

describe('the local S3 on its own thread', () => {
  it('emits each event before the client has its answer, and frees its port on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-emulator-thread-'));
    const first = await startS3({ directory: dir, bucket: BUCKET });
    const client = new S3Client({ endpoint: first.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const seen: string[] = [];
    first.server.on('event', (event: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => {
      for (const record of event.Records) seen.push(`${record.eventName} ${record.s3.object.key}`);
    });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'incoming/a.json', Body: '{}' }));
    expect(seen).toEqual(['ObjectCreated:Put incoming/a.json']);
    const port = Number(new URL(first.url).port);
    await first.close();
    const again = await startS3({ directory: dir, bucket: BUCKET, port });
    try {
      const reopened = new S3Client({ endpoint: again.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
      // The object outlived the restart (on disk).
      expect((await reopened.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'incoming/a.json' }))).ContentLength).toBe(2);
      reopened.destroy();
    } finally {
      client.destroy();
      await again.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
