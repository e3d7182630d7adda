import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SECURITY_HEADERS, serveConsoleAsset } from '../console/serve.js';
import type { RequestSigner } from './sigv4.js';

/**
 * `video-pipeline console --api <url>`: the console's page on 127.0.0.1, and a proxy that signs its
 * API calls with the user's AWS credentials. Those credentials are worth stealing, so the proxy
 * serves its own page only (docs/decisions/008-console-front-end.md, "The proxy"):
 * - Host must be exactly 127.0.0.1:<port>: a DNS-rebound name (evil.example → 127.0.0.1) is refused,
 *   so another site never becomes "same origin" with the proxy.
 * - An API call must carry the token printed with the address. A page of another origin cannot read it
 *   and cannot send a custom header without a CORS preflight, which gets no CORS answer.
 * - Origin, when sent, must be the proxy's own, and Sec-Fetch-Site, when sent, same-origin: a
 *   cross-site request is refused before any token comparison.
 * - Only the API's routes are forwarded, with only the headers they read; cookies never.
 */

export const TOKEN_HEADER = 'x-console-token';
/**
 * The routes the page calls: /jobs, below it (a job, its rerun) and the contract. Segments are plain
 * names (job ids are): no `.`, `..` or percent-encoding the URL parser would resolve to another path.
 */
const API_PATH = /^\/(?:jobs(?:\/[A-Za-z0-9][A-Za-z0-9._:-]*)*|openapi\.json)$/;
const FORWARDED_HEADERS = ['content-type', 'accept', 'idempotency-key'];
const FORWARDED_METHODS = new Set(['GET', 'POST', 'DELETE']);
/** API Gateway's limit is 10 MB; a little over it lets the API itself answer 413 with its own message. */
const MAX_BODY_BYTES = 11 * 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 30_000;

export interface ConsoleProxyOptions {
  /** The deployed API's base, e.g. https://<id>.execute-api.<region>.amazonaws.com/v1. */
  apiUrl: string;
  sign: RequestSigner;
  /** 0 picks a free port. */
  port?: number;
  fetch?: typeof fetch;
}

export interface ConsoleProxy {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The address to open: the origin with the token in its fragment. */
  pageUrl: string;
  token: string;
  close(): Promise<void>;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function refuse(response: ServerResponse, refusal: Refusal): void {
  response.writeHead(refusal.status, { 'content-type': 'application/json', ...SECURITY_HEADERS });
  response.end(JSON.stringify({ error: { code: refusal.code, message: refusal.message } }));
}

function sameToken(sent: string | string[] | undefined, token: string): boolean {
  if (typeof sent !== 'string') return false;
  const expected = Buffer.from(token);
  const given = Buffer.from(sent);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Throws a Refusal unless the request comes from the proxy's own page. */
function checkCaller(request: IncomingMessage, origin: string, token: string): void {
  const sentOrigin = request.headers.origin;
  if (sentOrigin !== undefined && sentOrigin !== origin) {
    throw new Refusal(403, 'FOREIGN_ORIGIN', `requests from ${sentOrigin} are refused: only the console's own page may call its API`);
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    throw new Refusal(403, 'FOREIGN_ORIGIN', `a ${site} request is refused: only the console's own page may call its API`);
  }
  if (!sameToken(request.headers[TOKEN_HEADER], token)) {
    throw new Refusal(403, 'CONSOLE_TOKEN', 'missing or wrong console token: open the address `video-pipeline console` printed');
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Refusal(413, 'PAYLOAD_TOO_LARGE', 'the request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The request target as path and query, or a Refusal for anything but an origin-form API path. */
function apiTarget(rawTarget: string): { path: string; query: string } {
  const question = rawTarget.indexOf('?');
  const path = question < 0 ? rawTarget : rawTarget.slice(0, question);
  if (!API_PATH.test(path)) throw new Refusal(404, 'NOT_FOUND', `the console proxy forwards only the API's routes, not ${path}`);
  return { path, query: question < 0 ? '' : rawTarget.slice(question) };
}

export async function startConsoleProxy(options: ConsoleProxyOptions): Promise<ConsoleProxy> {
  const token = randomBytes(32).toString('base64url');
  const apiBase = options.apiUrl.replace(/\/+$/, '');
  const send = options.fetch ?? globalThis.fetch;
  let origin = '';
  let host = '';

  const forward = async (request: IncomingMessage, response: ServerResponse, target: { path: string; query: string }) => {
    const method = request.method ?? 'GET';
    if (!FORWARDED_METHODS.has(method)) throw new Refusal(405, 'METHOD_NOT_ALLOWED', `${method} is not forwarded`);
    const body = await readBody(request);
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const url = new URL(`${apiBase}${target.path}${target.query}`);
    const text = body.length > 0 ? body.toString('utf8') : undefined;
    const signed = await options.sign({ method, url, headers, ...(text !== undefined ? { body: text } : {}) });
    // fetch sets Host itself, to the value that was signed.
    const { host: _signedHost, ...outgoing } = signed.headers;
    let upstream: Response;
    let answer: Buffer;
    try {
      upstream = await send(url, {
        method,
        headers: outgoing,
        ...(text !== undefined ? { body: text } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
      answer = Buffer.from(await upstream.arrayBuffer());
    } catch (error) {
      throw new Refusal(502, 'UPSTREAM_UNREACHABLE', `cannot reach ${url.origin}: ${(error as Error).message}`);
    }
    response.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
      ...SECURITY_HEADERS,
    });
    response.end(answer);
  };

  const server = createServer((request, response) => {
    void (async () => {
      // DNS rebinding: only a request addressed to 127.0.0.1:<port> by that name is ours.
      if (request.headers.host !== host) throw new Refusal(403, 'FOREIGN_HOST', 'the console answers requests for its own address only');
      const rawTarget = request.url ?? '/';
      if (!rawTarget.startsWith('/')) throw new Refusal(400, 'BAD_TARGET', 'the request target must be a path');
      const path = rawTarget.split('?')[0]!;
      // The page and its assets hold no secret: they load without the token, which only the page's script reads.
      if (await serveConsoleAsset(request.method ?? 'GET', path, response)) return;
      checkCaller(request, origin, token);
      await forward(request, response, apiTarget(rawTarget));
    })().catch((error: unknown) => {
      if (response.headersSent) return response.destroy();
      refuse(response, error instanceof Refusal ? error : new Refusal(500, 'INTERNAL_ERROR', String(error)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  host = `127.0.0.1:${port}`;
  origin = `http://${host}`;
  return {
    origin,
    pageUrl: `${origin}/#token=${token}`,
    token,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
