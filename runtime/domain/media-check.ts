import type { FieldIssue } from './errors.js';
import { formatIssuePath, parseS3Uri, type ProviderRequest } from './request-schema.js';

/**
 * What the provider takes for each kind of media, by the bytes a file starts with, not by its name
 * or the Content-Type it was uploaded with (a text file called `.png` is still text). The limits are
 * the provider's per-file limits for media given by URL.
 */
export const MEDIA_RULES = {
  image: { maxBytes: 30 * 1024 * 1024, types: ['image/jpeg', 'image/png', 'image/webp', 'image/bmp', 'image/tiff', 'image/gif'] },
  video: { maxBytes: 50 * 1024 * 1024, types: ['video/mp4', 'video/quicktime'] },
  audio: { maxBytes: 15 * 1024 * 1024, types: ['audio/wav', 'audio/mpeg'] },
} as const;

export type MediaKind = keyof typeof MEDIA_RULES;

/** How many leading bytes identify every type above. */
export const SNIFF_BYTES = 16;

/** The size of a stored object and its first SNIFF_BYTES bytes, or undefined when there is no such object. */
export type MediaReader = (location: { bucket: string; key: string }) => Promise<{ bytes: number; head: Uint8Array } | undefined>;

const ascii = (head: Uint8Array, from: number, length: number) => String.fromCharCode(...head.subarray(from, from + length));

/** The media type the leading bytes announce, or undefined for anything we do not know. */
export function sniffMediaType(head: Uint8Array): string | undefined {
  const starts = (...bytes: number[]) => bytes.every((byte, index) => head[index] === byte);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'image/webp';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WAVE') return 'audio/wav';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'image/tiff';
  if (ascii(head, 0, 2) === 'BM' && head.length >= 14) return 'image/bmp';
  if (ascii(head, 4, 4) === 'ftyp') {
    const brand = ascii(head, 8, 4);
    if (brand.startsWith('M4A') || brand.startsWith('M4B')) return 'audio/mp4';
    return brand === 'qt  ' ? 'video/quicktime' : 'video/mp4';
  }
  if (ascii(head, 0, 3) === 'ID3' || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0)) return 'audio/mpeg';
  return undefined;
}

const KIND_OF = { image_url: 'image', video_url: 'video', audio_url: 'audio' } as const;

/**
 * Checks every `s3://` media item of a request against the object it names: it exists, and its
 * type and size fit its role. The schema has already limited such URLs to our media prefixes.
 * Returns one issue per item that does not fit, each naming the item's URL field.
 */
export async function checkS3Media(request: ProviderRequest, read: MediaReader): Promise<FieldIssue[]> {
  const checks = request.content.map(async (item, index): Promise<FieldIssue | undefined> => {
    if (item.type === 'text') return undefined;
    const url = item.type === 'image_url' ? item.image_url.url : item.type === 'video_url' ? item.video_url.url : item.audio_url.url;
    const location = parseS3Uri(url);
    if (!location) return undefined;
    const path = formatIssuePath(['content', index, item.type, 'url']);
    const kind: MediaKind = KIND_OF[item.type];
    const rules = MEDIA_RULES[kind];
    const stored = await read(location);
    if (!stored) return { path, message: `no object ${url}: upload it first` };
    const type = sniffMediaType(stored.head);
    if (!type || !(rules.types as readonly string[]).includes(type)) {
      return { path, message: `${url} is ${type ?? 'not a file type we know'}; ${kind} media must be one of ${rules.types.join(', ')}` };
    }
    if (stored.bytes > rules.maxBytes) {
      return { path, message: `${url} is ${stored.bytes} bytes; ${kind} media may be at most ${rules.maxBytes}` };
    }
    return undefined;
  });
  return (await Promise.all(checks)).filter((issue): issue is FieldIssue => issue !== undefined);
}
