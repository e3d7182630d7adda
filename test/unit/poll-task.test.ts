import { describe, expect, test } from 'vitest';
import type { PipelineError } from '../../runtime/domain/errors.js';
import { ProviderBusyError, ProviderTaskNotFoundError, ProviderUnavailableError } from '../../runtime/domain/errors.js';
import type { RequestShape } from '../../runtime/domain/job.js';
import {
  MAX_POLL_SECONDS,
  pollContext,
  priorGenerationEstimate,
  rememberAnswer,
  startMemory,
  STEADY_POLL_SECONDS,
  type GenerationEstimate,
} from '../../runtime/workflow/polling/poll-policy.js';
import type { PollState } from '../../runtime/workflow/polling/poll-state.js';
import { pollTask, type PollTaskInput } from '../../runtime/workflow/poll-task.js';
import type { WorkflowInput } from '../../runtime/workflow/workflow-input.js';
import { shareDoneAtMostOf } from '../../runtime/provider/anyfast/provider-task.js';
import type { ProviderClient } from '../../runtime/provider/provider-client.js';
import type { ProviderTaskSnapshot } from '../../runtime/provider/task-snapshot.js';
import type { ProviderRequest } from '../../runtime/domain/request-schema.js';
import { submitTask } from '../../runtime/workflow/submit-task.js';

/** SubmitTask's admission bookkeeping where a test does not look at it. */
const noSlots = { recordCreated: async () => {}, recordRefused: async () => ({ cap: 1, threshold: 1 }) };

const TASK_ID = 'cgt-20260312231129-7db6s';
const VIDEO_URL = 'https://cdn.example.com/video.mp4';
const SUBMITTED_AT = new Date('2026-03-12T23:11:30.000Z');
const DEADLINE_AT = new Date(SUBMITTED_AT.getTime() + 30 * 60_000).toISOString();
const SHAPE: RequestShape = { duration: 5, resolution: '720p', generateAudio: true, media: 'text' };

/**
 * A hand-written ProviderClient that answers the given snapshots in turn and records the ids it was
 * asked about. Its progress tells the policy what the gateway's adapter reads from it.
 */
function fakeProvider(...answers: (Partial<ProviderTaskSnapshot> | Error)[]) {
  const asked: string[] = [];
  const provider: ProviderClient = {
    createTask: async () => {
      throw new Error('pollTask must not create tasks');
    },
    getTask: async (taskId) => {
      asked.push(taskId);
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      if (next instanceof Error) throw next;
      const phase = next.phase ?? 'running';
      const shareDoneAtMost = shareDoneAtMostOf(phase, next.progress);
      return { taskId, phase, providerStatus: 'IN_PROGRESS', ...(shareDoneAtMost !== undefined ? { shareDoneAtMost } : {}), ...next };
    },
  };
  return { provider, asked };
}

function pollState(overrides: Partial<PollState> = {}): PollState {
  return {
    providerTaskId: TASK_ID,
    submittedAt: SUBMITTED_AT.toISOString(),
    jobStatus: 'SUBMITTED',
    providerStatus: 'SUBMITTED',
    progress: 0,
    polls: 0,
    waitSeconds: 60,
    checkedAt: SUBMITTED_AT.toISOString(),
    estimatedFinishAt: new Date(SUBMITTED_AT.getTime() + 90_000).toISOString(),
    changed: true,
    ...overrides,
  };
}

function input(poll: PollState, deadlineAt = DEADLINE_AT): PollTaskInput {
  return { jobId: 'job-1', shape: SHAPE, deadlineAt, poll };
}

/** SUBMITTED_AT on the provider's clock, in the epoch seconds of its submit_time/start_time/finish_time. */
const SUBMITTED_EPOCH = SUBMITTED_AT.getTime() / 1000;
/** The 5th percentile of the generation time the policy sleeps through (poll-policy.ts). */
const earlyEnd = (estimate: GenerationEstimate) => estimate.medianSeconds * Math.exp(-1.645 * estimate.sigma);

const at = (secondsAfterSubmit: number) => () => new Date(SUBMITTED_AT.getTime() + secondsAfterSubmit * 1000);

/** What the poll policy will be told about the task after this state (its memory, read through its own API). */
const told = (state: PollState) => pollContext(state.policy, SHAPE, 0, 0, 0);
/** The policy's memory of a task whose start the provider reported, `seconds` after submit. */
const startedAt = (seconds: number) =>
  rememberAnswer(undefined, { phase: 'running', startTime: SUBMITTED_EPOCH + seconds }, seconds, SUBMITTED_AT.toISOString());

