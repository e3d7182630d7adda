import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../runtime/domain/job.js';
import { createJobRequestSchema, MAX_BODY_BYTES } from '../../runtime/domain/request-schema.js';
import { handleUpload, uploadJobId, type UploadDeps, type UploadedObject } from '../../runtime/triggers/upload-intake.js';
import { intakeTestDeps } from '../../testkit/intake-deps.js';
import { startJobsTable } from '../../testkit/jobs-table.js';
import { solidPng } from '../../testkit/png.js';

/**
 * The S3 requests the upload trigger sends, as they go over the wire. The local S3 has no versioning,
 * so the e2e tests (test/e2e/upload-trigger.test.ts) cover the ETag pin; the version-id pin of a
 * versioned bucket is checked here against a recording S3 endpoint.
 */

const BUCKET = 'videos';
const ETAG = '0123456789abcdef0123456789abcdef';
let table: Awaited<ReturnType<typeof startJobsTable>>;
let server: Server;
let s3: S3Client;
let sent: { method: string; path: string; query: URLSearchParams; headers: IncomingMessage['headers'] }[];
let announced: JobRecord[];

beforeAll(async () => {
  table = await startJobsTable('Jobs');
  server = createServer((request, response) => {
    const url = new URL(request.url!, 'http://s3');
    sent.push({ method: request.method!, path: decodeURIComponent(url.pathname), query: url.searchParams, headers: request.headers });
    request.resume();
    request.on('end', () => {
      // An image overwritten since its event: every request pinned to its ETag fails (412; a HEAD answer has no body).
      const pinned = request.headers['if-match'] ?? request.headers['x-amz-copy-source-if-match'];
      if (pinned && (url.pathname.endsWith('/overwritten.png') || String(request.headers['x-amz-copy-source']).endsWith('/overwritten.png'))) {
        return response.writeHead(412).end(request.method === 'HEAD' ? undefined : '<Error><Code>PreconditionFailed</Code></Error>');
      }
      const headers = { etag: `"${ETAG}"`, 'x-amz-meta-prompt': 'A cat' };
      if (request.method === 'DELETE') return response.writeHead(204).end();
      if (request.method === 'PUT' && request.headers['x-amz-copy-source']) {
        return response.writeHead(200).end(`<CopyObjectResult><ETag>"${ETAG}"</ETag></CopyObjectResult>`);
      }
      if (request.method === 'PUT') return response.writeHead(200, { etag: headers.etag }).end();
      // A spec sent without a length (chunked): only reading it tells its size.
      if (request.method === 'GET' && url.pathname.endsWith('/unsized.json')) {
        response.writeHead(200, { etag: headers.etag });
        return response.end(Buffer.alloc(MAX_BODY_BYTES + 1, ' '));
      }
      // GET and HEAD: a spec, or an image with a prompt.
      const body = JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'A boat' }], duration: 4 });
      response.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(body)) }).end(request.method === 'GET' ? body : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

beforeEach(() => {
  sent = [];
  announced = [];
});

afterAll(async () => {
  s3?.destroy();
  await new Promise((resolve) => server?.close(resolve));
  await table?.close();
});

function deps(): UploadDeps {
  return {
    ...intakeTestDeps(table, {
      announcer: { announce: async (job) => void announced.push(job), announceLateVideo: async () => {} },
      schema: createJobRequestSchema({ mediaBucket: BUCKET }),
      // The image jobs' own copies are what the recording endpoint holds; the media check reads a PNG's head.
      readMedia: async () => ({ bytes: 1024, head: new Uint8Array(solidPng(2, 2).subarray(0, 16)) }),
      now: () => new Date('2026-11-24T12:00:00Z'),
    }),
    s3,
    bucket: BUCKET,
    defaultModel: 'seedance-fast',
  };
}

const summary = () =>
  sent.map(({ method, path, query, headers }) => ({
    request: `${method} ${path}${query.size > 0 ? `?${query}` : ''}`,
    ifMatch: headers['if-match'],
    copySource: headers['x-amz-copy-source'],
    copySourceIfMatch: headers['x-amz-copy-source-if-match'],
  }));

describe('every request about an uploaded object names its version', () => {
  it('a versioned bucket: the version id on the read, the copy source and the delete', async () => {
    const object: UploadedObject = { bucket: BUCKET, key: 'incoming/boat.json', etag: ETAG, versionId: 'v1.Abc' };
    expect(await handleUpload(object, deps())).toMatchObject({ outcome: 'accepted', jobId: uploadJobId(object) });
    expect(summary()).toEqual([
      { request: `GET /${BUCKET}/incoming/boat.json?versionId=v1.Abc&x-id=GetObject` },
      { request: `PUT /${BUCKET}/accepted/boat.json?x-id=CopyObject`, copySource: `${BUCKET}/incoming/boat.json?versionId=v1.Abc` },
      { request: `DELETE /${BUCKET}/incoming/boat.json?versionId=v1.Abc&x-id=DeleteObject` },
    ]);
  });

  it('an unversioned bucket: the ETag as If-Match on the read and the delete, and on the source of each copy', async () => {
    const object: UploadedObject = { bucket: BUCKET, key: 'incoming/photos/cat.png', etag: ETAG };
    const jobId = uploadJobId(object);
    expect(await handleUpload(object, deps())).toMatchObject({ outcome: 'accepted', jobId });
    const pinned = `"${ETAG}"`;
    expect(summary()).toEqual([
      { request: `HEAD /${BUCKET}/incoming/photos/cat.png`, ifMatch: pinned },
      // The job's own copy of this version, then the upload itself moved to accepted/.
      { request: `PUT /${BUCKET}/media/uploads/${jobId}/cat.png?x-id=CopyObject`, copySource: `${BUCKET}/incoming/photos/cat.png`, copySourceIfMatch: pinned },
      { request: `PUT /${BUCKET}/accepted/photos/cat.png?x-id=CopyObject`, copySource: `${BUCKET}/incoming/photos/cat.png`, copySourceIfMatch: pinned },
      { request: `DELETE /${BUCKET}/incoming/photos/cat.png?x-id=DeleteObject`, ifMatch: pinned },
    ]);
  });
});

describe('a replayed event of a refused upload', () => {
  it('announces a refusal a crashed run recorded but never announced, once, and writes its reason', async () => {
    const object: UploadedObject = { bucket: BUCKET, key: 'incoming/late.json', etag: ETAG };
    const jobId = uploadJobId(object);
    const at = '2026-11-24T11:00:00.000Z';
    await deps().jobs.create({
      jobId,
      kind: 'job',
      status: 'FAILED',
      progress: 0,
      trigger: { type: 's3', source: `s3://${BUCKET}/${object.key}` },
      error: { code: 'UPLOAD_SUPERSEDED', message: 'overwritten' },
      createdAt: at,
      updatedAt: at,
      finishedAt: at,
      deadlineAt: at,
    });
    expect(await handleUpload(object, deps())).toEqual({ outcome: 'replayed', jobId, status: 'FAILED' });
    expect(await handleUpload(object, deps())).toEqual({ outcome: 'replayed', jobId, status: 'FAILED' });
    expect(announced.map((job) => job.jobId)).toEqual([jobId]);
    expect(summary().filter(({ request }) => request.startsWith('PUT /videos/rejected/late.json.'))).toEqual([
      { request: `PUT /${BUCKET}/rejected/late.json.${ETAG}.reason.json?x-id=PutObject` },
      { request: `PUT /${BUCKET}/rejected/late.json.${ETAG}.reason.json?x-id=PutObject` },
    ]);
  });
});

describe('a spec whose size S3 does not state', () => {
  it('is refused PAYLOAD_TOO_LARGE as soon as reading it passes the limit', async () => {
    const object: UploadedObject = { bucket: BUCKET, key: 'incoming/unsized.json', etag: ETAG };
    const jobId = uploadJobId(object);
    expect(await handleUpload(object, deps())).toEqual({ outcome: 'rejected', jobId, status: 'FAILED' });
    expect((await deps().jobs.get(jobId))?.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringContaining(`over ${MAX_BODY_BYTES} bytes`),
    });
    expect(announced.map((job) => job.jobId)).toEqual([jobId]);
    expect(summary().map(({ request }) => request)).toContain(`PUT /${BUCKET}/rejected/unsized.json.${ETAG}.reason.json?x-id=PutObject`);
  });
});

describe('an image overwritten before the trigger read it', () => {
  it('is refused UPLOAD_SUPERSEDED (its prompt went with it), with a reason; the version now under its key is left alone', async () => {
    const object: UploadedObject = { bucket: BUCKET, key: 'incoming/overwritten.png', etag: ETAG };
    const jobId = uploadJobId(object);
    expect(await handleUpload(object, deps())).toEqual({ outcome: 'rejected', jobId, status: 'FAILED' });
    expect((await deps().jobs.get(jobId))?.error?.code).toBe('UPLOAD_SUPERSEDED');
    expect(announced.map((job) => job.jobId)).toEqual([jobId]);
    expect(summary().map(({ request }) => request)).toEqual([
      `HEAD /${BUCKET}/incoming/overwritten.png`,
      `PUT /${BUCKET}/rejected/overwritten.png.${ETAG}.reason.json?x-id=PutObject`,
      // Its job's image copy, were there one (a refused job keeps none).
      `DELETE /${BUCKET}/media/uploads/${jobId}/overwritten.png?x-id=DeleteObject`,
      // The move is pinned too: its copy fails, and the version now under the key is not deleted.
      `PUT /${BUCKET}/rejected/overwritten.png?x-id=CopyObject`,
    ]);
  });
});
