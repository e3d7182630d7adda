import type { RequestShape } from './job.js';

/**
 * How long to wait before the next poll. A fixed 15 s poller spends most of its polls in the first
 * minute, when no 5 s clip is ever done. We aim the first polls at the time a job of this shape is
 * expected to take, then poll more densely as the task nears its end, within bounds.
 */

export const MIN_POLL_SECONDS = 3;
export const MAX_POLL_SECONDS = 60;
export const MIN_RETRY_POLL_SECONDS = 2;
export const STEADY_POLL_SECONDS = 13.5;
/** Median generation time of a 5 s, 480p, silent, text-only clip (provider: 1–5 minutes). */
const BASE_EXPECTED_SECONDS = 100;

export interface PollContext {
  shape: RequestShape;
  /** Seconds since the task was created at the provider. */
  elapsedSeconds: number;
  /** Seconds left before the job's deadline. */
  remainingSeconds: number;
  /** A number in [0, 1): the jitter source, injectable so tests are exact. */
  random: number;
}

/** The typical generation time for a request of this shape. */
export function expectedGenerationSeconds(shape: RequestShape): number {
  const seconds = shape.duration === -1 ? 5 : shape.duration;
  const lengthFactor = 0.6 + 0.08 * seconds;
  const resolutionFactor = shape.resolution === '720p' ? 1.3 : 1;
  const audioFactor = shape.generateAudio ? 1.15 : 1;
  const mediaFactor = shape.media === 'video' ? 1.2 : 1;
  return BASE_EXPECTED_SECONDS * lengthFactor * resolutionFactor * audioFactor * mediaFactor;
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

export function nextPollSeconds(context: PollContext): number {
  const expected = expectedGenerationSeconds(context.shape);
  // The earliest plausible finish is about half the typical time: polling before it learns nothing.
  const earliestFinish = expected * 0.5;
  let wait: number;
  if (context.elapsedSeconds < earliestFinish) {
    wait = earliestFinish - context.elapsedSeconds;
  } else {
    // Past the early window the task can end at any moment: a steady gap, which bounds the detection
    // lag (p95 ≈ 0.95 × gap) just under what the provider's suggested 15 s cadence gives. Tightening on
    // "50%" was measured to cost 40 % more polls for lag nobody asked for (npm run bench).
    wait = STEADY_POLL_SECONDS;
  }
  const jittered = wait * (0.9 + 0.2 * context.random);
  const bounded = Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, jittered));
  // Never sleep past the deadline: the poll after it is the one that ends the job TIMED_OUT.
  return Math.max(1, Math.min(Math.round(bounded), Math.floor(context.remainingSeconds)));
}