async function poll(previous: PollState, answer: Partial<ProviderTaskSnapshot> | Error, options: { now?: number; deadlineAt?: string } = {}) {
  const { provider, asked } = fakeProvider(answer);
  const next = await pollTask(input(previous, options.deadlineAt), { provider, now: at(options.now ?? 90), random: () => 0.5, lateFollowSeconds: 3600 });
  return { next, asked };
}

async function pollError(previous: PollState, answer: Partial<ProviderTaskSnapshot> | Error, options: { now?: number; deadlineAt?: string } = {}) {
  const { provider } = fakeProvider(answer);
  try {
    await pollTask(input(previous, options.deadlineAt), { provider, now: at(options.now ?? 90), random: () => 0.5, lateFollowSeconds: 3600 });
  } catch (error) {
    return error as PipelineError;
  }
  throw new Error('expected pollTask to throw');
}

describe('pollTask', () => {
  test('asks the provider about the task of this job', async () => {
    const { asked } = await poll(pollState(), { phase: 'queued', providerStatus: 'QUEUED', progress: 10 });
    expect(asked).toEqual([TASK_ID]);
  });

  test('a success with a URL moves the job to SUCCEEDED with the video URL', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 50, polls: 3 }), {
      phase: 'succeeded',
      providerStatus: 'SUCCESS',
      progress: 100,
      videoUrl: VIDEO_URL,
    });
    expect(next).toMatchObject({
      providerTaskId: TASK_ID,
      submittedAt: SUBMITTED_AT.toISOString(),
      jobStatus: 'SUCCEEDED',
      providerStatus: 'SUCCESS',
      progress: 100,
      polls: 4,
      videoUrl: VIDEO_URL,
      changed: true,
      checkedAt: at(90)().toISOString(),
    });
  });

  test('queued at the provider keeps the job SUBMITTED and records the provider word', async () => {
    const { next } = await poll(pollState(), { phase: 'queued', providerStatus: 'QUEUED', progress: 10 });
    expect(next).toMatchObject({ jobStatus: 'SUBMITTED', providerStatus: 'QUEUED', progress: 10, changed: true });
    expect(next).not.toHaveProperty('videoUrl');
  });

  test('running moves the job to RUNNING', async () => {
    const { next } = await poll(pollState({ progress: 10 }), { phase: 'running', providerStatus: 'IN_PROGRESS', progress: 30 });
    expect(next).toMatchObject({ jobStatus: 'RUNNING', progress: 30, changed: true });
  });

  test('progress never goes backwards', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 50 }), { phase: 'running', progress: 30 });
    expect(next.progress).toBe(50);
    expect(next.changed).toBe(false);
  });

  test('a missing progress keeps the last one', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 40 }), { phase: 'running', providerStatus: 'UNKNOWN' });
    expect(next.progress).toBe(40);
    expect(next.jobStatus).toBe('RUNNING');
  });

  test('status never regresses: RUNNING then a QUEUED answer stays RUNNING', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 30 }), {
      phase: 'queued',
      providerStatus: 'QUEUED',
      progress: 10,
    });
    expect(next.jobStatus).toBe('RUNNING');
    expect(next.progress).toBe(30);
    expect(next.changed).toBe(false);
  });

  test('changed is false when neither status nor progress moved', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 50 }), { phase: 'running', progress: 50 });
    expect(next.changed).toBe(false);
  });

  test('changed is true when only the progress moved', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 30 }), { phase: 'running', progress: 50 });
    expect(next.changed).toBe(true);
  });

  test('changed is true when only the status moved', async () => {
    const { next } = await poll(pollState({ jobStatus: 'SUBMITTED', progress: 30 }), { phase: 'running', progress: 30 });
    expect(next).toMatchObject({ jobStatus: 'RUNNING', changed: true });
  });

  test('the polls counter counts every poll', async () => {
    const { provider } = fakeProvider({ phase: 'queued', progress: 0 }, { phase: 'running', progress: 30 }, { phase: 'running', progress: 30 });
    const deps = { provider, now: at(90), random: () => 0.5, lateFollowSeconds: 3600 };
    let state = pollState();
    for (let index = 1; index <= 3; index += 1) {
      state = await pollTask(input(state), deps);
      expect(state.polls).toBe(index);
    }
  });

  test('the next wait is a whole number of seconds within bounds', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 30 }), { phase: 'running', progress: 30 });
    expect(Number.isInteger(next.waitSeconds)).toBe(true);
    expect(next.waitSeconds).toBeGreaterThanOrEqual(1);
    expect(next.waitSeconds).toBeLessThanOrEqual(MAX_POLL_SECONDS);
  });

  test('near the deadline the next wait does not sleep past it', async () => {
    const deadlineAt = at(100)().toISOString();
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 30 }), { phase: 'running', progress: 30 }, { now: 95, deadlineAt });
    expect(next.waitSeconds).toBeLessThanOrEqual(5);
  });

  test('a provider FAILURE throws PROVIDER_TASK_FAILED with the reason', async () => {
    const error = await pollError(pollState({ jobStatus: 'RUNNING' }), {
      phase: 'failed',
      providerStatus: 'FAILURE',
      failReason: 'content policy violation',
    });
    expect(error.name).toBe('PROVIDER_TASK_FAILED');
    expect(error.message).toContain('content policy violation');
    expect(error.retryable).toBe(false);
  });

  test('a failure without a reason names the provider status', async () => {
    const error = await pollError(pollState(), { phase: 'failed', providerStatus: 'expired' });
    expect(error.name).toBe('PROVIDER_TASK_FAILED');
    expect(error.message).toContain('expired');
  });

  test('still running past the deadline: overdue (the job ends TIMED_OUT), and the task is followed on', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 50 }), { phase: 'running', progress: 50 }, { now: 1801 });
    expect(next.overdue).toMatchObject({ code: 'DEADLINE_EXCEEDED', message: expect.stringMatching(/still IN_PROGRESS at the job deadline/) });
    expect(next.late).toBeUndefined();
    expect(next.waitSeconds).toBeGreaterThan(0);
  });

  test('still queued exactly at the deadline is overdue', async () => {
    const { next } = await poll(pollState(), { phase: 'queued', providerStatus: 'QUEUED' }, { now: 1800 });
    expect(next.overdue?.code).toBe('DEADLINE_EXCEEDED');
  });

  test('the poll after an overdue one follows the task late: a success is its late video', async () => {
    const overdue = pollState({ jobStatus: 'RUNNING', progress: 50, overdue: { code: 'DEADLINE_EXCEEDED', message: 'late', at: 'x' } });
    const { next: running } = await poll(overdue, { phase: 'running', progress: 50 }, { now: 2000 });
    expect(running).toMatchObject({ late: true, jobStatus: 'RUNNING' });
    expect(running).not.toHaveProperty('overdue');
    const { next: done } = await poll(running, { phase: 'succeeded', progress: 100, videoUrl: VIDEO_URL }, { now: 2400 });
    expect(done).toMatchObject({ late: true, jobStatus: 'SUCCEEDED', videoUrl: VIDEO_URL });
  });

  test('a late task that fails, vanishes or outlives the follow window ends the following, never the job', async () => {
    const late = pollState({ jobStatus: 'RUNNING', progress: 50, late: true });
    expect((await poll(late, { phase: 'failed', providerStatus: 'FAILURE', failReason: 'quota' }, { now: 2000 })).next.lateEnded).toMatch(/quota/);
    expect((await poll(late, new ProviderTaskNotFoundError('task_not_exist'), { now: 2000 })).next.lateEnded).toMatch(/task_not_exist/);
    // DEADLINE_AT + 3600 s of following.
    expect((await poll(late, { phase: 'running', progress: 50 }, { now: 1800 + 3600 })).next.lateEnded).toMatch(/still unfinished when following it stopped/);
  });

  test('a success seen just after the deadline still counts', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING' }), { phase: 'succeeded', progress: 100, videoUrl: VIDEO_URL }, { now: 1805 });
    expect(next.jobStatus).toBe('SUCCEEDED');
    expect(next.videoUrl).toBe(VIDEO_URL);
  });

  test('a failure seen after the deadline is reported as the failure, not as a timeout', async () => {
    const error = await pollError(pollState(), { phase: 'failed', providerStatus: 'FAILURE', failReason: 'quota' }, { now: 1805 });
    expect(error.name).toBe('PROVIDER_TASK_FAILED');
  });

  test('SUCCESS without a video URL throws VIDEO_UNAVAILABLE', async () => {
    const error = await pollError(pollState({ jobStatus: 'RUNNING' }), { phase: 'succeeded', providerStatus: 'SUCCESS', progress: 100 });
    expect(error.name).toBe('VIDEO_UNAVAILABLE');
    expect(error.retryable).toBe(false);
  });

  test('a provider error passes through unchanged', async () => {
    const notFound = new ProviderTaskNotFoundError('gone');
    expect(await pollError(pollState(), notFound)).toBe(notFound);
  });
});

