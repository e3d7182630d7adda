import type { GatewayStatus } from './task-clock.js';
import { FRAMES_PER_SECOND } from './video-spec.js';

/**
 * The answers of the provider API. A poll can be answered in the three shapes clients meet in the
 * wild (see docs/provider-api.md), so client code can be tested against each of them.
 */

export type ResponseStyle = 'envelope' | 'upstream' | 'flat';

/** Everything a poll answer is built from, at one instant. Times are epoch milliseconds. */
export interface TaskSnapshot {
  id: string;
  model: string;
  createdAt: number;
  status: GatewayStatus;
  progress: number;
  startedAt?: number;
  finishedAt?: number;
  videoUrl?: string;
  failReason?: string;
  durationSeconds: number;
  ratio: string;
  resolution: string;
  width?: number;
  height?: number;
}

const seconds = (ms: number | undefined) => (ms === undefined ? 0 : Math.floor(ms / 1000));

const UPSTREAM_STATUS: Record<GatewayStatus, string> = {
  NOT_START: 'queued',
  QUEUED: 'queued',
  IN_PROGRESS: 'running',
  SUCCESS: 'succeeded',
  FAILURE: 'failed',
};

const FLAT_STATUS: Record<GatewayStatus, string> = {
  NOT_START: 'processing',
  QUEUED: 'processing',
  IN_PROGRESS: 'processing',
  SUCCESS: 'completed',
  FAILURE: 'failed',
};

export function createdBody(task: { id: string; createdAt: number; request: { model: string } }) {
  return {
    id: task.id,
    task_id: task.id,
    object: 'video',
    model: task.request.model,
    status: '',
    progress: 0,
    created_at: seconds(task.createdAt),
  };
}

/** The upstream model's own task object, as the gateway nests it in `data.data`. */
function upstreamTask(task: TaskSnapshot) {
  // The upstream bills by output tokens, which it counts as pixels × frames / 1024.
  const usage =
    task.status === 'SUCCESS' && task.width && task.height
      ? Math.round((task.width * task.height * FRAMES_PER_SECOND * task.durationSeconds) / 1024)
      : undefined;
  return {
    id: task.id,
    status: UPSTREAM_STATUS[task.status],
    content: { video_url: task.videoUrl ?? '' },
    duration: task.durationSeconds,
    ratio: task.ratio,
    resolution: task.resolution,
    framespersecond: FRAMES_PER_SECOND,
    ...(usage === undefined ? {} : { usage: { completion_tokens: usage, total_tokens: usage } }),
  };
}

function envelopeBody(task: TaskSnapshot) {
  return {
    code: 'success',
    message: '',
    data: {
      task_id: task.id,
      action: 'generate',
      status: task.status,
      progress: `${task.progress}%`,
      result_url: task.videoUrl ?? '',
      // Old gateways copy the video URL into fail_reason on success; clients must cope with it.
      fail_reason: task.status === 'SUCCESS' ? (task.videoUrl ?? '') : (task.failReason ?? ''),
      submit_time: seconds(task.createdAt),
      start_time: seconds(task.startedAt),
      finish_time: seconds(task.finishedAt),
      data: upstreamTask(task),
    },
  };
}

/** The upstream answer on its own has no fail_reason, so the reason travels in its `error` object. */
function upstreamBody(task: TaskSnapshot) {
  return {
    ...upstreamTask(task),
    model: task.model,
    created_at: seconds(task.createdAt),
    updated_at: seconds(task.finishedAt ?? task.startedAt ?? task.createdAt),
    ...(task.status === 'FAILURE' ? { error: { code: 'generation_failed', message: task.failReason ?? '' } } : {}),
  };
}

function flatBody(task: TaskSnapshot) {
  return { id: task.id, status: FLAT_STATUS[task.status], video_url: task.videoUrl ?? '', progress: task.progress };
}

export function pollBody(task: TaskSnapshot, style: ResponseStyle): object {
  switch (style) {
    case 'envelope':
      return envelopeBody(task);
    case 'upstream':
      return upstreamBody(task);
    case 'flat':
      return flatBody(task);
  }
}

export function gatewayError(message: string, type: string, code: string) {
  return { error: { message, type, code } };
}

export function taskNotFound(id: string) {
  return { code: 'task_not_exist', message: `task ${id} does not exist`, data: null };
}

/** An answer given as raw text, for the injected faults whose body is not (valid) JSON. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const json = (status: number, body: object, headers: Record<string, string> = {}): RawAnswer => ({
  status,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** The HTML page a proxy in front of the gateway answers with, as nginx does. */
const proxyPage = (status: number, title: string): RawAnswer => ({
  status,
  headers: { 'Content-Type': 'text/html' },
  body: `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
});

export function rateLimited(): RawAnswer {
  return json(429, gatewayError('Rate limit reached, please retry later', 'rate_limit_error', 'rate_limit_exceeded'), {
    'Retry-After': '1',
  });
}

/** The `error.code` of the 429 a create gets while the account holds its quota of unfinished tasks. */
export const CONCURRENCY_LIMIT_CODE = 'concurrency_limit_exceeded';

/** No Retry-After: unlike a rate limit, the gateway cannot know when one of the account's tasks will end. */
export function concurrencyLimited(maxActiveTasks: number): RawAnswer {
  return json(
    429,
    gatewayError(
      `too many unfinished tasks: the account may have at most ${maxActiveTasks} tasks queued or in progress; retry once one has finished`,
      'rate_limit_error',
      CONCURRENCY_LIMIT_CODE,
    ),
  );
}

export type GatewayFaultStatus = 500 | 502 | 503 | 504;

/**
 * A gateway or upstream fault. 502 and 504 come from the proxy as HTML; 500 and 503 from the gateway
 * as its JSON error. `emptyBody` gives the bare 503 a gateway sends when it did not take the request.
 */
export function gatewayFault(status: GatewayFaultStatus, options: { emptyBody?: boolean } = {}): RawAnswer {
  if (options.emptyBody) return { status, headers: {}, body: '' };
  switch (status) {
    case 500:
      return json(500, gatewayError('upstream request failed', 'server_error', 'internal_error'));
    case 502:
      return proxyPage(502, 'Bad Gateway');
    case 503:
      return json(503, gatewayError('the service is temporarily unavailable', 'server_error', 'service_unavailable'));
    case 504:
      return proxyPage(504, 'Gateway Time-out');
  }
}

/** A 200 whose JSON stops half way: a strict prefix of a JSON object is never valid JSON. */
export function truncatedJson(body: object): RawAnswer {
  const text = JSON.stringify(body);
  return { status: 200, headers: { 'Content-Type': 'application/json' }, body: text.slice(0, Math.floor(text.length / 2)) };
}
