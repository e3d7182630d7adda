import { executionNameFor } from './admission-line.js';
import { admitWaiting, type DispatchDeps, type DispatchReport } from './dispatch.js';
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

/** The job's current execution, by name: the one its record points at. */
const currentExecution = (job: JobRecord) => job.executionArn?.split(':').pop();

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
  const current = job !== undefined && currentExecution(job) === ended.execution;
  if (job && current && job.status === 'QUEUED' && ended.status === 'SUCCEEDED') {
    const admission = job.admissions ?? 1;
    if (executionNameFor(job.jobId, admission) === ended.execution) {
      returnedToLine = await deps.jobs.returnToLine(job.jobId, { admission, at: deps.now() });
    }
  }
  const lostWithTask = job !== undefined && current && (job.status === 'SUBMITTED' || job.status === 'RUNNING');
  const released = lostWithTask ? false : await deps.slots.release(ended.jobId, ended.execution);
  return { returnedToLine, released, dispatch: await admitWaiting(deps) };
}