describe('pollTask: the estimated finish', () => {
  test('a running task’s estimate moves with what the provider says: later when its progress says it has further to go', async () => {
    const median = priorGenerationEstimate(SHAPE).medianSeconds;
    const early = await poll(pollState(), { phase: 'running', providerStatus: 'IN_PROGRESS', startTime: SUBMITTED_EPOCH + 10 }, { now: 40 });
    expect(Date.parse(early.next.estimatedFinishAt) - SUBMITTED_AT.getTime()).toBe(Math.round(10 + median) * 1000);
    // At most 55 % done after 190 s of running (the gateway's "30%"): 10 + 190 / 0.55 s from submission.
    const slow = await poll(early.next, { phase: 'running', providerStatus: 'IN_PROGRESS', progress: 30, startTime: SUBMITTED_EPOCH + 10 }, { now: 200 });
    expect(Date.parse(slow.next.estimatedFinishAt) - SUBMITTED_AT.getTime()).toBe(Math.round(10 + 190 / 0.55) * 1000);
  });

  test('a poll the provider failed keeps the last estimate; a success says now', async () => {
    const previous = pollState({ jobStatus: 'RUNNING', progress: 30 });
    const failed = await poll(previous, new ProviderUnavailableError('502'));
    expect(failed.next.estimatedFinishAt).toBe(previous.estimatedFinishAt);
    const done = await poll(previous, { phase: 'succeeded', providerStatus: 'SUCCESS', progress: 100, videoUrl: VIDEO_URL });
    expect(done.next.estimatedFinishAt).toBe(at(90)().toISOString());
  });
});

