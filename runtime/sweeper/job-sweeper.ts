import { workflowNotifications } from '../admission/dispatch.js';
import { executionNameFor } from '../admission/admission-line.js';
import { announceOnce } from '../workflow/announce-outcome.js';
import { admitWaiting, startAdmitted, type DispatchReport } from '../admission/dispatch.js';
import { isTerminal, requestShape, type JobRecord } from '../domain/job.js';
import type { IntakeDeps } from '../intake/job-intake.js';
import type { PollState } from '../workflow/polling/poll-state.js';
import type { WorkflowExecutions } from '../aws/workflow-executions.js';

/** A job is resumed at most this many times; a job that keeps losing its execution is ended instead. */
export const MAX_RESUMES = 3;

export interface SweepDeps extends IntakeDeps {
  workflow: WorkflowExecutions;
  /** A step younger than this may still be between two writes of a live intake or dispatcher. */
  startGraceSeconds: number;
}

export interface SweepReport {
  active: number;
  /** Admitted but never started (a dispatcher died between its writes): started now. */
  started: string[];
  /** Admitted but never reached the provider, their execution gone: back to the front of the line. */
  returned: string[];
  /** Still before its deadline, its execution lost: a new execution polls the same provider task. */
  resumed: string[];
  /** Ended by the sweep, with the reason recorded on the job. */
  ended: { jobId: string; status: string; code: string }[];
  /** Slots held for nothing (a job that ended, a dispatcher that died), given back. */
  slotsReclaimed: string[];
  /** Jobs the sweep could not look after this time (a service error): the next sweep tries again. */
  failed: { jobId: string; message: string }[];
  /** The line after the sweep: how many wait, and since when the oldest. */
  line: { waiting: number; oldestQueuedAt?: string };
  /** Slots held after the reclaim, and how many the learned limit allows. */
  slots?: { held: number; allowed: number };
  /** What the dispatch at the end of the sweep started. */
  dispatch?: DispatchReport;
}

/**
 * The backstop of everything event-driven: finds jobs whose execution is no longer running (a
 * crash, a lost local engine, an execution that failed without writing the job) and repairs them,
 * ends jobs that waited in the line too long, gives back slots held for nothing, then dispatches.
 * Nothing stays non-terminal, and no slot is leaked.
 */
export async function sweepJobs(deps: SweepDeps): Promise<SweepReport> {
  const report: SweepReport = { active: 0, started: [], returned: [], resumed: [], ended: [], slotsReclaimed: [], failed: [], line: { waiting: 0 } };
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
  await reclaimSlots(deps, report);
  const slots = await deps.slots.read();
  report.slots = { held: Object.keys(slots.holders).length, allowed: slots.allowed };
  report.dispatch = await admitWaiting(deps);
  return report;
}

const olderThan = (deps: SweepDeps, at: string | undefined, seconds: number) => at !== undefined && deps.now().getTime() - Date.parse(at) >= seconds * 1000;

async function sweepJob(job: JobRecord, deps: SweepDeps, report: SweepReport): Promise<void> {
  if (job.deferred) return;
  const now = deps.now();
  if (job.inLine) {
    if (!olderThan(deps, job.queuedAt, deps.maxQueueSeconds)) {
      report.line.waiting += 1;
      if (!report.line.oldestQueuedAt || (job.queuedAt ?? '') < report.line.oldestQueuedAt) report.line.oldestQueuedAt = job.queuedAt;
      return;
    }
    const message = `it waited in the admission line from ${job.queuedAt} for ${deps.maxQueueSeconds} s without a free slot`;
    return end(job, { status: 'TIMED_OUT', code: 'QUEUE_TIMEOUT', message, whileWaiting: true }, deps, report);
  }
  const admission = job.admissions ?? 1;
  const execution = executionNameFor(job.jobId, admission);
  if (!job.executionArn) {
    // Admitted, then the dispatcher stopped before the start was recorded.
    if (job.status !== 'QUEUED' || !olderThan(deps, job.admittedAt ?? job.createdAt, deps.startGraceSeconds)) return;
    const { holders } = await deps.slots.read();
    if (holders[job.jobId]?.execution === execution) {
      if ((await startAdmitted(job, deps)) === undefined) report.started.push(job.jobId);
      return;
    }
    if (await deps.jobs.returnToLine(job.jobId, { admission, at: now })) report.returned.push(job.jobId);
    return;
  }
  const state = await deps.workflow.describe(job.executionArn);
  if (state === 'RUNNING' || state === 'PENDING_REDRIVE') return;
  if (job.status === 'QUEUED') {
    // Only the provider's refusal ends an execution well with its job still QUEUED: that job goes
    // back to the line (what the end of the execution would have done, had its event arrived).
    if (state === 'SUCCEEDED') {
      if (await deps.jobs.returnToLine(job.jobId, { admission, at: now })) {
        await deps.slots.release(job.jobId, execution);
        report.returned.push(job.jobId);
      }
      return;
    }
    const message = `its execution ${job.executionArn} is ${state} but the job was QUEUED: it stopped before the job was submitted, and the provider may or may not have received it`;
    return end(job, { status: 'FAILED', code: 'EXECUTION_LOST', message }, deps, report);
  }
  const lost = `its execution ${job.executionArn} is ${state} but the job was ${job.status}`;
  const remaining = Date.parse(job.deadlineAt) - now.getTime();
  if (job.providerTaskId && remaining > 0 && (job.resumes ?? 0) < MAX_RESUMES) {
    if (await resume(job, deps)) report.resumed.push(job.jobId);
    return;
  }
  if (remaining <= 0) {
    return end(job, { status: 'TIMED_OUT', code: 'STUCK_PAST_DEADLINE', message: `${lost} past its deadline ${job.deadlineAt}` }, deps, report);
  }
  return end(job, { status: 'FAILED', code: 'EXECUTION_LOST', message: `${lost}, and it was resumed ${job.resumes} times already` }, deps, report);
}

