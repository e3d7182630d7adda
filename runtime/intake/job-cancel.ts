import { ConflictError, NotFoundError } from '../domain/errors.js';
import { isTerminal, type JobRecord } from '../domain/job.js';
import { announceOnce } from '../workflow/announce-outcome.js';
import type { JobAnnouncer } from '../aws/job-announcer.js';
import type { JobRepository } from '../aws/job-repository.js';
import type { WorkflowExecutions } from '../aws/workflow-executions.js';

export interface CancelDeps {
  jobs: JobRepository;
  workflow: Pick<WorkflowExecutions, 'stop'>;
  announcer: JobAnnouncer;
  now: () => Date;
}

/**
 * Records the job CANCELLED first (conditional: only a job that has not ended), then stops its
 * execution, so a late write of the workflow can never move it again. The provider has no cancel
 * call: a task it already runs goes on there, and is simply not collected.
 */
export async function cancelJob(jobId: string, caller: string, deps: CancelDeps): Promise<JobRecord> {
  const job = await deps.jobs.get(jobId);
  if (!job) throw new NotFoundError(`no job ${jobId}`);
  const refuse = (status: string) => new ConflictError(`job ${jobId} is ${status}: only a job that has not ended can be cancelled`);
  if (isTerminal(job.status)) throw refuse(job.status);
  const reason = `cancelled by ${caller}`;
  const cancelled = await deps.jobs.endJob(jobId, { status: 'CANCELLED', error: { code: 'CANCELLED', message: reason }, at: deps.now() });
  if (!cancelled) throw refuse((await deps.jobs.get(jobId))?.status ?? 'gone');
  if (cancelled.executionArn) await deps.workflow.stop(cancelled.executionArn, reason);
  await announceOnce(cancelled, deps);
  return cancelled;
}
