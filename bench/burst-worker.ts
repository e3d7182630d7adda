/**
 * One burst run in a fresh process (handlers read their settings at import: one process, one local
 * stack): BURST_JOBS jobs fired at once through the three triggers (test/support/burst.ts: 50 % POST
 * /jobs, 30 % uploads, 20 % lines of one manifest) at a stack deployed with maxJobsInFlight
 * BURST_MAX_IN_FLIGHT, against a provider simulator whose quota is BURST_QUOTA unfinished tasks, at
 * LOCAL_TIME_SCALE; it stops waiting BURST_TIMEOUT_SECONDS (600) after the burst, whatever is still
 * running. Prints one JSON line on stdout: the raw facts (each job's record, each provider
 * task, each execution, the usage of the burst's window, what the machine spent); bench/burst.ts
 * turns them into figures.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobRecord } from '../runtime/domain/job.js';
import type { ExecutionStatus } from '../local/emulators/stepfunctions/step-functions-engine.js';
import { startLocalStack } from '../local/stack/local-stack.js';
import type { SimulatorStats } from '../local/simulator/server.js';
import { subtractUsage, type Usage } from '../local/stack/usage.js';
import { burstJobs, fireBurst, type BurstTrigger, type PostOutcome } from '../testkit/burst.js';
import { localS3Client } from '../testkit/local-s3.js';
import { childrenCpuSeconds, machineCpu } from './proc-stat.js';

export interface BurstJobRecord {
  jobId: string;
  prompt: string;
  trigger: string;
  status: string;
  code?: string;
  createdAt: number;
  /** When it last took a slot (ms); absent if it never did. */
  admittedAt?: number;
  admissions: number;
  finishedAt?: number;
  polls?: number;
  providerTaskId?: string;
}

export interface BurstTask {
  id: string;
  prompt: string;
  createdAt: number;
  /** The simulator's planned end (createdAt + plannedMs). */
  plannedEnd: number;
  /**
   * When it ended: the planned end, or later when its render finished later (the simulator ends a
   * task when both are done). Read by sampling the task clock every SAMPLE_MS: the latest sample
   * that still saw it unfinished bounds it from below, so it is at most SAMPLE_MS early. Absent if it
   * had not ended when the run stopped.
   */
  end?: number;
  status: string;
}

export interface BurstExecution {
  name: string;
  start: number;
  stop?: number;
  status: ExecutionStatus;
}

export interface BurstWorkerResult {
  jobs: number;
  maxJobsInFlight: number;
  quota: number;
  timeScale: number;
  sampleMs: number;
  /** Each fired job: its prompt and trigger, and for a POST what it met (none yet: unanswered when the run stopped). */
  fired: { prompt: string; trigger: BurstTrigger; post?: PostOutcome }[];
  /** Just before the first request of the burst left (ms). */
  firedAt: number;
  /** When every request of the burst had been answered (the manifest's lines are queued after, by the batch function); undefined: not by the end of the run. */
  firedAnsweredAt?: number;
  /** The run stopped waiting because this many jobs had ended, or at the cutoff (BURST_TIMEOUT_SECONDS after the burst). */
  endedJobs: number;
  timedOut: boolean;
  timeoutSeconds: number;
  records: BurstJobRecord[];
  tasks: BurstTask[];
  executions: BurstExecution[];
  simulator: SimulatorStats;
  /** What the burst used of each AWS service: from just before it was fired to the end of its last execution and delivery. */
  usage: Usage;
  machine: {
    wallSeconds: number;
    /** This process: the stack (intake, engine, handlers, dynalite, s3rver's thread, simulator) and the burst's client. */
    cpuSelfSeconds: number;
    /** The simulator's ffmpeg renders (waited-for children). */
    cpuChildrenSeconds?: number;
    /** Every process on the machine: share of all cores busy over the run (others' load included). */
    machineBusyShare?: number;
    cores?: number;
    /** This process's event-loop delay over the run, ms. */
    eventLoopDelayMs: { p50: number; p99: number; max: number };
  };
}

const jobCount = Number(process.env.BURST_JOBS ?? 1000);
const maxJobsInFlight = Number(process.env.BURST_MAX_IN_FLIGHT ?? 30);
const quota = Number(process.env.BURST_QUOTA ?? 40);
const timeScale = Number(process.env.LOCAL_TIME_SCALE ?? 0.1);
const timeoutSeconds = Number(process.env.BURST_TIMEOUT_SECONDS ?? 600);
/** Fine enough against a task of seconds, and 1,000 task views every 100 ms cost the stack next to nothing. */
const SAMPLE_MS = 100;
const STOP_WAIT_MS = 30_000;
const TERMINAL_EVENTS = new Set(['Job Succeeded', 'Job Failed', 'Job Timed Out', 'Job Cancelled']);
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

const dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-bench-burst-'));
const stack = await startLocalStack({ dataDir, port: 0, timeScale, context: { maxJobsInFlight }, simulatorMaxActiveTasks: quota });
const s3 = localS3Client(stack);
const tag = `cap-${maxJobsInFlight}`;
const jobs = burstJobs(jobCount, tag);

const taskEnds = new Map<string, number>();
let lastSample = Date.now();
const sampleTasks = () => {
  const now = Date.now();
  for (const task of stack.simulator.tasks()) {
    if (taskEnds.has(task.id) || (task.status !== 'SUCCESS' && task.status !== 'FAILURE')) continue;
    taskEnds.set(task.id, Math.max(task.finishAt, lastSample));
  }
  lastSample = now;
};
const endedJobIds = new Set<string>();
let eventsSeen = 0;
const readEnds = () => {
  const events = stack.events();
  for (; eventsSeen < events.length; eventsSeen += 1) {
    const event = events[eventsSeen]!;
    const jobId = (event.detail as { jobId?: string }).jobId;
    if (jobId && TERMINAL_EVENTS.has(event['detail-type'])) endedJobIds.add(jobId);
  }
};

