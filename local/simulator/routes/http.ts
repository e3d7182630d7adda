import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayError, type RawAnswer } from '../responses.js';

/** The provider caps a whole create body at 64 MB. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** An answer a route gives up with: the router sends its status and body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: object,
  ) {
    super(`HTTP ${status}`);
  }
}

export const invalidRequest = (status: number, message: string, code = 'invalid_request') =>
  new HttpError(status, gatewayError(message, 'invalid_request_error', code));

export function methodNotAllowed(response: ServerResponse, allow: string): HttpError {
  response.setHeader('Allow', allow);
  return invalidRequest(405, `use ${allow}`, 'method_not_allowed');
}

export function authorize(request: IncomingMessage, apiKey: string): void {
  if (request.headers.authorization !== `Bearer ${apiKey}`) {
    throw new HttpError(401, gatewayError('Invalid API key', 'authentication_error', 'invalid_api_key'));
  }
}

export function sendJson(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

export function sendRaw(response: ServerResponse, answer: RawAnswer): void {
  response.writeHead(answer.status, { ...answer.headers, 'Content-Length': Buffer.byteLength(answer.body) });
  response.end(answer.body);
}

export async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BODY_BYTES) {
      throw invalidRequest(413, `the body is larger than ${MAX_BODY_BYTES} bytes`, 'request_too_large');
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw invalidRequest(400, 'the body is not valid JSON');
  }
}
