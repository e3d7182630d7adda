import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startProviderSimulator, type ProviderSimulator, type ResponseStyle } from '../../local/simulator/server.js';
import { pngDataUri } from '../../testkit/png.js';
import { probeMp4 } from '../../testkit/probe-mp4.js';
import { sendRaw } from '../../testkit/raw-http.js';

// At this scale a default task takes about 2 s instead of about 3 minutes.
const TIME_SCALE = 0.01;
const KEY = 'test-provider-key';
const TASK_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 20;

let dataDir: string;
const simulators = {} as Record<ResponseStyle, ProviderSimulator>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provider-simulator-'));
  for (const style of ['envelope', 'upstream', 'flat'] as const) {
    simulators[style] = await startProviderSimulator({
      apiKey: KEY,
      timeScale: TIME_SCALE,
      dataDir: join(dataDir, style),
      responseStyle: style,
    });
  }
});

afterAll(async () => {
  await Promise.all(Object.values(simulators).map((simulator) => simulator.stop()));
  await rm(dataDir, { recursive: true, force: true });
});

const auth = (key = KEY) => ({ authorization: `Bearer ${key}` });

async function create(body: unknown, style: ResponseStyle = 'envelope', key = KEY): Promise<Response> {
  return fetch(`${simulators[style].url}/v1/video/generations`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function createTask(body: object, style: ResponseStyle = 'envelope'): Promise<string> {
  const response = await create(body, style);
  expect(response.status).toBe(200);
  const created = (await response.json()) as { id: string };
  return created.id;
}

async function poll(id: string, style: ResponseStyle = 'envelope'): Promise<{ status: number; body: any }> {
  const response = await fetch(`${simulators[style].url}/v1/video/generations/${id}`, { headers: auth() });
  return { status: response.status, body: await response.json() };
}

/** Polls until `isDone`, returning the last answer and every answer seen on the way; an answer other than 200 ends the wait and fails. */
async function pollUntil(id: string, style: ResponseStyle, isDone: (body: any) => boolean) {
  const seen: any[] = [];
  const { status, body } = await vi.waitFor(
    async () => {
      const answer = await poll(id, style);
      if (answer.status !== 200) return answer;
      seen.push(answer.body);
      if (!isDone(answer.body)) throw new Error(`task ${id} not done: ${JSON.stringify(answer.body)}`);
      return answer;
    },
    { timeout: TASK_TIMEOUT_MS, interval: POLL_INTERVAL_MS },
  );
  expect(status).toBe(200);
  return { last: body, seen };
}

const envelopeDone = (body: any) => ['SUCCESS', 'FAILURE'].includes(body.data.status);

/** Consecutive duplicates dropped: the order in which a client saw values change. */
function transitions<T>(values: T[]): T[] {
  return values.filter((value, index) => index === 0 || value !== values[index - 1]);
}

/**
 * What a poller saw, in the order of the whole walk. The wait before a task starts is drawn apart
 * from its run (task-clock.ts) and can be a few milliseconds at this time scale, so its statuses
 * may pass between two polls; the run's cannot. task-clock.test.ts checks every status exactly.
 */
function expectWalk<T>(seen: T[], walk: T[], alwaysSeen: T[]): void {
  const steps = transitions(seen);
  expect(steps.map((step) => walk.indexOf(step))).toEqual([...steps.map((step) => walk.indexOf(step))].sort((a, b) => a - b));
  expect(steps.every((step) => walk.includes(step))).toBe(true);
  for (const step of alwaysSeen) expect(steps).toContain(step);
  expect(steps.at(-1)).toEqual(walk.at(-1));
}

async function download(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('video/mp4');
  return new Uint8Array(await response.arrayBuffer());
}

const text = (prompt: string) => ({ type: 'text', text: prompt });

describe('provider simulator: requests it refuses', () => {
  it('answers 401 authentication_error to a wrong key, on create and on poll', async () => {
    const response = await create({ model: 'seedance-fast', content: [text('a cat')] }, 'envelope', 'wrong-key');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'authentication_error', code: 'invalid_api_key' },
    });
    const pollResponse = await fetch(`${simulators.envelope.url}/v1/video/generations/cgt-x`, { headers: auth('nope') });
    expect(pollResponse.status).toBe(401);
  });

  it('answers 400 invalid_request naming the field, and 400 to a body that is not JSON', async () => {
    const response = await create({ model: 'seedance-fast', content: [text('a cat')], duration: 3 });
    expect(response.status).toBe(400);
    const body = (await response.json()) as any;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    expect(body.error.message).toContain('duration');

    const notJson = await create('{"model": ');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as any).error.type).toBe('invalid_request_error');
  });

  it('answers 404 task_not_exist to an unknown task id', async () => {
    const { status, body } = await poll('cgt-20260101000000-zzzzz');
    expect(status).toBe(404);
    expect(body).toEqual({ code: 'task_not_exist', message: expect.any(String), data: null });
  });

  it('reads `//` and `//host/v1/...` as paths it does not serve (404), not as URLs (a 500, or another host)', async () => {
    for (const target of ['//', '//evil.example/v1/video/generations', '/videos/%.mp4', '/v1/video/generations/%ZZ']) {
      const answer = await sendRaw(simulators.envelope.url, { method: 'GET', target, headers: [['authorization', `Bearer ${KEY}`]] });
      expect(answer.status, `${target}: ${answer.text}`).toBe(404);
    }
  });
});

