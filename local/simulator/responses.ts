import type { GatewayStatus } from './task-clock.js';
import { FRAMES_PER_SECOND } from './video-spec.js';

/**
 * The answers of the provider API. A poll can be answered in the three shapes clients meet in the
 * wild (see provider-api.md), so client code can be tested against each of them.
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