/**
 * Ends the job from the status and execution the sweep saw (a job that moved on meanwhile is
 * someone else's), announces it and gives back its slot: no execution will.
 */
async function end(
  job: JobRecord,
  outcome: { status: 'FAILED' | 'TIMED_OUT'; code: string; message: string; whileWaiting?: boolean },
  deps: SweepDeps,
  report: SweepReport,
): Promise<void> {
  const ended = await deps.jobs.endJob(job.jobId, {
    status: outcome.status,
    error: { code: outcome.code, message: outcome.message },
    at: deps.now(),
    from: [job.status],
    ...(outcome.whileWaiting ? { whileWaiting: true } : { executionArn: job.executionArn }),
  });
  if (!ended) return;
  // Whichever execution it was taken for (an admission's, a resume's): the job has ended.
  if (!outcome.whileWaiting) await deps.slots.release(job.jobId);
  await announceOnce(ended, deps);
  report.ended.push({ jobId: job.jobId, status: outcome.status, code: outcome.code });
}

/**
 * Claims the resume first (a conditional write on the execution the job still names), moves its slot
 * to the new execution, then starts it: of two sweeps that saw the same lost execution, one starts a
 * new one and the other finds the claim taken. Returns false when the job had moved on, or when its
 * slot was given back meanwhile and none is free now (a later sweep resumes it).
 */
async function resume(job: JobRecord, deps: SweepDeps): Promise<boolean> {
  const { request, requestKey, providerTaskId, submittedAt, executionArn } = job;
  if (!request || !requestKey || !providerTaskId || !submittedAt || !executionArn) throw new Error(`job ${job.jobId} cannot be resumed`);
  const attempt = (job.resumes ?? 0) + 1;
  const name = `${job.jobId}-resume-${attempt}`;
  const hasSlot = (await deps.slots.transfer(job.jobId, name)) || (await deps.slots.acquire(job.jobId, name, deps.now())) === 'acquired';
  if (!hasSlot) return false;
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
    // The next poll estimates again; until then, the last estimate the job showed.
    estimatedFinishAt: job.estimatedFinishAt ?? deps.now().toISOString(),
    changed: false,
  };
  // A resumed job is past its start: only `progress` can still be announced.
  const notify = workflowNotifications(job).filter((event) => event === 'progress');
  if (notify.length > 0) poll.notify = notify;
  const resumedArn = await deps.workflow.start({ jobId: job.jobId, requestKey, shape: requestShape(request), deadlineAt: job.deadlineAt, notify, poll }, name);
  await deps.jobs.recordResumed(job.jobId, { executionArn: resumedArn, attempt });
  return true;
}

/**
 * Slots whose holder no execution will give back: the job ended (its execution's end event was
 * lost), or it is still in the line (a dispatcher died between taking the slot and admitting it).
 */
async function reclaimSlots(deps: SweepDeps, report: SweepReport): Promise<void> {
  const { holders } = await deps.slots.read();
  for (const [jobId, holder] of Object.entries(holders)) {
    try {
      if (!olderThan(deps, holder.at, deps.startGraceSeconds)) continue;
      const job = await deps.jobs.get(jobId);
      const stale =
        !job ||
        job.inLine !== undefined ||
        (isTerminal(job.status) && (await deps.workflow.describe(deps.workflow.executionArnFor(holder.execution))) !== 'RUNNING');
      if (stale && (await deps.slots.release(jobId, holder.execution))) report.slotsReclaimed.push(jobId);
    } catch (error) {
      report.failed.push({ jobId, message: `its slot: ${(error as Error).message}` });
    }
  }
}
