import { randomBytes } from 'node:crypto';
import {
  ListObjectsV2Command,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../runtime/domain/request-schema.js';
import { MAX_IMAGE_BYTES, uploadJobId } from '../../runtime/triggers/upload-intake.js';
import { objectExists, localS3Client, readObjectText } from '../../testkit/local-s3.js';
import { solidPng } from '../../testkit/png.js';
import { probeMp4 } from '../../testkit/probe-mp4.js';
import { getJob, startStackFixture, type JobAnswer, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';

let fixture: StackFixture;
let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  fixture = await startStackFixture();
  s3 = localS3Client(fixture.stack);
  bucket = fixture.stack.bucket;
});

afterAll(async () => {
  s3?.destroy();
  await fixture?.close();
});

const spec = (text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text }], duration: 4, ...extra });

async function upload(key: string, body: string | Buffer, metadata?: Record<string, string>) {
  const answer = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
  await fixture.stack.deliveriesIdle();
  return { key, etag: answer.ETag!.replaceAll('"', '') };
}

async function jobsFrom(key: string): Promise<JobAnswer[]> {
  const response = await fetch(`${fixture.stack.apiUrl}/jobs?trigger=s3&limit=100`);
  const page = (await response.json()) as { jobs: (JobAnswer & { trigger: { source: string } })[] };
  return page.jobs.filter((job) => job.trigger.source === `s3://${bucket}/${key}`);
}

/** The request body the job stored (requests/<jobId>/<requestHash>.json): exactly one per job. */
async function storedRequestKey(jobId: string): Promise<string> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `requests/${jobId}/` }));
  const keys = (listed.Contents ?? []).map((object) => object.Key!);
  expect(keys).toHaveLength(1);
  return keys[0]!;
}

function eventsOf(jobId: string) {
  return fixture.stack.events().filter((event) => (event.detail as { jobId: string }).jobId === jobId);
}

/**
 * The completion events of a job that has ended. The workflow announces a job in its step after the
 * one that records the final status, so a client can see SUCCEEDED first (by a lot on a loaded machine,
 * when AnnounceOutcome's module is loaded for the stack's first job): wait for the announcement.
 */
async function announcementsOf(jobId: string) {
  await expect.poll(() => eventsOf(jobId), { timeout: 10_000, interval: 20 }).not.toHaveLength(0);
  await fixture.stack.deliveriesIdle();
  return eventsOf(jobId);
}

describe('a JSON spec uploaded under incoming/', () => {
  it('becomes one job that SUCCEEDS, moves to accepted/, and is announced once', async () => {
    const object = await upload('incoming/specs/boat.json', spec('A paper boat on a river', { metadata: { customer: 'acme' } }));
    const [queued, ...others] = await jobsFrom(object.key);
    expect(others).toEqual([]);
    expect(queued!.jobId).toBe(uploadJobId({ bucket, key: object.key, etag: object.etag }));
    const { job } = await waitForJob(fixture.stack.apiUrl, queued!.jobId);
    expect(job.status).toBe('SUCCEEDED');
    expect(job).toMatchObject({ trigger: { type: 's3', source: `s3://${bucket}/incoming/specs/boat.json` }, metadata: { customer: 'acme' } });
    expect(await objectExists(s3, bucket, 'incoming/specs/boat.json')).toBe(false);
    expect(await objectExists(s3, bucket, 'accepted/specs/boat.json')).toBe(true);

    const events = await announcementsOf(job.jobId);
    expect(events.map((event) => event['detail-type'])).toEqual(['Job Succeeded']);
    expect(events[0]).toMatchObject({ source: 'video-pipeline', detail: { status: 'SUCCEEDED', output: job.output } });
    expect(events[0]!.detail).not.toHaveProperty('request');
  });

  it('makes one job when the same object version is delivered twice or uploaded again with the same bytes', async () => {
    const body = spec('A red kite');
    const first = await upload('incoming/kite.JSON', body);
    const [job] = await jobsFrom(first.key);
    // The very same event again, as S3's at-least-once delivery may send it.
    const replay = await fixture.stack.invokeFunction('s3-trigger', {
      version: '0',
      id: 'replayed-delivery',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: '2026-11-24T12:00:00Z',
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: { key: first.key, size: body.length, etag: first.etag },
        'request-id': 'replay',
        requester: '000000000000',
        reason: 'PutObject',
      },
    });
    expect(replay).toMatchObject({ outcome: 'replayed', jobId: job!.jobId });
    const second = await upload('incoming/kite.JSON', body);
    expect(second.etag).toBe(first.etag);
    expect((await jobsFrom(first.key)).map((found) => found.jobId)).toEqual([job!.jobId]);
    await waitForJob(fixture.stack.apiUrl, job!.jobId);
    expect(
      fixture.stack.simulator.tasks().filter((task) => task.request.content[0]?.type === 'text' && task.request.content[0].text === 'A red kite'),
    ).toHaveLength(1);
    expect(await objectExists(s3, bucket, 'incoming/kite.JSON')).toBe(false);
  });

  it('triggers from a multipart upload too', async () => {
    const key = 'incoming/multipart.json';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: spec('A multipart lighthouse') }));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] },
      }),
    );
    await fixture.stack.deliveriesIdle();
    const [job] = await jobsFrom(key);
    expect((await waitForJob(fixture.stack.apiUrl, job!.jobId)).job.status).toBe('SUCCEEDED');
  });
});

