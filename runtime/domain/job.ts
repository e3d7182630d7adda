import type { FieldIssue } from './errors.js';
import type { ProviderRequest } from './request-schema.js';
import type { Priority, WAITING } from '../admission/admission-line.js';
import type { WebhookEvent } from '../../contracts/webhooks.js';

export const JOB_STATUSES = ['QUEUED', 'SUBMITTED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'];
export const ACTIVE_STATUSES: readonly JobStatus[] = ['QUEUED', 'SUBMITTED', 'RUNNING'];

export type TriggerType = 'http' | 's3' | 'schedule';

export interface JobOutput {
  bucket: string;
  key: string;
  bytes: number;
  contentType: string;
  sha256: string;
}

export interface JobError {
  code: string;
  message: string;
  issues?: FieldIssue[];
}

/** What the request looks like for the poll policy: enough to guess how long it will take. */
export interface RequestShape {
  duration: number;
  resolution: '480p' | '720p';
  generateAudio: boolean;
  media: 'text' | 'image' | 'video';
}

/** One try at delivering one event to the job's webhook. */
export interface WebhookAttempt {
  event: WebhookEvent;
  /** The event's `webhook-id`, the same for every attempt at it. */
  webhookId: string;
  /** 1 for the first try. */
  attempt: number;
  at: string;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why there is no status: refused address, timeout, connection error. */
  error?: string;
}

/** Where a job's events go (its own, or the stack's default), and how their deliveries went. */
export interface JobWebhook {
  url: string;
  events: WebhookEvent[];
  /** The newest attempts, oldest first (at most MAX_WEBHOOK_ATTEMPTS_KEPT). */
  attempts?: WebhookAttempt[];
  /** The receiver answered 410 Gone: no more deliveries for this job. */
  goneAt?: string;
}

/** The constant partition of the byCreatedAt index: every job, newest first. */
export const JOB_KIND = 'job';

/**
 * What a job id may be. Ours are UUIDs or `idem-`/`upload-`/`batch-` + 40 hex digits; the rule is
 * wider so a later trigger may mint its own, yet far below DynamoDB's 2,048-byte key limit, never
 * in need of percent-encoding in a URL, and never `.` or `..`, which clients resolve away in paths.
 */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const JOB_ID_RULE = '1 to 128 characters: a letter or digit, then letters, digits, . _ : -';

/** One item of the Jobs table. */
export interface JobRecord {
  jobId: string;
  kind: typeof JOB_KIND;
  status: JobStatus;
  progress: number;
  /**
   * The request as the provider receives it, data: URIs elided (the full body is in S3 at requestKey).
   * Absent only on a job refused at the door: VALIDATION_ERROR (its body never met the contract), or an
   * upload refused PAYLOAD_TOO_LARGE or UPLOAD_SUPERSEDED (runtime/triggers/upload-intake.ts).
   */
  request?: ProviderRequest;
  requestKey?: string;
  trigger: { type: TriggerType; source: string };
  metadata?: Record<string, string>;
  webhook?: JobWebhook;
  warnings?: string[];
  /** Waiting for the next batch run to put it in the admission line (POST /jobs?schedule=batch). */
  deferred?: boolean;
  /** Its lane in the admission line (admission-line.ts). */
  priority?: Priority;
  /** When it joined the admission line (its last time, if it was sent back). */
  queuedAt?: string;
  /** `waiting` while it waits in the admission line: the partition of the line index, removed when it is admitted or ends. */
  inLine?: typeof WAITING;
  /** Its place in the admission line (the line index's sort key). */
  lineKey?: string;
  /** How many times it was admitted (took a slot and had an execution started); names the execution. */
  admissions?: number;
  /** When it last took a slot; its deadline counts from here. */
  admittedAt?: string;
  /** sha256 of the parsed request: a second submission under the same job id must match it. */
  requestHash?: string;
  providerTaskId?: string;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string;
  /** While the provider task runs: when it will most likely end (the poll policy's estimate, runtime/workflow/polling/poll-policy.ts). */
  estimatedFinishAt?: string;
  finishedAt?: string;
  deadlineAt: string;
  polls?: number;
  /** How many times the sweeper resumed the job in a new execution after its own was lost. */
  resumes?: number;
  output?: JobOutput;
  error?: JobError;
  executionArn?: string;
  /** When its completion event was published: a retried announcement finds it and publishes nothing. */
  announcedAt?: string;
  /** The job this one runs again (POST /jobs/{jobId}/rerun). */
  rerunOf?: string;
  /** The jobs that run this one again, oldest first (the newest MAX_RERUNS_LISTED). */
  reruns?: string[];
  /** A TIMED_OUT job whose video was stored after all (its task, followed past the deadline, succeeded). */
  lateVideoAt?: string;
  /** When its late video was announced (`Job Late Video Stored`). */
  lateAnnouncedAt?: string;
}

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function requestShape(request: ProviderRequest): RequestShape {
  const types = new Set(request.content.map((item) => item.type));
  return {
    duration: request.duration,
    resolution: request.resolution,
    generateAudio: request.generate_audio,
    media: types.has('video_url') ? 'video' : types.has('image_url') ? 'image' : 'text',
  };
}

const DATA_URI_PREFIX = /^(data:[^;,]+)[^,]*,/;

/** Keeps the stored job record small: a data: URI becomes `data:image/png;base64,…(1234 bytes)`. */
export function elideDataUris(request: ProviderRequest): ProviderRequest {
  const elide = (url: string) => {
    const match = DATA_URI_PREFIX.exec(url);
    return match ? `${match[1]};base64,…(${url.length - match[0].length} bytes)` : url;
  };
  return {
    ...request,
    content: request.content.map((item) => {
      switch (item.type) {
        case 'image_url':
          return { ...item, image_url: { url: elide(item.image_url.url) } };
        case 'audio_url':
          return { ...item, audio_url: { url: elide(item.audio_url.url) } };
        default:
          return item;
      }
    }),
  };
}
