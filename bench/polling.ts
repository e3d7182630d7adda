/**
 * Polling: a discrete-event simulation (simulated clock, no HTTP, no sleeping) of BENCH_POLL_JOBS
 * (1,000) jobs under each poller, each job run by testkit/simulated-polling.ts.
 *
 * - Each job draws a wait (relay + queue) and a generation time from a latency model; the provider's
 *   answers come from the simulator's own task clock (local/simulator/task-clock.ts readClock:
 *   NOT_START, QUEUED, IN_PROGRESS "30%" then "50%" past the middle of the run with its start_time,
 *   SUCCESS with start and finish times), rendered as the gateway's envelope
 *   (local/simulator/responses.ts) and parsed by our readTaskSnapshot.
 * - The first wait is the real submitTask's; every poll runs the real pollTask
 *   (runtime/workflow/poll-task.ts) against the answer at the simulated time: its status/progress/
 *   `changed` logic, its deadline check, the start it reads and, for OURS, the wait it computes.
 *   Jobs run one after another, and OURS learns as the pipeline does: each finished job's
 *   provider-reported generation time goes into the shape's history (generation-history.ts).
 *   The FIXED pollers, and the ablations of ours that drop a signal, replace only the wait.
 * - State transitions are counted as the ASL of infra/constructs/generation-workflow.ts runs them.
 */
import { estimateFromSamples, MIN_HISTORY_SAMPLES, newestSamples } from '../runtime/workflow/polling/generation-history.js';
import type { RequestShape } from '../runtime/domain/job.js';
import { nextPollSeconds, priorGenerationEstimate, type GenerationEstimate } from '../runtime/workflow/polling/poll-policy.js';
import { drawSeconds, generationModel, QUIET_QUEUE, type LognormalSeconds } from '../local/simulator/task-clock.js';
import { PRICES_USD } from '../testkit/aws-cost.js';
import { seededRandom } from '../testkit/seeded-random.js';
import {
  BASE_SHAPE,
  DEADLINE_SECONDS,
  fixedPoller,
  REFERENCE_INTERVAL,
  runJob,
  simulatedJob,
  type JobRun,
  type Poller,
  type Signals,
  type SimulatedJob,
} from '../testkit/simulated-polling.js';
import { formatTable } from '../testkit/table.js';
import { integerEnv, mean, quantile, round, type Log, type SectionReport, type SummaryRow } from './report.js';

// --- prices (testkit/aws-cost.ts: us-east-1, with their sources) -------------------------------------
const USD_PER_TRANSITION = PRICES_USD.stepFunctionsTransition;
const USD_PER_LAMBDA_REQUEST = PRICES_USD.lambdaRequest;
const USD_PER_GB_SECOND_ARM = PRICES_USD.lambdaArmGbSecond;
/** PollTask: 256 MB (HouseFunction default); billed duration of one warm poll ASSUMED 200 ms (one HTTPS GET). */
const POLL_MEMORY_GB = 256 / 1024;
const POLL_BILLED_SECONDS = 0.2;
const USD_PER_POLL = USD_PER_LAMBDA_REQUEST + POLL_MEMORY_GB * POLL_BILLED_SECONDS * USD_PER_GB_SECOND_ARM;

const FIXED_INTERVALS = [5, 10, 15, 30] as const;
const TARGET_RATIO = 0.75;

// --- latency models -------------------------------------------------------------------------------
interface LatencyModel {
  id: string;
  label: string;
  /** The request shape whose jobs these are: it is what our policy is told. */
  shape: RequestShape;
  /** Relay + upstream queue, before generation starts. */
  queue: LognormalSeconds;
  generation: LognormalSeconds;
  describe: string;
}

const DEFAULT_SHAPE: RequestShape = { duration: 5, resolution: '720p', generateAudio: true, media: 'text' };
const simulatorGeneration = (shape: RequestShape) =>
  generationModel({ duration: shape.duration, resolution: shape.resolution, generate_audio: shape.generateAudio });
/** A busy account: tasks wait behind the upstream's per-account queue, sometimes for minutes. */
const BUSY_QUEUE: LognormalSeconds = { medianSeconds: 25, sigma: 1.6 };
const WIDE_GENERATION: LognormalSeconds = { medianSeconds: 110, sigma: 0.65 };

const lognormalText = (m: LognormalSeconds) => `lognormal median ${Math.round(m.medianSeconds)} s, sigma ${m.sigma}`;

