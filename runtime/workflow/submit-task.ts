import type { Slots } from '../admission/admission-slots.js';
import { ProviderBusyError } from '../domain/errors.js';
import { estimatedEndSeconds, nextPollSeconds, pollContext, startMemory, type GenerationEstimate } from './polling/poll-policy.js';
import { clockSecondsOf, policySecondsBetween } from './polling/policy-clock.js';
import { secondsAfter } from './polling/poll-state.js';
import type { PollState } from './polling/poll-state.js';
import type { WorkflowInput } from './workflow-input.js';
import type { ProviderClient } from '../provider/provider-client.js';
import type { ProviderRequest } from '../domain/request-schema.js';
import { presignS3Media, type Presign } from '../aws/s3-media.js';

export interface SubmitTaskDeps {
  provider: ProviderClient;
  loadRequest: (requestKey: string) => Promise<ProviderRequest>;
  presign: Presign;
  /** What past jobs of this shape took; undefined until enough of them finished (generation-history). */
  loadHistory: (shape: WorkflowInput['shape']) => Promise<GenerationEstimate | undefined>;
  /** The admission slots: told that the provider took the task, or refused it for its limit. */
  slots: Pick<Slots, 'recordCreated' | 'recordRefused'>;
  now: () => Date;
  random: () => number;
  /** The clock's seconds per provider second (policy-clock.ts); 1 on AWS. */
  timeScale?: number;
  /** Told of a failure to update the slots after a task was made: the task stands, the job goes on. */
  onSlotsError?: (error: unknown) => void;
}

/** Creates the provider task once; its errors say whether a retry is safe (see provider-client). */
export async function submitTask(input: WorkflowInput, deps: SubmitTaskDeps): Promise<PollState> {
  const request = await presignS3Media(await deps.loadRequest(input.requestKey), deps.presign);
  // Read before the create, so nothing that can fail stands between a created task and its record;
  // a history the store cannot give costs the job the prior, never the job.
  const history = await deps.loadHistory(input.shape).catch(() => undefined);
  // Taken before the create, which may be held open for minutes: the provider's clock (start_time)
  // counts from when it received the request, and so does ours.
  const submittedAt = deps.now();
  let taskId: string;
  try {
    ({ taskId } = await deps.provider.createTask(request));
  } catch (error) {
    // No task was made: the job goes back to the line (the workflow ends; see admission), and the
    // learned limit comes down before any other job takes the slot.
    if (error instanceof ProviderBusyError) await deps.slots.recordRefused(input.jobId, deps.now());
    throw error;
  }
  // The task exists and is billed: nothing after this may fail the job.
  await deps.slots.recordCreated(input.jobId, submittedAt).catch((error: unknown) => deps.onSlotsError?.(error));
  const state: PollState = {
    providerTaskId: taskId,
    submittedAt: submittedAt.toISOString(),
    jobStatus: 'SUBMITTED',
    providerStatus: 'SUBMITTED',
    progress: 0,
    polls: 0,
    waitSeconds: 0,
    checkedAt: submittedAt.toISOString(),
    estimatedFinishAt: submittedAt.toISOString(),
    changed: true,
    ...(input.notify?.includes('progress') ? { notify: ['progress' as const] } : {}),
    policy: startMemory(history),
  };
  const scale = deps.timeScale ?? 1;
  const remainingSeconds = policySecondsBetween(submittedAt, input.deadlineAt, scale);
  const context = pollContext(state.policy, input.shape, 0, remainingSeconds, deps.random());
  return {
    ...state,
    waitSeconds: nextPollSeconds(context),
    estimatedFinishAt: secondsAfter(submittedAt, clockSecondsOf(estimatedEndSeconds(context), scale)),
  };
}
