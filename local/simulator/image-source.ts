import { readImageHeader, type ImageHeader } from './image-size.js';

/**
 * Reads the bytes of a request's image, from a base64 `data:` URI or an http(s) URL (a presigned
 * URL of the local S3, say), so the simulated video can show it. Whatever goes wrong is returned as
 * a sentence, never thrown: the caller then renders its default picture and records why.
 */

export type LoadedImage = ImageHeader & { bytes: Uint8Array };

export type ImageLoad = { ok: true; image: LoadedImage } | { ok: false; problem: string };

/** A bigger body is refused before it is read to the end: it would only hold a render back. */
const MAX_IMAGE_BYTES = 30 * 1024 * 1024;
/** A slow URL must not keep a task from rendering; the task goes on with the default picture. */
const IMAGE_FETCH_TIMEOUT_MS = 10_000;
/** ffmpeg decodes the whole image into memory (4 bytes a pixel, more while scaling). */
const MAX_IMAGE_PIXELS = 40_000_000;

const megabytes = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MB`;

class ImageProblem extends Error {}

async function fetchBytes(url: string, signal: AbortSignal): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(IMAGE_FETCH_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.any([signal, timeout]) });
  } catch (error) {
    throw timeout.aborted ? new ImageProblem(`its URL did not answer within ${IMAGE_FETCH_TIMEOUT_MS / 1000} s`) : error;
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new ImageProblem(`its URL answered HTTP ${response.status}`);
  }
  const tooBig = new ImageProblem(`it is larger than ${megabytes(MAX_IMAGE_BYTES)}`);
  if (Number(response.headers.get('content-length')) > MAX_IMAGE_BYTES) {
    await response.body.cancel();
    throw tooBig;
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body) {
      length += chunk.length;
      if (length > MAX_IMAGE_BYTES) throw tooBig;
      chunks.push(chunk);
    }
  } catch (error) {
    throw timeout.aborted ? new ImageProblem(`its URL did not send it within ${IMAGE_FETCH_TIMEOUT_MS / 1000} s`) : error;
  }
  return Buffer.concat(chunks, length);
}

/** The schema only lets base64 data: URIs through (runtime/domain/request-schema.ts). */
function dataUriBytes(url: string): Uint8Array {
  const bytes = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  if (bytes.length > MAX_IMAGE_BYTES) throw new ImageProblem(`it is larger than ${megabytes(MAX_IMAGE_BYTES)}`);
  return bytes;
}

function describe(error: unknown): string {
  if (error instanceof ImageProblem) return error.message;
  // fetch() hides the network reason (ECONNREFUSED, ENOTFOUND) in its cause.
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `its URL could not be read (${error instanceof Error ? error.message : String(error)}${cause})`;
}

/** Rejects only when `signal` aborts (the simulator is stopping). */
export async function loadImage(url: string, signal: AbortSignal): Promise<ImageLoad> {
  let bytes: Uint8Array;
  try {
    if (url.startsWith('data:')) bytes = dataUriBytes(url);
    else if (/^https?:\/\//i.test(url)) bytes = await fetchBytes(url, signal);
    else return { ok: false, problem: 'its URL is neither a data: URI nor http(s)' };
  } catch (error) {
    signal.throwIfAborted();
    return { ok: false, problem: describe(error) };
  }
  const header = readImageHeader(bytes);
  if (!header) return { ok: false, problem: 'it is not a PNG, JPEG or WebP image' };
  if (header.width * header.height > MAX_IMAGE_PIXELS) {
    return { ok: false, problem: `${header.width}×${header.height} pixels is more than the ${MAX_IMAGE_PIXELS / 1e6} megapixels it decodes` };
  }
  return { ok: true, image: { ...header, bytes } };
}