const usageBefore = stack.usage();
const cpuBefore = process.cpuUsage();
const childrenBefore = childrenCpuSeconds();
const machineBefore = machineCpu();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const firedAt = Date.now();
const posted = new Map<string, PostOutcome>();
let firedAnsweredAt: number | undefined;
const fired = fireBurst(stack, s3, jobs, tag, { onPost: (prompt, outcome) => posted.set(prompt, outcome) }).then(() => {
  firedAnsweredAt = Date.now();
});
const deadline = firedAt + timeoutSeconds * 1000;
while (endedJobIds.size < jobCount && Date.now() < deadline) {
  await sleep(SAMPLE_MS);
  sampleTasks();
  readEnds();
}
const timedOut = endedJobIds.size < jobCount;
// An upload that fails is a fault of the bench's client, not a figure: it fails the run.
if (!timedOut) await fired;
// Taken now: stopping a cut-off run's stack makes the POSTs still waiting fail, which is not what they met.
const postsAtEnd = new Map(posted);
const answeredAt = firedAnsweredAt;
// The last executions end a few states after their completion events, and each end is delivered to the admission function.
if (!timedOut) {
  await stack.engine.idle();
  await stack.deliveriesIdle();
}
sampleTasks();
loopDelay.disable();
const wallSeconds = (Date.now() - firedAt) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const childrenAfter = childrenCpuSeconds();
const machineAfter = machineCpu();
const usage = subtractUsage(stack.usage(), usageBefore);

// Executions and tasks before the records (a cut-off run's stack is still moving): a job admitted or
// submitted in between has a record that says so and no execution or task here, never an execution
// or a task its record does not account for.
const tasks: BurstTask[] = stack.simulator.tasks().map((task) => ({
  id: task.id,
  prompt: (task.request.content[0] as { text?: string } | undefined)?.text ?? '',
  createdAt: task.createdAt,
  plannedEnd: task.finishAt,
  ...(taskEnds.has(task.id) ? { end: taskEnds.get(task.id)! } : {}),
  status: task.status,
}));
const executions: BurstExecution[] = stack.engine.listExecutions().map((execution) => ({
  name: execution.name,
  start: execution.startDate.getTime(),
  ...(execution.stopDate ? { stop: execution.stopDate.getTime() } : {}),
  status: execution.status,
}));
// Read after the usage snapshot, from the table itself with a client of its own: the intake's
// client may still be queueing a cut-off run's requests, and the listing is not the burst's usage.
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const records: BurstJobRecord[] = [];
for await (const page of paginateScan({ client: documents }, { TableName: stack.tableName, ConsistentRead: true })) {
  for (const job of (page.Items ?? []) as JobRecord[]) {
    records.push({
      jobId: job.jobId,
      prompt: (job.request?.content[0] as { text?: string } | undefined)?.text ?? '',
      trigger: job.trigger.type,
      status: job.status,
      ...(job.error ? { code: job.error.code } : {}),
      createdAt: Date.parse(job.createdAt),
      ...(job.admittedAt ? { admittedAt: Date.parse(job.admittedAt) } : {}),
      admissions: job.admissions ?? 0,
      ...(job.finishedAt ? { finishedAt: Date.parse(job.finishedAt) } : {}),
      ...(job.polls !== undefined ? { polls: job.polls } : {}),
      ...(job.providerTaskId ? { providerTaskId: job.providerTaskId } : {}),
    });
  }
}
documents.destroy();
const simulator = stack.simulator.stats();
s3.destroy();
// A cut-off run may hold minutes of queued work that a clean stop would wait for: the figures are
// read, so stop briefly, and leave the folder behind (named on stderr) if its writers are still at it.
await Promise.race([stack.stop(), sleep(STOP_WAIT_MS)]);
await rm(dataDir, { recursive: true, force: true, maxRetries: 5 }).catch((error: unknown) => console.error(`burst: left ${dataDir}: ${String(error)}`));

const result: BurstWorkerResult = {
  jobs: jobCount,
  maxJobsInFlight,
  quota,
  timeScale,
  sampleMs: SAMPLE_MS,
  fired: jobs.map(({ prompt, trigger }) => {
    const post = postsAtEnd.get(prompt);
    return { prompt, trigger, ...(post ? { post } : {}) };
  }),
  firedAt,
  ...(answeredAt !== undefined ? { firedAnsweredAt: answeredAt } : {}),
  endedJobs: endedJobIds.size,
  timedOut,
  timeoutSeconds,
  records,
  tasks,
  executions,
  simulator,
  usage,
  machine: {
    wallSeconds,
    cpuSelfSeconds: (cpu.user + cpu.system) / 1e6,
    ...(childrenBefore !== undefined && childrenAfter !== undefined ? { cpuChildrenSeconds: childrenAfter - childrenBefore } : {}),
    ...(machineBefore && machineAfter
      ? {
          machineBusyShare: (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
          cores: machineAfter.cores,
        }
      : {}),
    eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  },
};
// A pipe takes a large write asynchronously: exit only once all of it is out.
await new Promise<void>((resolve, reject) => process.stdout.write(`${JSON.stringify(result)}\n`, (error) => (error ? reject(error) : resolve())));
process.exit(0);
