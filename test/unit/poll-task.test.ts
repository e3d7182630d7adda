import { describe, expect, test } from 'vitest';
import { PipelineError, ProviderTaskNotFoundError } from '../../lambdas/core/errors.js';
import type { RequestShape, WorkflowInput } from '../../lambdas/core/job.js';
import { MAX_POLL_SECONDS } from '../../lambdas/core/poll-policy.js';
import type { PollState } from '../../lambdas/core/poll-state.js';
import { pollTask, type PollTaskInput } from '../../lambdas/core/poll-task.js';
import type { ProviderClient } from '../../lambdas/core/provider-client.js';
import type { ProviderTaskSnapshot } from '../../lambdas/core/provider-task.js';
import type { ProviderRequest } from '../../lambdas/core/request-schema.js';
import { submitTask } from '../../lambdas/core/submit-task.js';

const TASK_ID = 'cgt-20260312231129-7db6s';
const VIDEO_URL = 'https://cdn.example.com/video.mp4';
const SUBMITTED_AT = new Date('2026-03-12T23:11:30.000Z');
const DEADLINE_AT = new Date(SUBMITTED_AT.getTime() + 30 * 60_000).toISOString();
const SHAPE: RequestShape = { duration: 5, resolution: '720p', generateAudio: true, media: 'text' };

/** A hand-written ProviderClient that answers the given snapshots in turn and records the ids it was asked about. */
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
      return { taskId, phase: 'running', providerStatus: 'IN_PROGRESS', ...next };
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
    changed: true,
    ...overrides,
  };
}

function input(poll: PollState, deadlineAt = DEADLINE_AT): PollTaskInput {
  return { jobId: 'job-1', shape: SHAPE, deadlineAt, poll };
}

const at = (secondsAfterSubmit: number) => () => new Date(SUBMITTED_AT.getTime() + secondsAfterSubmit * 1000);

async function poll(previous: PollState, answer: Partial<ProviderTaskSnapshot>, options: { now?: number; deadlineAt?: string } = {}) {
  const { provider, asked } = fakeProvider(answer);
  const next = await pollTask(input(previous, options.deadlineAt), { provider, now: at(options.now ?? 90), random: () => 0.5 });
  return { next, asked };
}

async function pollError(previous: PollState, answer: Partial<ProviderTaskSnapshot> | Error, options: { now?: number; deadlineAt?: string } = {}) {
  const { provider } = fakeProvider(answer);
  try {
    await pollTask(input(previous, options.deadlineAt), { provider, now: at(options.now ?? 90), random: () => 0.5 });
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
    const deps = { provider, now: at(90), random: () => 0.5 };
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

  test('still running past the deadline throws DEADLINE_EXCEEDED', async () => {
    const error = await pollError(pollState({ jobStatus: 'RUNNING', progress: 50 }), { phase: 'running', progress: 50 }, { now: 1801 });
    expect(error.name).toBe('DEADLINE_EXCEEDED');
    expect(error.retryable).toBe(false);
  });

  test('still queued exactly at the deadline throws DEADLINE_EXCEEDED', async () => {
    const error = await pollError(pollState(), { phase: 'queued', providerStatus: 'QUEUED' }, { now: 1800 });
    expect(error.name).toBe('DEADLINE_EXCEEDED');
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
});
