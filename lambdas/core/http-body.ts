import { MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

/** Reads a JSON request body or throws the 4xx that says what is wrong with it. */
export function readJsonBody(options: { contentType: string | undefined; body: string | undefined; maxBytes: number }): unknown {
  const mediaType = options.contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json' && !mediaType?.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(
      `Content-Type must be application/json${options.contentType ? `, not ${options.contentType}` : ' (none was sent)'}`,
    );
  }
  const body = options.body ?? '';
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > options.maxBytes) {
    throw new PayloadTooLargeError(`the body is ${bytes} bytes; at most ${options.maxBytes} are accepted`);
  }
  if (body.trim().length === 0) throw new MalformedJsonError('the body is empty; a JSON object is expected');
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new MalformedJsonError(`the body is not valid JSON: ${(error as Error).message}`);
  }
}