describe('pollTask: when generation began', () => {
  // The provider got the create a second before our submittedAt (the create's own latency).
  const CREATE_LATENCY = 1;

  test.each([0, 3600, -3600, 17.5])('start_time is read against the provider submit_time, so a provider clock %d s off does not move it', async (skew) => {
    const submitTime = SUBMITTED_EPOCH - CREATE_LATENCY + skew;
    const { next } = await poll(pollState(), { phase: 'running', progress: 30, submitTime, startTime: submitTime + 12 }, { now: 30 });
    expect(next.jobStatus).toBe('RUNNING');
    expect(told(next)).toMatchObject({ startedNotBeforeSeconds: 12, startReported: true });
    // The next poll lands at the start + the early quantile of the prior (12 + 50 s), not 50 s from now.
    expect(Math.abs(30 + next.waitSeconds - (12 + earlyEnd(priorGenerationEstimate(SHAPE))))).toBeLessThanOrEqual(0.5);
  });

  test('without submit_time, start_time is read against our submittedAt', async () => {
    const { next } = await poll(pollState(), { phase: 'running', progress: 30, startTime: SUBMITTED_EPOCH + 12 }, { now: 30 });
    expect(told(next)).toMatchObject({ startedNotBeforeSeconds: 12, startReported: true });
  });

  test('without submit_time, a skewed start_time is held between submit and now', async () => {
    const ahead = await poll(pollState(), { phase: 'running', progress: 30, startTime: SUBMITTED_EPOCH + 3600 }, { now: 30 });
    expect(told(ahead.next).startedNotBeforeSeconds).toBe(30);
    const behind = await poll(pollState(), { phase: 'running', progress: 30, startTime: SUBMITTED_EPOCH - 3600 }, { now: 30 });
    expect(told(behind.next).startedNotBeforeSeconds).toBe(0);
    expect(told(behind.next).startReported).toBe(true);
  });

  test('a "queued" answer after a reported start is a flaky gateway: the reported start stays', async () => {
    const running = pollState({ jobStatus: 'RUNNING', providerStatus: 'IN_PROGRESS', progress: 30, policy: startedAt(12) });
    const { next } = await poll(running, { phase: 'queued', providerStatus: 'QUEUED' }, { now: 100 });
    expect(told(next).startedNotBeforeSeconds).toBe(12);
    expect(told(next).startReported).toBe(true);
    expect(next.jobStatus).toBe('RUNNING');
  });

  test('a queued answer moves the bound to now, and the next poll waits the whole early window from there', async () => {
    const { next: queued } = await poll(pollState(), { phase: 'queued', providerStatus: 'QUEUED', progress: 10 }, { now: 40 });
    expect(told(queued).startedNotBeforeSeconds).toBe(40);
    expect(told(queued).startReported).toBe(false);
    // As if the task had just been submitted: the early window starts when it leaves the queue.
    const fresh = await submitTask(
      { jobId: 'job-1', requestKey: 'requests/job-1.json', shape: SHAPE, deadlineAt: DEADLINE_AT, notify: [] },
      {
        provider: { createTask: async () => ({ taskId: TASK_ID }), getTask: async () => ({ taskId: TASK_ID, phase: 'queued', providerStatus: 'QUEUED' }) },
        loadRequest: async () => ({ model: 'seedance-fast', content: [{ type: 'text', text: 'a cat' }] }) as ProviderRequest,
        presign: async () => 'unused',
        loadHistory: async () => undefined,
        slots: noSlots,
        now: () => SUBMITTED_AT,
        random: () => 0.5,
      },
    );
    expect(queued.waitSeconds).toBe(fresh.waitSeconds);
    // The same moment, told nothing about the queue, is already in the steady phase.
    const { next: running } = await poll(pollState(), { phase: 'running', providerStatus: 'IN_PROGRESS', progress: 30 }, { now: 40 });
    expect(running.waitSeconds).toBeLessThan(queued.waitSeconds);
  });

  test('NOT_START (queued at the gateway) counts as queued too, and a later answer without a start keeps the bound', async () => {
    const { next: notStarted } = await poll(pollState(), { phase: 'queued', providerStatus: 'NOT_START', progress: 0 }, { now: 20 });
    expect(told(notStarted).startedNotBeforeSeconds).toBe(20);
    const { next: queued } = await poll(notStarted, { phase: 'queued', providerStatus: 'QUEUED', progress: 10 }, { now: 45 });
    expect(told(queued).startedNotBeforeSeconds).toBe(45);
    const { next: running } = await poll(queued, { phase: 'running', providerStatus: 'IN_PROGRESS', progress: 30 }, { now: 80 });
    expect(told(running).startedNotBeforeSeconds).toBe(45);
    expect(told(running).startReported).toBe(false);
  });

  test('once the provider reported the start, an answer without start_time keeps it', async () => {
    const { next: started } = await poll(pollState(), { phase: 'running', progress: 30, startTime: SUBMITTED_EPOCH + 12 }, { now: 30 });
    const { next } = await poll(started, { phase: 'running', progress: 50 }, { now: 60 });
    expect(told(next)).toMatchObject({ startedNotBeforeSeconds: 12, startReported: true });
  });

  test('"30%" with a reported start holds the next poll back: at least as long again as it has run', async () => {
    const started = pollState({ jobStatus: 'RUNNING', progress: 30, policy: startedAt(10) });
    const { next } = await poll(started, { phase: 'running', progress: 30 }, { now: 70 });
    // 60 s of running, not half way: the end is no sooner than 10 + 60 / 0.55 ≈ 119 s.
    expect(70 + next.waitSeconds).toBeGreaterThanOrEqual(118);
    const { next: halfWay } = await poll(started, { phase: 'running', progress: 50 }, { now: 70 });
    expect(halfWay.waitSeconds).toBe(STEADY_POLL_SECONDS);
  });

  test('"30%" after "50%" is a flaky gateway: the poll is not held back again', async () => {
    const { next: halfWay } = await poll(
      pollState({ jobStatus: 'RUNNING', progress: 30, policy: startedAt(10) }),
      { phase: 'running', progress: 50 },
      { now: 60 },
    );
    const { next } = await poll(halfWay, { phase: 'running', progress: 30 }, { now: 70 });
    expect(next.progress).toBe(50);
    expect(next.waitSeconds).toBe(STEADY_POLL_SECONDS);
  });
});

