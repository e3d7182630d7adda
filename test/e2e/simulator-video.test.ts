import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startS3, type S3Emulator } from '../../local/emulators/emulators.js';
import { defaultFfmpegPath } from '../../local/simulator/render.js';
import { startProviderSimulator, type ProviderSimulator } from '../../local/simulator/server.js';
import { gradientPng, solidPng } from '../../testkit/png.js';
import { probeMp4 } from '../../testkit/probe-mp4.js';
import { averageColour, colourDistance, frameAt, type Region, type Rgb, type RgbFrame } from '../../testkit/video-frames.js';

/**
 * What a person sees in the simulator's video: the first-frame image as the picture (from a data:
 * URI or a presigned URL of the local S3), moving, with a running timecode, the last frame at the
 * end, and the slate with the reason when an image cannot be used.
 */

// A silent 4 s 480p clip is planned at about 1 s at this scale.
const TIME_SCALE = 0.01;
const KEY = 'test-provider-key';
const BUCKET = 'media';
const TASK_TIMEOUT_MS = 20_000;
const CLIP_SECONDS = 4;
/** The middle of the frame: clear of the timecode (top left), the caption and the watermark (bottom). */
const PICTURE: Region = { left: 0.3, top: 0.2, right: 0.7, bottom: 0.6 };
/** Top right: clear of the timecode, of the note drawn in the middle of the slate, and of the caption. */
const SLATE_CORNER: Region = { left: 0.75, top: 0.05, right: 0.95, bottom: 0.2 };
/** The colour the simulator renders without a picture (BACKGROUND in local/simulator/ffmpeg-args.ts). */
const SLATE: Rgb = [0x26, 0x46, 0x53];
/** yuv420p keeps colour at limited range and half resolution: a flat colour comes back within a few levels. */
const SAME_COLOUR = 8;

const ORANGE: Rgb = [200, 120, 40];
const TEAL: Rgb = [30, 160, 150];

let root: string;
let s3: S3Emulator;
let s3Client: S3Client;
let simulator: ProviderSimulator;
let ffmpegPath: string;
const logs: string[] = [];

async function startSimulator(): Promise<ProviderSimulator> {
  return startProviderSimulator({
    apiKey: KEY,
    timeScale: TIME_SCALE,
    dataDir: join(root, 'simulator'),
    allowLoopbackHttpMedia: true,
    log: (line) => logs.push(line),
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'provider-simulator-video-'));
  ffmpegPath = await defaultFfmpegPath();
  s3 = await startS3({ directory: join(root, 's3'), bucket: BUCKET });
  s3Client = new S3Client({
    endpoint: s3.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  simulator = await startSimulator();
});

afterAll(async () => {
  await simulator?.stop();
  s3Client?.destroy();
  await s3?.close();
  await rm(root, { recursive: true, force: true });
});

const dataUri = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

async function presignedUrl(key: string, png: Buffer): Promise<string> {
  await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: png, ContentType: 'image/png' }));
  return getSignedUrl(s3Client, new GetObjectCommand({ Bucket: BUCKET, Key: key }), { expiresIn: 600 });
}

const image = (url: string, role: 'first_frame' | 'last_frame') => ({ type: 'image_url', image_url: { url }, role });

interface Rendered {
  id: string;
  file: string;
  width: number;
  height: number;
  durationSeconds: number;
}

async function createTask(on: ProviderSimulator, images: object[], ratio = '16:9'): Promise<string> {
  const response = await fetch(`${on.url}/v1/video/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'seedance-fast',
      content: [{ type: 'text', text: 'The picture comes alive' }, ...images],
      generate_audio: false,
      resolution: '480p',
      ratio,
      duration: CLIP_SECONDS,
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

/** Polls like a client until SUCCESS, then downloads the video to a file. */
async function videoOf(on: ProviderSimulator, id: string): Promise<Rendered> {
  const resultUrl = await vi.waitFor(
    async () => {
      const answer = await fetch(`${on.url}/v1/video/generations/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
      const { data } = (await answer.json()) as { data: { status: string; result_url: string } };
      if (data.status !== 'SUCCESS') throw new Error(`task ${id} is ${data.status}`);
      return data.result_url;
    },
    { timeout: TASK_TIMEOUT_MS, interval: 25 },
  );
  const bytes = new Uint8Array(await (await fetch(resultUrl)).arrayBuffer());
  const file = join(root, `${id}.mp4`);
  await writeFile(file, bytes);
  const { width, height, durationSeconds } = await probeMp4(bytes);
  return { id, file, width, height, durationSeconds };
}

async function render(images: object[], ratio = '16:9'): Promise<Rendered> {
  return videoOf(simulator, await createTask(simulator, images, ratio));
}

const frame = (video: Rendered, seconds: number): Promise<RgbFrame> => frameAt(ffmpegPath, video.file, seconds, video);
const lastFrameTime = CLIP_SECONDS - 0.05;