export const LATENCY_MODELS: LatencyModel[] = [
  {
    id: 'a',
    label: '(a) simulator: a 5 s 480p silent clip',
    shape: BASE_SHAPE,
    queue: QUIET_QUEUE,
    generation: simulatorGeneration(BASE_SHAPE),
    describe: `the simulator's task clock for a 5 s 480p silent clip: wait ${lognormalText(QUIET_QUEUE)} + generation ${lognormalText(simulatorGeneration(BASE_SHAPE))}`,
  },
  {
    id: 'b',
    label: '(b) heavy tail: busy account, total median 160 s, p95 560 s',
    shape: BASE_SHAPE,
    queue: BUSY_QUEUE,
    generation: WIDE_GENERATION,
    describe: `a busy account and a wider spread: wait ${lognormalText(BUSY_QUEUE)} + generation ${lognormalText(WIDE_GENERATION)}; 5 s 480p silent`,
  },
  {
    id: 'c',
    label: '(c) simulator: the default request, 5 s 720p with audio',
    shape: DEFAULT_SHAPE,
    queue: QUIET_QUEUE,
    generation: simulatorGeneration(DEFAULT_SHAPE),
    describe: `the default request (5 s, 720p, audio) on the simulator's clock: wait ${lognormalText(QUIET_QUEUE)} + generation ${lognormalText(simulatorGeneration(DEFAULT_SHAPE))}`,
  },
];

const OURS: Poller = { name: 'ours', kind: 'ours', signals: { start: true, progress: true, history: true } };

/** Ours told less: the history is withheld by the run (runPoller), the provider's signals here. */
function ablation(signals: Signals): Poller {
  const told = Object.entries(signals)
    .filter(([, on]) => on)
    .map(([name]) => name);
  return {
    name: `ours: elapsed + ${told.length > 0 ? told.join(' + ') : 'prior only'}`,
    kind: 'ablation',
    signals,
    next: (context) => {
      const { shareDoneAtMost, ...withoutProgress } = context;
      const provided = signals.progress && shareDoneAtMost !== undefined ? { ...withoutProgress, shareDoneAtMost } : withoutProgress;
      return nextPollSeconds(signals.start ? provided : { ...provided, startedNotBeforeSeconds: 0, startReported: false });
    },
  };
}

/** Ours with signals taken away, to show what each adds. */
const ABLATIONS: Poller[] = [
  ablation({ start: false, progress: false, history: false }),
  ablation({ start: true, progress: false, history: false }),
  ablation({ start: true, progress: true, history: false }),
  ablation({ start: false, progress: false, history: true }),
  ablation({ start: true, progress: false, history: true }),
];

// --- aggregate ------------------------------------------------------------------------------------
export interface PollerResult {
  poller: string;
  kind: Poller['kind'];
  interval?: number;
  pollsPerJob: number;
  lagP50: number;
  lagP95: number;
  lagMax: number;
  transitionsPerJob: number;
  recordProgressPerJob: number;
  timedOut: number;
  usdPer1000Sfn: number;
  usdPer1000PollLambda: number;
  usdPer1000: number;
  contextMismatches: number;
}

async function runPoller(jobs: SimulatedJob[], poller: Poller, shape: RequestShape, seed: number): Promise<PollerResult> {
  const runs: JobRun[] = [];
  // The pipeline's history of this shape, as it grows job after job (the first jobs get the prior).
  let samples: number[] = [];
  for (const job of jobs) {
    const history = poller.signals.history ? estimateFromSamples(samples) : undefined;
    const run = await runJob(job, poller, shape, history, seed * 7919 + job.index);
    if (run.generationSeconds !== undefined) samples = newestSamples([...samples, run.generationSeconds]);
    runs.push(run);
  }
  const lags = runs.flatMap((run) => (run.lagSeconds === undefined ? [] : [run.lagSeconds]));
  const pollsPerJob = mean(runs.map((run) => run.polls));
  const transitionsPerJob = mean(runs.map((run) => run.transitions));
  const usdPer1000Sfn = transitionsPerJob * 1000 * USD_PER_TRANSITION;
  const usdPer1000PollLambda = pollsPerJob * 1000 * USD_PER_POLL;
  return {
    poller: poller.name,
    kind: poller.kind,
    ...(poller.interval ? { interval: poller.interval } : {}),
    pollsPerJob,
    lagP50: quantile(lags, 0.5),
    lagP95: quantile(lags, 0.95),
    lagMax: Math.max(...lags),
    transitionsPerJob,
    recordProgressPerJob: mean(runs.map((run) => run.recordProgress)),
    timedOut: runs.filter((run) => run.timedOut).length,
    usdPer1000Sfn,
    usdPer1000PollLambda,
    usdPer1000: usdPer1000Sfn + usdPer1000PollLambda,
    contextMismatches: runs.reduce((sum, run) => sum + run.contextMismatches, 0),
  };
}

