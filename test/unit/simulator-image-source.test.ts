import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../local/simulator/image-source.js';
import { solidPng } from '../../testkit/png.js';

/** The sentences a person reads (on the video, in the log) when the simulator cannot show an image. */

let server: Server;
let base: string;

/** A PNG whose header claims another size: the header is all the simulator reads before ffmpeg does. */
function pngClaiming(width: number, height: number): Buffer {
  const png = Buffer.from(solidPng(4, 4));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  return png;
}

beforeAll(async () => {
  server = createServer((request, response) => {
    switch (request.url) {
      case '/cat.png':
        response.writeHead(200, { 'content-type': 'image/png' }).end(solidPng(40, 30));
        return;
      case '/notes.png':
        response.writeHead(200, { 'content-type': 'image/png' }).end('these are notes, not a picture');
        return;
      case '/huge.png':
        // Announces 31 MB and sends a few bytes: refused from the header, never read to the end.
        response.writeHead(200, { 'content-length': String(31 * 1024 * 1024) }).write(solidPng(4, 4));
        return;
      default:
        response.writeHead(403).end('AccessDenied');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const signal = new AbortController().signal;
const dataUri = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`;

describe('loadImage', () => {
  it('reads an image from an http URL and from a data: URI, with its format and size', async () => {
    for (const url of [`${base}/cat.png`, dataUri(solidPng(40, 30))]) {
      const load = await loadImage(url, signal);
      expect(load).toMatchObject({ ok: true, image: { format: 'png', width: 40, height: 30 } });
      if (load.ok) expect(Buffer.from(load.image.bytes).equals(solidPng(40, 30))).toBe(true);
    }
  });

  it.each([
    ['an error status', '/secret.png', 'its URL answered HTTP 403'],
    ['a body that is no image', '/notes.png', 'it is not a PNG, JPEG or WebP image'],
    ['a body over 30 MB', '/huge.png', 'it is larger than 30 MB'],
  ])('says why it cannot use %s', async (_name, path, problem) => {
    expect(await loadImage(`${base}${path}`, signal)).toEqual({ ok: false, problem });
  });

  it('refuses an image too large to decode, and a URL nobody answers', async () => {
    expect(await loadImage(dataUri(pngClaiming(10_000, 8_000)), signal)).toEqual({
      ok: false,
      problem: '10000×8000 pixels is more than the 40 megapixels it decodes',
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    expect(await loadImage(`http://127.0.0.1:${port}/gone.png`, signal)).toEqual({
      ok: false,
      problem: expect.stringMatching(/^its URL could not be read \(fetch failed: connect ECONNREFUSED/),
    });
  });
});