describe.concurrent('provider simulator: tasks (envelope answers)', () => {
  it(
    'plays a text-only task through NOT_START, QUEUED, IN_PROGRESS to SUCCESS with a matching 720p MP4',
    async () => {
      const id = await createTask({
        model: 'seedance-fast',
        content: [text('A cat playing piano in a sunlit room')],
        resolution: '720p',
        ratio: '16:9',
        duration: 5,
      });
      expect(id).toMatch(/^cgt-\d{14}-[a-z0-9]{5}$/);
      const { last, seen } = await pollUntil(id, 'envelope', envelopeDone);

      expectWalk(
        seen.map((body) => body.data.status),
        ['NOT_START', 'QUEUED', 'IN_PROGRESS', 'SUCCESS'],
        ['IN_PROGRESS', 'SUCCESS'],
      );
      expectWalk(
        seen.map((body) => body.data.progress),
        ['0%', '10%', '30%', '50%', '100%'],
        ['30%', '50%', '100%'],
      );
      const { data } = last;
      expect(Object.keys(data).sort()).toEqual([
        'action',
        'data',
        'fail_reason',
        'finish_time',
        'progress',
        'result_url',
        'start_time',
        'status',
        'submit_time',
        'task_id',
      ]);
      expect(data).toMatchObject({ task_id: id, action: 'generate', progress: '100%' });
      expect(data.result_url).toMatch(new RegExp(`^${simulators.envelope.url}/videos/${id}\\.mp4$`));
      expect(data.fail_reason).toBe(data.result_url);
      expect(data.start_time).toBeGreaterThanOrEqual(data.submit_time);
      expect(data.finish_time).toBeGreaterThanOrEqual(data.start_time);
      expect(data.data).toMatchObject({
        id,
        status: 'succeeded',
        content: { video_url: data.result_url },
        duration: 5,
        ratio: '16:9',
        resolution: '720p',
        framespersecond: 24,
      });

      const video = await probeMp4(await download(data.result_url));
      expect(video).toMatchObject({ width: 1280, height: 720, hasVideo: true, hasAudio: true });
      expect(Math.abs(video.durationSeconds - 5)).toBeLessThanOrEqual(0.2);
    },
    TASK_TIMEOUT_MS,
  );

  it(
    'renders a silent 4 s 9:16 480p clip 270×480 with no audio track',
    async () => {
      const id = await createTask({
        model: 'seedance-fast',
        content: [text('A lighthouse at night')],
        generate_audio: false,
        resolution: '480p',
        ratio: '9:16',
        duration: 4,
      });
      const { last } = await pollUntil(id, 'envelope', envelopeDone);
      expect(last.data.status).toBe('SUCCESS');
      const video = await probeMp4(await download(last.data.result_url));
      // round(480 × 9/16 / 2) × 2 = 270
      expect(video).toMatchObject({ width: 270, height: 480, hasVideo: true, hasAudio: false });
      expect(Math.abs(video.durationSeconds - 4)).toBeLessThanOrEqual(0.2);
    },
    TASK_TIMEOUT_MS,
  );

  it(
    'gives an adaptive task the 4:3 frame of its 400×300 image',
    async () => {
      const id = await createTask({
        model: 'seedance-fast',
        content: [text('The picture comes alive'), { type: 'image_url', image_url: { url: pngDataUri(400, 300) }, role: 'first_frame' }],
        generate_audio: false,
        resolution: '480p',
        ratio: 'adaptive',
      });
      const { last } = await pollUntil(id, 'envelope', envelopeDone);
      expect(last.data.status).toBe('SUCCESS');
      expect(last.data.data.ratio).toBe('4:3');
      const video = await probeMp4(await download(last.data.result_url));
      expect(video).toMatchObject({ width: 640, height: 480 });
    },
    TASK_TIMEOUT_MS,
  );

  it(
    'ends a FAIL_TASK prompt in FAILURE with the reason and no video',
    async () => {
      const id = await createTask({
        model: 'seedance-fast',
        content: [text('please FAIL_TASK now')],
        generate_audio: false,
        resolution: '480p',
        duration: 4,
      });
      const { last } = await pollUntil(id, 'envelope', envelopeDone);
      expect(last.data).toMatchObject({
        status: 'FAILURE',
        fail_reason: 'simulated failure: the prompt asked for FAIL_TASK',
        result_url: '',
      });
      expect(last.data.data.status).toBe('failed');
    },
    TASK_TIMEOUT_MS,
  );

  it(
    'serves byte ranges of the video with 206, and 416 past its end',
    async () => {
      const id = await createTask({
        model: 'seedance-fast',
        content: [text('Waves on a beach')],
        generate_audio: false,
        resolution: '480p',
        ratio: '1:1',
        duration: 4,
      });
      const { last } = await pollUntil(id, 'envelope', envelopeDone);
      const url: string = last.data.result_url;
      const whole = await download(url);

      const partial = await fetch(url, { headers: { range: 'bytes=100-199' } });
      expect(partial.status).toBe(206);
      expect(partial.headers.get('content-range')).toBe(`bytes 100-199/${whole.length}`);
      expect(partial.headers.get('content-length')).toBe('100');
      expect(new Uint8Array(await partial.arrayBuffer())).toEqual(whole.slice(100, 200));

      const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
      expect(tail.status).toBe(206);
      expect(new Uint8Array(await tail.arrayBuffer())).toEqual(whole.slice(-10));

      const beyond = await fetch(url, { headers: { range: `bytes=${whole.length}-` } });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get('content-range')).toBe(`bytes */${whole.length}`);
    },
    TASK_TIMEOUT_MS,
  );
});

