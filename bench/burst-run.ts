/**
 * The burst (`npm run burst`, or BENCH_SECTIONS=burst in `npm run bench`): BURST_JOBS (1,000) jobs
 * fired at once (50 % POST /jobs, 30 % uploads, 20 % manifest lines: test/support/burst.ts) at a
 * provider simulator with a quota of BURST_QUOTA (40) unfinished tasks, once per maxJobsInFlight in
 * BURST_MAX_IN_FLIGHT (30: under the quota, 200: far above it), each run in a fresh process with its
 * own local stack (bench/burst-worker.ts) at BURST_TIME_SCALE (0.1; see DEFAULT_TIME_SCALE). A run
 * is cut off 600 s after its burst (BURST_TIMEOUT_SECONDS): by then it is past 1.9 times its ideal
 * drain (about 315 s under a cap of 30, 235 s under the quota of 40), so it has failed already, and two
 * runs must fit in the 15 minutes the bench may take.
 *
 * The figures, as computed below:
 * - usable concurrency = min(maxJobsInFlight, quota): no more tasks can run at once, whatever the cap.
 * - the simulator's total task time = Σ over the burst's provider tasks of (end − create), from
 *   simulator.tasks(): createdAt, and the end as the worker sampled it (the planned end, or later when
 *   the task's render finished later; see BurstTask.end).
 * - ideal drain = total task time ÷ usable concurrency: the burst with every usable slot running a
 *   task at every moment, nothing lost between two tasks and no tail.
 * - drain = the first request of the burst leaving → the last job's finishedAt.
 * - busy slot-seconds = Σ over jobs of (its provider task's end − the job's admittedAt), from the
 *   jobs' own records: the time a slot was used for work that reached the provider. A slot held past
 *   the task's end (the poll that sees it, the copy, the release) or for a create the provider refused
 *   (admittedAt is the last admission's) is not busy. The slot holders' own times are not read: they
 *   live in one item of the Admission table, and reading it during the run would add to the usage.
 * - slot utilisation = busy slot-seconds ÷ (usable concurrency × drain).
 * - slot occupancy (a diagnostic, not a pass condition) = Σ (execution stop − admittedAt) ÷ (usable ×
 *   drain): near utilisation when slots are idle only between tasks, far above it when they are held
 *   without work, far under 1 when they are not held at all while jobs wait.
 * - what a waiting job cost: POSTs answered `waiting: false` (admitted before the answer) against
 *   those answered `waiting: true`, and jobs the provider sent back (admitted more than once): the
 *   executions of each job (the engine's, by name), how many began before the job's admission, its
 *   polls (the record's); and each event-driven function's invocations against the events that drive
 *   it (usage), so an invocation made for a waiting job would show as one too many.
 * Pass: in every run, all jobs SUCCEEDED, 0 FAILED, ≤ 1 provider task per job, utilisation ≥ 0.85 and
 * drain ≤ 1.25 × ideal; in a run whose cap is at most the quota, peakActiveTasks ≤ the cap and 0
 * quota refusals.
 */
import { WORKFLOW_TASK_HANDLERS } from '../infra/constructs/generation-workflow.js';
import { costPer1000Videos, fixedPollerBaseline, formatCostTable, totalUsd, type CostLine } from '../testkit/aws-cost.js';
import type { BurstExecution, BurstJobRecord, BurstTask, BurstWorkerResult } from './burst-worker.js';
import { runTsChild } from './child.js';
import { fixedPollerPolls } from '../testkit/simulated-polling.js';
import { formatTable } from '../testkit/table.js';
import { integerEnv, quantile, round, type Log, type SectionReport, type SummaryRow } from './report.js';

const MIN_UTILISATION = 0.85;
const MAX_DRAIN_RATIO = 1.25;
/** The simulator ends a task only when its render is done too: a task ended this much past its planned end waited for a render. */
const LATE_RENDER_MS = 100;

/**
 * Why 0.1: the simulator's tasks (median 104 s for a 5 s 480p silent clip, unscaled) last about 10 s,
 * so 1,000 of them over 30 slots drain in about 315 s, two runs within the 15 minutes the bench may
 * take. At 0.05 the one process that runs the whole local stack (intake, engine, every handler,
 * dynalite, the simulator) was the bottleneck, not the pipeline: 89 to 98 % of a core for the whole
 * drain, and the 1,000 requests of the burst held the first tasks back for about 20 s of a 160 s ideal
 * (the provider first held 30 tasks 50 s in), where on AWS the intake scales apart from the workflow.
 * A 480p, 4 s, silent clip renders in about 0.13 CPU-s (measured per run below), far from the two
 * cores' budget. Each run prints whether renders, CPU or the event loop held it back.
 */
