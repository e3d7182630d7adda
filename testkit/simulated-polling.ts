/**
 * One job polled on a simulated clock (no HTTP, no sleeping): the provider's answers come from the
 * simulator's own task clock (local/simulator/task-clock.ts readClock), rendered as the gateway's
 * envelope (local/simulator/responses.ts) and parsed by our readTaskSnapshot; the first wait is the
 * real submitTask's and every poll runs the real pollTask (runtime/workflow/poll-task.ts). A poller
 * other than ours replaces only the wait. State transitions are counted as the ASL of
 * infra/constructs/generation-workflow.ts runs them.
 *
 * bench/polling.ts runs whole populations of jobs through it; fixedPollerPolls prices the fixed
 * poller's baseline of a run on the local stack (testkit/aws-cost.ts fixedPollerBaseline).
 */
import type { RequestShape } from '../runtime/domain/job.js';
import type { ProviderRequest } from '../runtime/domain/request-schema.js';
import { readTaskSnapshot } from '../runtime/provider/anyfast/provider-task.js';
import type { ProviderTaskSnapshot } from '../runtime/provider/task-snapshot.js';
import { nextPollSeconds, pollContext, type GenerationEstimate, type PollContext } from '../runtime/workflow/polling/poll-policy.js';
import type { PollState } from '../runtime/workflow/polling/poll-state.js';
import { pollTask } from '../runtime/workflow/poll-task.js';
import { submitTask } from '../runtime/workflow/submit-task.js';
import { pollBody } from '../local/simulator/responses.js';
import { readClock, type TaskTimeline } from '../local/simulator/task-clock.js';
import { seededRandom } from './seeded-random.js';

/** The polling simulation has no admission line: every create is taken. */
const unlimitedSlots = { recordCreated: async () => {}, recordRefused: async () => ({ cap: 1, threshold: 1 }) };

export const DEADLINE_SECONDS = 30 * 60;
const EPOCH = Date.UTC(2026, 0, 1);
/** The fixed poller the baseline is: every 15 s. */
export const REFERENCE_INTERVAL = 15;
/** A 5 s 480p silent clip from a text prompt. */
export const BASE_SHAPE: RequestShape = { duration: 5, resolution: '480p', generateAudio: false, media: 'text' };

/** Success path outside the poll loop: IsResume, SubmitTask, RecordSubmitted, FreeSlot, StoreVideo, RecordSucceeded, AnnounceOutcome, HowDidItEnd, JobSucceeded. */
const FIXED_SUCCESS_TRANSITIONS = 9;
/**
 * Timeout path: IsResume, SubmitTask, RecordSubmitted, then (after the last WaitBeforePoll + PollTask,
 * which throws DEADLINE_EXCEEDED into the Catch) DescribeFailure, IsTimedOut, RecordTimedOut,
 * AnnounceOutcome, HowDidItEnd, JobTimedOut.
 */
const FIXED_TIMEOUT_TRANSITIONS = 3 + 6;

/** What a poller may know; ours knows all of it, its ablations (bench/polling.ts) drop some. */
export interface Signals {
  /** The provider's start_time and queued status. */
  start: boolean;
  /** "30%" = not yet half way. */
  progress: boolean;
  /** Generation times of past jobs of the shape. */
  history: boolean;
}

export interface Poller {
  name: string;
  kind: 'ours' | 'ablation' | 'fixed';
  interval?: number;
  signals: Signals;
  /** The wait after a poll; undefined keeps the one the real PollTask computed (OURS). */
  next?(context: PollContext): number;
}

const clampToDeadline = (seconds: number, remainingSeconds: number) => Math.max(1, Math.min(seconds, Math.floor(remainingSeconds)));

export function fixedPoller(interval: number): Poller {
  return {
    name: `fixed ${interval} s`,
    kind: 'fixed',
    interval,
    signals: { start: false, progress: false, history: false },
    next: (context) => clampToDeadline(interval, context.remainingSeconds),
  };
}

export interface JobRun {
  polls: number;
  transitions: number;
  recordProgress: number;
  /** Seconds from the task's end to the poll that saw SUCCESS; undefined when the job timed out. */
  lagSeconds?: number;
  timedOut: boolean;
  /** The provider's start-to-finish time the final poll read: what the history learns. */
  generationSeconds?: number;
  /** OURS only: polls where PollTask's wait differed from nextPollSeconds fed the bench's view of the context. */
  contextMismatches: number;
}

export interface SimulatedJob {
  index: number;
  totalSeconds: number;
  timeline: TaskTimeline;
  /** Parsed answers by status/progress: the same for every poller of this job. */
  snapshots: Map<string, ProviderTaskSnapshot>;
}

const BENCH_REQUEST = { model: 'seedance-fast', content: [{ type: 'text', text: 'bench' }] } as unknown as ProviderRequest;

