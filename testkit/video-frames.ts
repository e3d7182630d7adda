import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Decodes single frames of an MP4 with ffmpeg into raw RGB, so a test can look at a video the way a
 * person would: what colour is the picture, did it change, what is on screen at the end.
 */

export type Rgb = [number, number, number];

export interface RgbFrame {
  width: number;
  height: number;
  /** width × height × 3 bytes, row by row. */
  pixels: Buffer;
}

/** A part of the frame, as shares of its width and height (0..1). */
export interface Region {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

const run = promisify(execFile);

/** The frame shown at `seconds` (ffmpeg seeks exactly when it decodes). */
export async function frameAt(ffmpegPath: string, mp4Path: string, seconds: number, size: { width: number; height: number }): Promise<RgbFrame> {
  const { stdout } = await run(
    ffmpegPath,
    ['-hide_banner', '-loglevel', 'error', '-ss', String(seconds), '-i', mp4Path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: size.width * size.height * 3 + 1024 },
  );
  if (stdout.length !== size.width * size.height * 3) {
    throw new Error(`expected a ${size.width}×${size.height} frame at ${seconds} s, got ${stdout.length} bytes`);
  }
  return { ...size, pixels: stdout };
}

export function averageColour(frame: RgbFrame, region: Region): Rgb {
  const sums: Rgb = [0, 0, 0];
  const [x0, x1] = [Math.floor(region.left * frame.width), Math.floor(region.right * frame.width)];
  const [y0, y1] = [Math.floor(region.top * frame.height), Math.floor(region.bottom * frame.height)];
  for (let y = y0; y < y1; y += 1) {
    for (let x = x0; x < x1; x += 1) {
      const at = (y * frame.width + x) * 3;
      for (let channel = 0; channel < 3; channel += 1) sums[channel]! += frame.pixels[at + channel]!;
    }
  }
  const count = (x1 - x0) * (y1 - y0);
  return sums.map((sum) => Math.round(sum / count)) as Rgb;
}

/** The largest difference of one channel between two colours. */
export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.max(...a.map((value, channel) => Math.abs(value - b[channel]!)));
}
