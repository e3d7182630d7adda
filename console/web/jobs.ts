import type { FieldIssue } from './api.js';

/** A job as GET /jobs/{jobId} answers it (runtime/intake/job-view.ts), with the fields the page reads. */
export interface ContentItem {
  type: string;
  text?: string;
  image_url?: { url: string };
  video_url?: { url: string };
  audio_url?: { url: string };
  role?: string;
}

export interface JobRequest {
  model: string;
  content: ContentItem[];
  generate_audio: boolean;
  resolution: string;
  ratio: string;
  duration: number;
  watermark: boolean;
  tools?: { type: string }[];
}

export interface Job {
  jobId: string;
  status: string;
  progress: number;
  request?: JobRequest;
  trigger: { type: string; source: string };
  metadata?: Record<string, string>;
  /** Where its events go, and each delivery attempt (README, Webhooks). */
  webhook?: {
    url: string;
    events: string[];
    attempts?: { event: string; webhookId: string; attempt: number; at: string; status?: number; error?: string }[];
    goneAt?: string;
  };
  warnings?: string[];
  deferred?: boolean;
  priority?: string;
  queuedAt?: string;
  waiting: boolean;
  ahead?: number;
  admissions?: number;
  admittedAt?: string;
  providerTaskId?: string;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string;
  estimatedFinishAt?: string;
  finishedAt?: string;
  deadlineAt?: string;
  polls?: number;
  resumes?: number;
  output?: { bucket: string; key: string; bytes: number; contentType: string; sha256: string };
  error?: { code: string; message: string; issues?: FieldIssue[] };
  lateVideoAt?: string;
  downloadUrl?: string;
  /** POST /jobs/{jobId}/rerun: the job this one runs again, and the jobs that ran this one again. */
  rerunOf?: string;
  reruns?: string[];
}

export interface JobPage {
  jobs: Job[];
  nextCursor?: string;
}

export const TERMINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);

export function isTerminal(job: Pick<Job, 'status'>): boolean {
  return TERMINAL_STATUSES.has(job.status);
}

export function promptOf(job: Pick<Job, 'request'>): string | undefined {
  return job.request?.content.find((item) => item.type === 'text')?.text;
}

/** What a person calls the status: a QUEUED job is either waiting in line or started and not yet submitted. */
export function statusLabel(job: Pick<Job, 'status' | 'waiting' | 'deferred'>): string {
  if (job.status === 'QUEUED' && job.deferred) return 'QUEUED · for the next batch';
  if (job.status === 'QUEUED' && job.waiting) return 'WAITING';
  return job.status;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

/** "in 3 min", "12 s ago": how far a time is from now. */
export function relativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const size = Math.abs(seconds);
  const amount = size < 90 ? `${size} s` : size < 5400 ? `${Math.round(size / 60)} min` : `${Math.round(size / 3600)} h`;
  return seconds >= 0 ? `in ${amount}` : `${amount} ago`;
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]} (${bytes.toLocaleString()} bytes)`;
}

export interface TimelineEntry {
  at: string;
  what: string;
}

/** The status changes the record keeps a time for, in the order they happened. */
export function timelineOf(job: Job): TimelineEntry[] {
  const entries: (TimelineEntry | undefined)[] = [
    { at: job.createdAt, what: `Recorded (${job.trigger.type} trigger)` },
    job.queuedAt && job.queuedAt !== job.createdAt ? { at: job.queuedAt, what: 'Joined the admission line' } : undefined,
    job.admittedAt
      ? { at: job.admittedAt, what: `Took a slot and started${job.admissions && job.admissions > 1 ? ` (admission ${job.admissions})` : ''}` }
      : undefined,
    job.submittedAt ? { at: job.submittedAt, what: 'The provider accepted the task' } : undefined,
    job.finishedAt ? { at: job.finishedAt, what: `Ended ${job.status}` } : undefined,
    job.lateVideoAt ? { at: job.lateVideoAt, what: 'Late video stored' } : undefined,
  ];
  const timeline = entries.filter((entry): entry is TimelineEntry => entry !== undefined);
  if (!timeline.some((entry) => entry.at === job.updatedAt)) {
    timeline.push({ at: job.updatedAt, what: isTerminal(job) ? 'Last update' : `Last update: ${job.status}, ${job.progress} %` });
  }
  return timeline.sort((a, b) => a.at.localeCompare(b.at));
}
