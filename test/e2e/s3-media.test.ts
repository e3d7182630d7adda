import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_RULES } from '../../runtime/domain/media-check.js';
import { localS3Client } from '../../testkit/local-s3.js';
import { solidPng } from '../../testkit/png.js';
import { postJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';

/** `s3://` media over HTTP: what the intake checks against the object itself before it records a job. */

let fixture: StackFixture;
let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  fixture = await startStackFixture();
  s3 = localS3Client(fixture.stack);
  bucket = fixture.stack.bucket;
  const put = (key: string, body: Buffer | string, contentType?: string) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(contentType ? { ContentType: contentType } : {}) }));
  await put('media/cat.png', solidPng(64, 48));
  await put('media/notes.png', 'these are notes, not a picture', 'image/png');
  await put('media/empty.png', Buffer.alloc(0), 'image/png');
  await put('media/huge.png', Buffer.concat([solidPng(8, 8), Buffer.alloc(MEDIA_RULES.image.maxBytes)]));
  await put('media/clip.png', Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom'), Buffer.alloc(64)]));
  await put('incoming/shots/ref.png', solidPng(32, 32));
});

afterAll(async () => {
  s3?.destroy();
  await fixture?.close();
});

const withImage = (url: string) => ({
  model: 'seedance-fast',
  content: [
    { type: 'text', text: 'A cat wakes up' },
    { type: 'image_url', image_url: { url }, role: 'first_frame' },
  ],
  duration: 4,
});

describe('s3:// media in POST /jobs', () => {
  it.each([
    ['a missing key', 'media/nobody-uploaded-this.png', /no object/],
    ['a text file called .png', 'media/notes.png', /not a file type we know.*image media must be one of/],
    ['an empty object', 'media/empty.png', /not a file type we know/],
    ['a video where an image goes', 'media/clip.png', /is video\/mp4; image media must be one of/],
    ['an image over the size limit', 'media/huge.png', /bytes; image media may be at most/],
    ['a ../ path out of media/', 'media/../requests/x.json', /under media\/ or incoming\//],
    ["another job's request body", 'requests/job-1/abc.json', /under media\/ or incoming\//],
  ])('%s is a 400 VALIDATION_ERROR naming the field, and nothing is recorded or started', async (_name, key, message) => {
    const jobsBefore = fixture.stack.engine.listExecutions().length;
    const { response, json } = await postJob(fixture.stack.apiUrl, withImage(`s3://${bucket}/${key}`));
    expect(response.status).toBe(400);
    const error = json.error as unknown as { code: string; issues: { path: string; message: string }[] };
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.issues).toEqual([{ path: 'content[1].image_url.url', message: expect.stringMatching(message) }]);
    expect(fixture.stack.engine.listExecutions()).toHaveLength(jobsBefore);
  });

  it.each(['media/cat.png', 'incoming/shots/ref.png'])('a real image at %s runs, presigned for the provider', async (key) => {
    const { response, json } = await postJob(fixture.stack.apiUrl, withImage(`s3://${bucket}/${key}`));
    expect(response.status).toBe(202);
    const { job } = await waitForJob(fixture.stack.apiUrl, json.jobId);
    expect(job.status).toBe('SUCCEEDED');
    const [task] = fixture.stack.simulator.tasks().filter((candidate) => candidate.id === job.providerTaskId);
    const sent = (task!.request.content[1] as { image_url: { url: string } }).image_url.url;
    expect(sent).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${bucket}/${key.replaceAll('/', '\\/')}\\?`));
  });
});
