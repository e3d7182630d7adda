import type { WorkflowWebhookEvent } from '../../contracts/webhooks.js';
import { executionNameFor } from './admission-line.js';
import type { Slots, SlotsState } from './admission-slots.js';
import { isTerminal, requestShape, type JobRecord } from '../domain/job.js';
import type { WorkflowInput } from '../workflow/workflow-input.js';
import type { JobRepository } from '../aws/job-repository.js';
import type { WorkflowExecutions } from '../aws/workflow-executions.js';

export interface DispatchDeps {
  jobs: JobRepository;
  slots: Slots;
  workflow: Pick<WorkflowExecutions, 'start' | 'stop'>;
  /** A job's deadline, counted from when it takes its slot. */
  deadlineSeconds: number;
  now: () => Date;
  /** Told of every job whose workflow started (the JobsStarted metric). */
  onStarted?: (job: JobRecord) => void;
}

export interface DispatchReport {
  /** Jobs admitted and started by this call, in the order they started. */
  started: string[];
  /** Jobs admitted whose start failed, and why: back at the front of the line, their slots given back. */
  startFailed: { jobId: string; message: string }[];
}

/** Rounds of "read the free slots, take that many from the head of the line": enough for concurrent dispatchers to settle. */
const MAX_ROUNDS = 10;

/**
 * Starts waiting jobs, head of the line first, while slots are free. Called wherever a slot may have
 * come free or a job joined the line (every intake, the end of every execution, the sweep), so a
 * waiting job costs nothing while it waits. Any number may run at once: the slot is taken by one
 * conditional write per job, which also tells two dispatchers apart when they reach the same job.
 *
 * A burst means hundreds of dispatchers at once against a few free slots. Each takes the head of the
 * line as many jobs deep as slots are free, leaves out the ones another dispatcher already holds a
 * slot for, and tries them in a random order, so concurrent dispatchers spread over the free slots
 * instead of all writing for the first job; the jobs that take the slots free at one moment start
 * together. When one it tries was taken meanwhile, its view is stale: it reads the slots and the
 * line again rather than going on down an old list. `seen` is the slots as the caller has just read
 * them, for the first round.
 */
export async function admitWaiting(deps: DispatchDeps, options: { random?: () => number; seen?: SlotsState } = {}): Promise<DispatchReport> {
  const random = options.random ?? Math.random;
  const report: DispatchReport = { started: [], startFailed: [] };
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const slots = round === 0 && options.seen ? options.seen : await deps.slots.read();
    const free = slots.allowed - Object.keys(slots.holders).length;
    if (free <= 0) return report;
    const candidates = shuffled(
      (await deps.jobs.nextInLine(free)).filter((candidate) => !Object.hasOwn(slots.holders, candidate.jobId)),
      random,
    );
    // Every free slot's job is being started by another dispatcher already.
    if (candidates.length === 0) return report;
    let stale = false;
    for (const candidate of candidates) {
      const outcome = await admit(candidate, deps);
      if (outcome === 'full') return report;
      if (outcome === 'started') report.started.push(candidate.jobId);
      if (typeof outcome === 'object') {
        report.startFailed.push({ jobId: candidate.jobId, message: outcome.startFailed });
        // The service that starts executions is failing: the next dispatch (or the sweep) tries again.
        return report;
      }
      if (outcome === 'taken') {
        stale = true;
        break;
      }
    }
    if (!stale) return report;
  }
  return report;
}

/** Fisher-Yates, so that no job of the window is favoured. */
function shuffled<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

type Admission = 'started' | 'full' | 'taken' | { startFailed: string };

/** The execution a waiting job's next admission runs in. */
const nextExecutionOf = (candidate: JobRecord) => executionNameFor(candidate.jobId, (candidate.admissions ?? 0) + 1);

async function admit(candidate: JobRecord, deps: DispatchDeps): Promise<Admission> {
  const admittedAt = deps.now();
  const acquired = await deps.slots.acquire(candidate.jobId, nextExecutionOf(candidate), admittedAt);
  if (acquired === 'full') return 'full';
  if (acquired === 'already-held') return 'taken';
  return startHolder(candidate, admittedAt, deps);
}

/** Starts a waiting job that has just been given a slot: it leaves the line, and its execution starts. */
async function startHolder(candidate: JobRecord, admittedAt: Date, deps: DispatchDeps): Promise<Admission> {
  const admission = (candidate.admissions ?? 0) + 1;
  const execution = executionNameFor(candidate.jobId, admission);
  const admitted = await deps.jobs.markAdmitted(candidate.jobId, {
    admission,
    admittedAt: admittedAt.toISOString(),
    deadlineAt: new Date(admittedAt.getTime() + deps.deadlineSeconds * 1000).toISOString(),
  });
  if (!admitted) {
    // Cancelled, timed out in the line, or admitted by someone else since we read the line.
    await deps.slots.release(candidate.jobId, execution);
    return 'taken';
  }
  const failure = await startAdmitted(admitted, deps);
  return failure === undefined ? 'started' : { startFailed: failure };
}

