import { describe, expect, it } from 'vitest';
import { isUrl } from '../../cli/media.js';
import { buildRequestBody, type GenerateFlags } from '../../cli/request-body.js';

/** How `video-pipeline generate` flags become the POST /jobs body (URLs only: no upload, no network). */

const flags = (overrides: Partial<GenerateFlags>): GenerateFlags => ({
  prompt: 'A cat playing piano',
  model: 'seedance-fast',
  images: [],
  videos: [],
  audios: [],
  noAudio: false,
  watermark: false,
  webSearch: false,
  ...overrides,
});
const noStore = () => undefined;

describe('buildRequestBody', () => {
  it('sends only what was asked: the API fills the defaults', async () => {
    expect(await buildRequestBody(flags({}), noStore)).toEqual({ model: 'seedance-fast', content: [{ type: 'text', text: 'A cat playing piano' }] });
  });

  it('maps every flag to its field', async () => {
    const body = await buildRequestBody(flags({ ratio: '9:16', resolution: '480p', duration: '8', noAudio: true, watermark: true, webSearch: true }), noStore);
    expect(body).toMatchObject({ ratio: '9:16', resolution: '480p', duration: 8, generate_audio: false, watermark: true, tools: [{ type: 'web_search' }] });
  });

  it('passes a duration that is not a whole number as written, for the API to name', async () => {
    expect((await buildRequestBody(flags({ duration: 'five' }), noStore)).duration).toBe('five');
    expect((await buildRequestBody(flags({ duration: '-1' }), noStore)).duration).toBe(-1);
  });

  it('one image alone is the first frame; with several, or with video or audio, images are references', async () => {
    const one = await buildRequestBody(flags({ images: ['https://example.com/a.png'] }), noStore);
    expect(one.content[1]).toEqual({ type: 'image_url', image_url: { url: 'https://example.com/a.png' }, role: 'first_frame' });
    const two = await buildRequestBody(flags({ images: ['https://example.com/a.png', 's3://bucket/media/b.png'] }), noStore);
    expect(two.content.slice(1).map((item) => ('role' in item ? item.role : undefined))).toEqual(['reference_image', 'reference_image']);
    const mixed = await buildRequestBody(
      flags({ images: ['https://example.com/a.png'], videos: ['https://example.com/v.mp4'], audios: ['https://example.com/a.mp3'] }),
      noStore,
    );
    expect(mixed.content.slice(1)).toEqual([
      { type: 'image_url', image_url: { url: 'https://example.com/a.png' }, role: 'reference_image' },
      { type: 'video_url', video_url: { url: 'https://example.com/v.mp4' }, role: 'reference_video' },
      { type: 'audio_url', audio_url: { url: 'https://example.com/a.mp3' }, role: 'reference_audio' },
    ]);
  });

  it('a local file needs a bucket to go to (exit 2)', async () => {
    await expect(buildRequestBody(flags({ images: ['./frame.png'] }), noStore)).rejects.toMatchObject({ exitCode: 2 });
    await expect(buildRequestBody(flags({ images: ['./frame.gif'] }), noStore)).rejects.toThrow(/a local image must be \.png, \.jpg, \.jpeg, \.webp/);
  });
});

describe('isUrl', () => {
  it('tells URLs from local paths, Windows drive letters included', () => {
    for (const url of ['https://example.com/a.png', 's3://bucket/key.png', 'data:image/png;base64,AAAA', 'http://127.0.0.1:4000/a.png'])
      expect(isUrl(url), url).toBe(true);
    for (const path of ['./a.png', '/tmp/a.png', 'a.png', 'C:\\images\\a.png', 'C:/images/a.png']) expect(isUrl(path), path).toBe(false);
  });
});