const DEFAULT_TIME_SCALE = 0.1;

export interface CheckResult {
  check: string;
  value: string;
  target: string;
  met: boolean;
}

interface GroupFigures {
  group: string;
  jobs: number;
  waitP50: number;
  waitMax: number;
  executionsPerJob: number;
  executionsBeforeAdmission: number;
  pollsPerJob: number;
}

export interface BurstRunFigures {
  maxJobsInFlight: number;
  quota: number;
  usable: number;
  jobs: number;
  timeScale: number;
  outcome: {
    succeeded: number;
    failed: Record<string, number>;
    timedOut: Record<string, number>;
    cancelled: number;
    /** Fired, and no job was ever recorded for it. */
    lost: number;
    /** Recorded, and still not ended when the run was cut off. */
    unfinished: number;
  };
  /** The run was cut off this long after the burst, jobs still running; undefined when every job ended. */
  cutOffSeconds?: number;
  provider: { tasks: number; tasksPerJobMax: number; jobsWithoutTask: number; peakActiveTasks: number; quotaRefusals: number };
  taskSeconds: number;
  idealSeconds: number;
  drainSeconds: number;
  drainRatio: number;
  busySlotSeconds: number;
  utilisation: number;
  occupancy: number;
  /** When the slots were first all held, seconds after the burst was fired (undefined: never). */
  slotsFirstFullSeconds?: number;
  /** Mean slots held while jobs waited in the line. */
  heldWhileWaiting: number;
  intake: {
    /** When the last job was recorded, seconds after the burst was fired. */
    allRecordedSeconds: number;
    /** When every POST and upload had been answered; undefined: some were not by the end of the run. */
    allAnsweredSeconds?: number;
    /** How long each POST took to answer, seconds (failed ones included, up to their failure). */
    postSeconds: { p50: number; p95: number; max: number };
    /** POSTs answered other than 202 or not at all (a client timeout), with the first reason. */
    postsFailed: number;
    postFailure?: string;
    postsUnanswered: number;
  };
  waiting: GroupFigures[];
  waitingJobSeconds: number;
  /**
   * What all waiting cost, measured: executions that began before their job's admission (a waiting
   * job's transitions and workflow-task invocations can only happen in one), and invocations of the
   * event-driven functions beyond one per driving event.
   */
  whileWaiting: { executions: number; extraInvocations: number };
  /** Each function's invocations against the events that drive it; `perEvent` false where one event makes many (an execution's tasks). */
  invocations: { function: string; invocations: number; drivenBy: string; events: number; perEvent: boolean }[];
  transitions: { total: number; perExecution: number; perVideo: number; providerBusy: number };
  dynamodb: { requestsPerJob: number; updateItemsPerJob: number; conditionalFailuresPerJob: number; writeUnitsPerJob: number };
  machine: {
    wallSeconds: number;
    stackCoreShare: number;
    rendersCoreShare?: number;
    renderCpuMsPerTask?: number;
    machineBusyShare?: number;
    cores?: number;
    eventLoopDelayMs: { p50: number; p99: number; max: number };
    lateRenders: number;
    lateRenderP95Ms: number;
    lateRenderShareOfTaskTime: number;
  };
  cost: { videos: number; polls: { ours: number; fixed: number }; ours: CostLine[]; fixed15: CostLine[] };
  checks: CheckResult[];
  passed: boolean;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const count = <T>(items: readonly T[], key: (item: T) => string | undefined) => {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const name = key(item);
    if (name !== undefined) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
};

/** The jobs' executions, by job id: the first is named after the job, later ones `<jobId>-admission-<n>` / `-resume-<n>`. */
function executionsByJob(executions: readonly BurstExecution[], jobIds: ReadonlySet<string>): Map<string, BurstExecution[]> {
  const byJob = new Map<string, BurstExecution[]>();
  for (const execution of executions) {
    const jobId = jobIds.has(execution.name) ? execution.name : execution.name.replace(/-(admission|resume)-\d+$/, '');
    if (!jobIds.has(jobId)) continue;
    byJob.set(jobId, [...(byJob.get(jobId) ?? []), execution]);
  }
  return byJob;
}

/** The mean of a step function (value changes at given times) over [from, to]. */
function stepMean(changes: readonly [number, number][], from: number, to: number, include: (at: number) => boolean): number {
  const sorted = [...changes].sort((a, b) => a[0] - b[0]);
  let level = 0;
  let area = 0;
  let span = 0;
  let previous = from;
  for (const [at, delta] of sorted) {
    const clipped = Math.min(Math.max(at, from), to);
    if (include(previous)) {
      area += level * (clipped - previous);
      span += clipped - previous;
    }
    previous = clipped;
    level += delta;
  }
  if (include(previous)) {
    area += level * (to - previous);
    span += to - previous;
  }
  return span > 0 ? area / span : NaN;
}

export async function burstFigures(run: BurstWorkerResult): Promise<BurstRunFigures> {
  const usable = Math.min(run.maxJobsInFlight, run.quota);
  const prompts = new Set(run.fired.map((job) => job.prompt));
  const records = run.records.filter((record) => prompts.has(record.prompt));
  const recordByPrompt = new Map(records.map((record) => [record.prompt, record]));
  const tasks = run.tasks.filter((task) => prompts.has(task.prompt));
  const taskById = new Map(tasks.map((task) => [task.id, task]));
  // A task still running when the run was cut off counts up to the cut-off only, like every other figure.
  const cutOffAt = run.firedAt + run.machine.wallSeconds * 1000;
  const taskEnd = (task: BurstTask) => task.end ?? cutOffAt;

  const terminal = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);
  const outcome = {
    succeeded: records.filter((record) => record.status === 'SUCCEEDED').length,
    failed: count(records, (record) => (record.status === 'FAILED' ? (record.code ?? 'no code') : undefined)),
    timedOut: count(records, (record) => (record.status === 'TIMED_OUT' ? (record.code ?? 'no code') : undefined)),
    cancelled: records.filter((record) => record.status === 'CANCELLED').length,
    lost: run.fired.filter((job) => !recordByPrompt.has(job.prompt)).length,
    unfinished: records.filter((record) => !terminal.has(record.status)).length,
  };
  const tasksPerPrompt = count(tasks, (task) => task.prompt);
  const provider = {
    tasks: tasks.length,
    tasksPerJobMax: Math.max(0, ...Object.values(tasksPerPrompt)),
    jobsWithoutTask: run.fired.filter((job) => !tasksPerPrompt[job.prompt]).length,
    peakActiveTasks: run.simulator.peakActiveTasks,
    quotaRefusals: run.simulator.quotaRefusals,
  };

