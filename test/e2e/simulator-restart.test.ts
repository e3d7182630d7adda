import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startProviderSimulator, type ProviderSimulator } from '../../local/simulator/server.js';
import { probeMp4 } from '../../testkit/probe-mp4.js';

// A silent 4 s 480p clip is planned at about 1 s at this scale, a 5 s one with audio at about 1.3 s.
const TIME_SCALE = 0.01;
const KEY = 'test-provider-key';
const TASK_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 25;

let root: string;
let running: ProviderSimulator[] = [];
const logs: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'provider-simulator-restart-'));
});

afterEach(async () => {
  await Promise.all(running.map((simulator) => simulator.stop()));
  running = [];
  logs.length = 0;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<ProviderSimulator> {
  const simulator = await startProviderSimulator({
    apiKey: KEY,
    timeScale: TIME_SCALE,
    dataDir,
    log: (line) => logs.push(line),
  });
  running.push(simulator);
  return simulator;
}

async function stop(simulator: ProviderSimulator): Promise<void> {
  running = running.filter((other) => other !== simulator);
  await simulator.stop();
}

const auth = { authorization: `Bearer ${KEY}` };

interface Clip {
  prompt: string;
  ratio: '16:9' | '9:16';
  duration: number;
  audio: boolean;
  /** The frame the request asks for at 480p. */
  width: number;
}

const SILENT_WIDE: Clip = { prompt: 'A red kite over a hill', ratio: '16:9', duration: 4, audio: false, width: 854 };
const TALL_WITH_AUDIO: Clip = { prompt: 'A lighthouse at night', ratio: '9:16', duration: 5, audio: true, width: 270 };

async function create(simulator: ProviderSimulator, clip: Clip): Promise<string> {
  const response = await fetch(`${simulator.url}/v1/video/generations`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'seedance-fast',
      content: [{ type: 'text', text: clip.prompt }],
      generate_audio: clip.audio,
      resolution: '480p',
      ratio: clip.ratio,
      duration: clip.duration,
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

async function poll(simulator: ProviderSimulator, id: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${simulator.url}/v1/video/generations/${id}`, { headers: auth });
  return { status: response.status, body: await response.json() };
}

/**
 * Polls until the task ends, checking on the way that it is known and that it never reports
 * SUCCESS before its MP4 is on disk.
 */
async function pollToEnd(simulator: ProviderSimulator, dataDir: string, id: string): Promise<any> {
  const { status, body } = await vi.waitFor(
    async () => {
      const answer = await poll(simulator, id);
      if (answer.status === 200 && !['SUCCESS', 'FAILURE'].includes(answer.body.data.status)) throw new Error(`task ${id} still ${answer.body.data.status}`);
      return answer;
    },
    { timeout: TASK_TIMEOUT_MS, interval: POLL_INTERVAL_MS },
  );
  expect(status).toBe(200);
  if (body.data.status === 'SUCCESS') expect(existsSync(join(dataDir, `${id}.mp4`))).toBe(true);
  return body.data;
}

async function download(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('video/mp4');
  return new Uint8Array(await response.arrayBuffer());
}

async function expectPlayable(bytes: Uint8Array, clip: Clip): Promise<void> {
  const video = await probeMp4(bytes);
  expect(video).toMatchObject({ width: clip.width, height: 480, hasVideo: true, hasAudio: clip.audio });
  expect(Math.abs(video.durationSeconds - clip.duration)).toBeLessThanOrEqual(0.2);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('provider simulator: tasks survive a restart', () => {
  it(
    'knows the tasks of the previous run: finished ones serve their video, interrupted ones render again and succeed',
    async () => {
      const dataDir = join(root, 'restart');
      const first = await start(dataDir);

      // Finished before the restart.
      const doneId = await create(first, SILENT_WIDE);
      const done = await pollToEnd(first, dataDir, doneId);
      expect(done.status).toBe('SUCCESS');
      const doneBytes = await download(done.result_url);

      // In flight at the restart: stopped right after their creates were answered.
      const wideId = await create(first, SILENT_WIDE);
      const tallId = await create(first, TALL_WITH_AUDIO);
      const before = first.tasks();
      await stop(first);
      expect(existsSync(join(dataDir, `${wideId}.mp4`))).toBe(false);
      expect(existsSync(join(dataDir, `${tallId}.mp4`))).toBe(false);

      const saved = JSON.parse(await readFile(join(dataDir, 'tasks.json'), 'utf8'));
      expect(saved.version).toBe(1);
      expect(saved.tasks.map((task: { id: string }) => task.id).sort()).toEqual([doneId, wideId, tallId].sort());
      expect(saved.tasks.find((task: { id: string }) => task.id === doneId).video).toMatchObject({ file: `${doneId}.mp4` });
      // While down: one render left a partial file behind, and the other's planned end is long past.
      await writeFile(join(dataDir, `${tallId}.mp4`), Buffer.alloc(100, 7));
      const wide = saved.tasks.find((task: { id: string }) => task.id === wideId);
      wide.createdAt -= 10 * 60_000;
      await writeFile(join(dataDir, 'tasks.json'), JSON.stringify(saved));

      const second = await start(dataDir);
      const after = second.tasks();
      expect(after.map((task) => task.id).sort()).toEqual([doneId, wideId, tallId].sort());
      for (const task of after) {
        const previous = before.find((other) => other.id === task.id)!;
        expect(task.request).toEqual(previous.request);
        expect(task.finishAt - task.createdAt).toBe(previous.finishAt - previous.createdAt);
      }
      // Past its planned end, but not SUCCESS before its video exists again.
      expect(after.find((task) => task.id === wideId)).toMatchObject({ status: 'IN_PROGRESS' });
      expect(after.find((task) => task.id === wideId)!.videoBytes).toBeUndefined();
      expect(after.find((task) => task.id === doneId)).toMatchObject({ status: 'SUCCESS', videoSha256: sha256(doneBytes) });
      expect(logs).toEqual([expect.stringContaining('restored 3 task(s)')]);

      // The finished task is done at once and serves the same file from the new address.
      const { status, body } = await poll(second, doneId);
      expect(status).toBe(200);
      expect(body.data.status).toBe('SUCCESS');
      expect(body.data.result_url).toBe(`${second.url}/videos/${doneId}.mp4`);
      const served = await download(body.data.result_url);
      expect(sha256(served)).toBe(sha256(doneBytes));
      await expectPlayable(served, SILENT_WIDE);

      // The interrupted ones are known (no 404) and end SUCCESS with a playable MP4 as requested.
      for (const [id, clip] of [
        [wideId, SILENT_WIDE],
        [tallId, TALL_WITH_AUDIO],
      ] as const) {
        const end = await pollToEnd(second, dataDir, id);
        expect(end.status).toBe('SUCCESS');
        expect(end.result_url).toBe(`${second.url}/videos/${id}.mp4`);
        await expectPlayable(await download(end.result_url), clip);
      }
      expect(second.stats()).toMatchObject({ creates: 0, tasksCreated: 0 });
    },
    TASK_TIMEOUT_MS,
  );

  it.each([
    ['not JSON', '{"version": 1, "tasks": ['],
    ['of an unknown version', JSON.stringify({ version: 99, tasks: [] })],
    ['of the wrong shape', JSON.stringify({ version: 1, tasks: [{ id: 'cgt-x' }] })],
  ])('starts empty when tasks.json is %s, keeping the file as tasks.json.corrupt-<time>', async (name, content) => {
    const dataDir = join(root, `corrupt-${name.replace(/\W+/g, '-')}`);
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'tasks.json'), content);

    const simulator = await start(dataDir);
    expect(simulator.tasks()).toEqual([]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('starting with no tasks');
    const kept = (await readdir(dataDir)).filter((file) => file.startsWith('tasks.json.corrupt-'));
    expect(kept).toHaveLength(1);
    expect(logs[0]).toContain(kept[0]);
    expect(await readFile(join(dataDir, kept[0]!), 'utf8')).toBe(content);
    expect((await poll(simulator, 'cgt-20260101000000-zzzzz')).status).toBe(404);

    // It goes on as a fresh simulator, and writes a good file again.
    const id = await create(simulator, SILENT_WIDE);
    const saved = JSON.parse(await readFile(join(dataDir, 'tasks.json'), 'utf8'));
    expect(saved).toMatchObject({ version: 1, tasks: [{ id }] });
  });
});
