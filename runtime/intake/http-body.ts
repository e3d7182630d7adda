import { MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../domain/errors.js';

/**
 * The `charset` parameters of a Content-Type's parameters, lower case and unquoted. Split on every
 * `;`, even one inside a quoted value: that can only find a charset too many, never miss one.
 */
function charsetsOf(parameters: readonly string[]): string[] {
  return parameters.flatMap((parameter) => {
    const equals = parameter.indexOf('=');
    if (equals < 0 || parameter.slice(0, equals).trim().toLowerCase() !== 'charset') return [];
    const value = parameter.slice(equals + 1).trim();
    const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(value);
    return [(quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : value).toLowerCase()];
  });
}

// ignoreBOM keeps a byte order mark, so bytes with one fail JSON.parse as the same text would.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict: bytes that are not UTF-8 are refused, not replaced with U+FFFD behind the caller's back. */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new MalformedJsonError('the body is not valid UTF-8');
  }
}

/** Reads a JSON request body or throws the 4xx that says what is wrong with it. */
export function readJsonBody(options: { contentType: string | undefined; body: string | Uint8Array | undefined; maxBytes: number }): unknown {
  const [type = '', ...parameters] = options.contentType?.split(';') ?? [];
  const mediaType = type.trim().toLowerCase();
  if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(`Content-Type must be application/json${options.contentType ? `, not ${options.contentType}` : ' (none was sent)'}`);
  }
  // JSON text exchanged between systems is UTF-8 (RFC 8259 §8.1); reading other bytes as UTF-8 would garble them.
  const charset = charsetsOf(parameters).find((name) => name !== 'utf-8');
  if (charset !== undefined) {
    throw new UnsupportedMediaTypeError(`the body must be UTF-8; charset=${charset} is not accepted`);
  }
  const bytes = typeof options.body === 'string' ? Buffer.byteLength(options.body, 'utf8') : (options.body?.byteLength ?? 0);
  if (bytes > options.maxBytes) {
    throw new PayloadTooLargeError(`the body is ${bytes} bytes; at most ${options.maxBytes} are accepted`);
  }
  const body = typeof options.body === 'object' ? decodeUtf8(options.body) : (options.body ?? '');
  if (body.trim().length === 0) throw new MalformedJsonError('the body is empty; a JSON object is expected');
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new MalformedJsonError(`the body is not valid JSON: ${(error as Error).message}`);
  }
}