function drawJobs(model: LatencyModel, count: number, seed: number): SimulatedJob[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, index) => {
    const startsAfterMs = Math.round(drawSeconds(model.queue, random) * 1000);
    return simulatedJob(index, startsAfterMs, startsAfterMs + Math.round(drawSeconds(model.generation, random) * 1000));
  });
}

export interface ModelResult {
  model: string;
  describe: string;
  shape: RequestShape;
  /** The prior our policy starts from for this shape, before any job of it finished. */
  prior: GenerationEstimate;
  totalSeconds: { p5: number; p50: number; p95: number; p99: number; max: number; overDeadline: number };
  pollers: PollerResult[];
  /** Fixed intervals 3..60 s, to place ours against the whole fixed frontier. */
  fixedSweep: Pick<PollerResult, 'interval' | 'pollsPerJob' | 'lagP95' | 'transitionsPerJob'>[];
  verdict: {
    dominatedBy: string[];
    onOrBeyondFixedFrontier: boolean;
    /** The sweep's fixed interval with the closest polls/job to ours, and its p95 lag. */
    fixedAtOurPollBudget: { interval: number; pollsPerJob: number; lagP95: number };
    /** The largest fixed interval whose p95 lag is at most ours, and its polls/job. */
    fixedAtOurP95: { interval: number; pollsPerJob: number; lagP95: number } | null;
    vs15: { pollsRatio: number; transitionsRatio: number; lagP95: number; lagP95Of15: number; met: boolean };
  };
}

async function runModel(model: LatencyModel, jobCount: number, seed: number, log: Log): Promise<ModelResult> {
  const jobs = drawJobs(model, jobCount, seed);
  const totals = jobs.map((job) => job.totalSeconds);
  const pollers = [OURS, ...ABLATIONS, ...FIXED_INTERVALS.map(fixedPoller)];
  const results: PollerResult[] = [];
  for (const poller of pollers) results.push(await runPoller(jobs, poller, model.shape, seed));
  const fixedSweep: ModelResult['fixedSweep'] = [];
  for (let interval = 3; interval <= 60; interval += 1) {
    const result =
      interval === 5 || interval === 10 || interval === 15 || interval === 30
        ? results.find((r) => r.interval === interval)!
        : await runPoller(jobs, fixedPoller(interval), model.shape, seed);
    fixedSweep.push({ interval, pollsPerJob: result.pollsPerJob, lagP95: result.lagP95, transitionsPerJob: result.transitionsPerJob });
  }
  const ours = results[0]!;
  const fixed = results.filter((r) => r.kind === 'fixed');
  const reference = fixed.find((r) => r.interval === REFERENCE_INTERVAL)!;
  const dominatedBy = fixedSweep.filter((f) => f.pollsPerJob < ours.pollsPerJob && f.lagP95 < ours.lagP95).map((f) => `fixed ${f.interval} s`);
  const closest = fixedSweep.reduce((best, f) => (Math.abs(f.pollsPerJob - ours.pollsPerJob) < Math.abs(best.pollsPerJob - ours.pollsPerJob) ? f : best));
  const atP95 = [...fixedSweep].reverse().find((f) => f.lagP95 <= ours.lagP95);
  const pollsRatio = ours.pollsPerJob / reference.pollsPerJob;
  const transitionsRatio = ours.transitionsPerJob / reference.transitionsPerJob;
  log(
    `polling ${model.id}: ours ${ours.pollsPerJob.toFixed(1)} polls/job, p95 lag ${ours.lagP95.toFixed(1)} s; fixed 15 s ${reference.pollsPerJob.toFixed(1)} polls/job, p95 lag ${reference.lagP95.toFixed(1)} s`,
  );
  return {
    model: model.label,
    describe: model.describe,
    shape: model.shape,
    prior: priorGenerationEstimate(model.shape),
    totalSeconds: {
      p5: quantile(totals, 0.05),
      p50: quantile(totals, 0.5),
      p95: quantile(totals, 0.95),
      p99: quantile(totals, 0.99),
      max: Math.max(...totals),
      overDeadline: totals.filter((seconds) => seconds >= DEADLINE_SECONDS).length,
    },
    pollers: results,
    fixedSweep,
    verdict: {
      // Judged against the whole 3..60 s sweep, not only the four named intervals.
      dominatedBy,
      onOrBeyondFixedFrontier: dominatedBy.length === 0,
      fixedAtOurPollBudget: { interval: closest.interval!, pollsPerJob: closest.pollsPerJob, lagP95: closest.lagP95 },
      fixedAtOurP95: atP95 ? { interval: atP95.interval!, pollsPerJob: atP95.pollsPerJob, lagP95: atP95.lagP95 } : null,
      vs15: {
        pollsRatio,
        transitionsRatio,
        lagP95: ours.lagP95,
        lagP95Of15: reference.lagP95,
        met: pollsRatio <= TARGET_RATIO && transitionsRatio <= TARGET_RATIO && ours.lagP95 <= reference.lagP95,
      },
    },
  };
}