describe('pollTask: generation time and history', () => {
  const HISTORY: GenerationEstimate = { medianSeconds: 60, sigma: 0.2, samples: 24 };

  test('a success answers the provider start-to-finish time', async () => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING', progress: 50 }), {
      phase: 'succeeded',
      providerStatus: 'SUCCESS',
      progress: 100,
      videoUrl: VIDEO_URL,
      submitTime: SUBMITTED_EPOCH + 500,
      startTime: SUBMITTED_EPOCH + 520,
      finishTime: SUBMITTED_EPOCH + 640,
    });
    // Both ends on the provider's clock: its skew (here 500 s) cancels out.
    expect(next.generationSeconds).toBe(120);
  });

  test.each<[string, Partial<ProviderTaskSnapshot>]>([
    ['no finish_time', { startTime: SUBMITTED_EPOCH + 20 }],
    ['no start_time', { finishTime: SUBMITTED_EPOCH + 140 }],
    ['a finish before the start', { startTime: SUBMITTED_EPOCH + 140, finishTime: SUBMITTED_EPOCH + 20 }],
    ['a finish at the start', { startTime: SUBMITTED_EPOCH + 20, finishTime: SUBMITTED_EPOCH + 20 }],
  ])('a success with %s gives no sample', async (_name, times) => {
    const { next } = await poll(pollState({ jobStatus: 'RUNNING' }), { phase: 'succeeded', progress: 100, videoUrl: VIDEO_URL, ...times });
    expect(next.jobStatus).toBe('SUCCEEDED');
    expect(next).not.toHaveProperty('generationSeconds');
  });

  test('a running task gives no sample, whatever times it carries', async () => {
    const { next } = await poll(pollState(), { phase: 'running', startTime: SUBMITTED_EPOCH + 20, finishTime: SUBMITTED_EPOCH + 140 });
    expect(next).not.toHaveProperty('generationSeconds');
  });

  test('the history read at submit is kept across every poll, failed ones included, and steers the waits', async () => {
    const { provider } = fakeProvider(
      { phase: 'queued', providerStatus: 'QUEUED', progress: 10 },
      new ProviderUnavailableError('HTTP 503'),
      { phase: 'running', progress: 30, startTime: SUBMITTED_EPOCH + 30 },
      { phase: 'succeeded', progress: 100, videoUrl: VIDEO_URL, startTime: SUBMITTED_EPOCH + 30, finishTime: SUBMITTED_EPOCH + 95 },
    );
    let state = pollState({ policy: startMemory(HISTORY) });
    const seen: PollState[] = [];
    for (const now of [20, 40, 60, 100]) {
      state = await pollTask(input(state), { provider, now: at(now), random: () => 0.5, lateFollowSeconds: 3600 });
      seen.push(state);
    }
    for (const state of seen) expect(told(state).history).toEqual(HISTORY);
    expect(seen[1]!.consecutiveFailures).toBe(1);
    expect(seen.at(-1)).toMatchObject({ jobStatus: 'SUCCEEDED', generationSeconds: 65 });
    // Queued at 20 s: the next poll at the history's early end after it, not the prior's.
    expect(seen[0]!.waitSeconds).toBe(Math.round(earlyEnd(HISTORY)));
    const { next: withoutHistory } = await poll(pollState(), { phase: 'queued', providerStatus: 'QUEUED', progress: 10 }, { now: 20 });
    expect(withoutHistory.waitSeconds).toBe(Math.round(earlyEnd(priorGenerationEstimate(SHAPE))));
    expect(told(withoutHistory)).not.toHaveProperty('history');
  });
});

