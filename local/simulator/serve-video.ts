import { createReadStream } from 'node:fs';
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

export async function serveVideo(
  request: IncomingMessage,
  response: ServerResponse,
  file: { path: string; bytes: number },
): Promise<void> {
  const size = file.bytes;
  const range = parseRange(request.headers.range, size);
  response.setHeader('Content-Type', 'video/mp4');
  response.setHeader('Accept-Ranges', 'bytes');

  if (range === 'unsatisfiable') {
    response.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  response.writeHead(range ? 206 : 200, {
    'Content-Length': end - start + 1,
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (request.method === 'HEAD' || end < start) {
    response.end();
    return;
  }
  await pipeline(createReadStream(file.path, { start, end }), response);
}