  const taskSeconds = sum(tasks.map((task) => taskEnd(task) - task.createdAt)) / 1000;
  const idealSeconds = taskSeconds / usable;
  const lastEnd = run.timedOut ? cutOffAt : Math.max(...records.map((record) => record.finishedAt ?? 0));
  const drainSeconds = (lastEnd - run.firedAt) / 1000;
  const busySlotSeconds =
    sum(
      records.map((record) => {
        const task = record.providerTaskId ? taskById.get(record.providerTaskId) : undefined;
        return task && record.admittedAt !== undefined ? taskEnd(task) - record.admittedAt : 0;
      }),
    ) / 1000;

  const jobIds = new Set(records.map((record) => record.jobId));
  const executions = executionsByJob(run.executions, jobIds);
  const currentStop = (record: BurstJobRecord) => {
    const ran = executions.get(record.jobId) ?? [];
    return ran.find((execution) => execution.start >= (record.admittedAt ?? Infinity))?.stop ?? lastEnd;
  };
  const held: [number, number][] = records.flatMap((record) =>
    record.admittedAt === undefined
      ? []
      : ([
          [record.admittedAt, 1],
          [currentStop(record), -1],
        ] as [number, number][]),
  );
  const occupancy = sum(held.map(([at, delta]) => -at * delta)) / 1000 / (usable * drainSeconds);
  const inLine: [number, number][] = records.flatMap(
    (record) =>
      [
        [record.createdAt, 1],
        [record.admittedAt ?? lastEnd, -1],
      ] as [number, number][],
  );
  const sortedLine = [...inLine].sort((a, b) => a[0] - b[0]);
  const waitingAt = (at: number) => {
    let level = 0;
    for (const [time, delta] of sortedLine) {
      if (time > at) break;
      level += delta;
    }
    return level;
  };
  let level = 0;
  let slotsFirstFull: number | undefined;
  for (const [at, delta] of [...held].sort((a, b) => a[0] - b[0])) {
    level += delta;
    if (level >= usable) {
      slotsFirstFull = at;
      break;
    }
  }
  const heldWhileWaiting = stepMean(held, run.firedAt, lastEnd, (at) => waitingAt(at) > 0);

