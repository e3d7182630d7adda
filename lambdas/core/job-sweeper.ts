import { StartFailedError } from './errors.js';
import { requestShape, type JobRecord } from './job.js';
import { announceOnce } from './announce-outcome.js';
import type { JobAnnouncer } from './job-announcer.js';
import { startJob, type IntakeDeps } from './job-intake.js';
import type { JobRepository } from './job-repository.js';
import type { PollState } from './poll-state.js';
import type { WorkflowExecutions } from './workflow-executions.js';

/** A job is resumed at most this many times; a job that keeps losing its execution is ended instead. */
export const MAX_RESUMES = 3;

export interface SweepDeps extends IntakeDeps {
  jobs: JobRepository;
  workflow: WorkflowExecutions;
  announcer: JobAnnouncer;
  /** A job recorded less than this long ago may still be between its two writes at the intake. */
  startGraceSeconds: number;
}

export interface SweepReport {
  active: number;
  /** Recorded but never started (the intake died between its writes): started now. */
  started: string[];
  /** Still before its deadline, its execution lost: a new execution polls the same provider task. */
  resumed: string[];
  /** Ended by the sweep, with the reason recorded on the job. */
  ended: { jobId: string; status: string; code: string }[];
}

/**
 * Finds jobs that have not ended and whose execution is no longer running (a crash, a lost local
 * engine, an execution that failed without writing the job), and repairs them: start what never
 * started, resume what still has time, end the rest with a reason. Nothing stays non-terminal.
 */
export async function sweepJobs(deps: SweepDeps): Promise<SweepReport> {
  const report: SweepReport = { active: 0, started: [], resumed: [], ended: [] };
  const active = await deps.jobs.listActive();
  report.active = active.length;
  for (const job of active) {
    if (job.deferred) continue;
    const now = deps.now();
    if (!job.executionArn) {
      if (now.getTime() - Date.parse(job.createdAt) < deps.startGraceSeconds * 1000) continue;
      try {
        await startJob(job, deps);
        report.started.push(job.jobId);
      } catch (error) {
        if (!(error instanceof StartFailedError)) throw error;
        report.ended.push({ jobId: job.jobId, status: 'FAILED', code: error.code });
      }
      continue;
    }
    const execution = await deps.workflow.describe(job.executionArn);
    if (execution === 'RUNNING' || execution === 'PENDING_REDRIVE') continue;
    const lost = `its execution ${job.executionArn} is ${execution} but the job was ${job.status}`;
    const remaining = Date.parse(job.deadlineAt) - now.getTime();
    if (job.status !== 'QUEUED' && job.providerTaskId && remaining > 0 && (job.resumes ?? 0) < MAX_RESUMES) {
      await resume(job, deps);
      report.resumed.push(job.jobId);
      continue;
    }
    const end =
      job.status === 'QUEUED'
        ? {
            status: 'FAILED' as const,
            code: 'EXECUTION_LOST',
            message: `${lost}: it stopped before the job was submitted, and the provider may or may not have received it`,
          }
        : remaining <= 0
          ? { status: 'TIMED_OUT' as const, code: 'STUCK_PAST_DEADLINE', message: `${lost} past its deadline ${job.deadlineAt}` }
          : { status: 'FAILED' as const, code: 'EXECUTION_LOST', message: `${lost}, and it was resumed ${job.resumes} times already` };
    const ended = await deps.jobs.endJob(job.jobId, { status: end.status, error: { code: end.code, message: end.message }, at: now });
    if (!ended) continue;
    await announceOnce(ended, deps);
    report.ended.push({ jobId: job.jobId, status: end.status, code: end.code });
  }
  return report;
}

async function resume(job: JobRecord, deps: SweepDeps): Promise<void> {
  const { request, requestKey, providerTaskId, submittedAt } = job;
  if (!request || !requestKey || !providerTaskId || !submittedAt) throw new Error(`job ${job.jobId} cannot be resumed`);
  const attempt = (job.resumes ?? 0) + 1;
  const poll: PollState = {
    providerTaskId,
    submittedAt,
    jobStatus: job.status === 'RUNNING' ? 'RUNNING' : 'SUBMITTED',
    providerStatus: 'RESUMED',
    progress: job.progress,
    polls: job.polls ?? 0,
    waitSeconds: 0,
    checkedAt: deps.now().toISOString(),
    changed: false,
  };
  const executionArn = await deps.workflow.start(
    { jobId: job.jobId, requestKey, shape: requestShape(request), deadlineAt: job.deadlineAt, poll },
    `${job.jobId}-resume-${attempt}`,
  );
  await deps.jobs.recordResumed(job.jobId, executionArn);
}