describe.concurrent('provider simulator: other answer shapes', () => {
  const silentClip = (prompt: string) => ({
    model: 'seedance-fast',
    content: [text(prompt)],
    generate_audio: false,
    resolution: '480p',
    ratio: '16:9',
    duration: 4,
  });

  it(
    "'upstream' answers the upstream task object with lower-case statuses",
    async () => {
      const id = await createTask(silentClip('A red kite'), 'upstream');
      const { last, seen } = await pollUntil(id, 'upstream', (body) => ['succeeded', 'failed'].includes(body.status));
      expectWalk(
        seen.map((body) => body.status),
        ['queued', 'running', 'succeeded'],
        ['running', 'succeeded'],
      );
      expect(last).toMatchObject({ id, model: 'seedance-fast', status: 'succeeded', framespersecond: 24 });
      expect(last).not.toHaveProperty('code');
      const video = await probeMp4(await download(last.content.video_url));
      expect(video).toMatchObject({ width: 854, height: 480 });

      const failedId = await createTask(silentClip('FAIL_TASK'), 'upstream');
      const failed = await pollUntil(failedId, 'upstream', (body) => ['succeeded', 'failed'].includes(body.status));
      expect(failed.last).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('FAIL_TASK') } });
    },
    TASK_TIMEOUT_MS,
  );

  it(
    "'flat' answers { id, status, video_url, progress } with processing/completed",
    async () => {
      const id = await createTask(silentClip('A green field'), 'flat');
      const { last, seen } = await pollUntil(id, 'flat', (body) => ['completed', 'failed'].includes(body.status));
      expect(transitions(seen.map((body) => body.status))).toEqual(['processing', 'completed']);
      expect(Object.keys(last).sort()).toEqual(['id', 'progress', 'status', 'video_url']);
      expect(last).toMatchObject({ id, status: 'completed', progress: 100 });
      expect(typeof seen[0].progress).toBe('number');
      expect((await probeMp4(await download(last.video_url))).hasVideo).toBe(true);
    },
    TASK_TIMEOUT_MS,
  );
});
