import { executionNameFor } from './admission-line.js';
import { admitWaiting, passOnAndAdmit, type DispatchDeps, type DispatchReport } from './dispatch.js';
import type { JobRecord } from '../domain/job.js';
import * as z from '../domain/zod.js';

/**
 * What the end of an execution tells the admission line. Step Functions publishes every status
 * change of an execution to EventBridge; a rule sends the ends (whatever the path: a Succeed or Fail
 * state, a crash past every Catch, the execution timeout, a StopExecution) here.
 */
export const executionEndedEventSchema = z.object({
  detail: z.object({
    name: z.string(),
    status: z.enum(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
    // The execution input, as JSON text: it carries the job id (null only past 256 KB, which ours never is).
    input: z.string(),
  }),
});

const executionInputSchema = z.object({ jobId: z.string().check(z.minLength(1)) });

export interface ExecutionEnded {
  jobId: string;
  /** The execution's name: its job's id, `<jobId>-admission-<n>` or `<jobId>-resume-<n>`. */
  execution: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
}

/** The execution an "Execution Status Change" event names; throws on any other event. */
export function executionEndedOf(event: unknown): ExecutionEnded {
  const { detail } = executionEndedEventSchema.parse(event);
  const { jobId } = executionInputSchema.parse(JSON.parse(detail.input));
  return { jobId, execution: detail.name, status: detail.status };
}

export interface ExecutionEndedReport {
  /** The job went back to the front of the line (the provider had refused its create). */
  returnedToLine: boolean;
  /** The slot it held was given back. */
  released: boolean;
  dispatch: DispatchReport;
}

/**
 * Whether the execution that ended is the job's current one: the one its record points at, or the
 * one its latest admission started, which the record may not point at yet (an execution refused by
 * the provider can end before its dispatcher has recorded the start).
 */
const isCurrent = (job: JobRecord, execution: string) =>
  job.executionArn?.split(':').pop() === execution || executionNameFor(job.jobId, job.admissions ?? 1) === execution;

/**
 * Gives the ended execution's slot back and starts the next waiting jobs. Two cases keep or move
 * the job instead: an execution that ended well with its job still QUEUED is the provider's refusal
 * (the only path that ends so, the ProviderBusy state), so the job goes back to the front of the
 * line; and a job still SUBMITTED or RUNNING on the execution that ended was lost mid-way (a crash
 * past every Catch): its provider task runs on, so its slot stays for the sweeper's resume.
 */
export async function onExecutionEnded(ended: ExecutionEnded, deps: DispatchDeps): Promise<ExecutionEndedReport> {
  const job = await deps.jobs.get(ended.jobId);
  let returnedToLine = false;
  const current = job !== undefined && isCurrent(job, ended.execution);
  if (job && current && job.status === 'QUEUED' && ended.status === 'SUCCEEDED') {
    const admission = job.admissions ?? 1;
    if (executionNameFor(job.jobId, admission) === ended.execution) {
      returnedToLine = await deps.jobs.returnToLine(job.jobId, { admission, at: deps.now() });
    }
  }
  const lostWithTask = job !== undefined && current && (job.status === 'SUBMITTED' || job.status === 'RUNNING');
  // Most ends find the slot given back already, by the FreeSlot state: a read tells, where a write
  // that fails its condition would cost as much as one that lands, on the item every slot shares.
  const slots = lostWithTask ? undefined : await deps.slots.read();
  const holds = slots?.holders[ended.jobId]?.execution === ended.execution;
  // Nothing was given back: that read is also the dispatcher's first.
  if (!holds) return { returnedToLine, released: false, dispatch: await admitWaiting(deps, slots ? { seen: slots } : {}) };
  // A job sent back is at the front of the line itself: its slot is given back for the line to take in order.
  if (returnedToLine) return { returnedToLine, released: await deps.slots.release(ended.jobId, ended.execution), dispatch: await admitWaiting(deps) };
  return { returnedToLine, ...(await passOnAndAdmit(ended.jobId, ended.execution, deps)) };
}
