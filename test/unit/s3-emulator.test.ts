import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type S3Emulator } from '../../local/emulators/emulators.js';
import { KeyLocks } from '../../local/emulators/s3/s3-consistency.js';

/** The local S3 completes multipart uploads as S3 does (local/emulators/s3/s3-multipart.ts). */

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
    const done = await complete(
      'videos/assembled.mp4',
      UploadId,
      etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })),
    );
    const expected = `"${createHash('md5')
      .update(Buffer.concat(bodies.map(md5)))
      .digest('hex')}-3"`;
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
    await expect(
      complete('videos/refused.mp4', UploadId, [
        { PartNumber: 1, ETag: etags[1]! },
        { PartNumber: 2, ETag: etags[1]! },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(
      complete('videos/refused.mp4', UploadId, [
        { PartNumber: 1, ETag: etags[0]! },
        { PartNumber: 3, ETag: etags[1]! },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(
      complete('videos/refused.mp4', UploadId, [
        { PartNumber: 2, ETag: etags[1]! },
        { PartNumber: 1, ETag: etags[0]! },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPartOrder' });
    // Still complete-able after the refusals (nothing was consumed).
    await expect(
      complete('videos/refused.mp4', UploadId, [
        { PartNumber: 1, ETag: etags[0]! },
        { PartNumber: 2, ETag: etags[1]! },
      ]),
    ).resolves.toMatchObject({ ETag: expect.stringMatching(/-2"$/) });

    const small = await upload('videos/small-part.mp4', [randomBytes(MIB), randomBytes(MIB)]);
    await expect(
      complete(
        'videos/small-part.mp4',
        small.UploadId,
        small.etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })),
      ),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });

    await expect(complete('videos/nothing.mp4', 'no-such-upload', [{ PartNumber: 1, ETag: etags[0]! }])).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(
      s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'videos/nothing.mp4', UploadId: 'no-such-upload', PartNumber: 1, Body: Buffer.alloc(10) })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
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
    await expect(
      complete(
        'videos/aborted.mp4',
        UploadId,
        etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'videos/aborted.mp4', UploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
    await expect(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'videos/aborted.mp4', UploadId: '..' }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
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
    await complete(
      key,
      UploadId,
      etags.map((ETag, index) => ({ PartNumber: index + 1, ETag })),
    );
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(Buffer.concat(first))).toBe(true);
  });
});

describe('the local S3 on its own thread', () => {
  it('emits each event before the client has its answer, and frees its port on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-emulator-thread-'));
    const first = await startS3({ directory: dir, bucket: BUCKET });
    const client = new S3Client({
      endpoint: first.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
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
      const reopened = new S3Client({
        endpoint: again.url,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
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

const unquoted = (etag: string | undefined) => etag?.replaceAll('"', '');
const bodyOf = async (key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
/** The error a request ends with (its name and HTTP status); fails the test if it succeeds. */
async function failure(sent: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  const error = await sent.then(
    () => expect.unreachable('the request succeeded'),
    (error: unknown) => error,
  );
  return { name: (error as Error).name, status: statusOf(error) };
}

describe('one key, one version at a time (local/emulators/s3/s3-consistency.ts)', () => {
  it('GETs racing PUTs of the same key each read one whole version, with its own ETag', async () => {
    const key = 'incoming/raced.json';
    const bodies = Array.from({ length: 6 }, () => randomBytes(2 * MIB));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bodies[0] }));
    const reads: Promise<{ body: Buffer; etag: string | undefined }>[] = [];
    const writes = bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body })));
    for (let index = 0; index < 12; index++) {
      reads.push(
        s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })).then(async (answer) => ({
          body: Buffer.from(await answer.Body!.transformToByteArray()),
          etag: answer.ETag,
        })),
      );
    }
    await Promise.all(writes);
    for (const { body, etag } of await Promise.all(reads)) {
      expect(bodies.some((written) => written.equals(body))).toBe(true);
      expect(unquoted(etag)).toBe(md5(body).toString('hex'));
    }
  });

  it('holds the key until the response has been sent: a PUT waits for a GET still streaming the old bytes', async () => {
    const key = 'videos/streaming.mp4';
    const old = randomBytes(24 * MIB);
    const next = randomBytes(MIB);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: old }));
    // A reader that takes its time: headers in, body not read yet (the socket buffers fill and stop it).
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(`${emulator.url}/${BUCKET}/${key}`, resolve).on('error', reject).end();
    });
    response.pause();
    let putDone = false;
    const put = s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: next })).then(() => (putDone = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(putDone).toBe(false);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(old)).toBe(true);
    await put;
    expect((await bodyOf(key)).equals(next)).toBe(true);
  });

  it('a PUT cut off mid-body leaves the object as it was, and frees its key', async () => {
    const key = 'incoming/cut.json';
    const whole = randomBytes(MIB);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: whole }));
    await new Promise<void>((done) => {
      const req = httpRequest(`${emulator.url}/${BUCKET}/${key}`, { method: 'PUT', headers: { 'content-length': String(MIB) } });
      req.on('error', () => done());
      req.write(randomBytes(100_000), () => setTimeout(() => (req.destroy(), done()), 50));
    });
    expect((await bodyOf(key)).equals(whole)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect([unquoted(head.ETag), head.ContentLength]).toEqual([md5(whole).toString('hex'), MIB]);
    // The key is free again: a new PUT goes through.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'again' }));
    expect((await bodyOf(key)).toString()).toBe('again');
  });

  it('copies each way between two keys at once never wait on each other (keys are taken in one order)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'swap/a', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'swap/b', Body: 'b' }));
    const copy = (from: string, to: string) => s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: to, CopySource: `${BUCKET}/${from}` }));
    await Promise.all(Array.from({ length: 10 }, () => [copy('swap/a', 'swap/b'), copy('swap/b', 'swap/a')]).flat());
    for (const key of ['swap/a', 'swap/b']) expect(['a', 'b']).toContain((await bodyOf(key)).toString());
  });
});

