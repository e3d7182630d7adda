import { describe, expect, it } from 'vitest';
import { checkS3Media, MEDIA_RULES, sniffMediaType } from '../../runtime/domain/media-check.js';
import type { ProviderRequest } from '../../runtime/domain/request-schema.js';
import { solidPng } from '../../testkit/png.js';

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part)))));

describe('sniffMediaType', () => {
  it.each([
    ['image/png', new Uint8Array(solidPng(4, 4).subarray(0, 16))],
    ['image/jpeg', bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF')],
    ['image/gif', bytes('GIF89a', [1, 0, 1, 0])],
    ['image/webp', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ')],
    ['image/bmp', bytes('BM', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['image/tiff', bytes([0x49, 0x49, 0x2a, 0x00], [8, 0, 0, 0])],
    ['video/mp4', bytes([0, 0, 0, 24], 'ftypisom', [0, 0, 2, 0])],
    ['video/quicktime', bytes([0, 0, 0, 20], 'ftypqt  ', [0, 0, 2, 0])],
    ['audio/mp4', bytes([0, 0, 0, 20], 'ftypM4A ', [0, 0, 2, 0])],
    ['audio/wav', bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt ')],
    ['audio/mpeg', bytes('ID3', [4, 0, 0])],
    ['audio/mpeg', bytes([0xff, 0xfb, 0x90, 0x64])],
  ])('%s from its first bytes', (type, head) => {
    expect(sniffMediaType(head)).toBe(type);
  });

  it.each([
    ['text', bytes('these are notes')],
    ['JSON', bytes('{"model":"x"}')],
    ['nothing', new Uint8Array()],
    ['a RIFF of another kind', bytes('RIFF', [0, 0, 0, 0], 'AVI LIST')],
  ])('%s is no media type', (_name, head) => {
    expect(sniffMediaType(head)).toBeUndefined();
  });
});

describe('checkS3Media', () => {
  const request = (content: ProviderRequest['content']): ProviderRequest => ({
    model: 'seedance-fast',
    content,
    generate_audio: true,
    resolution: '720p',
    ratio: 'adaptive',
    duration: 5,
    watermark: false,
  });
  const png = new Uint8Array(solidPng(4, 4).subarray(0, 16));
  const wav = bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt ');
  const mp4 = bytes([0, 0, 0, 24], 'ftypisom', [0, 0, 2, 0]);
  const stored: Record<string, { bytes: number; head: Uint8Array }> = {
    'media/a.png': { bytes: 1000, head: png },
    'media/v.mp4': { bytes: MEDIA_RULES.video.maxBytes + 1, head: mp4 },
    'media/a.wav': { bytes: 1000, head: wav },
  };
  const read = async ({ key }: { key: string }) => stored[key];

  it('names each item that does not fit, and reads nothing for https or data: media', async () => {
    const keysRead: string[] = [];
    const issues = await checkS3Media(
      request([
        { type: 'text', text: 'x' },
        { type: 'image_url', image_url: { url: 's3://b/media/a.png' }, role: 'reference_image' },
        { type: 'image_url', image_url: { url: 'https://example.com/b.png' }, role: 'reference_image' },
        { type: 'video_url', video_url: { url: 's3://b/media/v.mp4' }, role: 'reference_video' },
        { type: 'audio_url', audio_url: { url: 's3://b/media/a.png' }, role: 'reference_audio' },
        { type: 'audio_url', audio_url: { url: 's3://b/media/gone.wav' }, role: 'reference_audio' },
      ]),
      async (location) => (keysRead.push(location.key), read(location)),
    );
    expect(issues).toEqual([
      { path: 'content[3].video_url.url', message: expect.stringMatching(/video media may be at most 52428800/) },
      { path: 'content[4].audio_url.url', message: expect.stringMatching(/is image\/png; audio media must be one of audio\/wav, audio\/mpeg/) },
      { path: 'content[5].audio_url.url', message: expect.stringMatching(/no object s3:\/\/b\/media\/gone.wav/) },
    ]);
    expect(keysRead.sort()).toEqual(['media/a.png', 'media/a.png', 'media/gone.wav', 'media/v.mp4']);
  });
});
