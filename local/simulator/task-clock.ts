import type { ProviderRequest } from '../../runtime/domain/request-schema.js';
import { durationSeconds } from './video-spec.js';

/**
 * A task's status is a pure function of the clock: the simulator stores when a task was created,
 * how long it was planned to take and how it ended, and derives every poll answer from that. No
 * timers run per task, so thousands of tasks cost nothing and a poll can never see a status that
 * goes backwards.
 */

export type GatewayStatus = 'NOT_START' | 'QUEUED' | 'IN_PROGRESS' | 'SUCCESS' | 'FAILURE';

/**
 * A task waits (gateway relay, then the upstream queue) and then generates; the two are drawn apart
 * because they have different causes: the wait depends on how busy the account is, the generation
 * on the request. Both are lognormal, clipped: the provider states "1 to 5 minutes for a 5 s clip"
 * (docs/provider-api.md), and an unclipped tail sent one default job in ten past 5 minutes (one drew
 * 544 s). test/unit/simulator-timing.test.ts draws them and checks that at least 90 % of default
 * requests take 1 to 5 minutes; the percentiles it prints are in docs/provider-simulator.md.
 */
export interface LognormalSeconds {
  medianSeconds: number;
  sigma: number;
  /** Draws beyond these bounds are held at them. */
  minSeconds?: number;
  maxSeconds?: number;
}

/** A quiet account: the task starts within seconds, sometimes a minute, never after a minute and a half. */
export const QUIET_QUEUE: LognormalSeconds = { medianSeconds: 10, sigma: 0.8, maxSeconds: 90 };
/** Spread of the generation time around its median, whatever the request. */
export const GENERATION_SIGMA = 0.3;
/** A generation takes from half to twice its median: the clip of its draw. */
const GENERATION_CLIP = { below: 0.5, above: 2 };
/** Median generation time of a 5 s, 480p, silent clip. */
const BASE_GENERATION_SECONDS = 90;
/**
 * Factors on that base, multiplied together:
 * - duration: 0.3 + 0.7 × seconds / 5. Most of the work grows with the number of frames, but a
 *   part (prompt encoding, muxing) does not: 4 s → 0.86, 10 s → 1.7, 15 s → 2.4.
 * - 720p: × 1.5. It has 2.25× the pixels of 480p, but the fixed part above does not grow.
 * - generate_audio: × 1.1, the audio model runs beside the video model.
 * So the default request (5 s, 720p, audio) generates in about 150 s at the median.
 */
const FIXED_SHARE = 0.3;
const RESOLUTION_FACTOR = { '480p': 1, '720p': 1.5 } as const;
const AUDIO_FACTOR = 1.1;

/** The share of the wait before the gateway has relayed the task upstream (NOT_START, then QUEUED). */
const RELAY_SHARE = 0.3;
/** The gateway reports running tasks only as 30% and then, past the middle of the run, 50%. */
const RUNNING_MIDPOINT = 0.5;

export function standardNormal(random: () => number = Math.random): number {
  // 1 - random() lies in (0, 1], so the logarithm stays finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function drawSeconds(model: LognormalSeconds, random: () => number = Math.random): number {
  const seconds = model.medianSeconds * Math.exp(model.sigma * standardNormal(random));
  return Math.min(model.maxSeconds ?? Infinity, Math.max(model.minSeconds ?? 0, seconds));
}

export function generationModel(request: Pick<ProviderRequest, 'duration' | 'resolution' | 'generate_audio'>): LognormalSeconds {
  const durationFactor = FIXED_SHARE + (1 - FIXED_SHARE) * (durationSeconds(request) / 5);
  const audioFactor = request.generate_audio ? AUDIO_FACTOR : 1;
  const medianSeconds = BASE_GENERATION_SECONDS * durationFactor * RESOLUTION_FACTOR[request.resolution] * audioFactor;
  return {
    medianSeconds,
    sigma: GENERATION_SIGMA,
    minSeconds: medianSeconds * GENERATION_CLIP.below,
    maxSeconds: medianSeconds * GENERATION_CLIP.above,
  };
}

/** When a new task will start and end, in milliseconds after its creation, already multiplied by the time scale. */
export function planTask(
  request: Pick<ProviderRequest, 'duration' | 'resolution' | 'generate_audio'>,
  timeScale: number,
  random: () => number = Math.random,
): Pick<TaskTimeline, 'startsAfterMs' | 'plannedMs'> {
  const waitMs = drawSeconds(QUIET_QUEUE, random) * timeScale * 1000;
  const generationMs = drawSeconds(generationModel(request), random) * timeScale * 1000;
  return { startsAfterMs: Math.round(waitMs), plannedMs: Math.round(waitMs + generationMs) };
}

/** How a task ended, once known; `at` may be after the planned end when rendering was slower. */
export type TaskOutcome = { kind: 'succeeded'; at: number } | { kind: 'failed'; at: number; reason: string };

export interface TaskTimeline {
  createdAt: number;
  /** When generation starts, after the creation; tasks.json files from before it was kept start at a quarter of plannedMs. */
  startsAfterMs?: number;
  /** When generation ends, after the creation. */
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
  const startsAfterMs = Math.min(plannedMs, timeline.startsAfterMs ?? plannedMs / 4);
  const startedAt = createdAt + startsAfterMs;
  const finishedAt = outcome ? Math.max(createdAt + plannedMs, outcome.at) : undefined;

  if (outcome && finishedAt !== undefined && now >= finishedAt) {
    return outcome.kind === 'succeeded'
      ? { status: 'SUCCESS', progress: 100, startedAt, finishedAt }
      : { status: 'FAILURE', progress: 100, startedAt, finishedAt, failReason: outcome.reason };
  }
  if (now < createdAt + startsAfterMs * RELAY_SHARE) return { status: 'NOT_START', progress: 0 };
  if (now < startedAt) return { status: 'QUEUED', progress: 10 };
  const midpoint = startedAt + (plannedMs - startsAfterMs) * RUNNING_MIDPOINT;
  return { status: 'IN_PROGRESS', progress: now < midpoint ? 30 : 50, startedAt };
}
