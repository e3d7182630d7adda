import type { JobStatus, RequestShape } from '../../domain/job.js';
import type { GenerationEstimate, PollContext } from './poll-policy.js';

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
  /** Seconds after submit before which generation had not begun (see PollContext); absent means 0. */
  startedNotBeforeSeconds?: number;
  /** True once startedNotBeforeSeconds is the provider's own start_time. */
  startReported?: boolean;
  /** What past jobs of this shape took, read once at submit so a poll reads nothing but the provider. */
  history?: GenerationEstimate;
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
}

/** What the poll policy is told about a task in this state: at submit, and after every poll. */
export function pollContext(poll: PollState, shape: RequestShape, elapsedSeconds: number, remainingSeconds: number, random: number): PollContext {
  return {
    shape,
    elapsedSeconds,
    startedNotBeforeSeconds: poll.startedNotBeforeSeconds ?? 0,
    startReported: poll.startReported === true,
    ...(poll.jobStatus === 'RUNNING' ? { progress: poll.progress } : {}),
    ...(poll.history ? { history: poll.history } : {}),
    remainingSeconds,
    random,
  };
}