describe('submitTask', () => {
  const request: ProviderRequest = {
    model: 'seedance-fast',
    content: [{ type: 'text', text: 'A cat playing piano' }],
    generate_audio: false,
    resolution: '480p',
    ratio: 'adaptive',
    duration: 5,
    watermark: false,
  };
  const workflowInput: WorkflowInput = {
    jobId: 'job-1',
    requestKey: 'requests/job-1.json',
    shape: { duration: 5, resolution: '480p', generateAudio: false, media: 'text' },
    deadlineAt: DEADLINE_AT,
    notify: [],
  };

  test('creates the task from the stored request and starts the poll state SUBMITTED', async () => {
    const loaded: string[] = [];
    const sent: ProviderRequest[] = [];
    const provider: ProviderClient = {
      createTask: async (body) => {
        sent.push(body);
        return { taskId: TASK_ID };
      },
      getTask: async () => {
        throw new Error('submitTask must not poll');
      },
    };
    const state = await submitTask(workflowInput, {
      provider,
      loadRequest: async (key) => {
        loaded.push(key);
        return request;
      },
      presign: async () => {
        throw new Error('a request without s3:// media needs no presigning');
      },
      loadHistory: async () => undefined,
      slots: noSlots,
      now: () => SUBMITTED_AT,
      random: () => 0.5,
    });
    expect(loaded).toEqual(['requests/job-1.json']);
    expect(sent).toEqual([request]);
    expect(state).toMatchObject({
      providerTaskId: TASK_ID,
      submittedAt: SUBMITTED_AT.toISOString(),
      jobStatus: 'SUBMITTED',
      progress: 0,
      polls: 0,
      changed: true,
    });
    // The first poll of a 5 s clip skips the minute in which no clip is ever done.
    expect(state.waitSeconds).toBeGreaterThanOrEqual(30);
    expect(state.waitSeconds).toBeLessThanOrEqual(MAX_POLL_SECONDS);
    // The job shows when it will most likely be done: the prior median of its shape, from now.
    const median = priorGenerationEstimate(workflowInput.shape).medianSeconds;
    expect(Date.parse(state.estimatedFinishAt) - SUBMITTED_AT.getTime()).toBe(Math.round(median) * 1000);
  });

  test('hands the provider presigned URLs for s3:// media and leaves other URLs alone', async () => {
    const sent: ProviderRequest[] = [];
    const withS3Media: ProviderRequest = {
      ...request,
      content: [
        { type: 'text', text: 'A cat' },
        { type: 'image_url', image_url: { url: 's3://videos-bucket/incoming/cat.png' }, role: 'reference_image' },
        { type: 'video_url', video_url: { url: 'https://example.com/ref.mp4' }, role: 'reference_video' },
      ],
    };
    await submitTask(workflowInput, {
      provider: {
        createTask: async (body) => {
          sent.push(body);
          return { taskId: TASK_ID };
        },
        getTask: async () => {
          throw new Error('submitTask must not poll');
        },
      },
      loadRequest: async () => withS3Media,
      presign: async ({ bucket, key }) => `https://${bucket}.s3.amazonaws.com/${key}?X-Amz-Signature=abc`,
      loadHistory: async () => undefined,
      slots: noSlots,
      now: () => SUBMITTED_AT,
      random: () => 0.5,
    });
    expect(sent[0]?.content[1]).toEqual({
      type: 'image_url',
      image_url: { url: 'https://videos-bucket.s3.amazonaws.com/incoming/cat.png?X-Amz-Signature=abc' },
      role: 'reference_image',
    });
    expect(sent[0]?.content[2]).toEqual(withS3Media.content[2]);
  });
  const HISTORY: GenerationEstimate = { medianSeconds: 60, sigma: 0.2, samples: 24 };

  function recordingDeps(loadHistory: () => Promise<GenerationEstimate | undefined>) {
    const events: string[] = [];
    const shapes: unknown[] = [];
    const deps = {
      provider: {
        createTask: async () => {
          events.push('createTask');
          return { taskId: TASK_ID };
        },
        getTask: async () => {
          throw new Error('submitTask must not poll');
        },
      } satisfies ProviderClient,
      loadRequest: async () => {
        events.push('loadRequest');
        return request;
      },
      presign: async () => {
        throw new Error('a request without s3:// media needs no presigning');
      },
      loadHistory: async (shape: RequestShape) => {
        events.push('loadHistory');
        shapes.push(shape);
        return loadHistory();
      },
      slots: {
        recordCreated: async (jobId: string) => void events.push(`recordCreated ${jobId}`),
        recordRefused: async () => (events.push('recordRefused'), { cap: 1, threshold: 1 }),
      },
      now: () => SUBMITTED_AT,
      random: () => 0.5,
    };
    return { deps, events, shapes };
  }

  test('a create the provider refuses for its limit lowers the learned limit and fails with PROVIDER_BUSY; nothing is counted as created', async () => {
    const { deps, events } = recordingDeps(async () => undefined);
    deps.provider.createTask = async () => {
      events.push('createTask');
      throw new ProviderBusyError('HTTP 429');
    };
    await expect(submitTask(workflowInput, deps)).rejects.toMatchObject({ code: 'PROVIDER_BUSY' });
    expect(events).toEqual(['loadRequest', 'loadHistory', 'createTask', 'recordRefused']);
  });

  test('a task that was made is never failed by the slot bookkeeping after it', async () => {
    const { deps } = recordingDeps(async () => undefined);
    const failures: unknown[] = [];
    const state = await submitTask(workflowInput, {
      ...deps,
      slots: { ...deps.slots, recordCreated: async () => Promise.reject(new Error('DynamoDB is down')) },
      onSlotsError: (error) => failures.push(error),
    });
    expect(state.providerTaskId).toBe(TASK_ID);
    expect(failures).toEqual([new Error('DynamoDB is down')]);
  });

  test('reads the history of the job shape before creating the task, and starts the poll state with it', async () => {
    const { deps, events, shapes } = recordingDeps(async () => HISTORY);
    const state = await submitTask(workflowInput, deps);
    expect(events).toEqual(['loadRequest', 'loadHistory', 'createTask', `recordCreated ${workflowInput.jobId}`]);
    expect(shapes).toEqual([workflowInput.shape]);
    expect(told(state).history).toEqual(HISTORY);
    // The first wait is the history's early end, not the prior's.
    expect(state.waitSeconds).toBe(Math.round(earlyEnd(HISTORY)));
    expect(state.waitSeconds).not.toBe(Math.round(earlyEnd(priorGenerationEstimate(workflowInput.shape))));
  });

  test('no history yet: the prior, and no history in the poll state', async () => {
    const { deps } = recordingDeps(async () => undefined);
    const state = await submitTask(workflowInput, deps);
    expect(told(state)).not.toHaveProperty('history');
    expect(state.waitSeconds).toBe(Math.round(earlyEnd(priorGenerationEstimate(workflowInput.shape))));
  });

  test('a history the store cannot give still creates the task, polled from the prior', async () => {
    const { deps, events } = recordingDeps(async () => {
      throw new Error('ProvisionedThroughputExceededException');
    });
    const state = await submitTask(workflowInput, deps);
    expect(events).toEqual(['loadRequest', 'loadHistory', 'createTask', `recordCreated ${workflowInput.jobId}`]);
    expect(state).toMatchObject({ providerTaskId: TASK_ID, jobStatus: 'SUBMITTED', polls: 0 });
    expect(told(state)).not.toHaveProperty('history');
    expect(state.waitSeconds).toBe(Math.round(earlyEnd(priorGenerationEstimate(workflowInput.shape))));
  });

  test('a failed create is not retried or hidden by the history read', async () => {
    const { deps, events } = recordingDeps(async () => HISTORY);
    const failing = new ProviderUnavailableError('HTTP 503');
    deps.provider.createTask = async () => {
      events.push('createTask');
      throw failing;
    };
    await expect(submitTask(workflowInput, deps)).rejects.toBe(failing);
    expect(events).toEqual(['loadRequest', 'loadHistory', 'createTask']);
  });
});

