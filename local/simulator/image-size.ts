/**
 * Reads the format and pixel size of a request's image from its file header, without an image
 * library: enough to tell ffmpeg an image it can decode from anything else, to refuse one too large
 * to decode, and to let `ratio: "adaptive"` follow the image. EXIF orientation is ignored: the
 * simulator only needs a plausible frame shape, not the provider's exact choice.
 */

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface ImageSize {
  width: number;
  height: number;
}

export interface ImageHeader extends ImageSize {
  format: ImageFormat;
}

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

function withFormat(format: ImageFormat, size: ImageSize | undefined): ImageHeader | undefined {
  return size && { format, ...size };
}

/** The format and size from a PNG, JPEG or WebP header, or undefined when the bytes are none of these. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 8 && PNG_SIGNATURE.every((byte, index) => bytes[index] === byte)) return withFormat('png', pngSize(bytes, view));
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) return withFormat('jpeg', jpegSize(bytes, view));
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return withFormat('webp', webpSize(bytes, view));
  return undefined;
}