describe.concurrent('provider simulator: the video shows what was asked', () => {
  it(
    'shows a data: URI first frame as the picture, at the requested ratio and length, and no two consecutive frames are alike',
    async () => {
      const video = await render([image(dataUri(solidPng(320, 240, ORANGE)), 'first_frame')], '1:1');
      expect(video).toMatchObject({ width: 480, height: 480 });
      expect(Math.abs(video.durationSeconds - CLIP_SECONDS)).toBeLessThanOrEqual(0.1);

      const [first, next, last] = await Promise.all([frame(video, 1), frame(video, 1 + 1 / 24), frame(video, lastFrameTime)]);
      for (const shown of [first, last]) expect(colourDistance(averageColour(shown, PICTURE), ORANGE)).toBeLessThanOrEqual(SAME_COLOUR);
      // The image is one flat colour: only the running timecode can tell these frames apart.
      expect(first.pixels.equals(next.pixels)).toBe(false);
      expect(simulator.tasks().find((task) => task.id === video.id)).not.toHaveProperty('imageNotes');
    },
    TASK_TIMEOUT_MS,
  );

  it(
    'fetches a first frame from a presigned URL of the local S3, and pans across it',
    async () => {
      const url = await presignedUrl('media/gradient.png', gradientPng(960, 540, [20, 40, 200], [230, 200, 30]));
      const video = await render([image(url, 'first_frame')]);
      expect(video).toMatchObject({ width: 854, height: 480 });

      const [start, end] = await Promise.all([frame(video, 0), frame(video, lastFrameTime)]);
      const [startColour, endColour] = [averageColour(start, PICTURE), averageColour(end, PICTURE)];
      // The window drifts right over a left-to-right gradient: the same spot on screen turns redder.
      expect(endColour[0] - startColour[0]).toBeGreaterThan(8);
      // And it is the image: its middle is about the gradient's middle colour.
      expect(colourDistance(startColour, [125, 120, 115])).toBeLessThanOrEqual(20);
    },
    TASK_TIMEOUT_MS,
  );

  it(
    'blends the last_frame image in at the end',
    async () => {
      const video = await render([image(dataUri(solidPng(64, 36, ORANGE)), 'first_frame'), image(dataUri(solidPng(64, 36, TEAL)), 'last_frame')]);
      const [early, late, last] = await Promise.all([frame(video, 1), frame(video, CLIP_SECONDS - 1), frame(video, lastFrameTime)]);
      expect(colourDistance(averageColour(early, PICTURE), ORANGE)).toBeLessThanOrEqual(SAME_COLOUR);
      expect(colourDistance(averageColour(late, PICTURE), ORANGE)).toBeGreaterThan(SAME_COLOUR);
      expect(colourDistance(averageColour(late, PICTURE), TEAL)).toBeGreaterThan(SAME_COLOUR);
      expect(colourDistance(averageColour(last, PICTURE), TEAL)).toBeLessThanOrEqual(SAME_COLOUR);
    },
    TASK_TIMEOUT_MS,
  );

  it(
    'falls back to the slate when the image cannot be fetched or decoded, and says why',
    async () => {
      const missing = await getSignedUrl(s3Client, new GetObjectCommand({ Bucket: BUCKET, Key: 'media/nobody-uploaded-this.png' }), { expiresIn: 600 });
      // A PNG header (so it passes for an image) over bytes no decoder accepts.
      const broken = Buffer.concat([solidPng(64, 36).subarray(0, 33), Buffer.alloc(64, 0xab)]);
      const [unreachable, undecodable] = await Promise.all([render([image(missing, 'first_frame')]), render([image(dataUri(broken), 'first_frame')])]);

      for (const video of [unreachable, undecodable]) {
        expect(video).toMatchObject({ width: 854, height: 480 });
        expect(colourDistance(averageColour(await frame(video, 1), SLATE_CORNER), SLATE)).toBeLessThanOrEqual(SAME_COLOUR);
      }
      const notesOf = (video: Rendered) => simulator.tasks().find((task) => task.id === video.id)?.imageNotes;
      expect(notesOf(unreachable)).toEqual(['first_frame image not shown: its URL answered HTTP 404']);
      expect(notesOf(undecodable)).toEqual([expect.stringMatching(/^images not shown: ffmpeg could not use them \(.+\)$/)]);
      expect(logs).toContain(`provider simulator: task ${unreachable.id}: first_frame image not shown: its URL answered HTTP 404`);
    },
    TASK_TIMEOUT_MS,
  );
});

describe('provider simulator: images across a restart', () => {
  it(
    'renders a task again after a restart with its first frame, though its presigned URL is gone',
    async () => {
      const url = await presignedUrl('media/kept.png', solidPng(160, 90, TEAL));
      const id = await createTask(simulator, [image(url, 'first_frame')]);
      const before = await videoOf(simulator, id);
      await simulator.stop();
      // The URL now answers 404, and the video must be made again from what the simulator kept.
      await s3Client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'media/kept.png' }));
      await rm(join(root, 'simulator', `${id}.mp4`));
      expect(existsSync(join(root, 'simulator', `${id}.first_frame.png`))).toBe(true);

      simulator = await startSimulator();
      const after = await videoOf(simulator, id);
      expect(after.file).toBe(before.file);
      expect(colourDistance(averageColour(await frame(after, 1), PICTURE), TEAL)).toBeLessThanOrEqual(SAME_COLOUR);
    },
    TASK_TIMEOUT_MS,
  );
});