describe('pollTask at a local time scale', () => {
  // The local stack at LOCAL_TIME_SCALE 0.05 runs a 100 s generation in 5 s and every Wait 20 times
  // as fast; the policy must see that poll as AWS would: 100 s into the task, not 5.
  const answerAt = (startSeconds: number) => ({
    phase: 'running' as const,
    providerStatus: 'IN_PROGRESS',
    progress: 30,
    startTime: SUBMITTED_EPOCH + startSeconds,
  });

  test('reads the clock in provider seconds: a poll 5 s after submit at 0.05 waits as one 100 s after submit on AWS', async () => {
    const deadlineAt = at(30 * 60 * 0.05)().toISOString();
    const onAws = await pollTask(input(pollState(), DEADLINE_AT), {
      provider: fakeProvider(answerAt(20)).provider,
      now: at(100),
      random: () => 0.5,
      lateFollowSeconds: 3600,
    });
    const scaled = await pollTask(input(pollState(), deadlineAt), {
      provider: fakeProvider(answerAt(1)).provider,
      now: at(5),
      random: () => 0.5,
      lateFollowSeconds: 180,
      timeScale: 0.05,
    });
    expect(scaled.waitSeconds).toBe(onAws.waitSeconds);
    expect(told(scaled).startedNotBeforeSeconds).toBeCloseTo(20);
    // The estimate is a clock time: the AWS one's span from submit, at the scale (to the second it is written in).
    const span = (state: PollState) => (Date.parse(state.estimatedFinishAt) - SUBMITTED_AT.getTime()) / 1000;
    expect(Math.abs(span(scaled) - span(onAws) * 0.05)).toBeLessThanOrEqual(0.5);
  });
});
