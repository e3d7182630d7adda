import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { LocalAuthorizer } from './api-authorizer.js';

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** A path the local server answers itself, never the Lambda (the console's page): true when it answered. */
export type LocalRoute = (method: string, path: string, response: ServerResponse) => Promise<boolean>;

export interface LocalHttpApi {
  url: string;
  close(): Promise<void>;
}

const MAX_REQUEST_BYTES = 11 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    // Like API Gateway, refuse what is far past the limit without buffering it all.
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The values of each name, in order, as own properties (a name like `__proto__` included). */
function multiValues(pairs: Iterable<[string, string]>): Record<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of pairs) values.set(name, [...(values.get(name) ?? []), value]);
  return Object.fromEntries(values);
}

/** API Gateway's single-value maps hold one value per name: here, the last. */
function lastValues(values: Record<string, string[]>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, all]) => [name, all.at(-1)!]));
}

/** [name, value] pairs of the raw headers, names as the client wrote them. */
function headerPairs(rawHeaders: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) pairs.push([rawHeaders[index]!, rawHeaders[index + 1]!]);
  return pairs;
}

/**
 * Turns a plain HTTP request into the event API Gateway's Lambda proxy integration sends: the path as
 * sent (still percent-encoded, never resolved against a host or `..`), the query decoded, every value
 * of a repeated header or parameter in the multi-value maps and the last in the single-value ones.
 */
function toProxyEvent(request: IncomingMessage, target: { path: string; query: string }, body: Buffer): APIGatewayProxyEvent {
  // The gateway sets X-Forwarded-Proto itself, whatever the client sent.
  const sentHeaders = headerPairs(request.rawHeaders).filter(([name]) => name.toLowerCase() !== 'x-forwarded-proto');
  const multiValueHeaders = multiValues([...sentHeaders, ['X-Forwarded-Proto', 'http']]);
  const multiValueQuery = multiValues(new URLSearchParams(target.query));
  const hasQuery = Object.keys(multiValueQuery).length > 0;
  // Text when it is UTF-8, as API Gateway passes a text payload; other bytes go base64-encoded, so the
  // handler sees what was sent instead of a copy with U+FFFD in place of the bytes it could not read.
  const text = isUtf8(body);
  return {
    httpMethod: request.method ?? 'GET',
    path: target.path,
    resource: target.path,
    headers: lastValues(multiValueHeaders),
    multiValueHeaders,
    queryStringParameters: hasQuery ? lastValues(multiValueQuery) : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: null,
    stageVariables: null,
    body: body.length > 0 ? body.toString(text ? 'utf8' : 'base64') : null,
    isBase64Encoded: body.length > 0 && !text,
    requestContext: {
      stage: '$default',
      identity: { sourceIp: request.socket.remoteAddress ?? '127.0.0.1', userArn: null },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

/** The path and query of an origin-form request target (`/jobs?limit=1`); undefined for `*` or a full URL. */
function splitTarget(target: string): { path: string; query: string } | undefined {
  if (!target.startsWith('/')) return undefined;
  const question = target.indexOf('?');
  return question < 0 ? { path: target, query: '' } : { path: target.slice(0, question), query: target.slice(question + 1) };
}

function answer(response: ServerResponse, statusCode: number, body: unknown): void {
  response.writeHead(statusCode, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/**
 * The local stand-in for API Gateway: same event shape, same handler, loopback only. No IAM: the routes
 * that take SigV4 on AWS are open here; the ones with a token authorizer run it (api-authorizer.ts).
 */
export async function startLocalHttpApi(
  handler: ApiHandler,
  options: { port: number; host?: string; localRoute?: LocalRoute; authorizer?: LocalAuthorizer },
): Promise<LocalHttpApi> {
  const server: Server = createServer((request, response) => {
    void (async () => {
      // Not `new URL(request.url, base)`: it throws on `//` and reads `//host/jobs` as a path on another host.
      const target = splitTarget(request.url ?? '/');
      const body = await readBody(request);
      // `*` (OPTIONS) and absolute URLs name no path of the API: refused before the handler, in the
      // `{ message }` shape of the gateway's own answers.
      if (!target) return answer(response, 400, { message: 'the request target must be a path' });
      if (!body) return answer(response, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is too large' } });
      if (await options.localRoute?.(request.method ?? 'GET', target.path, response)) return;
      const event = toProxyEvent(request, target, body);
      const authorized = await options.authorizer?.authorize(event.httpMethod, event.path, event.multiValueHeaders as Record<string, string[]>);
      if (authorized && !authorized.allowed) {
        response.writeHead(authorized.statusCode, { 'content-type': 'application/json' });
        return response.end(authorized.body);
      }
      if (authorized) event.requestContext.authorizer = authorized.authorizer;
      const result = await handler(event);
      response.writeHead(result.statusCode, result.headers as Record<string, string>);
      response.end(result.body);
    })().catch((error: unknown) => answer(response, 500, { error: { code: 'INTERNAL_ERROR', message: String(error) } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