  const firedByPrompt = new Map(run.fired.map((job) => [job.prompt, job]));
  const group = (name: string, members: BurstJobRecord[]): GroupFigures => {
    const waits = members.map((record) => ((record.admittedAt ?? lastEnd) - record.createdAt) / 1000);
    return {
      group: name,
      jobs: members.length,
      waitP50: quantile(waits, 0.5),
      waitMax: Math.max(0, ...waits),
      executionsPerJob: sum(members.map((record) => executions.get(record.jobId)?.length ?? 0)) / Math.max(1, members.length),
      // The first admission's execution may not begin before it; a later one may (the earlier, refused admission's).
      executionsBeforeAdmission: sum(
        members.map(
          (record) =>
            (executions.get(record.jobId) ?? []).filter((execution) => record.admissions <= 1 && execution.start < (record.admittedAt ?? Infinity)).length,
        ),
      ),
      pollsPerJob: sum(members.map((record) => record.polls ?? 0)) / Math.max(1, members.length),
    };
  };
  const answeredWaiting = (record: BurstJobRecord) => {
    const post = firedByPrompt.get(record.prompt)?.post;
    return post && 'waiting' in post ? post.waiting : undefined;
  };
  const posts = records.filter((record) => answeredWaiting(record) !== undefined && record.admissions <= 1);
  const sentBack = records.filter((record) => record.admissions > 1);
  const waiting = [
    group(
      'POST answered waiting: false (started at once)',
      posts.filter((record) => answeredWaiting(record) === false),
    ),
    group(
      'POST answered waiting: true',
      posts.filter((record) => answeredWaiting(record) === true),
    ),
    group('sent back by the provider (admitted > 1 time), any trigger', sentBack),
  ];
  const postOutcomes = run.fired.filter((job) => job.trigger === 'http').map((job) => job.post);
  const postSeconds = postOutcomes.flatMap((post) => (post ? [post.answeredMs / 1000] : []));
  const failures = postOutcomes.flatMap((post) => (post && 'failure' in post ? [post.failure] : []));
  const intake: BurstRunFigures['intake'] = {
    allRecordedSeconds: (Math.max(...records.map((record) => record.createdAt)) - run.firedAt) / 1000,
    ...(run.firedAnsweredAt !== undefined ? { allAnsweredSeconds: (run.firedAnsweredAt - run.firedAt) / 1000 } : {}),
    postSeconds: { p50: quantile(postSeconds, 0.5), p95: quantile(postSeconds, 0.95), max: Math.max(0, ...postSeconds) },
    postsFailed: failures.length,
    ...(failures[0] !== undefined ? { postFailure: failures[0] } : {}),
    postsUnanswered: postOutcomes.filter((post) => post === undefined).length,
  };
  const waitingJobSeconds = sum(records.map((record) => ((record.admittedAt ?? lastEnd) - record.createdAt) / 1000));

  const lambda = run.usage.lambda;
  const invocationsOf = (file: string) => lambda[file]?.invocations ?? 0;
  const ran = run.executions.filter((execution) => jobIds.has(execution.name) || jobIds.has(execution.name.replace(/-(admission|resume)-\d+$/, '')));
  const triggers = count(run.fired, (job) => job.trigger);
  const taskFunctions = new Set<string>(Object.values(WORKFLOW_TASK_HANDLERS));
  const stepFunctions = run.usage.stepFunctions;
  const invocations = [
    { function: 'intake', invocations: invocationsOf('intake'), drivenBy: 'POST /jobs', events: triggers.http ?? 0, perEvent: true },
    { function: 's3-trigger', invocations: invocationsOf('s3-trigger'), drivenBy: 'uploads under incoming/', events: triggers.s3 ?? 0, perEvent: true },
    { function: 'batch-runner', invocations: invocationsOf('batch-runner'), drivenBy: 'manifests uploaded', events: triggers.batch ? 1 : 0, perEvent: true },
    {
      function: 'admission',
      invocations: invocationsOf('admission'),
      drivenBy: 'provider task ends + execution ends',
      // The FreeSlot states' events (one per task found ended with a video) and the ends of executions.
      events:
        (stepFunctions.transitionsByState.FreeSlot ?? 0) +
        (stepFunctions.transitionsByState.FreeSlotOfLateTask ?? 0) +
        ran.filter((execution) => execution.stop !== undefined).length,
      perEvent: true,
    },
    { function: 'sweeper', invocations: invocationsOf('sweeper'), drivenBy: 'schedule (off in this run)', events: 0, perEvent: true },
    {
      function: 'workflow tasks',
      invocations: sum(
        Object.entries(lambda)
          .filter(([file]) => taskFunctions.has(file))
          .map(([, used]) => used.invocations),
      ),
      drivenBy: 'executions (run inside them only)',
      events: ran.length,
      perEvent: false,
    },
  ];
  const transitions = {
    total: stepFunctions.transitions,
    perExecution: stepFunctions.transitions / Math.max(1, stepFunctions.executionsStarted),
    perVideo: stepFunctions.transitions / Math.max(1, outcome.succeeded),
    providerBusy: stepFunctions.transitionsByState.ProviderBusy ?? 0,
  };
  const dynamo = run.usage.dynamodb;
  const requests = sum(Object.values(dynamo.byOperation).map((operation) => operation.requests));
  const dynamodb = {
    requestsPerJob: requests / run.jobs,
    updateItemsPerJob: (dynamo.byOperation.UpdateItem?.requests ?? 0) / run.jobs,
    conditionalFailuresPerJob: dynamo.conditionalCheckFailures / run.jobs,
    writeUnitsPerJob: dynamo.writeUnits / run.jobs,
  };