describe('an invalid spec', () => {
  it('is recorded FAILED with its issues, moved to rejected/ with the reason beside it, and announced', async () => {
    const object = await upload('incoming/bad.json', spec('A cat', { duration: 3, colour: 'red' }));
    const [job] = await jobsFrom('incoming/bad.json');
    const record = await getJob(fixture.stack.apiUrl, job!.jobId);
    expect(record.status).toBe('FAILED');
    expect(record.error?.code).toBe('VALIDATION_ERROR');
    const issues = (record.error as unknown as { issues: { path: string }[] }).issues.map((issue) => issue.path);
    expect(issues).toEqual(expect.arrayContaining(['duration', 'colour']));
    expect(await objectExists(s3, bucket, 'incoming/bad.json')).toBe(false);
    expect(await objectExists(s3, bucket, 'rejected/bad.json')).toBe(true);
    // The reason is named by the version it explains, so another version's never overwrites it.
    const reason = JSON.parse(await readObjectText(s3, bucket, `rejected/bad.json.${object.etag}.reason.json`)) as { jobId: string; error: { code: string } };
    expect(reason).toMatchObject({ jobId: job!.jobId, etag: object.etag, error: { code: 'VALIDATION_ERROR' } });
    expect(eventsOf(job!.jobId).map((event) => event['detail-type'])).toEqual(['Job Failed']);
    expect(fixture.stack.engine.listExecutions().some((execution) => execution.name === job!.jobId)).toBe(false);
  });

  it('that is not even JSON is refused the same way, naming the body', async () => {
    await upload('incoming/broken.json', '{"model": ');
    const [job] = await jobsFrom('incoming/broken.json');
    const record = await getJob(fixture.stack.apiUrl, job!.jobId);
    expect(record.error?.code).toBe('VALIDATION_ERROR');
    expect((record.error as unknown as { issues: { path: string }[] }).issues[0]?.path).toBe('body');
    expect(await objectExists(s3, bucket, 'rejected/broken.json')).toBe(true);
  });
});

