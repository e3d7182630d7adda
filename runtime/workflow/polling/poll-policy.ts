import { MAX_POLL_SECONDS, MIN_POLL_SECONDS } from '../../../contracts/workflow.js';
import type { RequestShape } from '../../domain/job.js';
import { currentMemory, type GenerationEstimate, type PolicyMemory } from './poll-memory.js';

/**
 * How long to wait before the next poll. A fixed 15 s poller spends most of its polls before any
 * task can be done. We know better at every step:
 * - the provider's `start_time` (or that the task is still waiting) says when generation began;
 * - the progress bounds how much of its run a running task has done (the provider adapter reads
 *   it: runtime/provider/anyfast/provider-task.ts shareDoneAtMostOf), so a task not half way yet
 *   has about as long again to go;
 * - how long generation takes for this request shape, learned from past jobs (generation-history)
 *   or, until there are enough of them, a prior from the request;
 * so we sleep until the earliest plausible end, poll at a steady gap while the task is likely to
 * end, and poll less often in the tail, where a late task's few seconds of lag weigh least.
 * `npm run bench` (polling) shows what each of these adds.
 *
 * The policy's index. SubmitTask and PollTask call startMemory, rememberAnswer, pollContext,
 * nextPollSeconds and retryPollSeconds, and carry the memory at `$.poll.policy` unread. So a policy
 * change touches this file, poll-memory.ts (bump its version when what it remembers changes
 * meaning) and test/unit/poll-policy.test.ts; bench/polling.ts only for a new ablation,
 * test/infra/state-machine.test.ts only if the floor or the cap moves; a new signal from the
 * provider adds a field to runtime/provider/task-snapshot.ts and its reading to the adapter
 * (runtime/provider/anyfast/). Not poll-state.ts, the workflow, the sweeper or the ASL.
 */

export { rememberAnswer, startMemory, type GenerationEstimate, type PolicyMemory } from './poll-memory.js';
export { MAX_POLL_SECONDS, MIN_POLL_SECONDS };
export const MIN_RETRY_POLL_SECONDS = 2;
/**
 * The gap while the task may end at any moment. Detection lag is then uniform on [0, gap], so its
 * p95 stays under the provider's suggested 15 s cadence (p95 14.25 s) with room for the jitter.
 */
export const STEADY_POLL_SECONDS = 14;
const JITTER = 0.05;
/** Generation times before the 5th percentile of the shape's spread are rare enough to sleep through. */
const EARLY_QUANTILE_Z = 1.645;
/** Past the 97.5th percentile the gap grows with the generation time, keeping the lag a small share of it. */
const LATE_QUANTILE_Z = 1.96;

export interface PollContext {
  shape: RequestShape;
  /** Seconds since the task was created at the provider. */
  elapsedSeconds: number;
  /**
   * Seconds after creation before which generation surely had not begun: the provider's
   * `start_time` once it gave one, else the last time it said the task was still waiting, else 0.
   */
  startedNotBeforeSeconds: number;
  /** True when startedNotBeforeSeconds is the provider's own start_time, not a bound of ours. */
  startReported: boolean;
  /** The share of its run the task has done at most (0 < share ≤ 1), from the provider's progress. */
  shareDoneAtMost?: number;
  /** What past jobs of this shape took; the prior when absent. */
  history?: GenerationEstimate;
  /** Seconds left before the job's deadline. */
  remainingSeconds: number;
  /** A number in [0, 1): the jitter source, injectable so tests are exact. */
  random: number;
}

/** Median generation time of a 5 s, 480p, silent, text-only clip (provider: 1–5 minutes in all). */
const PRIOR_MEDIAN_SECONDS = 90;
/** The prior is a guess: wider than any one shape's learned spread, so it sleeps less on it. */
const PRIOR_SIGMA = 0.6;

