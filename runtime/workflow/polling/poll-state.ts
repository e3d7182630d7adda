import type { WorkflowWebhookEvent } from '../../../contracts/webhooks.js';
import type { JobStatus } from '../../domain/job.js';
import type { PolicyMemory } from './poll-policy.js';

/**
 * What the workflow knows about the provider task between polls. It lives at `$.poll` in the
 * execution state; SubmitTask creates it and every PollTask returns the next one. The state machine
 * reads its fields (infra/constructs/generation-workflow.ts; test/infra asserts the paths), except
 * `policy`, which only the poll policy reads.
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
  /** When the task will most likely end (the poll policy's estimate): written with the status, shown while the job runs. */
  estimatedFinishAt: string;
  /** True when status or progress moved, so the state machine writes the job record only then. */
  changed: boolean;
  videoUrl?: string;
  /** Polls in a row the provider failed (5xx, 429, timeout); reset by an answer. */
  consecutiveFailures?: number;
  /** On success, the provider's own start-to-finish time: the sample the history learns from. */
  generationSeconds?: number;
  /**
   * Set by the poll that found the deadline passed with the task unfinished: why the job ends
   * TIMED_OUT (the workflow records it, then goes on following the task).
   */
  overdue?: { code: string; message: string; at: string };
  /** The job has ended TIMED_OUT and the task is followed on: a video it still makes is stored late. */
  late?: boolean;
  /** Following a late task stopped: it failed, vanished, or outlived the follow window. Nothing more to do. */
  lateEnded?: string;
  /** Publish `Job Progress` when status or progress moves: the job's webhook takes `progress` (WorkflowInput.notify). */
  notify?: WorkflowWebhookEvent[];
  /** The poll policy's own memory (poll-memory.ts), carried from poll to poll unread. Absent on a resumed job. */
  policy?: PolicyMemory;
}

/** The ISO time `seconds` after `from`, to the second: what the job record shows. */
export function secondsAfter(from: Date, seconds: number): string {
  return new Date(from.getTime() + Math.round(seconds) * 1000).toISOString();
}
