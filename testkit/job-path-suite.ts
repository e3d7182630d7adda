import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStackOptions } from '../local/stack/local-stack.js';
import { pngDataUri } from './png.js';
import { PROVIDER_EXAMPLE_REQUEST } from './provider-fixtures.js';
import { probeMp4 } from './probe-mp4.js';
import { FIXTURE_TIME_SCALE, getJob, postJob, startStackFixture, type StackFixture } from './local-stack-fixture.js';
import { priorGenerationEstimate } from '../runtime/workflow/polling/poll-policy.js';
import type { RequestShape } from '../runtime/domain/job.js';
import { waitForJob } from './wait-for-job.js';

const STATUS_ORDER = ['QUEUED', 'SUBMITTED', 'RUNNING', 'SUCCEEDED'];

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** The shape of a request that names only its prompt: the API's defaults. */
const SHAPE_720P_AUDIO: RequestShape = { duration: 5, resolution: '720p', generateAudio: true, media: 'text' };

/**
 * The path of a job through the local stack, end to end over HTTP: text-only and image-to-video jobs
 * with their MP4s checked, a failed provider task, and bad input. test/e2e/job-path.test.ts runs it on
 * the handler sources in-process, test/e2e/job-path-bundled.test.ts on the deployable bundles; the
 * stack is started with `options` and handed to the caller's own tests through the returned getter.
 */
