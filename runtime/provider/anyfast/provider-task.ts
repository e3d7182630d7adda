import type { ProviderPhase, ProviderTaskSnapshot } from '../task-snapshot.js';
import * as z from '../../domain/zod.js';

/**
 * The provider's task answers come in several shapes (docs/provider-api.md; the simulator's
 * local/simulator/responses.ts renders them): the gateway envelope
 * `{code, data:{status:"IN_PROGRESS", progress:"50%", result_url, data:{content:{video_url}}}}`,
 * the upstream object with lower-case statuses, and an older flat `{id, status, video_url}`.
 * This module reads all of them into one snapshot.
 */

const PHASES: Record<string, ProviderPhase> = {
  '': 'queued',
  NOT_START: 'queued',
  SUBMITTED: 'queued',
  QUEUED: 'queued',
  PENDING: 'queued',
  IN_PROGRESS: 'running',
  RUNNING: 'running',
  PROCESSING: 'running',
  SUCCESS: 'succeeded',
  SUCCEEDED: 'succeeded',
  COMPLETED: 'succeeded',
  FAILURE: 'failed',
  FAILED: 'failed',
  CANCELLED: 'failed',
  CANCELED: 'failed',
  EXPIRED: 'failed',
};

/** Unknown words (UNKNOWN included) mean "still running": keep polling until the deadline. */
export function phaseOf(status: string): ProviderPhase {
  return PHASES[status.trim().toUpperCase()] ?? 'running';
}

/**
 * The gateway shows a running task as "30%" until the middle of its run and "50%" after it
 * (docs/provider-api.md; local/simulator/task-clock.ts answers the same): under 50 % the task is not
 * half way. The policy is told "at most 55 % done", so a gateway that flips a little late costs
 * lag, not a missed end. A running answer without a progress is read as the first step.
 */
const HALF_WAY_PERCENT = 50;
const BEFORE_HALF_WAY_SHARE = 0.55;
export function shareDoneAtMostOf(phase: ProviderPhase, progress: number | undefined): number | undefined {
  if (phase === 'succeeded') return 1;
  if (phase !== 'running') return undefined;
  return (progress ?? 0) < HALF_WAY_PERCENT ? BEFORE_HALF_WAY_SHARE : 1;
}

export function parseProgress(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number.parseFloat(value.replace('%', '')) : NaN;
  return Number.isFinite(number) ? Math.min(100, Math.max(0, Math.round(number))) : undefined;
}

const optionalText = z.nullish(z.string());
const epochSeconds = z.nullish(z.number());

const taskSchema = z.looseObject({
  task_id: optionalText,
  id: optionalText,
  status: z.nullish(z.string()),
  progress: z.nullish(z.union([z.string(), z.number()])),
  result_url: optionalText,
  video_url: optionalText,
  fail_reason: optionalText,
  error: z.nullish(z.union([z.string(), z.looseObject({ message: optionalText })])),
  submit_time: epochSeconds,
  start_time: epochSeconds,
  finish_time: epochSeconds,
  content: z.nullish(z.looseObject({ video_url: optionalText })),
  data: z.nullish(
    z.looseObject({
      status: optionalText,
      content: z.nullish(z.looseObject({ video_url: optionalText })),
    }),
  ),
});

type TaskBody = z.infer<typeof taskSchema>;

const envelopeSchema = z.looseObject({ code: z.nullish(z.union([z.string(), z.number()])), data: taskSchema });

const nonEmpty = (value: string | null | undefined) => (value && value.trim().length > 0 ? value.trim() : undefined);

function errorText(error: TaskBody['error']): string | undefined {
  return typeof error === 'string' ? nonEmpty(error) : nonEmpty(error?.message);
}

/** Reads any known answer shape; undefined when it is none of them. */
export function readTaskSnapshot(body: unknown, requestedTaskId: string): ProviderTaskSnapshot | undefined {
  const envelope = envelopeSchema.safeParse(body);
  const task = envelope.success && envelope.data.data.status != null ? envelope.data.data : taskSchema.safeParse(body).data;
  if (!task || task.status == null) return undefined;
  const providerStatus = task.status;
  const phase = phaseOf(providerStatus);
  const videoUrl = nonEmpty(task.result_url) ?? nonEmpty(task.data?.content?.video_url) ?? nonEmpty(task.content?.video_url) ?? nonEmpty(task.video_url);
  // Old gateways copy the video URL into fail_reason on success: read a failure only from a failed task.
  const failReason = phase === 'failed' ? (nonEmpty(task.fail_reason) ?? errorText(task.error) ?? providerStatus) : undefined;
  const progress = phase === 'succeeded' ? 100 : parseProgress(task.progress);
  const shareDoneAtMost = shareDoneAtMostOf(phase, progress);
  return {
    taskId: nonEmpty(task.task_id) ?? nonEmpty(task.id) ?? requestedTaskId,
    phase,
    providerStatus,
    ...(progress !== undefined ? { progress } : {}),
    ...(videoUrl ? { videoUrl } : {}),
    ...(failReason ? { failReason } : {}),
    ...(task.submit_time ? { submitTime: task.submit_time } : {}),
    ...(task.start_time ? { startTime: task.start_time } : {}),
    ...(task.finish_time ? { finishTime: task.finish_time } : {}),
    ...(shareDoneAtMost !== undefined ? { shareDoneAtMost } : {}),
  };
}

const createdSchema = z.looseObject({ id: optionalText, task_id: optionalText, data: z.nullish(z.looseObject({ task_id: optionalText, id: optionalText })) });

/** The task id from a create answer (`id`, `task_id`, or inside `data`). */
export function readCreatedTaskId(body: unknown): string | undefined {
  const parsed = createdSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { id, task_id, data } = parsed.data;
  return nonEmpty(task_id) ?? nonEmpty(id) ?? nonEmpty(data?.task_id) ?? nonEmpty(data?.id);
}

const gatewayErrorSchema = z.looseObject({
  error: z.nullish(z.looseObject({ message: optionalText, code: z.nullish(z.union([z.string(), z.number()])) })),
  code: z.nullish(z.union([z.string(), z.number()])),
  message: optionalText,
});

/** `{error:{message,code}}` or `{code:"task_not_exist", message}`. */
export function readGatewayError(body: unknown): { code?: string; message?: string } {
  const parsed = gatewayErrorSchema.safeParse(body);
  if (!parsed.success) return {};
  const code = parsed.data.error?.code ?? parsed.data.code;
  const message = nonEmpty(parsed.data.error?.message) ?? nonEmpty(parsed.data.message);
  return { ...(code != null ? { code: String(code) } : {}), ...(message ? { message } : {}) };
}