  const lateness = tasks.filter((task) => task.end !== undefined).map((task) => task.end! - task.plannedEnd);
  const machine = {
    wallSeconds: run.machine.wallSeconds,
    stackCoreShare: run.machine.cpuSelfSeconds / run.machine.wallSeconds,
    ...(run.machine.cpuChildrenSeconds !== undefined
      ? {
          rendersCoreShare: run.machine.cpuChildrenSeconds / run.machine.wallSeconds,
          renderCpuMsPerTask: (run.machine.cpuChildrenSeconds / Math.max(1, tasks.length)) * 1000,
        }
      : {}),
    ...(run.machine.machineBusyShare !== undefined ? { machineBusyShare: run.machine.machineBusyShare } : {}),
    ...(run.machine.cores !== undefined ? { cores: run.machine.cores } : {}),
    eventLoopDelayMs: run.machine.eventLoopDelayMs,
    lateRenders: lateness.filter((late) => late > LATE_RENDER_MS).length,
    lateRenderP95Ms: lateness.length > 0 ? quantile(lateness, 0.95) : 0,
    lateRenderShareOfTaskTime: sum(lateness) / 1000 / taskSeconds,
  };

  // Per video delivered; the baseline polls the same provider tasks (unscaled lengths) every 15 s.
  const videos = Math.max(1, outcome.succeeded);
  const polls = {
    ours: sum(records.map((record) => record.polls ?? 0)),
    fixed: sum(
      await fixedPollerPolls(tasks.filter((task) => task.status === 'SUCCESS').map((task) => (taskEnd(task) - task.createdAt) / 1000 / run.timeScale)),
    ),
  };
  const cost = { videos, polls, ours: costPer1000Videos(run.usage, videos), fixed15: costPer1000Videos(fixedPollerBaseline(run.usage, polls), videos) };

  const drainRatio = drainSeconds / idealSeconds;
  const utilisation = busySlotSeconds / (usable * drainSeconds);
  const failedCount = sum(Object.values(outcome.failed));
  const checks: CheckResult[] = [
    { check: 'SUCCEEDED', value: `${outcome.succeeded}/${run.jobs}`, target: `${run.jobs}`, met: outcome.succeeded === run.jobs },
    { check: 'jobs lost', value: String(outcome.lost), target: '0', met: outcome.lost === 0 },
    { check: 'FAILED', value: String(failedCount), target: '0', met: failedCount === 0 },
    { check: 'provider tasks per job (max)', value: String(provider.tasksPerJobMax), target: '≤ 1', met: provider.tasksPerJobMax <= 1 },
    ...(run.maxJobsInFlight <= run.quota
      ? [
          {
            check: 'peakActiveTasks',
            value: String(provider.peakActiveTasks),
            target: `≤ ${run.maxJobsInFlight} (the cap)`,
            met: provider.peakActiveTasks <= run.maxJobsInFlight,
          },
          { check: 'quotaRefusals', value: String(provider.quotaRefusals), target: '0', met: provider.quotaRefusals === 0 },
        ]
      : []),
    { check: 'slot utilisation', value: round(utilisation, 3).toFixed(3), target: `≥ ${MIN_UTILISATION}`, met: utilisation >= MIN_UTILISATION },
    { check: 'drain ÷ ideal', value: `${round(drainRatio, 3).toFixed(3)}×`, target: `≤ ${MAX_DRAIN_RATIO}×`, met: drainRatio <= MAX_DRAIN_RATIO },
  ];
  return {
    maxJobsInFlight: run.maxJobsInFlight,
    quota: run.quota,
    usable,
    jobs: run.jobs,
    timeScale: run.timeScale,
    outcome,
    ...(run.timedOut ? { cutOffSeconds: run.timeoutSeconds } : {}),
    provider,
    taskSeconds,
    idealSeconds,
    drainSeconds,
    drainRatio,
    busySlotSeconds,
    utilisation,
    occupancy,
    ...(slotsFirstFull !== undefined ? { slotsFirstFullSeconds: (slotsFirstFull - run.firedAt) / 1000 } : {}),
    heldWhileWaiting,
    intake,
    waiting,
    waitingJobSeconds,
    whileWaiting: {
      executions: sum(waiting.map((g) => g.executionsBeforeAdmission)),
      extraInvocations: sum(invocations.filter((row) => row.perEvent).map((row) => Math.max(0, row.invocations - row.events))),
    },
    invocations,
    transitions,
    dynamodb,
    machine,
    cost,
    checks,
    passed: checks.every((check) => check.met),
  };
}