export function jobPathSuite(options: Partial<LocalStackOptions>): () => StackFixture {
  let fixture: StackFixture;
  let apiUrl: string;

  beforeAll(async () => {
    fixture = await startStackFixture(options);
    apiUrl = fixture.stack.apiUrl;
  });

  afterAll(async () => {
    await fixture?.close();
  });

  describe('a text-only job', () => {
    it('goes QUEUED → SUBMITTED → RUNNING → SUCCEEDED and stores a 720p 16:9 MP4 with audio', async () => {
      const { response, json } = await postJob(apiUrl, {
        model: 'seedance-fast',
        content: [{ type: 'text', text: 'A cat playing piano in a sunlit room' }],
      });
      expect(response.status).toBe(202);
      expect(json.status).toBe('QUEUED');
      expect(json.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(json.links.self).toBe(`${apiUrl}/jobs/${json.jobId}`);
      expect(response.headers.get('location')).toBe(json.links.self);

      // While the provider task runs, the job says when it will most likely be done; once ended, no more.
      const running = await vi.waitFor(
        async () => {
          const current = await getJob(apiUrl, json.jobId);
          if (current.status !== 'SUBMITTED' && current.status !== 'RUNNING') throw new Error(`still ${current.status}`);
          return current;
        },
        { timeout: 10_000, interval: 10 },
      );
      // The prior for a 720p clip with audio (no job of its shape ended yet), in the stack's clock: the
      // policy's provider seconds times LOCAL_TIME_SCALE (runtime/workflow/polling/policy-clock.ts), to
      // the second the record is written in, and a little later once the provider reports its start.
      const priorSeconds = priorGenerationEstimate(SHAPE_720P_AUDIO).medianSeconds * (options.timeScale ?? FIXTURE_TIME_SCALE);
      const estimatedSeconds = (Date.parse(running.estimatedFinishAt!) - Date.parse(running.submittedAt!)) / 1000;
      expect(estimatedSeconds).toBeGreaterThanOrEqual(Math.floor(priorSeconds));
      expect(estimatedSeconds).toBeLessThanOrEqual(Math.ceil(priorSeconds) + 1);

      const { job, seen } = await waitForJob(apiUrl, json.jobId);
      expect(job.status).toBe('SUCCEEDED');
      expect(job).not.toHaveProperty('estimatedFinishAt');
      const ranks = seen.map((entry) => STATUS_ORDER.indexOf(entry.status));
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      expect(seen.map((entry) => entry.progress)).toEqual([...seen.map((entry) => entry.progress)].sort((a, b) => a - b));
      expect(job.progress).toBe(100);
      expect(job.providerTaskId).toMatch(/\S+/);

      expect(job.output).toMatchObject({ bucket: fixture.stack.bucket, contentType: 'video/mp4' });
      expect(job.output!.key).toMatch(new RegExp(`^videos/\\d{4}/\\d{2}/\\d{2}/${job.jobId}\\.mp4$`));
      const video = await download(job.downloadUrl!);
      expect(video.length).toBe(job.output!.bytes);
      expect(createHash('sha256').update(video).digest('hex')).toBe(job.output!.sha256);
      const simulated = fixture.stack.simulator.tasks().find((task) => task.id === job.providerTaskId);
      expect(simulated?.videoSha256).toBe(job.output!.sha256);

      const probe = await probeMp4(video);
      expect(probe).toMatchObject({ width: 1280, height: 720, hasAudio: true, hasVideo: true });
      expect(probe.durationSeconds).toBeCloseTo(5, 0);
    });
  });

  describe('an image-to-video job', () => {
    it('honours the first frame aspect, the resolution, the duration and no audio', async () => {
      const { response, json } = await postJob(apiUrl, {
        model: 'seedance-fast',
        content: [
          { type: 'text', text: 'The painting comes alive' },
          { type: 'image_url', image_url: { url: pngDataUri(400, 300) }, role: 'first_frame' },
        ],
        resolution: '480p',
        duration: 4,
        generate_audio: false,
      });
      expect(response.status).toBe(202);
      const { job } = await waitForJob(apiUrl, json.jobId);
      expect(job.status).toBe('SUCCEEDED');
      // The stored record keeps the job small: the data: URI is elided, its size kept.
      expect(job.request.content[1]?.image_url?.url).toMatch(/^data:image\/png;base64,…\(\d+ bytes\)$/);
      const probe = await probeMp4(await download(job.downloadUrl!));
      expect(probe).toMatchObject({ width: 640, height: 480, hasAudio: false });
      expect(probe.durationSeconds).toBeCloseTo(4, 0);
    });

    it('draws a 9:16 portrait clip when the ratio says so', async () => {
      const { json } = await postJob(apiUrl, {
        model: 'seedance-fast',
        content: [{ type: 'text', text: 'A tall waterfall' }],
        ratio: '9:16',
        resolution: '720p',
        duration: 4,
        watermark: true,
      });
      const { job } = await waitForJob(apiUrl, json.jobId);
      const probe = await probeMp4(await download(job.downloadUrl!));
      expect(probe).toMatchObject({ width: 406, height: 720 });
    });
  });

  describe('a job whose provider task fails', () => {
    it('ends FAILED with the provider reason', async () => {
      const { json } = await postJob(apiUrl, {
        model: 'seedance-fast',
        content: [{ type: 'text', text: 'Please FAIL_TASK now' }],
      });
      const { job } = await waitForJob(apiUrl, json.jobId);
      expect(job.status).toBe('FAILED');
      expect(job.error?.code).toBe('PROVIDER_TASK_FAILED');
      expect(job.error?.message).toContain('FAIL_TASK');
      expect(job.downloadUrl).toBeUndefined();
    });
  });

  describe('bad input', () => {
    const cases: [string, string, Record<string, string>, number, string, string[]][] = [
      [
        'duration 3',
        JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'x' }], duration: 3 }),
        {},
        400,
        'VALIDATION_ERROR',
        ['duration'],
      ],
      [
        'an http image URL',
        JSON.stringify({
          model: 'seedance-fast',
          content: [
            { type: 'text', text: 'x' },
            { type: 'image_url', image_url: { url: 'http://e.com/a.png' } },
          ],
        }),
        {},
        400,
        'VALIDATION_ERROR',
        ['content[1].image_url.url'],
      ],
      [
        'audio without image or video',
        JSON.stringify({ model: 'seedance-fast', content: [{ type: 'audio_url', audio_url: { url: 'https://e.com/a.mp3' } }] }),
        {},
        400,
        'VALIDATION_ERROR',
        ['content[0]'],
      ],
      [
        'an unknown field',
        JSON.stringify({ model: 'seedance-fast', content: [{ type: 'text', text: 'x' }], colour: 'red' }),
        {},
        400,
        'VALIDATION_ERROR',
        ['colour'],
      ],
      ['malformed JSON', '{"model": "seedance-fast",', {}, 400, 'MALFORMED_JSON', []],
      ['a JSON array', '[]', {}, 400, 'VALIDATION_ERROR', ['body']],
      ['a text/plain body', 'hello', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE', []],
    ];

    it.each(cases)('%s → %i %s naming the field, and nothing is started', async (_name, body, headers, status, code, paths) => {
      const executionsBefore = fixture.stack.engine.listExecutions().length;
      const { response, json } = await postJob(apiUrl, body, headers);
      expect(response.status).toBe(status);
      const error = json.error as unknown as { code: string; message: string; issues?: { path: string }[] };
      expect(error.code).toBe(code);
      expect(error.message.length).toBeGreaterThan(0);
      for (const path of paths) expect(error.issues?.map((issue) => issue.path)).toContain(path);
      expect(fixture.stack.engine.listExecutions().length).toBe(executionsBefore);
    });

    it('answers 404 NOT_FOUND for an unknown job and 405 for a wrong method', async () => {
      const missing = await fetch(`${apiUrl}/jobs/does-not-exist`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
      const wrongMethod = await fetch(`${apiUrl}/jobs`, { method: 'PUT' });
      expect(wrongMethod.status).toBe(405);
    });

    it('passes the web_search tool on with a reference image and warns about it', async () => {
      // The provider's own example, with its reference image inlined so the test stays offline.
      const { response, json } = await postJob(apiUrl, {
        ...PROVIDER_EXAMPLE_REQUEST,
        content: [PROVIDER_EXAMPLE_REQUEST.content[0], { type: 'image_url', image_url: { url: pngDataUri(64, 64) }, role: 'reference_image' }],
      });
      expect(response.status).toBe(202);
      expect(json.warnings?.[0]).toMatch(/web_search/);
      const job = await getJob(apiUrl, json.jobId);
      expect(job.warnings?.[0]).toMatch(/web_search/);
    });
  });

  return () => fixture;
}