describe('an image uploaded alone with a prompt', () => {
  it('starts an image-to-video job with its own copy of the image presigned as first_frame', async () => {
    await upload('incoming/photos/cat.PNG', solidPng(400, 300), { prompt: 'The cat starts to dance', duration: '4', resolution: '480p' });
    const [queued] = await jobsFrom('incoming/photos/cat.PNG');
    const { job } = await waitForJob(fixture.stack.apiUrl, queued!.jobId);
    expect(job.status).toBe('SUCCEEDED');
    // The job's own copy: a later upload of cat.PNG (moved to accepted/ in its turn) cannot change it.
    const media = `media/uploads/${job.jobId}/cat.PNG`;
    expect(job.request.content).toEqual([
      { type: 'text', text: 'The cat starts to dance' },
      { type: 'image_url', image_url: { url: `s3://${bucket}/${media}` }, role: 'first_frame' },
    ]);
    // What the provider received: a presigned URL to that copy.
    const sent = fixture.stack.simulator.tasks().find((task) => task.id === job.providerTaskId)!.request.content[1] as {
      image_url: { url: string };
      role: string;
    };
    expect(sent.role).toBe('first_frame');
    expect(sent.image_url.url).toMatch(new RegExp(`^${fixture.stack.s3Url}/${bucket}/${media.replaceAll('.', '\\.')}\\?.*X-Amz-Signature=`));
    expect((await fetch(sent.image_url.url)).status).toBe(200);
    expect(await objectExists(s3, bucket, 'incoming/photos/cat.PNG')).toBe(false);
    expect(await objectExists(s3, bucket, 'accepted/photos/cat.PNG')).toBe(true);
    // The simulator read the image through that URL: adaptive ratio → the image's 4:3.
    const probe = await probeMp4(Buffer.from(await (await fetch(job.downloadUrl!)).arrayBuffer()));
    expect(probe).toMatchObject({ width: 640, height: 480 });
  });

  it('a later upload under the same name changes neither the image nor the video of an earlier job', async () => {
    const versions = [
      { object: await upload('incoming/frames/dog.png', solidPng(400, 300), { prompt: 'The dog wags', duration: '4', resolution: '480p' }), width: 640 },
      { object: await upload('incoming/frames/dog.png', solidPng(300, 400), { prompt: 'The dog sleeps', duration: '4', resolution: '480p' }), width: 360 },
    ];
    for (const { object, width } of versions) {
      const { job } = await waitForJob(fixture.stack.apiUrl, uploadJobId({ bucket, key: object.key, etag: object.etag }));
      expect(job.status).toBe('SUCCEEDED');
      // The image the job names is its own copy of its own version, and the provider framed the video from it.
      const named = job.request.content[1]!.image_url!.url;
      expect(named).toBe(`s3://${bucket}/media/uploads/${job.jobId}/dog.png`);
      expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: named.slice(`s3://${bucket}/`.length) }))).ETag).toBe(`"${object.etag}"`);
      expect(await probeMp4(Buffer.from(await (await fetch(job.downloadUrl!)).arrayBuffer()))).toMatchObject({ width, height: 480 });
    }
  });

  it('is left alone without a prompt (it may be media that a spec refers to)', async () => {
    await upload('incoming/media/frame.jpg', solidPng(64, 64));
    expect(await jobsFrom('incoming/media/frame.jpg')).toEqual([]);
    expect(await objectExists(s3, bucket, 'incoming/media/frame.jpg')).toBe(true);
  });

  it('a spec may use such an s3:// image of the bucket as its media', async () => {
    await upload('incoming/media/ref.png', solidPng(300, 300));
    await upload(
      'incoming/with-media.json',
      JSON.stringify({
        model: 'seedance-fast',
        content: [
          { type: 'text', text: 'A square garden' },
          { type: 'image_url', image_url: { url: `s3://${bucket}/incoming/media/ref.png` }, role: 'reference_image' },
        ],
        duration: 4,
        generate_audio: false,
      }),
    );
    const [queued] = await jobsFrom('incoming/with-media.json');
    const { job } = await waitForJob(fixture.stack.apiUrl, queued!.jobId);
    expect(job.status).toBe('SUCCEEDED');
    const probe = await probeMp4(Buffer.from(await (await fetch(job.downloadUrl!)).arrayBuffer()));
    expect(probe).toMatchObject({ width: 720, height: 720, hasAudio: false });
  });
});

describe('the S3 rule', () => {
  it('ignores objects outside incoming/ and objects that are neither specs nor images', async () => {
    await upload('elsewhere/spec.json', spec('Not a trigger'));
    await upload('incoming/notes.txt', 'hello');
    expect(await jobsFrom('elsewhere/spec.json')).toEqual([]);
    expect(await jobsFrom('incoming/notes.txt')).toEqual([]);
    expect(fixture.stack.deliveryFailures()).toEqual([]);
  });
});

/** The prompt of a job's request (its first content item is the text). */
const promptOf = (request: { content: unknown[] }) => (request.content[0] as { type: string; text?: string }).text;

function executionsOf(jobId: string) {
  return fixture.stack.engine.listExecutions().filter((execution) => execution.name.startsWith(jobId));
}

