import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

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

/** Turns a plain HTTP request into the event API Gateway's Lambda proxy integration sends. */
function toProxyEvent(request: IncomingMessage, url: URL, body: Buffer): APIGatewayProxyEvent {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]),
  ) as Record<string, string>;
  const query = Object.fromEntries(url.searchParams.entries());
  return {
    httpMethod: request.method ?? 'GET',
    path: url.pathname,
    resource: url.pathname,
    headers: { ...headers, 'X-Forwarded-Proto': 'http' },
    multiValueHeaders: {},
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      stage: '$default',
      identity: { sourceIp: request.socket.remoteAddress ?? '127.0.0.1', userArn: null },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

/** The local stand-in for API Gateway: same event shape, same handler, no auth (loopback only). */
export async function startLocalHttpApi(handler: ApiHandler, options: { port: number; host?: string }): Promise<LocalHttpApi> {
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const body = await readBody(request);
      if (!body) {
        response.writeHead(413, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is too large' } }));
        return;
      }
      const result = await handler(toProxyEvent(request, url, body));
      response.writeHead(result.statusCode, result.headers as Record<string, string>);
      response.end(result.body);
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: String(error) } }));
    });
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
