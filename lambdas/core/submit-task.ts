import type { WorkflowInput } from './job.js';
import { nextPollSeconds, type GenerationEstimate } from './poll-policy.js';
import { pollContext, type PollState } from './poll-state.js';
import type { ProviderClient } from './provider-client.js';
import type { ProviderRequest } from './request-schema.js';
import { presignS3Media, type Presign } from './s3-media.js';

export interface SubmitTaskDeps {
  provider: ProviderClient;
  loadRequest: (requestKey: string) => Promise<ProviderRequest>;
  presign: Presign;
  /** What past jobs of this shape took; undefined until enough of them finished (generation-history). */
  loadHistory: (shape: WorkflowInput['shape']) => Promise<GenerationEstimate | undefined>;
  now: () => Date;
  random: () => number;
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
  const { taskId } = await deps.provider.createTask(request);
  const state: PollState = {
    providerTaskId: taskId,
    submittedAt: submittedAt.toISOString(),
    jobStatus: 'SUBMITTED',
    providerStatus: 'SUBMITTED',
    progress: 0,
    polls: 0,
    waitSeconds: 0,
    checkedAt: submittedAt.toISOString(),
    changed: true,
    ...(history ? { history } : {}),
  };
  const remainingSeconds = (Date.parse(input.deadlineAt) - submittedAt.getTime()) / 1000;
  return { ...state, waitSeconds: nextPollSeconds(pollContext(state, input.shape, 0, remainingSeconds, deps.random())) };
}
