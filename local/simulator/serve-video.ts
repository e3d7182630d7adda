import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

/**
 * Serves a rendered MP4 the way a CDN does: with its length, and with single byte ranges, because
 * players seek with Range and downloaders resume with it.
 */

type ByteRange = { start: number; end: number };

/**
 * A byte range inside a file of `size` bytes; 'unsatisfiable' for a well-formed range that lies
 * outside it; undefined when the header is absent, malformed or asks for several ranges, which
 * RFC 9110 lets a server answer with the whole file.
 */
function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = header?.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  return start >= size ? 'unsatisfiable' : { start, end };
}

/**
 * How a GET or HEAD was served: 'full' when the whole file went out to the end, 'part' for a
 * smaller range, 'cut' when the socket was destroyed on purpose, 'none' when no body was sent.
 */
export type ServedVideo = 'full' | 'part' | 'cut' | 'none';

export interface ServeVideoOptions {
  /**
   * Fault injection: announce the full Content-Length, send this many body bytes (at most one byte
   * short of the body), then destroy the socket, like a connection dropped mid-download.
   */
  cutAfterBytes?: number;
}

async function readSlice(path: string, start: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export async function serveVideo(
  request: IncomingMessage,
  response: ServerResponse,
  file: { path: string; bytes: number },
  options: ServeVideoOptions = {},
): Promise<ServedVideo> {
  const size = file.bytes;
  const range = parseRange(request.headers.range, size);
  response.setHeader('Content-Type', 'video/mp4');
  response.setHeader('Accept-Ranges', 'bytes');

  if (range === 'unsatisfiable') {
    response.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 }).end();
    return 'none';
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  response.writeHead(range ? 206 : 200, {
    'Content-Length': end - start + 1,
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (request.method === 'HEAD' || end < start) {
    response.end();
    return 'none';
  }
  if (options.cutAfterBytes !== undefined) {
    const sent = await readSlice(file.path, start, Math.min(options.cutAfterBytes, end - start));
    // The headers and the first bytes go out together; once they are handed to the socket, drop it.
    await new Promise<void>((resolve) => {
      response.flushHeaders();
      if (sent.length === 0) setImmediate(resolve);
      else response.write(sent, () => resolve());
    });
    response.destroy();
    return 'cut';
  }
  await pipeline(createReadStream(file.path, { start, end }), response);
  return start === 0 && end === size - 1 ? 'full' : 'part';
}