// --- the section ----------------------------------------------------------------------------------
const r1 = (value: number) => round(value, 1);

export async function runPollingBench(log: Log): Promise<SectionReport> {
  const jobCount = integerEnv('BENCH_POLL_JOBS', 1000);
  const seed = integerEnv('BENCH_SEED', 20260101);
  const started = performance.now();
  const models: ModelResult[] = [];
  for (const model of LATENCY_MODELS) models.push(await runModel(model, jobCount, seed + model.id.charCodeAt(0), log));

  const rows: SummaryRow[] = [];
  const notes: string[] = [];
  for (const model of models) {
    const ours = model.pollers[0]!;
    const fixed15 = model.pollers.find((p) => p.interval === REFERENCE_INTERVAL)!;
    const section = `polling ${model.model.slice(0, 3)}`;
    const { vs15 } = model.verdict;
    rows.push(
      {
        section,
        metric: 'provider polls / job (vs fixed 15 s)',
        ours: r1(ours.pollsPerJob),
        baseline: r1(fixed15.pollsPerJob),
        ratio: vs15.pollsRatio,
        target: `≤ ${TARGET_RATIO}×`,
        met: vs15.pollsRatio <= TARGET_RATIO,
      },
      {
        section,
        metric: 'SFN transitions / job (vs fixed 15 s)',
        ours: r1(ours.transitionsPerJob),
        baseline: r1(fixed15.transitionsPerJob),
        ratio: vs15.transitionsRatio,
        target: `≤ ${TARGET_RATIO}×`,
        met: vs15.transitionsRatio <= TARGET_RATIO,
      },
      {
        section,
        metric: 'detection lag p95, s (vs fixed 15 s)',
        ours: r1(ours.lagP95),
        baseline: r1(fixed15.lagP95),
        ratio: ours.lagP95 / fixed15.lagP95,
        target: '≤ 1× (≤ 15 s poller)',
        met: ours.lagP95 <= fixed15.lagP95,
      },
      {
        section,
        metric: 'detection lag p50, s (vs fixed 15 s)',
        ours: r1(ours.lagP50),
        baseline: r1(fixed15.lagP50),
        ratio: ours.lagP50 / fixed15.lagP50,
        target: '',
      },
      {
        section,
        metric: '$ / 1,000 videos, SFN + poll Lambda',
        ours: round(ours.usdPer1000, 3),
        baseline: round(fixed15.usdPer1000, 3),
        ratio: ours.usdPer1000 / fixed15.usdPer1000,
        target: '',
      },
      {
        section,
        metric: 'on/beyond fixed frontier (3..60 s sweep)',
        ours: model.verdict.onOrBeyondFixedFrontier ? 'yes' : `no: ${model.verdict.dominatedBy.join(', ')}`,
        baseline: `fixed ${model.verdict.fixedAtOurPollBudget.interval} s at ours' polls: p95 ${r1(model.verdict.fixedAtOurPollBudget.lagP95)} s`,
        target: 'not dominated',
        met: model.verdict.onOrBeyondFixedFrontier,
      },
      ...model.pollers
        .filter((p) => p.kind === 'ablation')
        .map((p) => ({
          section,
          metric: `signals: ${p.poller.replace('ours: ', '')} (polls; p95 s)`,
          ours: `${r1(p.pollsPerJob)}; ${r1(p.lagP95)}`,
          baseline: `${r1(fixed15.pollsPerJob)}; ${r1(fixed15.lagP95)} (fixed 15 s)`,
          ratio: p.pollsPerJob / fixed15.pollsPerJob,
          target: '',
        })),
    );
  }

  const headers = [
    'model',
    'poller',
    'polls/job',
    'lag p50 s',
    'lag p95 s',
    'lag max s',
    'transitions/job',
    'RecordProgress/job',
    'timed out',
    '$ SFN/1k',
    '$ Lambda/1k',
    '$ total/1k',
  ];
  const table: (string | number)[][] = [];
  for (const model of models) {
    for (const p of model.pollers) {
      table.push([
        model.model.slice(0, 3),
        p.poller,
        r1(p.pollsPerJob),
        r1(p.lagP50),
        r1(p.lagP95),
        r1(p.lagMax),
        r1(p.transitionsPerJob),
        round(p.recordProgressPerJob, 2),
        p.timedOut,
        round(p.usdPer1000Sfn, 3),
        round(p.usdPer1000PollLambda, 4),
        round(p.usdPer1000, 3),
      ]);
    }
  }
  notes.push(
    `polling: ${jobCount} jobs per model, seed ${seed} (BENCH_POLL_JOBS, BENCH_SEED); simulated clock, ${round((performance.now() - started) / 1000, 1)} s of CPU.`,
    `polling: prices: Step Functions Standard $0.025 / 1,000 transitions; PollTask Lambda arm64 256 MB at $0.20 / 1M requests + $0.0000133334 / GB-s with an ASSUMED 200 ms billed per poll (= $${(USD_PER_POLL * 1e6).toFixed(3)} / 1M polls). Fixed per-job work (SubmitTask, StoreVideo, AnnounceOutcome Lambdas, DynamoDB writes) is the same for every poller and left out.`,
    `polling: transitions per job = 9 fixed (IsResume, SubmitTask, RecordSubmitted, FreeSlot, StoreVideo, RecordSucceeded, AnnounceOutcome, HowDidItEnd, JobSucceeded) + 3 per poll (WaitBeforePoll, PollTask, IsVideoReady) + RecordProgress whenever PollTask says changed (the status/progress steps 0 → 10 → 30 → 50 a poller happens to see).`,
    ...models.map(
      (m) =>
        `polling ${m.model.slice(0, 3)}: ${m.describe}; drawn p5/p50/p95/p99/max = total (wait + generation) p5/p50/p95/p99/max = ${[m.totalSeconds.p5, m.totalSeconds.p50, m.totalSeconds.p95, m.totalSeconds.p99, m.totalSeconds.max].map((s) => Math.round(s)).join('/')} s, ${m.totalSeconds.overDeadline} over the 30-min deadline; our prior for this shape: generation median ${m.prior.medianSeconds.toFixed(1)} s, sigma ${m.prior.sigma} (until ${MIN_HISTORY_SAMPLES} jobs of the shape have finished).`,
    ),
    ...models.map((m) => {
      const v = m.verdict;
      const atP95 = v.fixedAtOurP95
        ? `the slowest fixed interval as good at p95 is ${v.fixedAtOurP95.interval} s with ${r1(v.fixedAtOurP95.pollsPerJob)} polls/job (p95 ${r1(v.fixedAtOurP95.lagP95)} s)`
        : 'no fixed interval 3..60 s reaches our p95';
      return `polling ${m.model.slice(0, 3)}: ${v.onOrBeyondFixedFrontier ? 'ours is on or beyond the fixed frontier' : `ours is DOMINATED by ${v.dominatedBy.join(', ')}`}; at our poll budget (${r1(m.pollers[0]!.pollsPerJob)}/job) fixed ${v.fixedAtOurPollBudget.interval} s gives p95 ${r1(v.fixedAtOurPollBudget.lagP95)} s vs ours ${r1(m.pollers[0]!.lagP95)} s; ${atP95}. vs fixed 15 s: polls ${vs(v.vs15.pollsRatio)}, transitions ${vs(v.vs15.transitionsRatio)}, p95 lag ${r1(v.vs15.lagP95)} s vs ${r1(v.vs15.lagP95Of15)} s → issue target (≤ 0.75× polls and transitions at ≤ the 15 s p95) ${v.vs15.met ? 'MET' : 'NOT met'}.`;
    }),
  );
  const mismatches = models.reduce((sum, m) => sum + m.pollers[0]!.contextMismatches, 0);
  if (mismatches > 0) {
    notes.push(
      `polling: WARNING: in ${mismatches} polls the real PollTask's wait differed from nextPollSeconds fed the context this bench assumes (elapsed since submit, start, history, remaining, random): PollTask now feeds the policy something else; the OURS figures still use PollTask's own wait.`,
    );
  }
  return {
    section: 'polling',
    rows,
    notes: [`polling: per-poller figures\n${formatTable(headers, table)}`, ...notes],
    details: {
      jobs: jobCount,
      seed,
      deadlineSeconds: DEADLINE_SECONDS,
      prices: { usdPerTransition: USD_PER_TRANSITION, usdPerPoll: USD_PER_POLL, pollBilledSecondsAssumed: POLL_BILLED_SECONDS, pollMemoryGb: POLL_MEMORY_GB },
      models,
    },
  };
}

const vs = (ratio: number) => `${ratio.toFixed(2)}×`;
