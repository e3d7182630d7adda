import type { RequestShape } from '../domain/job.js';
import type { PollState } from './polling/poll-state.js';
import type { WorkflowWebhookEvent } from '../../contracts/webhooks.js';

/** The execution input: small on purpose, the request itself stays in S3 (Step Functions caps payloads at 256 KB). */
export interface WorkflowInput {
  jobId: string;
  requestKey: string;
  shape: RequestShape;
  deadlineAt: string;
  /** Which of `Job Started` / `Job Progress` to publish: the job's webhook takes them (none for most jobs). */
  notify: WorkflowWebhookEvent[];
  /** Present only when the sweeper resumes a job: the workflow goes back to polling this provider task. */
  poll?: PollState;
}