describe('conditional requests, as S3 answers them', () => {
  const key = 'incoming/conditional.json';
  let etag: string;
  beforeAll(async () => {
    etag = (await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{"v":1}' }))).ETag!;
  });
  const other = '"0123456789abcdef0123456789abcdef"';

  it('GET and HEAD with If-Match: the object when the ETag matches (quoted or not), 412 when not, 404 when missing', async () => {
    for (const IfMatch of [etag, unquoted(etag)!, '*']) {
      const answer = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, IfMatch }));
      expect(await answer.Body!.transformToString()).toBe('{"v":1}');
      expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, IfMatch }))).ETag).toBe(etag);
    }
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, IfMatch: other })))).toEqual({ name: 'PreconditionFailed', status: 412 });
    // A HEAD answer has no body to name the error: the status says it.
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, IfMatch: other })))).status).toBe(412);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'incoming/none.json', IfMatch: etag })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'incoming/none.json', IfMatch: etag })))).toEqual({
      name: 'NotFound',
      status: 404,
    });
  });

  it('CopyObject with CopySourceIfMatch: copies the source only while it has that ETag', async () => {
    const CopySource = `${BUCKET}/${key}`;
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'accepted/refused.json', CopySource, CopySourceIfMatch: other })))).toEqual({
      name: 'PreconditionFailed',
      status: 412,
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'accepted/refused.json' }))).rejects.toMatchObject({ name: 'NotFound' });
    const copied = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'accepted/copied.json', CopySource, CopySourceIfMatch: etag }));
    expect(copied.CopyObjectResult?.ETag).toBe(etag);
    expect((await bodyOf('accepted/copied.json')).toString()).toBe('{"v":1}');
    expect(
      await failure(
        s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'accepted/x.json', CopySource: `${BUCKET}/incoming/none.json`, CopySourceIfMatch: etag })),
      ),
    ).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
  });

  it('DeleteObject with If-Match: deletes only that ETag; 412 leaves the object, 404 when missing', async () => {
    const deleted = 'incoming/conditional-delete.json';
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: deleted, Body: 'one' }));
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted, IfMatch: other })))).toEqual({
      name: 'PreconditionFailed',
      status: 412,
    });
    expect((await bodyOf(deleted)).toString()).toBe('one');
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted, IfMatch: put.ETag }));
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: deleted }))).rejects.toMatchObject({ name: 'NotFound' });
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted, IfMatch: put.ETag })))).toEqual({ name: 'NoSuchKey', status: 404 });
    // Without If-Match a delete of a missing key is still 204, as on S3.
    await expect(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted }))).resolves.toBeDefined();
  });
});

describe('KeyLocks', () => {
  const settledNow = async (promise: Promise<void>) => {
    let settled = false;
    void promise.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    return settled;
  };

  it('readers share a key; a writer waits for them, and readers after a waiting writer wait behind it', async () => {
    const locks = new KeyLocks();
    const reader = locks.hold(new Map([['k', 'read']]));
    const alongside = locks.hold(new Map([['k', 'read']]));
    const writer = locks.hold(new Map([['k', 'write']]));
    const later = locks.hold(new Map([['k', 'read']]));
    expect([await settledNow(reader.ready), await settledNow(alongside.ready), await settledNow(writer.ready), await settledNow(later.ready)]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    reader.release();
    alongside.release();
    expect([await settledNow(writer.ready), await settledNow(later.ready)]).toEqual([true, false]);
    writer.release();
    expect(await settledNow(later.ready)).toBe(true);
  });

  it('a hold released while it waits drops out of line (a client that went away)', async () => {
    const locks = new KeyLocks();
    const first = locks.hold(new Map([['k', 'write']]));
    const abandoned = locks.hold(
      new Map([
        ['j', 'write'],
        ['k', 'write'],
      ]),
    );
    const next = locks.hold(new Map([['j', 'write']]));
    expect(await settledNow(next.ready)).toBe(false); // abandoned holds j while it waits for k
    abandoned.release();
    expect([await settledNow(abandoned.ready), await settledNow(next.ready)]).toEqual([true, true]);
    first.release();
  });
});