describe('an upload overwritten while the trigger handles it', () => {
  it('each version runs once with its own bytes, or is refused UPLOAD_SUPERSEDED with its own reason; none runs another version', async () => {
    const key = 'incoming/x/samekey.json';
    const texts = Array.from({ length: 10 }, (_, index) => `Same key, version v${index}`);
    // Ten PUTs at once: the trigger of each may find a later one already in place.
    const puts = await Promise.all(texts.map((text) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: spec(text) }))));
    await fixture.stack.deliveriesIdle();
    const versions = puts.map((put, index) => {
      const etag = put.ETag!.replaceAll('"', '');
      return { text: texts[index]!, etag, jobId: uploadJobId({ bucket, key, etag }) };
    });
    // One job per version, and no other.
    expect((await jobsFrom(key)).map((job) => job.jobId).sort()).toEqual(versions.map((version) => version.jobId).sort());

    const ran: string[] = [];
    for (const version of versions) {
      const { job } = await waitForJob(fixture.stack.apiUrl, version.jobId);
      if (job.error?.code === 'UPLOAD_SUPERSEDED') {
        expect(job.status).toBe('FAILED');
        const reason = JSON.parse(await readObjectText(s3, bucket, `rejected/x/samekey.json.${version.etag}.reason.json`)) as Record<string, unknown>;
        expect(reason).toMatchObject({ jobId: version.jobId, etag: version.etag, error: { code: 'UPLOAD_SUPERSEDED' } });
        expect(executionsOf(version.jobId)).toEqual([]);
        expect(eventsOf(version.jobId).map((event) => event['detail-type'])).toEqual(['Job Failed']);
        continue;
      }
      // A version that ran, ran its own body: in the job, in the stored request and at the provider.
      expect(job.status).toBe('SUCCEEDED');
      expect(promptOf(job.request)).toBe(version.text);
      expect(promptOf(JSON.parse(await readObjectText(s3, bucket, await storedRequestKey(version.jobId))) as { content: unknown[] })).toBe(version.text);
      expect(promptOf(fixture.stack.simulator.tasks().find((task) => task.id === job.providerTaskId)!.request)).toBe(version.text);
      ran.push(version.text);
    }
    // The version left under the key was never overwritten: it ran, and it is the one moved to accepted/.
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(ran).toContain(promptOf(JSON.parse(await readObjectText(s3, bucket, 'accepted/x/samekey.json')) as { content: unknown[] }));
    expect(await objectExists(s3, bucket, key)).toBe(false);
    // The provider got each body that ran exactly once, and nothing else of this key.
    const sent = fixture.stack.simulator
      .tasks()
      .map((task) => promptOf(task.request) ?? '')
      .filter((text) => text.startsWith('Same key, version'));
    expect(sent.sort()).toEqual(ran.sort());
  });
});

describe('uploads over the size limits', () => {
  it("a spec over the API's 10 MB is refused PAYLOAD_TOO_LARGE with a reason, before anything starts", async () => {
    const image = `data:image/png;base64,${randomBytes(Math.ceil((11 * 1024 * 1024 * 3) / 4)).toString('base64')}`;
    const body = JSON.stringify({
      model: 'seedance-fast',
      content: [
        { type: 'text', text: 'An oversized spec' },
        { type: 'image_url', image_url: { url: image }, role: 'first_frame' },
      ],
      duration: 4,
    });
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES);
    const object = await upload('incoming/oversized.json', body);
    const jobId = uploadJobId({ bucket, key: object.key, etag: object.etag });
    const job = await getJob(fixture.stack.apiUrl, jobId);
    expect(job).toMatchObject({ status: 'FAILED', error: { code: 'PAYLOAD_TOO_LARGE' } });
    const reason = JSON.parse(await readObjectText(s3, bucket, `rejected/oversized.json.${object.etag}.reason.json`)) as Record<string, unknown>;
    expect(reason).toMatchObject({ jobId, error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(await objectExists(s3, bucket, 'rejected/oversized.json')).toBe(true);
    expect(await objectExists(s3, bucket, 'incoming/oversized.json')).toBe(false);
    expect(executionsOf(jobId)).toEqual([]);
    expect(fixture.stack.simulator.tasks().filter((task) => promptOf(task.request) === 'An oversized spec')).toEqual([]);
  });

  it(`an image uploaded alone over ${MAX_IMAGE_BYTES / 1024 / 1024} MB is refused the same way; no copy of it is kept for a job`, async () => {
    const image = Buffer.concat([solidPng(64, 64), randomBytes(MAX_IMAGE_BYTES)]);
    const object = await upload('incoming/huge.png', image, { prompt: 'An oversized image' });
    const jobId = uploadJobId({ bucket, key: object.key, etag: object.etag });
    const job = await getJob(fixture.stack.apiUrl, jobId);
    expect(job).toMatchObject({ status: 'FAILED', error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(JSON.parse(await readObjectText(s3, bucket, `rejected/huge.png.${object.etag}.reason.json`))).toMatchObject({
      jobId,
      error: { code: 'PAYLOAD_TOO_LARGE' },
    });
    expect(await objectExists(s3, bucket, 'rejected/huge.png')).toBe(true);
    expect(await objectExists(s3, bucket, `media/uploads/${jobId}/huge.png`)).toBe(false);
    expect(executionsOf(jobId)).toEqual([]);
    expect(fixture.stack.simulator.tasks().filter((task) => promptOf(task.request) === 'An oversized image')).toEqual([]);
  });
});
