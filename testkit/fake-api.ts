import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSigner, type AwsCredentials } from '../cli/sigv4.js';

/** A stand-in for a deployed API (API Gateway + IAM auth): it records every request it gets. */
export interface ReceivedRequest {
  method: string;
  /** Path and query as sent. */
  target: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeApi {
  /** Its base, with a stage like API Gateway's: http://127.0.0.1:<port>/v1 */
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

export type FakeAnswer = (request: ReceivedRequest) => { status: number; body: unknown };

export async function startFakeApi(answer: FakeAnswer): Promise<FakeApi> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const got = { method: request.method ?? 'GET', target: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(got);
      const { status, body } = answer(got);
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `20150830T123600Z` → its Date. */
function amzDate(value: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) throw new Error(`not an x-amz-date: ${value}`);
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  return new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
}

/**
 * Checks a received request's SigV4 as API Gateway would: signs what arrived (its signed headers, its
 * body) again with the expected credentials at its own x-amz-date; true when both signatures match.
 */
export async function hasValidSignature(request: ReceivedRequest, origin: string, region: string, credentials: AwsCredentials): Promise<boolean> {
  const authorization = request.headers.authorization;
  const date = request.headers['x-amz-date'];
  if (typeof authorization !== 'string' || typeof date !== 'string') return false;
  const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = request.headers[name];
    if (typeof value !== 'string') return false;
    headers[name] = value;
  }
  const sign = createSigner({ region, credentials, now: () => amzDate(date) });
  const { host: _host, authorization: _authorization, 'x-amz-date': _date, 'x-amz-security-token': _token, ...unsigned } = headers;
  const again = await sign({
    method: request.method,
    url: new URL(request.target, origin),
    headers: unsigned,
    ...(request.body ? { body: request.body } : {}),
  });
  return again.headers.authorization === authorization;
}
