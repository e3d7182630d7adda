import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProviderRequestSchema, toFieldIssues } from '../../lambdas/core/request-schema.js';
import { createRenderer, defaultFfmpegPath } from './render.js';
import { createdBody, gatewayError, pollBody, taskNotFound, type ResponseStyle } from './responses.js';
import { serveVideo } from './serve-video.js';
import { TaskStore, type SimulatedTaskView } from './task-store.js';

/**
 * A local stand-in for the provider API (provider-api.md) on a real HTTP port: it checks the key
 * and the body like the provider, plays each task through its statuses over a realistic
 * (scalable) time, and serves a real MP4 that matches the request from a CDN-like URL.
 */

export type { SimulatedTaskView } from './task-store.js';
export type { ResponseStyle } from './responses.js';

export interface SimulatorOptions {
  apiKey: string;
  /** Multiplies every generation time: 0.01 turns a two-minute task into about a second. */
  timeScale?: number;
  /** Folder for the rendered MP4s; created if missing. */
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  ffmpegPath?: string;
  /** Base of the video URLs handed out, when clients reach the simulator by another name. */
  publicBaseUrl?: string;
  /** The shape of poll answers; see responses.ts. */
  responseStyle?: ResponseStyle;
  /**
   * Accept http://127.0.0.1 media URLs: the local S3 has no TLS, so the presigned URLs the pipeline
   * makes for s3:// media are plain http there. The real provider only takes https.
   */
  allowLoopbackHttpMedia?: boolean;
}

export interface ProviderSimulator {
  url: string;
  stop(): Promise<void>;
  tasks(): SimulatedTaskView[];
}

/** The provider caps a whole create body at 64 MB. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const GENERATIONS_PATH = '/v1/video/generations';
const TASK_PATH = /^\/v1\/video\/generations\/([^/]+)$/;
const VIDEO_PATH = /^\/videos\/([^/]+)\.mp4$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: object,
  ) {
    super(`HTTP ${status}`);
  }
}

const invalidRequest = (status: number, message: string, code = 'invalid_request') =>
  new HttpError(status, gatewayError(message, 'invalid_request_error', code));

function sendJson(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
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

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startProviderSimulator(options: SimulatorOptions): Promise<ProviderSimulator> {
  const host = options.host ?? '127.0.0.1';
  const style = options.responseStyle ?? 'envelope';
  const schema = createProviderRequestSchema({ allowLoopbackHttp: options.allowLoopbackHttpMedia ?? false });
  await mkdir(options.dataDir, { recursive: true });
  const renderer = createRenderer(options.ffmpegPath ?? (await defaultFfmpegPath()));
  const store = new TaskStore({ dataDir: options.dataDir, timeScale: options.timeScale ?? 1, renderer });
  let baseUrl = '';
  const videoUrl = (id: string) => `${options.publicBaseUrl ?? baseUrl}/videos/${id}.mp4`;

  const authorize = (request: IncomingMessage) => {
    if (request.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new HttpError(401, gatewayError('Invalid API key', 'authentication_error', 'invalid_api_key'));
    }
  };

  const methodNotAllowed = (response: ServerResponse, allow: string) => {
    response.setHeader('Allow', allow);
    return invalidRequest(405, `use ${allow}`, 'method_not_allowed');
  };

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { pathname } = new URL(request.url ?? '/', 'http://simulator');
    const method = request.method ?? 'GET';

    if (pathname === GENERATIONS_PATH) {
      if (method !== 'POST') throw methodNotAllowed(response, 'POST');
      authorize(request);
      const parsed = schema.safeParse(await readJson(request));
      if (!parsed.success) {
        const issues = toFieldIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`);
        throw invalidRequest(400, `invalid request: ${issues.join('; ')}`);
      }
      return sendJson(response, 200, createdBody(store.create(parsed.data)));
    }

    const taskMatch = TASK_PATH.exec(pathname);
    if (taskMatch) {
      if (method !== 'GET') throw methodNotAllowed(response, 'GET');
      authorize(request);
      const id = taskMatch[1]!;
      const task = store.get(id);
      if (!task) throw new HttpError(404, taskNotFound(id));
      return sendJson(response, 200, pollBody(store.snapshot(task, videoUrl(id)), style));
    }

    const videoMatch = VIDEO_PATH.exec(pathname);
    if (videoMatch) {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(response, 'GET, HEAD');
      const video = store.video(videoMatch[1]!);
      if (!video) throw invalidRequest(404, 'no such video', 'not_found');
      return serveVideo(request, response, video);
    }

    throw invalidRequest(404, `no route for ${method} ${pathname}`, 'not_found');
  }

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HttpError) {
        // The rest of an oversized body is not worth reading: close instead.
        if (error.status === 413) response.setHeader('Connection', 'close');
        sendJson(response, error.status, error.body);
      } else {
        const message = error instanceof Error ? error.message : String(error);
        sendJson(response, 500, gatewayError(message, 'server_error', 'internal_error'));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://${formatHost(host)}:${port}`;

  return {
    url: baseUrl,
    tasks: () => store.views(),
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, store.stop()]);
    },
  };
}
