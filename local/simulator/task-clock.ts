import type { ProviderRequest } from '../../lambdas/core/request-schema.js';
import { durationSeconds } from './video-spec.js';

/**
 * A task's status is a pure function of the clock: the simulator stores when a task was created,
 * how long it was planned to take and how it ended, and derives every poll answer from that. No
 * timers run per task, so thousands of tasks cost nothing and a poll can never see a status that
 * goes backwards.
 */

export type GatewayStatus = 'NOT_START' | 'QUEUED' | 'IN_PROGRESS' | 'SUCCESS' | 'FAILURE';

/**
 * Generation time of a 5 s, 480p, silent clip: lognormal with a median of 120 s. sigma is chosen
 * so that the 5th..95th percentiles (median × e^(∓1.645 sigma)) come to about 54..270 s, the
 * closest a lognormal centred on 120 s gets to the 60..300 s reported for the provider.
 */
const BASE_MEDIAN_SECONDS = 120;
const SIGMA = Math.log(5) / (2 * 1.645);
/**
 * Factors on that base, multiplied together:
 * - duration: 0.3 + 0.7 × seconds / 5. Most of the work grows with the number of frames, but a
 *   part (queue hand-off, prompt encoding, muxing) does not: 4 s → 0.86, 10 s → 1.7, 15 s → 2.4.
 * - 720p: × 1.5. It has 2.25× the pixels of 480p, but the fixed part above does not grow.
 * - generate_audio: × 1.1, the audio model runs beside the video model.
 * So the default request (5 s, 720p, audio) has a median of about 200 s, inside the provider's
 * "1 to 5 minutes for a 5 s clip".
 */
const FIXED_SHARE = 0.3;
const RESOLUTION_FACTOR = { '480p': 1, '720p': 1.5 } as const;
const AUDIO_FACTOR = 1.1;

/** Fractions of the planned time spent before the gateway relays the task, and in the upstream queue. */
const NOT_STARTED_UNTIL = 0.1;
const QUEUED_UNTIL = 0.25;
/** The gateway reports running tasks only as 30% and then, past the middle of the run, 50%. */
const RUNNING_MIDPOINT = (QUEUED_UNTIL + 1) / 2;

function standardNormal(): number {
  // 1 - Math.random() lies in (0, 1], so the logarithm stays finite.
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

function medianGenerationSeconds(
  request: Pick<ProviderRequest, 'duration' | 'resolution' | 'generate_audio'>,
): number {
  const durationFactor = FIXED_SHARE + (1 - FIXED_SHARE) * (durationSeconds(request) / 5);
  const audioFactor = request.generate_audio ? AUDIO_FACTOR : 1;
  return BASE_MEDIAN_SECONDS * durationFactor * RESOLUTION_FACTOR[request.resolution] * audioFactor;
}

/** A random generation time in milliseconds, already multiplied by the time scale. */
export function plannedGenerationMs(
  request: Pick<ProviderRequest, 'duration' | 'resolution' | 'generate_audio'>,
  timeScale: number,
): number {
  return Math.round(medianGenerationSeconds(request) * Math.exp(SIGMA * standardNormal()) * timeScale * 1000);
}

/** How a task ended, once known; `at` may be after the planned end when rendering was slower. */
export type TaskOutcome = { kind: 'succeeded'; at: number } | { kind: 'failed'; at: number; reason: string };

export interface TaskTimeline {
  createdAt: number;
  plannedMs: number;
  outcome?: TaskOutcome;
}

export interface ClockReading {
  status: GatewayStatus;
  /** 0..100, as the gateway rounds it. */
  progress: number;
  startedAt?: number;
  finishedAt?: number;
  failReason?: string;
}

export function readClock(timeline: TaskTimeline, now: number): ClockReading {
  const { createdAt, plannedMs, outcome } = timeline;
  const at = (fraction: number) => createdAt + plannedMs * fraction;
  const startedAt = at(QUEUED_UNTIL);
  const finishedAt = outcome ? Math.max(at(1), outcome.at) : undefined;

  if (outcome && finishedAt !== undefined && now >= finishedAt) {
    return outcome.kind === 'succeeded'
      ? { status: 'SUCCESS', progress: 100, startedAt, finishedAt }
      : { status: 'FAILURE', progress: 100, startedAt, finishedAt, failReason: outcome.reason };
  }
  if (now < at(NOT_STARTED_UNTIL)) return { status: 'NOT_START', progress: 0 };
  if (now < startedAt) return { status: 'QUEUED', progress: 10 };
  return { status: 'IN_PROGRESS', progress: now < at(RUNNING_MIDPOINT) ? 30 : 50, startedAt };
}
