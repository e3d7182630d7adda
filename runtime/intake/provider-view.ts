import type { JobRecord, JobStatus } from '../domain/job.js';

/**
 * A job in the provider's shapes (docs/provider-api.md), for the drop-in routes: the task id is the
 * job id, and the task's status is read from the job's. The mapping, and why (README, "Drop-in
 * provider API"):
 *
 * | job | provider | progress |
 * |---|---|---|
 * | QUEUED (in our admission line, not at the provider yet) | NOT_START | 0% |
 * | SUBMITTED (the provider has the task, not started) | QUEUED | the job's, at most 99% |
 * | RUNNING (generating, or its video being copied to S3) | IN_PROGRESS | the job's, at most 99% |
 * | SUCCEEDED, or TIMED_OUT with a video stored late | SUCCESS | 100%, `result_url` = our copy |
 * | FAILED, TIMED_OUT, CANCELLED | FAILURE | the job's; `fail_reason` = `<code>: <message>` |
 *
 * Progress stays under 100% until the video is in our bucket: a client that sees 100% may fetch it.
 */

export type ProviderTaskStatus = 'NOT_START' | 'QUEUED' | 'IN_PROGRESS' | 'SUCCESS' | 'FAILURE';

const BY_JOB_STATUS: Record<JobStatus, ProviderTaskStatus> = {
  QUEUED: 'NOT_START',
  SUBMITTED: 'QUEUED',
  RUNNING: 'IN_PROGRESS',
  SUCCEEDED: 'SUCCESS',
  FAILED: 'FAILURE',
  TIMED_OUT: 'FAILURE',
  CANCELLED: 'FAILURE',
};

export function providerStatusOf(job: Pick<JobRecord, 'status' | 'output'>): ProviderTaskStatus {
  // A TIMED_OUT job whose task, followed past the deadline, made its video after all: the video is there.
  if (job.status === 'TIMED_OUT' && job.output) return 'SUCCESS';
  return BY_JOB_STATUS[job.status];
}

/** Epoch seconds, as the gateway writes times; 0 for a time that has not come. */
const epochSeconds = (iso: string | undefined) => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);

/** The create answer: `status` is `""` until the first poll, as the gateway answers. */
export interface ProviderCreated {
  id: string;
  task_id: string;
  object: 'video';
  model: string;
  status: '';
  progress: 0;
  created_at: number;
}

export function providerCreated(job: Pick<JobRecord, 'jobId' | 'createdAt'>, model: string): ProviderCreated {
  return { id: job.jobId, task_id: job.jobId, object: 'video', model, status: '', progress: 0, created_at: epochSeconds(job.createdAt) };
}

export interface ProviderTask {
  task_id: string;
  action: 'generate';
  status: ProviderTaskStatus;
  /** `"50%"`. */
  progress: string;
  /** A presigned URL of our copy of the video on SUCCESS, else `""`. */
  result_url: string;
  /** `<code>: <message>` on FAILURE, else `""`. */
  fail_reason: string;
  submit_time: number;
  start_time: number;
  finish_time: number;
}

/** The poll answer: the gateway's `{ code, message, data }` envelope. */
export interface ProviderTaskEnvelope {
  code: 'success';
  message: '';
  data: ProviderTask;
}

export function providerTask(job: JobRecord, resultUrl: string | undefined): ProviderTaskEnvelope {
  const status = providerStatusOf(job);
  const progress = status === 'SUCCESS' ? 100 : status === 'NOT_START' ? 0 : Math.min(job.progress, 99);
  return {
    code: 'success',
    message: '',
    data: {
      task_id: job.jobId,
      action: 'generate',
      status,
      progress: `${progress}%`,
      result_url: status === 'SUCCESS' && resultUrl ? resultUrl : '',
      fail_reason: status === 'FAILURE' ? (job.error ? `${job.error.code}: ${job.error.message}` : job.status) : '',
      // Accepted by us, handed to the provider (generation starts there), ended.
      submit_time: epochSeconds(job.createdAt),
      start_time: epochSeconds(job.submittedAt),
      finish_time: status === 'SUCCESS' || status === 'FAILURE' ? epochSeconds(job.finishedAt ?? job.updatedAt) : 0,
    },
  };
}
