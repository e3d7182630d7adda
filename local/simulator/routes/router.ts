/** Which route answers a request, and what a route that fails answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayError } from '../responses.js';
import { ADMIN_FAULTS_PATH, ADMIN_QUOTA_PATH, ADMIN_STATS_PATH, handleAdmin } from './admin.js';
import type { SimulatorContext } from './context.js';
import { handleCreate } from './create.js';
import { HttpError, invalidRequest, methodNotAllowed, sendJson } from './http.js';
import { handlePoll } from './poll.js';
import { handleVideo } from './video.js';

const GENERATIONS_PATH = '/v1/video/generations';
const TASK_PATH = /^\/v1\/video\/generations\/([^/]+)$/;
const VIDEO_PATH = /^\/videos\/([^/]+)\.mp4$/;

async function route(sim: SimulatorContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  // The path as sent: `new URL(target, base)` throws on `//` and reads `//host/v1/...` as another host's path.
  const pathname = (request.url ?? '/').split('?', 1)[0]!;
  const method = request.method ?? 'GET';

  if (pathname === GENERATIONS_PATH) {
    if (method !== 'POST') throw methodNotAllowed(response, 'POST');
    return handleCreate(sim, request, response);
  }

  const taskMatch = TASK_PATH.exec(pathname);
  if (taskMatch) {
    if (method !== 'GET') throw methodNotAllowed(response, 'GET');
    return handlePoll(sim, request, response, taskMatch[1]!);
  }

  const videoMatch = VIDEO_PATH.exec(pathname);
  if (videoMatch) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(response, 'GET, HEAD');
    return handleVideo(sim, request, response, videoMatch[1]!);
  }

  if (pathname === ADMIN_FAULTS_PATH || pathname === ADMIN_STATS_PATH || pathname === ADMIN_QUOTA_PATH) {
    return handleAdmin(sim, request, response, pathname);
  }

  throw invalidRequest(404, `no route for ${method} ${pathname}`, 'not_found');
}

/** The server's request listener: routes the request and turns a failure into the gateway's error answer. */
export function requestListener(sim: SimulatorContext): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    route(sim, request, response).catch((error: unknown) => {
      if (response.headersSent || response.destroyed) {
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
  };
}
