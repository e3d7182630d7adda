import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A webhook receiver as a user would run one: a real HTTP server on loopback that verifies every
 * delivery with the `standardwebhooks` package (an implementation of the scheme we did not write),
 * keeps what it received, and answers as told: 2xx, an error status, never (it hangs), or not at
 * all while it is down.
 */

export interface ReceivedDelivery {
  path: string;
  webhookId: string;
  event: string | undefined;
  timestamp: string;
  body: string;
  /** What standardwebhooks' verify() said. */
  verified: boolean;
  verifyError?: string;
  /** How the receiver answered it: a status, or `hang`. */
  answer: number | 'hang';
  at: number;
}

export type Answer = number | 'hang';

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>` (paths are free: `/hooks/a`…). */
  url: string;
  deliveries: ReceivedDelivery[];
  /** Decides each answer (default: 200); sees the delivery as verified. */
  answerWith(decide: (delivery: Omit<ReceivedDelivery, 'answer' | 'at'>) => Answer): void;
  /** Stops listening (connections are refused) until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `secret` is read at each delivery: the stack that signs may start after its receiver (a default webhook names it). */
export async function startWebhookReceiver(secret: () => string): Promise<WebhookReceiver> {
  const deliveries: ReceivedDelivery[] = [];
  let decide: (delivery: Omit<ReceivedDelivery, 'answer' | 'at'>) => Answer = () => 200;
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request);
    const header = (name: string) => String(request.headers[name] ?? '');
    let verified = false;
    let verifyError: string | undefined;
    try {
      new Webhook(secret()).verify(body, {
        'webhook-id': header('webhook-id'),
        'webhook-timestamp': header('webhook-timestamp'),
        'webhook-signature': header('webhook-signature'),
      });
      verified = true;
    } catch (error) {
      verifyError = (error as Error).message;
    }
    const seen = {
      path: request.url ?? '/',
      webhookId: header('webhook-id'),
      event: request.headers['webhook-event'] as string | undefined,
      timestamp: header('webhook-timestamp'),
      body,
      verified,
      ...(verifyError ? { verifyError } : {}),
    };
    // A delivery that does not verify is refused, as a real receiver would.
    const answer = verified ? decide(seen) : 400;
    deliveries.push({ ...seen, answer, at: Date.now() });
    if (answer === 'hang') {
      hung.add(response);
      return;
    }
    response.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'no');
  };

  let server: Server;
  let port = 0;
  const listen = async () => {
    server = createServer((request, response) => void handle(request, response));
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    for (const response of hung) response.destroy();
    hung.clear();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen();

  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    answerWith(next) {
      decide = next;
    },
    down: stop,
    up: listen,
    close: stop,
  };
}