const seconds = (value: number) => `${round(value, 1).toFixed(1)} s`;
const byCode = (counts: Record<string, number>) => (Object.keys(counts).length === 0 ? '' : ` ${JSON.stringify(counts)}`);

/** Everything a run printed, in the order the issue asks for. */
export function formatRun(f: BurstRunFigures): string {
  const m = f.machine;
  const lines = [
    `burst: maxJobsInFlight ${f.maxJobsInFlight}, provider quota ${f.quota} (usable concurrency ${f.usable}), ${f.jobs} jobs fired at once, LOCAL_TIME_SCALE ${f.timeScale}`,
    `  jobs: SUCCEEDED ${f.outcome.succeeded}, FAILED ${sum(Object.values(f.outcome.failed))}${byCode(f.outcome.failed)}, TIMED_OUT ${sum(Object.values(f.outcome.timedOut))}${byCode(f.outcome.timedOut)}, CANCELLED ${f.outcome.cancelled}, lost ${f.outcome.lost}${f.cutOffSeconds === undefined ? '' : `; still running when the run was cut off ${f.cutOffSeconds} s after the burst: ${f.outcome.unfinished}`}`,
    `  provider: ${f.provider.tasks} tasks, provider tasks per job (max) ${f.provider.tasksPerJobMax}, jobs with no task ${f.provider.jobsWithoutTask}, peakActiveTasks ${f.provider.peakActiveTasks}, quotaRefusals ${f.provider.quotaRefusals}`,
    ...(f.cutOffSeconds === undefined
      ? []
      : [`  cut off: the drain below is a lower bound, and the ideal counts only the ${f.provider.tasks} provider tasks made by then, up to the cut-off`]),
    `  drain ${seconds(f.drainSeconds)} against the ideal ${seconds(f.idealSeconds)} (total task time ${seconds(f.taskSeconds)} ÷ ${f.usable}) = ${round(f.drainRatio, 3)}×; slot utilisation ${round(f.utilisation, 3)} (busy ${seconds(f.busySlotSeconds)} slot-s ÷ (${f.usable} × ${seconds(f.drainSeconds)}))`,
    `  slots: occupancy ${round(f.occupancy, 3)} (held admission → execution end); all ${f.usable} first held at ${f.slotsFirstFullSeconds === undefined ? 'never' : seconds(f.slotsFirstFullSeconds)}; mean held while jobs waited ${round(f.heldWhileWaiting, 1)} of ${f.usable}`,
    `  intake: every job recorded by ${seconds(f.intake.allRecordedSeconds)}; every POST and upload answered by ${f.intake.allAnsweredSeconds === undefined ? 'never (not by the end of the run)' : seconds(f.intake.allAnsweredSeconds)}; POST answer time p50 ${seconds(f.intake.postSeconds.p50)}, p95 ${seconds(f.intake.postSeconds.p95)}, max ${seconds(f.intake.postSeconds.max)}; POSTs failed ${f.intake.postsFailed}${f.intake.postFailure ? ` (first: ${f.intake.postFailure})` : ''}, unanswered at the end ${f.intake.postsUnanswered}`,
    `  DynamoDB per job: ${round(f.dynamodb.requestsPerJob, 1)} requests, ${round(f.dynamodb.updateItemsPerJob, 1)} UpdateItem, ${round(f.dynamodb.conditionalFailuresPerJob, 1)} failed conditions, ${round(f.dynamodb.writeUnitsPerJob, 1)} WRU`,
    `  what a waiting job cost (${seconds(f.waitingJobSeconds)} job-s of waiting in all):`,
    formatTable(
      ['jobs', 'n', 'wait p50 s', 'wait max s', 'executions/job', 'executions begun before admission', 'polls/job'],
      f.waiting.map((g) => [
        g.group,
        g.jobs,
        g.jobs ? round(g.waitP50, 2) : '',
        g.jobs ? round(g.waitMax, 2) : '',
        g.jobs ? round(g.executionsPerJob, 3) : '',
        g.jobs ? g.executionsBeforeAdmission : '',
        g.jobs ? round(g.pollsPerJob, 2) : '',
      ]),
    )
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
    ...(f.cutOffSeconds === undefined
      ? []
      : ['    (cut off: an invocation still running then is not counted, so some functions show fewer invocations than events)']),
    formatTable(
      ['function', 'invocations', 'driven by', 'events', 'beyond one per event'],
      f.invocations.map((row) => [row.function, row.invocations, row.drivenBy, row.events, row.perEvent ? row.invocations - row.events : '']),
    )
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
    `    while waiting: ${f.whileWaiting.executions} executions begun before their job's admission (so ${f.whileWaiting.executions === 0 ? 0 : `up to ${f.whileWaiting.executions} × ${round(f.transitions.perExecution, 1)}`} transitions and workflow-task invocations), ${f.whileWaiting.extraInvocations} invocations beyond one per driving event: a waiting job cost ${f.whileWaiting.executions === 0 && f.whileWaiting.extraInvocations === 0 ? '0 state transitions and 0 Lambda invocations' : 'the figures above'}`,
    `    Step Functions: ${f.transitions.total} transitions, ${round(f.transitions.perExecution, 2)} per execution, ${round(f.transitions.perVideo, 2)} per video; ${f.transitions.providerBusy} executions ended ProviderBusy (a refused create: the job went back to the line)`,
    `  machine: ${seconds(m.wallSeconds)} wall; stack process ${round(m.stackCoreShare * 100, 0)} % of a core, ffmpeg renders ${m.rendersCoreShare === undefined ? '?' : `${round(m.rendersCoreShare * 100, 0)} % of a core (${round(m.renderCpuMsPerTask ?? 0, 0)} CPU-ms per task)`}, all processes ${m.machineBusyShare === undefined ? '?' : `${round(m.machineBusyShare * 100, 0)} % of ${m.cores} cores`}; event-loop delay p50 ${round(m.eventLoopDelayMs.p50, 0)} ms, p99 ${round(m.eventLoopDelayMs.p99, 0)} ms, max ${round(m.eventLoopDelayMs.max, 0)} ms; renders that ended a task late (> ${LATE_RENDER_MS} ms past its planned end) ${m.lateRenders}, p95 lateness ${round(m.lateRenderP95Ms, 0)} ms, ${round(m.lateRenderShareOfTaskTime * 100, 2)} % of the task time`,
    `  checks:`,
    formatTable(
      ['check', 'value', 'target', 'met?'],
      f.checks.map((check) => [check.check, check.value, check.target, check.met ? 'yes' : 'NO']),
    )
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
    `  AWS cost per 1,000 videos (us-east-1 on-demand, bench/aws-cost.ts), from this run's usage per video delivered (${f.cost.videos}); baseline: the same run with its ${f.cost.polls.ours} polls replaced by the ${f.cost.polls.fixed} a fixed 15 s poller makes on the same provider tasks`,
    formatCostTable(f.cost.ours, { label: 'fixed 15 s', lines: f.cost.fixed15 })
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
  ];
  return lines.join('\n');
}

