import { StartFailedError } from './errors.js';
import { isTerminal, requestShape, type JobRecord } from './job.js';
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
  /** Jobs the sweep could not look after this time (a service error): the next sweep tries again. */
  failed: { jobId: string; message: string }[];
}

/**
 * Finds jobs that have not ended and whose execution is no longer running (a crash, a lost local
 * engine, an execution that failed without writing the job), and repairs them: start what never
 * started, resume what still has time, end the rest with a reason. Nothing stays non-terminal.
 */
export async function sweepJobs(deps: SweepDeps): Promise<SweepReport> {
  const report: SweepReport = { active: 0, started: [], resumed: [], ended: [], failed: [] };
  const listed = await deps.jobs.listActive();
  report.active = listed.length;
  for (const entry of listed) {
    // The status index is eventually consistent on DynamoDB, and a job moves while we sweep: act
    // only on what the record itself says now.
    try {
      const job = await deps.jobs.get(entry.jobId);
      if (!job || isTerminal(job.status)) continue;
      await sweepJob(job, deps, report);
    } catch (error) {
      // One job the sweep cannot handle must not keep it from the others.
      report.failed.push({ jobId: entry.jobId, message: (error as Error).message });
    }
  }
  return report;
}

async function sweepJob(job: JobRecord, deps: SweepDeps, report: SweepReport): Promise<void> {
  if (job.deferred) return;
  const now = deps.now();
  if (!job.executionArn) {
    if (now.getTime() - Date.parse(job.createdAt) < deps.startGraceSeconds * 1000) return;
    try {
      await startJob(job, deps);
      report.started.push(job.jobId);
    } catch (error) {
      if (!(error instanceof StartFailedError)) throw error;
      report.ended.push({ jobId: job.jobId, status: 'FAILED', code: error.code });
    }
    return;
  }
  const execution = await deps.workflow.describe(job.executionArn);
  if (execution === 'RUNNING' || execution === 'PENDING_REDRIVE') return;
  const lost = `its execution ${job.executionArn} is ${execution} but the job was ${job.status}`;
  const remaining = Date.parse(job.deadlineAt) - now.getTime();
  if (job.status !== 'QUEUED' && job.providerTaskId && remaining > 0 && (job.resumes ?? 0) < MAX_RESUMES) {
    if (await resume(job, deps)) report.resumed.push(job.jobId);
    return;
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
  // Only from the status and execution we looked at: a job that moved on meanwhile is someone else's.
  const ended = await deps.jobs.endJob(job.jobId, {
    status: end.status,
    error: { code: end.code, message: end.message },
    at: now,
    from: [job.status],
    executionArn: job.executionArn,
  });
  if (!ended) return;
  await announceOnce(ended, deps);
  report.ended.push({ jobId: job.jobId, status: end.status, code: end.code });
}

/**
 * Claims the resume first (a conditional write on the execution the job still names), then starts it:
 * of two sweeps that saw the same lost execution, one starts a new one and the other finds the claim
 * taken. Returns false when the job had moved on.
 */
async function resume(job: JobRecord, deps: SweepDeps): Promise<boolean> {
  const { request, requestKey, providerTaskId, submittedAt, executionArn } = job;
  if (!request || !requestKey || !providerTaskId || !submittedAt || !executionArn) throw new Error(`job ${job.jobId} cannot be resumed`);
  const attempt = (job.resumes ?? 0) + 1;
  if (!(await deps.jobs.claimResume(job.jobId, { lostExecutionArn: executionArn, attempt }))) return false;
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
  const resumedArn = await deps.workflow.start(
    { jobId: job.jobId, requestKey, shape: requestShape(request), deadlineAt: job.deadlineAt, poll },
    `${job.jobId}-resume-${attempt}`,
  );
  await deps.jobs.recordResumed(job.jobId, { executionArn: resumedArn, attempt });
  return true;
}