/** Waiting jobs a slot handed over may go to: the head of the line, and a few behind it when several hand over at once. */
const HAND_OVER_WINDOW = 4;

export interface PassOnReport {
  /** The ending job's slot left it: handed over, or given back. */
  released: boolean;
  /** The job the slot was handed to, started or failed to start; none when the slot was given back. */
  dispatch: DispatchReport;
}

const noDispatch = (): DispatchReport => ({ started: [], startFailed: [] });

/**
 * Frees the slot of a job whose provider task ended (or whose execution ended holding it), handing it
 * straight to the head of the line when a job waits there: one write instead of a release and an
 * acquire, and no race with every other dispatcher for it, since each freed slot is passed on by the
 * end that freed it. The first try goes to the head of the line; when another hand-over took that job
 * at the same moment, the next tries go to a job drawn among the first few behind it. A slot the
 * learned limit no longer allows (it came down since), or that finds nobody waiting, is given back.
 */
export async function passOn(jobId: string, execution: string, deps: DispatchDeps, random: () => number = Math.random): Promise<PassOnReport> {
  for (let attempt = 0; attempt < HAND_OVER_WINDOW; attempt += 1) {
    const waiting = (await deps.jobs.nextInLine(HAND_OVER_WINDOW + 1)).filter((candidate) => candidate.jobId !== jobId).slice(0, HAND_OVER_WINDOW);
    if (waiting.length === 0) break;
    const candidate = attempt === 0 ? waiting[0]! : waiting[Math.floor(random() * waiting.length)]!;
    const at = deps.now();
    const outcome = await deps.slots.handOver(jobId, execution, { jobId: candidate.jobId, execution: nextExecutionOf(candidate), at });
    if (outcome === 'not-held') return { released: false, dispatch: noDispatch() };
    if (outcome === 'full') break;
    if (outcome === 'handed') {
      const started = await startHolder(candidate, at, deps);
      // 'taken': the job left the line meanwhile (cancelled), and startHolder gave its new slot back.
      return {
        released: true,
        dispatch: {
          started: started === 'started' ? [candidate.jobId] : [],
          startFailed: typeof started === 'object' ? [{ jobId: candidate.jobId, message: started.startFailed }] : [],
        },
      };
    }
  }
  return { released: await deps.slots.release(jobId, execution), dispatch: noDispatch() };
}

/** A slot passed on, then the other waiting jobs admitted while slots are free (a limit that grew, a hand-over that found nobody). */
export async function passOnAndAdmit(jobId: string, execution: string, deps: DispatchDeps): Promise<PassOnReport> {
  const passed = await passOn(jobId, execution, deps);
  const more = await admitWaiting(deps);
  return {
    released: passed.released,
    dispatch: { started: [...passed.dispatch.started, ...more.started], startFailed: [...passed.dispatch.startFailed, ...more.startFailed] },
  };
}

/** The execution input of an admitted job: what the workflow needs, the request itself stays in S3. */
export function workflowInputOf(job: JobRecord): WorkflowInput {
  const { jobId, request, requestKey, deadlineAt } = job;
  if (!request || !requestKey) throw new Error(`job ${jobId} has no request to start`);
  return { jobId, requestKey, shape: requestShape(request), deadlineAt, notify: workflowNotifications(job) };
}

/** The webhook events the workflow announces for this job: those its webhook takes, unless its receiver said 410. */
export function workflowNotifications(job: JobRecord): WorkflowWebhookEvent[] {
  if (!job.webhook || job.webhook.goneAt) return [];
  return job.webhook.events.filter((event): event is WorkflowWebhookEvent => event !== 'completed');
}

/**
 * Starts the execution of a job that holds a slot. The name and input come from the record alone, so
 * a second start (the sweeper after a crash between the two writes) finds the same execution. A start
 * that fails sends the job back to the front of the line and gives its slot back: it is never lost,
 * and it never holds a slot without an execution. Returns why it failed, or undefined once started.
 */
export async function startAdmitted(job: JobRecord, deps: DispatchDeps): Promise<string | undefined> {
  const admission = job.admissions ?? 1;
  const execution = executionNameFor(job.jobId, admission);
  let executionArn: string;
  try {
    executionArn = await deps.workflow.start(workflowInputOf(job), execution);
  } catch (error) {
    await deps.jobs.returnToLine(job.jobId, { admission, at: deps.now() });
    await deps.slots.release(job.jobId, execution);
    return `the workflow of job ${job.jobId} could not be started: ${(error as Error).message}`;
  }
  // The execution runs from here on, whatever happens to this bookkeeping write.
  const started = await deps.jobs.markStarted(job.jobId, executionArn, job.deadlineAt, admission);
  // The execution ended already (the provider refused its create) and its end moved the job on.
  if (!started) return undefined;
  // Cancelled between its admission and now: its cancel found no execution to stop, so stop it here,
  // before it reaches the provider (its end gives the slot back).
  if (isTerminal(started.status)) {
    await deps.workflow.stop(executionArn, `job ${job.jobId} ended ${started.status} before its execution started`);
    return undefined;
  }
  deps.onStarted?.({ ...job, executionArn });
  return undefined;
}
