import type { JobStatus } from './job.js';

/**
 * What the workflow knows about the provider task between polls. It lives at `$.poll` in the
 * execution state; SubmitTask creates it and every PollTask returns the next one.
 */
export interface PollState {
  providerTaskId: string;
  submittedAt: string;
  jobStatus: Extract<JobStatus, 'SUBMITTED' | 'RUNNING' | 'SUCCEEDED'>;
  providerStatus: string;
  progress: number;
  polls: number;
  /** Seconds the Wait state sleeps before the next poll. */
  waitSeconds: number;
  checkedAt: string;
  /** True when status or progress moved, so the state machine writes the job record only then. */
  changed: boolean;
  videoUrl?: string;
  /** Polls in a row the provider failed (5xx, 429, timeout); reset by an answer. */
  consecutiveFailures?: number;
}