/** What we assume a request of this shape takes before any job of its shape has finished. */
export function priorGenerationEstimate(shape: RequestShape): GenerationEstimate {
  const seconds = shape.duration === -1 ? 5 : shape.duration;
  const lengthFactor = 0.6 + 0.08 * seconds;
  const resolutionFactor = shape.resolution === '720p' ? 1.3 : 1;
  const audioFactor = shape.generateAudio ? 1.15 : 1;
  const mediaFactor = shape.media === 'video' ? 1.2 : 1;
  return { medianSeconds: PRIOR_MEDIAN_SECONDS * lengthFactor * resolutionFactor * audioFactor * mediaFactor, sigma: PRIOR_SIGMA, samples: 0 };
}

/**
 * The wait after a poll the provider failed: exponential backoff with full jitter (2 s, 4 s, 8 s …
 * capped at MAX_POLL_SECONDS), never past the deadline, so a flaky provider is not hammered and a
 * dead one ends the job at its deadline.
 */
export function retryPollSeconds(consecutiveFailures: number, remainingSeconds: number, random: number): number {
  const ceiling = Math.min(MAX_POLL_SECONDS, 2 ** Math.min(consecutiveFailures, 10));
  // At least 2 s: the worst case of a provider failing every poll then stays within the history limit.
  const jittered = Math.max(MIN_RETRY_POLL_SECONDS, Math.round(ceiling * random));
  return Math.max(1, Math.min(jittered, Math.floor(remainingSeconds)));
}

/** A task that has done at most a share f of its run after r seconds of running runs r / f in all, at least. */
function earliestEndFromProgress(context: PollContext, start: number): number {
  const share = context.shareDoneAtMost;
  if (!context.startReported || share === undefined || share >= 1) return 0;
  return start + (context.elapsedSeconds - start) / share;
}

/** What the policy is told about a task, from its memory: at submit, and after every poll. */
export function pollContext(
  memory: PolicyMemory | undefined,
  shape: RequestShape,
  elapsedSeconds: number,
  remainingSeconds: number,
  random: number,
): PollContext {
  const known = currentMemory(memory);
  return {
    shape,
    elapsedSeconds,
    startedNotBeforeSeconds: known.startedNotBeforeSeconds ?? 0,
    startReported: known.startReported === true,
    ...(known.shareDoneAtMost !== undefined ? { shareDoneAtMost: known.shareDoneAtMost } : {}),
    ...(known.history ? { history: known.history } : {}),
    remainingSeconds,
    random,
  };
}

/**
 * When the task will most likely end, in seconds after its creation (the job's `estimatedFinishAt`):
 * the median of its shape's generation time from when it began, later if its progress says it has
 * further to go, and never before the next poll could see it, so a task past its median is not
 * shown as due already.
 */
export function estimatedEndSeconds(context: PollContext): number {
  const estimate = context.history ?? priorGenerationEstimate(context.shape);
  const start = Math.min(context.startedNotBeforeSeconds, context.elapsedSeconds);
  return Math.max(start + estimate.medianSeconds, earliestEndFromProgress(context, start), context.elapsedSeconds + STEADY_POLL_SECONDS);
}

export function nextPollSeconds(context: PollContext): number {
  const estimate = context.history ?? priorGenerationEstimate(context.shape);
  const start = Math.min(context.startedNotBeforeSeconds, context.elapsedSeconds);
  const earliestEndFromHistory = start + estimate.medianSeconds * Math.exp(-EARLY_QUANTILE_Z * estimate.sigma);
  const lateEnd = start + estimate.medianSeconds * Math.exp(LATE_QUANTILE_Z * estimate.sigma);
  const earliestEnd = Math.max(earliestEndFromHistory, earliestEndFromProgress(context, start));
  let wait: number;
  if (context.elapsedSeconds < lateEnd) {
    // Never closer than the steady gap: a task that could end a few seconds from now is one the
    // steady gap would catch with no more than its usual lag.
    wait = Math.max(earliestEnd - context.elapsedSeconds, STEADY_POLL_SECONDS);
  } else {
    wait = (STEADY_POLL_SECONDS * (context.elapsedSeconds - start)) / (lateEnd - start);
  }
  const jittered = wait * (1 - JITTER + 2 * JITTER * context.random);
  const bounded = Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, jittered));
  // Never sleep past the deadline: the poll after it is the one that ends the job TIMED_OUT.
  return Math.max(1, Math.min(Math.round(bounded), Math.floor(context.remainingSeconds)));
}