export interface BurstReport extends SectionReport {
  passed: boolean;
  runs: BurstRunFigures[];
  /** What each run's worker measured, for another look at a run that took minutes. */
  raw: BurstWorkerResult[];
}

export async function runBurstBench(log: Log): Promise<BurstReport> {
  const jobs = integerEnv('BURST_JOBS', 1000);
  const quota = integerEnv('BURST_QUOTA', 40);
  const caps = (process.env.BURST_MAX_IN_FLIGHT ?? '30,200').split(',').map((value) => {
    const cap = Number(value.trim());
    if (!Number.isInteger(cap) || cap <= 0) throw new Error(`BURST_MAX_IN_FLIGHT must list positive integers, got ${process.env.BURST_MAX_IN_FLIGHT}`);
    return cap;
  });
  const timeScale = Number(process.env.BURST_TIME_SCALE ?? DEFAULT_TIME_SCALE);
  if (!(timeScale > 0)) throw new Error(`BURST_TIME_SCALE must be a positive number, got ${process.env.BURST_TIME_SCALE}`);
  const runs: BurstRunFigures[] = [];
  const raw: BurstWorkerResult[] = [];
  const crashed: { maxJobsInFlight: number; error: string }[] = [];
  for (const cap of caps) {
    log(`burst: ${jobs} jobs, maxJobsInFlight ${cap}, quota ${quota}, time scale ${timeScale}`);
    let result: BurstWorkerResult;
    try {
      result = await runTsChild<BurstWorkerResult>(
        './burst-worker.ts',
        {
          BURST_JOBS: String(jobs),
          BURST_MAX_IN_FLIGHT: String(cap),
          BURST_QUOTA: String(quota),
          LOCAL_TIME_SCALE: String(timeScale),
          BURST_TIMEOUT_SECONDS: String(integerEnv('BURST_TIMEOUT_SECONDS', 600)),
        },
        log,
        { timeoutMs: 30 * 60 * 1000 },
      );
    } catch (error) {
      // The other run's figures still stand: report this one as failed and go on.
      crashed.push({ maxJobsInFlight: cap, error: error instanceof Error ? error.message : String(error) });
      log(`burst: maxJobsInFlight ${cap}: the run failed: ${crashed.at(-1)!.error}`);
      continue;
    }
    raw.push(result);
    const figures = await burstFigures(result);
    log(
      `burst: maxJobsInFlight ${cap}: drain ${seconds(figures.drainSeconds)} (${round(figures.drainRatio, 2)}× ideal), utilisation ${round(figures.utilisation, 3)}, ${figures.passed ? 'pass' : 'FAIL'}`,
    );
    runs.push(figures);
  }
  const passed = crashed.length === 0 && runs.every((run) => run.passed);
  const rows: SummaryRow[] = runs.flatMap((run) => [
    {
      section: 'burst',
      metric: `cap ${run.maxJobsInFlight}, quota ${run.quota}: drain s vs ideal`,
      ours: round(run.drainSeconds, 1),
      baseline: round(run.idealSeconds, 1),
      ratio: run.drainRatio,
      target: `≤ ${MAX_DRAIN_RATIO}×`,
      met: run.drainRatio <= MAX_DRAIN_RATIO,
    },
    {
      section: 'burst',
      metric: `cap ${run.maxJobsInFlight}: slot utilisation`,
      ours: round(run.utilisation, 3),
      baseline: '',
      target: `≥ ${MIN_UTILISATION}`,
      met: run.utilisation >= MIN_UTILISATION,
    },
    {
      section: 'burst',
      metric: `cap ${run.maxJobsInFlight}: SUCCEEDED; tasks/job max; peak; refusals`,
      ours: `${run.outcome.succeeded}/${run.jobs}; ${run.provider.tasksPerJobMax}; ${run.provider.peakActiveTasks}; ${run.provider.quotaRefusals}`,
      baseline: '',
      target: run.maxJobsInFlight <= run.quota ? `all; ≤ 1; ≤ ${run.maxJobsInFlight}; 0` : 'all; ≤ 1',
      met: run.checks.filter((check) => !['slot utilisation', 'drain ÷ ideal'].includes(check.check)).every((check) => check.met),
    },
    {
      section: 'burst',
      metric: `cap ${run.maxJobsInFlight}: $ / 1,000 videos on AWS (vs fixed 15 s poller)`,
      ours: round(totalUsd(run.cost.ours), 3),
      baseline: round(totalUsd(run.cost.fixed15), 3),
      ratio: totalUsd(run.cost.ours) / totalUsd(run.cost.fixed15),
      target: '',
    },
  ]);
  const notes = [
    ...runs.map(formatRun),
    `burst: time scale ${timeScale}${timeScale === DEFAULT_TIME_SCALE ? ' (the default)' : ' (BURST_TIME_SCALE)'}: it scales the simulated generation time (a 5 s 480p silent clip: median 104 s → ${round(104 * timeScale, 1)} s), the workflow's waits and retries, and the deadline; the poll policy reads the handlers' clock in unscaled seconds (runtime/workflow/polling/policy-clock.ts). Chosen so the machine is not the bottleneck: see each run's "machine" line (renders that made a task late, CPU shares, event-loop delay).`,
    ...crashed.map((run) => `burst: maxJobsInFlight ${run.maxJobsInFlight}: the run failed before its figures: ${run.error}`),
    `burst: ${passed ? 'PASS' : 'FAIL'}: ${runs
      .map(
        (run) =>
          `cap ${run.maxJobsInFlight} ${
            run.passed
              ? 'pass'
              : `FAIL (${run.checks
                  .filter((check) => !check.met)
                  .map((check) => `${check.check} ${check.value}, target ${check.target}`)
                  .join('; ')})`
          }`,
      )
      .join('; ')}`,
  ];
  return { section: 'burst', rows, notes, details: { jobs, quota, caps, timeScale, runs, crashed, passed }, passed, runs, raw };
}
