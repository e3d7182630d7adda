import { deflateSync } from 'node:zlib';

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit += 1) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

type Rgb = [number, number, number];

/** A real, decodable truecolour PNG whose every row is `row` (3 bytes a pixel). */
function pngOfRows(width: number, height: number, row: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour RGB
  const filteredRow = Buffer.concat([Buffer.from([0]), row]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => filteredRow)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real, decodable PNG of one flat colour: an image input for image-to-video tests. */
export function solidPng(width: number, height: number, rgb: Rgb = [200, 120, 40]): Buffer {
  return pngOfRows(width, height, Buffer.alloc(width * 3, Buffer.from(rgb)));
}

/** A PNG that goes from `left` to `right` across its width: where a window on it moves, its colour changes. */
export function gradientPng(width: number, height: number, left: Rgb, right: Rgb): Buffer {
  const row = Buffer.alloc(width * 3);
  for (let x = 0; x < width; x += 1) {
    const share = width === 1 ? 0 : x / (width - 1);
    for (let channel = 0; channel < 3; channel += 1) {
      row[x * 3 + channel] = Math.round(left[channel]! + (right[channel]! - left[channel]!) * share);
    }
  }
  return pngOfRows(width, height, row);
}

export function pngDataUri(width: number, height: number): string {
  return `data:image/png;base64,${solidPng(width, height).toString('base64')}`;
}