function snapshotAt(job: SimulatedJob, now: number): ProviderTaskSnapshot {
  const reading = readClock(job.timeline, now);
  const key = `${reading.status}:${reading.progress}`;
  let snapshot = job.snapshots.get(key);
  if (!snapshot) {
    const id = `cgt-bench-${job.index}`;
    const body = pollBody(
      {
        id,
        model: 'seedance-fast',
        createdAt: job.timeline.createdAt,
        status: reading.status,
        progress: reading.progress,
        ...(reading.startedAt !== undefined ? { startedAt: reading.startedAt } : {}),
        ...(reading.finishedAt !== undefined ? { finishedAt: reading.finishedAt } : {}),
        ...(reading.status === 'SUCCESS' ? { videoUrl: `https://cdn.example/videos/${id}.mp4` } : {}),
        durationSeconds: 5,
        ratio: '16:9',
        resolution: '480p',
        width: 854,
        height: 480,
      },
      'envelope',
    );
    snapshot = readTaskSnapshot(body, id);
    if (!snapshot) throw new Error(`readTaskSnapshot could not read the simulator's ${reading.status} answer`);
    job.snapshots.set(key, snapshot);
  }
  return snapshot;
}

export async function runJob(job: SimulatedJob, poller: Poller, shape: RequestShape, history: GenerationEstimate | undefined, seed: number): Promise<JobRun> {
  const jitter = seededRandom(seed);
  const deadlineAt = new Date(EPOCH + DEADLINE_SECONDS * 1000).toISOString();
  let now = EPOCH;
  let lastRandom = 0;
  const random = () => (lastRandom = jitter());
  const contextAt = (poll: PollState): PollContext =>
    pollContext(poll.policy, shape, (now - EPOCH) / 1000, (EPOCH + DEADLINE_SECONDS * 1000 - now) / 1000, lastRandom);
  const provider = {
    createTask: async () => ({ taskId: `cgt-bench-${job.index}` }),
    getTask: async () => snapshotAt(job, now),
  };
  let state = await submitTask(
    { jobId: `bench-${job.index}`, requestKey: 'bench', shape, deadlineAt, notify: [] },
    {
      provider,
      loadRequest: async () => BENCH_REQUEST,
      presign: async () => '',
      loadHistory: async () => history,
      slots: unlimitedSlots,
      now: () => new Date(now),
      random,
    },
  );
  if (poller.next) state = { ...state, waitSeconds: poller.next(contextAt(state)) };
  let transitions = 0;
  let recordProgress = 0;
  let contextMismatches = 0;
  for (;;) {
    now += state.waitSeconds * 1000;
    transitions += 2; // WaitBeforePoll, PollTask
    let next = await pollTask(
      { jobId: `bench-${job.index}`, shape, deadlineAt, poll: state },
      // A job past its deadline ends the simulation here: what follows (the late follow-up) is not polling for the result.
      { provider, now: () => new Date(now), random, lateFollowSeconds: 3600 },
    );
    if (next.overdue) {
      return { polls: state.polls + 1, transitions: transitions + FIXED_TIMEOUT_TRANSITIONS, recordProgress, timedOut: true, contextMismatches };
    }
    transitions += 1; // IsVideoReady
    if (next.jobStatus === 'SUCCEEDED') {
      const endedAt = job.timeline.createdAt + job.timeline.plannedMs;
      return {
        polls: next.polls,
        transitions: transitions + FIXED_SUCCESS_TRANSITIONS,
        recordProgress,
        lagSeconds: (now - endedAt) / 1000,
        timedOut: false,
        ...(next.generationSeconds !== undefined ? { generationSeconds: next.generationSeconds } : {}),
        contextMismatches,
      };
    }
    if (next.changed) {
      transitions += 1; // RecordProgress
      recordProgress += 1;
    }
    if (poller.next) {
      next = { ...next, waitSeconds: poller.next(contextAt(next)) };
    } else if (nextPollSeconds(contextAt(next)) !== next.waitSeconds) {
      contextMismatches += 1;
    }
    state = next;
  }
}

export function simulatedJob(index: number, startsAfterMs: number, plannedMs: number): SimulatedJob {
  return {
    index,
    totalSeconds: plannedMs / 1000,
    timeline: { createdAt: EPOCH, startsAfterMs, plannedMs, outcome: { kind: 'succeeded', at: EPOCH + plannedMs } },
    snapshots: new Map(),
  };
}

/**
 * The polls a fixed-interval poller makes on each of the given provider tasks (seconds from the submit
 * to the task's end), through this simulated path: a run on the local stack prices its
 * baseline with them (testkit/aws-cost.ts fixedPollerBaseline). Its polls depend only on when the task
 * ends, so the tasks here start at once.
 */
export async function fixedPollerPolls(taskSeconds: readonly number[], interval = REFERENCE_INTERVAL): Promise<number[]> {
  const poller = fixedPoller(interval);
  const polls: number[] = [];
  for (const [index, seconds] of taskSeconds.entries()) {
    polls.push((await runJob(simulatedJob(index, 0, Math.round(seconds * 1000)), poller, BASE_SHAPE, undefined, index)).polls);
  }
  return polls;
}
