import { DeadlineExceededError, PipelineError, ProviderTaskFailedError, VideoUnavailableError } from '../domain/errors.js';
import type { RequestShape } from '../domain/job.js';
import { estimatedEndSeconds, nextPollSeconds, pollContext, rememberAnswer, retryPollSeconds } from './polling/poll-policy.js';
import { clockSecondsOf, policySecondsBetween } from './polling/policy-clock.js';
import { secondsAfter } from './polling/poll-state.js';
import type { PollState } from './polling/poll-state.js';
import type { ProviderClient } from '../provider/provider-client.js';
import type { ProviderTaskSnapshot } from '../provider/task-snapshot.js';

export interface PollTaskInput {
  jobId: string;
  shape: RequestShape;
  deadlineAt: string;
  poll: PollState;
}

export interface PollTaskDeps {
  provider: ProviderClient;
  now: () => Date;
  random: () => number;
  /** How long past the deadline a billed task is still followed for its video. */
  lateFollowSeconds: number;
  /** The clock's seconds per provider second (policy-clock.ts); 1 on AWS. */
  timeScale?: number;
}

const STATUS_RANK = { SUBMITTED: 0, RUNNING: 1, SUCCEEDED: 2 } as const;

/**
 * One poll: asks the provider, and answers the next PollState. A task that failed or a provider that
 * forgot the task are thrown as typed errors, which the state machine catches. A deadline passed
 * with the task unfinished is not thrown: the state says `overdue`, the workflow records TIMED_OUT,
 * and later polls follow the task (`late`) until it ends, so a video it still makes is not lost.
 */
export async function pollTask(input: PollTaskInput, deps: PollTaskDeps): Promise<PollState> {
  const previous = input.poll;
  const late = previous.late === true || previous.overdue !== undefined;
  const deadlineAt = late ? new Date(Date.parse(input.deadlineAt) + deps.lateFollowSeconds * 1000).toISOString() : input.deadlineAt;
  const { overdue: _recorded, ...carried } = previous;
  const polled = late ? { ...input, deadlineAt, poll: { ...carried, late: true } } : input;
  try {
    const next = await pollOnce(polled, deps);
    return late && next.overdue ? { ...next, lateEnded: `it was still unfinished when following it stopped at ${deadlineAt}` } : next;
  } catch (error) {
    // A late task that failed or vanished ends the following; the job ended TIMED_OUT already.
    if (late && error instanceof PipelineError) return { ...polled.poll, checkedAt: deps.now().toISOString(), changed: false, lateEnded: error.message };
    throw error;
  }
}

async function pollOnce(input: PollTaskInput, deps: PollTaskDeps): Promise<PollState> {
  const previous = input.poll;
  let snapshot: ProviderTaskSnapshot;
  try {
    snapshot = await deps.provider.getTask(previous.providerTaskId);
  } catch (error) {
    if (error instanceof PipelineError && error.retryable) return afterFailedPoll(input, error, deps);
    throw error;
  }
  const now = deps.now();
  if (snapshot.phase === 'failed') {
    throw new ProviderTaskFailedError(snapshot.failReason ?? `the provider reported ${snapshot.providerStatus}`);
  }
  if (snapshot.phase === 'succeeded' && !snapshot.videoUrl) {
    throw new VideoUnavailableError(`the provider reported ${snapshot.providerStatus} for ${previous.providerTaskId} but gave no video URL`);
  }
  const scale = deps.timeScale ?? 1;
  const remainingSeconds = policySecondsBetween(now, input.deadlineAt, scale);
  const overdue =
    snapshot.phase !== 'succeeded' && remainingSeconds <= 0
      ? overdueAt(now, `the provider task ${previous.providerTaskId} was still ${snapshot.providerStatus} at the job deadline ${input.deadlineAt}`)
      : undefined;
  const reported = snapshot.phase === 'succeeded' ? 'SUCCEEDED' : snapshot.phase === 'running' ? 'RUNNING' : 'SUBMITTED';
  // Status and progress never move backwards, whatever a flaky gateway answers.
  const jobStatus = STATUS_RANK[reported] >= STATUS_RANK[previous.jobStatus] ? reported : previous.jobStatus;
  const progress = Math.max(previous.progress, snapshot.progress ?? 0);
  const elapsedSeconds = policySecondsBetween(previous.submittedAt, now, scale);
  const policy = rememberAnswer(previous.policy, snapshot, elapsedSeconds, previous.submittedAt, scale);
  const generationSeconds = snapshot.phase === 'succeeded' ? providerGenerationSeconds(snapshot) : undefined;
  const next: PollState = {
    providerTaskId: previous.providerTaskId,
    submittedAt: previous.submittedAt,
    jobStatus,
    providerStatus: snapshot.providerStatus,
    progress,
    polls: previous.polls + 1,
    waitSeconds: 0,
    checkedAt: now.toISOString(),
    estimatedFinishAt: previous.estimatedFinishAt,
    changed: jobStatus !== previous.jobStatus || progress !== previous.progress,
    ...(snapshot.videoUrl ? { videoUrl: snapshot.videoUrl } : {}),
    ...(generationSeconds !== undefined ? { generationSeconds } : {}),
    ...(previous.late ? { late: true } : {}),
    ...(overdue ? { overdue } : {}),
    ...(previous.notify ? { notify: previous.notify } : {}),
    policy,
  };
  // Past the deadline the follow-up polls wait as a late task deserves: the window runs from the deadline.
  const windowSeconds = overdue ? deps.lateFollowSeconds / scale : remainingSeconds;
  const context = pollContext(policy, input.shape, elapsedSeconds, windowSeconds, deps.random());
  return {
    ...next,
    waitSeconds: nextPollSeconds(context),
    estimatedFinishAt:
      snapshot.phase === 'succeeded' ? now.toISOString() : secondsAfter(new Date(previous.submittedAt), clockSecondsOf(estimatedEndSeconds(context), scale)),
  };
}

function overdueAt(now: Date, message: string): NonNullable<PollState['overdue']> {
  return { code: new DeadlineExceededError(message).code, message, at: now.toISOString() };
}

/** The provider's start-to-finish time of a finished task, when it says both ends. */
function providerGenerationSeconds(snapshot: ProviderTaskSnapshot): number | undefined {
  if (snapshot.startTime === undefined || snapshot.finishTime === undefined) return undefined;
  const seconds = snapshot.finishTime - snapshot.startTime;
  return seconds > 0 ? seconds : undefined;
}

/**
 * A poll the provider failed in a way worth repeating: the loop goes on with a backoff instead of
 * failing the job, until the deadline, where the job ends TIMED_OUT saying why.
 */
function afterFailedPoll(input: PollTaskInput, error: PipelineError, deps: PollTaskDeps): PollState {
  const previous = input.poll;
  const now = deps.now();
  const scale = deps.timeScale ?? 1;
  const remainingSeconds = policySecondsBetween(now, input.deadlineAt, scale);
  const consecutiveFailures = (previous.consecutiveFailures ?? 0) + 1;
  const overdue =
    remainingSeconds <= 0
      ? overdueAt(now, `the provider kept failing until the job deadline ${input.deadlineAt} (${consecutiveFailures} polls in a row): ${error.message}`)
      : undefined;
  return {
    ...previous,
    polls: previous.polls + 1,
    consecutiveFailures,
    waitSeconds: retryPollSeconds(consecutiveFailures, overdue ? deps.lateFollowSeconds / scale : remainingSeconds, deps.random()),
    checkedAt: now.toISOString(),
    changed: false,
    ...(overdue ? { overdue } : {}),
  };
}
