/**
 * Reads the pixel size of a request's image from its file header only, so `ratio: "adaptive"`
 * can follow the image without an image library. EXIF orientation is ignored: the simulator only
 * needs a plausible frame shape, not the provider's exact choice.
 */

export interface ImageSize {
  width: number;
  height: number;
}

/** Remote images are read only until their header decodes, and never past this many bytes. */
const MAX_HEADER_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 2_000;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function sizeOrUndefined(width: number, height: number): ImageSize | undefined {
  return width > 0 && height > 0 ? { width, height } : undefined;
}

function pngSize(bytes: Uint8Array, view: DataView): ImageSize | undefined {
  if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return undefined;
  return sizeOrUndefined(view.getUint32(16), view.getUint32(20));
}

/** SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegSize(bytes: Uint8Array, view: DataView): ImageSize | undefined {
  let offset = 2;
  while (offset + 9 <= bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte before a marker
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      offset += 2; // standalone markers have no length field
      continue;
    }
    if (isStartOfFrame(marker)) return sizeOrUndefined(view.getUint16(offset + 7), view.getUint16(offset + 5));
    offset += 2 + view.getUint16(offset + 2);
  }
  return undefined;
}

function webpSize(bytes: Uint8Array, view: DataView): ImageSize | undefined {
  if (bytes.length < 30) return undefined;
  switch (ascii(bytes, 12, 4)) {
    case 'VP8 ':
      return sizeOrUndefined(view.getUint16(26, true) & 0x3fff, view.getUint16(28, true) & 0x3fff);
    case 'VP8L': {
      const bits = view.getUint32(21, true);
      return sizeOrUndefined((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
    }
    case 'VP8X': {
      const uint24 = (at: number) => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
      return sizeOrUndefined(uint24(24) + 1, uint24(27) + 1);
    }
    default:
      return undefined;
  }
}

/** The size from a PNG, JPEG or WebP header, or undefined when the bytes are none of these (yet). */
function decodeImageSize(bytes: Uint8Array): ImageSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 8 && PNG_SIGNATURE.every((byte, index) => bytes[index] === byte)) return pngSize(bytes, view);
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegSize(bytes, view);
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return webpSize(bytes, view);
  return undefined;
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}

async function fetchImageSize(url: string, signal: AbortSignal): Promise<ImageSize | undefined> {
  const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]) });
  if (!response.ok || !response.body) return undefined;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < MAX_HEADER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
      const size = decodeImageSize(concat(chunks, length));
      if (size) return size;
    }
    return undefined;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * The size of the image at a data: URI or http(s) URL; undefined when it cannot be read (unknown
 * format, unreachable, slower than 2 s), because the caller then falls back to a default frame.
 */
export async function readImageSize(url: string, signal: AbortSignal): Promise<ImageSize | undefined> {
  try {
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',');
      return comma < 0 ? undefined : decodeImageSize(Buffer.from(url.slice(comma + 1), 'base64'));
    }
    if (/^https?:\/\//i.test(url)) return await fetchImageSize(url, signal);
    return undefined;
  } catch {
    return undefined;
  }
}
