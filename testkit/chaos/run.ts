/**
 * The chaos run, shared by `npm run chaos` (bench/chaos.ts, 500 jobs) and test/e2e/chaos.test.ts (60).
 *
 * Starts the embedded local stack with provider faults and function crashes switched on from the
 * start, sends N jobs through the three triggers (POST /jobs, some twice under an Idempotency-Key;
 * spec uploads under incoming/, every S3 event delivered twice; lines of batch manifests under
 * batches/, with the batch function run every ~200 ms), waits until every job ends (or 60 s past the
 * last deadline), runs the sweeper once as its schedule would, and then checks what must hold
 * whatever the provider and the functions did:
 *
 * - every submission has exactly one job (none lost, none doubled);
 * - no job is left non-terminal;
 * - at most one provider task per job (matched by the job's unique prompt);
 * - every SUCCEEDED job's S3 object has the size and sha256 its record claims, which are the
 *   simulator's own for the task;
 * - exactly one completion event per terminal job;
 * - each class of hostile submission mixed into the traffic (testkit/chaos/hostile-cases.ts) gets the answer
 *   that closes its hole, and its jobs meet every check above too.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createSlots } from '../../runtime/admission/admission-slots.js';
import { jobsOf, mixInto, placeIdConflicts, planHostile, uploadsOf, type HostileKind, type HostileRow } from './hostile-cases.js';
import { judgeHostile } from './hostile-judge.js';
import { prepareHostile, submitHostile } from './hostile-submit.js';
import type { SweepReport } from '../../runtime/sweeper/job-sweeper.js';
import type { BatchReport } from '../../runtime/triggers/batch-runner.js';
import { uploadJobId } from '../../runtime/triggers/upload-intake.js';
import type { ChaosOptions, ChaosStats } from '../../local/stack/chaos.js';
import { startLocalStack, type LocalStack } from '../../local/stack/local-stack.js';
import { scheduledEvent } from '../../local/emulators/eventbridge/schedules.js';
import type { SimulatorFaultsInput, SimulatorStats } from '../../local/simulator/server.js';
import { seededRandom } from '../seeded-random.js';

export type TriggerKind = 'http' | 'http-idempotent' | 's3' | 'batch';

export interface ChaosConfig {
  jobs: number;
  timeScale: number;
  /** The stack's maxJobsInFlight (CDK context): the cap of the admission line, smaller than the run's burst. */
  maxJobsInFlight: number;
  /** How long a task past its deadline is followed (CDK context lateFollowMinutes, × the time scale). */
  lateFollowMinutes: number;
  /** Submissions (POSTs, uploads) in flight at once. */
  concurrency: number;
  /**
   * Pacing: a new HTTP/S3 submission waits while this many jobs are started and not yet announced
   * (0: no pacing). The whole stack shares one event loop and the simulator renders with one ffmpeg
   * per core, so an unpaced burst of hundreds of jobs mostly measures the machine (they time out
   * waiting for renders and CPU), not the pipeline.
   */
  maxActive: number;
  /** Lines per batch manifest. */
  manifestLines: number;
  batchIntervalMs: number;
  /** How long to keep waiting past the last job's deadline. */
  graceAfterDeadlineMs: number;
  /** How long to wait for the sweeper's repairs (if any) to settle. */
  afterSweepMs: number;
  seed: number;
  faults: SimulatorFaultsInput;
  chaos: Omit<ChaosOptions, 'random'>;
  /** Progress lines (stderr in the bench); silent by default. */
  log?: (line: string) => void;
}

/** The faults of the 500-job run: every rate from the brief. */
export const DEFAULT_FAULTS: SimulatorFaultsInput = {
  create5xxRate: 0.1,
  create429Rate: 0.1,
  get5xxRate: 0.1,
  get429Rate: 0.1,
  taskFailureRate: 0.05,
  taskNeverFinishRate: 0.02,
  downloadCutRate: 0.05,
  downloadCutAfterBytes: 4000,
  malformedJsonRate: 0.02,
};

export const DEFAULT_CHAOS: Omit<ChaosOptions, 'random'> = { taskCrashRate: 0.02, duplicateS3Deliveries: true };

export function chaosConfig(overrides: Partial<ChaosConfig> = {}): ChaosConfig {
  return {
    jobs: 500,
    timeScale: 0.01,
    maxJobsInFlight: 20,
    // Tasks that never finish are followed for this long past their deadline, holding their slots.
    lateFollowMinutes: 10,
    concurrency: 20,
    maxActive: 60,
    manifestLines: 25,
    batchIntervalMs: 200,
    graceAfterDeadlineMs: 60_000,
    afterSweepMs: 10_000,
    seed: 1,
    faults: DEFAULT_FAULTS,
    chaos: DEFAULT_CHAOS,
    ...overrides,
  };
}

interface Submission {
  index: number;
  prompt: string;
  kind: TriggerKind;
  /** Known up front for HTTP (from the answer) and uploads (derived from bucket, key and ETag). */
  expectedJobId?: string;
  /** Where it went: the upload key, the manifest line. */
  source?: string;
  /** A submission that did not get the expected answer (a 5xx, a network error, two job ids...). */
  problem?: string;
}

interface ListedJob {
  jobId: string;
  status: string;
  progress: number;
  createdAt: string;
  deadlineAt: string;
  finishedAt?: string;
  providerTaskId?: string;
  polls?: number;
  resumes?: number;
  trigger: { type: string; source: string };
  request?: { content: { type: string; text?: string }[] };
  output?: { bucket: string; key: string; bytes: number; sha256: string };
  error?: { code: string; message: string; issues?: { path: string; message: string }[] };
  executionArn?: string;
}

export interface Offender {
  prompt?: string;
  jobId?: string;
  kind?: TriggerKind | HostileKind;
  detail: string;
}

export interface PassCondition {
  name: string;
  ok: boolean;
  value: string;
}

export interface ChaosReport {
  config: Omit<ChaosConfig, 'log'>;
  submitted: Record<TriggerKind, number> & { total: number };
  /** Jobs of every submission, the hostile ones' included. */
  accepted: number;
  /** One row per class of hostile submission; `expectedJobs` of all rows add to accepted - submitted.total. */
  hostile: HostileRow[];
  statuses: Record<string, number>;
  failedByCode: Record<string, number>;
  timedOutByCode: Record<string, number>;
  /** Up to 3 jobs per error code, with the message: what each code looked like in this run. */
  errorExamples: Record<string, Offender[]>;
  cancelled: number;
  /** Jobs not terminal at the end (after the sweep and its settling time). */
  nonTerminal: Offender[];
  /** Jobs not terminal when the waiting stopped, before the sweeper ran. */
  nonTerminalBeforeSweep: number;
  lost: Offender[];
  duplicated: Offender[];
  /** Jobs listed that no submission (normal or hostile) accounts for. */
  strays: Offender[];
  submissionProblems: Offender[];
  providerTasks: {
    total: number;
    /** Tasks per job, matched by prompt: how many jobs had 0, 1, 2... tasks. */
    perJob: Record<string, number>;
    maxPerJob: number;
    offenders: Offender[];
    /** Tasks whose prompt is no submission's. */
    orphans: number;
  };
  intact: { succeeded: number; intact: number; offenders: Offender[] };
  events: { total: number; terminalJobs: number; exactlyOne: number; offenders: Offender[] };
  idempotentRetries: { sent: number; sameJob: number };
  batch: { runs: number; errors: string[]; manifests: number; startedFromManifests: number };
  sweeper: { report?: SweepReport; error?: string };
  deliveryFailures: string[];
  injected: { simulator: SimulatorStats; chaos: ChaosStats; duplicatedS3Deliveries: number };
  timings: { submitSeconds: number; allStartedSeconds: number; settledSeconds: number; wallSeconds: number };
  pass: PassCondition[];
  ok: boolean;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);
const ACTIVE = ['QUEUED', 'SUBMITTED', 'RUNNING'] as const;
const PROMPT_PREFIX = 'Chaos job ';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The shares of the brief: 40 % HTTP (a third of them with an Idempotency-Key), 40 % S3, 20 % batch. */
function kindOf(index: number): TriggerKind {
  switch (index % 15) {
    case 0:
    case 5:
    case 10:
      return 'batch';
    case 1:
    case 8:
      return 'http-idempotent';
    case 3:
    case 6:
    case 11:
    case 13:
      return 'http';
    default:
      return 's3';
  }
}

const jobBody = (prompt: string) => ({
  model: 'seedance-fast',
  content: [{ type: 'text', text: prompt }],
  duration: 4,
  resolution: '480p',
  generate_audio: false,
});

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await work(item);
      }
    }),
  );
}

async function listAll(apiUrl: string, query = ''): Promise<ListedJob[]> {
  const jobs: ListedJob[] = [];
  let url: string | undefined = `${apiUrl}/jobs?limit=100${query ? `&${query}` : ''}`;
  while (url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { jobs: ListedJob[]; links?: { next?: string } };
    jobs.push(...page.jobs);
    url = page.links?.next;
  }
  return jobs;
}

const promptOfJob = (job: ListedJob) => job.request?.content.find((item) => item.type === 'text')?.text;

async function sha256OfObject(s3: S3Client, bucket: string, key: string): Promise<{ sha256: string; bytes: number }> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of answer.Body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

export async function runChaos(config: ChaosConfig): Promise<ChaosReport> {
  const log = config.log ?? (() => {});
  const { log: _log, ...printableConfig } = config;
  const random = seededRandom(config.seed);
  const started = Date.now();
  const since = () => ((Date.now() - started) / 1000).toFixed(1);

  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-chaos-'));
  const chaosRandom = seededRandom(config.seed ^ 0x5eed);
  let stack: LocalStack | undefined;
  let s3: S3Client | undefined;
  try {
    stack = await startLocalStack({
      dataDir,
      port: 0,
      timeScale: config.timeScale,
      context: { maxJobsInFlight: config.maxJobsInFlight, lateFollowMinutes: config.lateFollowMinutes },
      simulatorFaults: config.faults,
      chaos: { ...config.chaos, random: chaosRandom },
    });
    const live = stack;
    s3 = new S3Client({
      endpoint: live.s3Url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const client = s3;
    const deadlineSeconds = Number(live.environment.JOB_DEADLINE_SECONDS);
    log(`[${since()} s] stack up: API ${live.apiUrl}, deadline ${deadlineSeconds} s, maxJobsInFlight ${config.maxJobsInFlight}`);

    // The admission slots, sampled all through the run: never more held than the cap.
    const slots = createSlots(
      DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: live.environment.AWS_ENDPOINT_URL_DYNAMODB })),
      live.environment.ADMISSION_TABLE!,
      config.maxJobsInFlight,
    );
    const slotSamples = { count: 0, maxHeld: 0, stopped: false };
    const slotSampler = (async () => {
      while (!slotSamples.stopped) {
        slotSamples.maxHeld = Math.max(slotSamples.maxHeld, Object.keys((await slots.read()).holders).length);
        slotSamples.count += 1;
        await sleep(100);
      }
    })();

    // --- the submissions -------------------------------------------------------------------------
    const submissions: Submission[] = Array.from({ length: config.jobs }, (_, i) => ({
      index: i + 1,
      prompt: `${PROMPT_PREFIX}${i + 1}`,
      kind: kindOf(i + 1),
    }));
    const batchLines = submissions.filter((submission) => submission.kind === 'batch');
    const manifests: { key: string; lines: Submission[] }[] = [];
    for (let at = 0; at < batchLines.length; at += config.manifestLines) {
      const lines = batchLines.slice(at, at + config.manifestLines);
      const key = `batches/chaos-${String(manifests.length + 1).padStart(3, '0')}.jsonl`;
      manifests.push({ key, lines });
    }
    // Its own seed: the hostile cases leave the normal mix and the crash draws as they were.
    const hostileRandom = seededRandom(config.seed ^ 0x4057113);
    const hostilePlan = planHostile(
      config.jobs,
      manifests.map((manifest) => ({ key: manifest.key, lines: manifest.lines.length })),
      hostileRandom,
    );
    const hostileContext = { apiUrl: live.apiUrl, s3: client, bucket: live.bucket, random: hostileRandom, jobBody };
    await prepareHostile(hostileContext);
    // Each manifest's rows as written, id conflicts in place: a line's number is its place here.
    const manifestRows = manifests.map((manifest) => {
      const rows = placeIdConflicts(
        manifest.key,
        manifest.lines.map((line) => ({ id: `chaos-${line.index}`, line })),
        hostilePlan.idConflicts,
        hostileRandom,
      );
      rows.forEach((row, offset) => {
        const source = `s3://${live.bucket}/${manifest.key}#L${offset + 1}`;
        if ('kind' in row) row.line = offset + 1;
        else row.line.source = source;
      });
      return rows;
    });
    let idempotentSent = 0;
    let idempotentSame = 0;

    const postJob = async (body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${live.apiUrl}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      let jobId: string | undefined;
      try {
        jobId = (JSON.parse(text) as { jobId?: string }).jobId;
      } catch {
        // reported with the status below
      }
      return { status: response.status, jobId, text };
    };

    const submit = async (submission: Submission): Promise<void> => {
      const body = jobBody(submission.prompt);
      try {
        if (submission.kind === 'http') {
          const answer = await postJob(body);
          submission.expectedJobId = answer.jobId;
          if (answer.status !== 202) submission.problem = `POST /jobs answered ${answer.status}: ${answer.text.slice(0, 200)}`;
        } else if (submission.kind === 'http-idempotent') {
          const key = `chaos-${config.seed}-${submission.index}`;
          // The same POST twice, the second 0-50 ms after the first: sometimes both are in flight at once.
          const gap = Math.floor(random() * 50);
          const [first, second] = await Promise.all([
            postJob(body, { 'idempotency-key': key }),
            sleep(gap).then(() => postJob(body, { 'idempotency-key': key })),
          ]);
          idempotentSent += 1;
          submission.expectedJobId = first.jobId ?? second.jobId;
          const statuses = [first.status, second.status].sort().join('+');
          if (first.jobId && first.jobId === second.jobId && (statuses === '200+202' || statuses === '200+200' || statuses === '202+202')) {
            idempotentSame += 1;
            // 202 twice would mean two "new" jobs under one key: note it, it is one job id all the same.
            if (statuses === '202+202') submission.problem = `both POSTs under Idempotency-Key ${key} answered 202 (one job id)`;
          } else {
            submission.problem = `POST twice under Idempotency-Key ${key} answered ${first.status} ${first.jobId ?? first.text.slice(0, 120)} and ${second.status} ${second.jobId ?? second.text.slice(0, 120)}`;
          }
        } else if (submission.kind === 's3') {
          const key = `incoming/chaos/job-${submission.index}.json`;
          submission.source = `s3://${live.bucket}/${key}`;
          const answer = await client.send(
            new PutObjectCommand({ Bucket: live.bucket, Key: key, Body: JSON.stringify(body), ContentType: 'application/json' }),
          );
          submission.expectedJobId = uploadJobId({ bucket: live.bucket, key, etag: answer.ETag!.replaceAll('"', '') });
        }
      } catch (error) {
        submission.problem = `${submission.kind} submission threw: ${(error as Error).message}`;
      }
    };

    // Manifests go up first, so the batch loop has lines to start while the rest is submitted.
    for (const [m, manifest] of manifests.entries()) {
      const text = manifestRows[m]!
        .map((row) => JSON.stringify({ id: row.id, ...jobBody('kind' in row ? row.prompt : row.line.prompt) }))
        .join('\n');
      await client.send(new PutObjectCommand({ Bucket: live.bucket, Key: manifest.key, Body: `${text}\n` }));
    }

    const batchStats = { runs: 0, errors: [] as string[], startedFromManifests: 0 };
    const manifestsDone = new Set<string>();
    let stopBatches = false;
    const batchLoop = (async () => {
      while (!stopBatches && manifestsDone.size < manifests.length) {
        try {
          const report = (await live.invokeFunction(
            'batch-runner',
            scheduledEvent('arn:aws:events:us-east-1:000000000000:rule/chaos-batch'),
          )) as BatchReport;
          batchStats.runs += 1;
          batchStats.startedFromManifests += report.queuedFromManifests;
          const reported = new Set(report.manifests.map((manifest) => manifest.key));
          for (const manifest of report.manifests) if (manifest.done) manifestsDone.add(manifest.key);
          // A done manifest is no longer reported: one of ours missing from the report is done.
          for (const { key } of manifests) if (!reported.has(key)) manifestsDone.add(key);
        } catch (error) {
          batchStats.errors.push((error as Error).message);
        }
        await sleep(config.batchIntervalMs);
      }
    })();

    const others = submissions.filter((submission) => submission.kind !== 'batch');
    const traffic = mixInto(others, hostilePlan.pooled, hostileRandom);
    let submittedCount = 0;
    // A refused manifest line is announced like any job: counted here so the estimate stays exact.
    let claimed = hostilePlan.idConflicts.length;
    // Jobs started and not yet announced: every job, whatever its end, is announced once (or more).
    const activeEstimate = () => {
      const announced = new Set(live.events().map((event) => (event.detail as { jobId?: string } | undefined)?.jobId));
      return claimed + batchStats.startedFromManifests - announced.size;
    };
    let pacedMs = 0;
    await pool(traffic, config.concurrency, async (item) => {
      if (config.maxActive > 0) {
        const waitStart = Date.now();
        while (activeEstimate() >= config.maxActive) await sleep(20);
        pacedMs += Date.now() - waitStart;
      }
      if ('hostile' in item) {
        claimed += jobsOf(item.hostile);
        await submitHostile(item.hostile, hostileContext);
      } else {
        claimed += 1;
        await submit(item);
      }
      submittedCount += 1;
      if (submittedCount % 100 === 0) log(`[${since()} s] submitted ${submittedCount}/${traffic.length} HTTP/S3 submissions`);
    });
    const submitSeconds = (Date.now() - started) / 1000;
    log(`[${since()} s] all ${others.length} HTTP/S3 submissions and ${hostilePlan.pooled.length} hostile ones sent (paced ${(pacedMs / 1000).toFixed(1)} s in total over ${config.concurrency} workers); waiting for S3 deliveries and batch lines`);
    await live.deliveriesIdle();

    // --- waiting ---------------------------------------------------------------------------------
    let allStartedSeconds = 0;
    let jobs: ListedJob[] = [];
    let lastLog = 0;
    for (;;) {
      jobs = await listAll(live.apiUrl);
      const active = jobs.filter((job) => !TERMINAL.has(job.status)).length;
      const batchesDone = manifestsDone.size >= manifests.length;
      if (batchesDone && !allStartedSeconds) {
        allStartedSeconds = (Date.now() - started) / 1000;
        log(`[${since()} s] every batch line started (${batchStats.runs} batch runs)`);
      }
      if (batchesDone && active === 0) break;
      const lastDeadline = Math.max(0, ...jobs.map((job) => Date.parse(job.deadlineAt)));
      if (batchesDone && lastDeadline > 0 && Date.now() > lastDeadline + config.graceAfterDeadlineMs) {
        log(`[${since()} s] gave up waiting: ${active} job(s) still active ${config.graceAfterDeadlineMs / 1000} s past the last deadline`);
        break;
      }
      // A batch that cannot make progress (its lines never start) must not hold the run forever.
      if (!batchesDone && Date.now() - started > (submitSeconds + 3 * deadlineSeconds) * 1000 + config.graceAfterDeadlineMs) {
        log(`[${since()} s] gave up on the batch lines: ${manifestsDone.size}/${manifests.length} manifests done`);
        break;
      }
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log(`[${since()} s] ${jobs.length} jobs, ${active} active, ${manifestsDone.size}/${manifests.length} manifests done`);
      }
      await sleep(1000);
    }
    stopBatches = true;
    await batchLoop;
    await live.deliveriesIdle();
    const nonTerminalBeforeSweep = (await listAll(live.apiUrl)).filter((job) => !TERMINAL.has(job.status)).length;
    const settledSeconds = (Date.now() - started) / 1000;

    // --- the sweeper, once, as its schedule would ----------------------------------------------
    const sweeper: ChaosReport['sweeper'] = {};
    try {
      sweeper.report = (await live.invokeFunction('sweeper', scheduledEvent('arn:aws:events:us-east-1:000000000000:rule/chaos-sweep'))) as SweepReport;
      log(`[${since()} s] sweeper: ${JSON.stringify({ active: sweeper.report.active, started: sweeper.report.started.length, resumed: sweeper.report.resumed.length, ended: sweeper.report.ended.length })}`);
    } catch (error) {
      sweeper.error = (error as Error).message;
      log(`[${since()} s] sweeper threw: ${sweeper.error}`);
    }
    // Then a bit more: what it resumed or started runs to its end; the last announcements land.
    const settleUntil = Date.now() + config.afterSweepMs;
    const repaired = (sweeper.report?.resumed.length ?? 0) + (sweeper.report?.started.length ?? 0);
    do {
      await sleep(500);
      const running = live.engine.listExecutions().filter((execution) => execution.status === 'RUNNING').length;
      if (running === 0 && repaired === 0) break;
      if (running === 0 && (await listAll(live.apiUrl)).every((job) => TERMINAL.has(job.status))) break;
    } while (Date.now() < settleUntil);
    await live.deliveriesIdle();
    // A job that timed out may still be followed for its late video, holding its slot as it should:
    // wait for those executions to end (the follow window, scaled) before asking whether any slot leaked.
    const followUntil = Date.now() + config.lateFollowMinutes * 60_000 * config.timeScale + 10_000;
    while (live.engine.listExecutions().some((execution) => execution.status === 'RUNNING') && Date.now() < followUntil) await sleep(200);
    await live.deliveriesIdle();
    slotSamples.stopped = true;
    await slotSampler;
    // Every slot came back: none is held by a job that ended, none by a dispatcher that died.
    const leakedSlots = Object.keys((await slots.read()).holders);

    // --- the verdict -----------------------------------------------------------------------------
    jobs = await listAll(live.apiUrl);
    const jobsByPrompt = new Map<string, ListedJob[]>();
    for (const job of jobs) {
      const prompt = promptOfJob(job) ?? '';
      jobsByPrompt.set(prompt, [...(jobsByPrompt.get(prompt) ?? []), job]);
    }
    const lost: Offender[] = [];
    const duplicated: Offender[] = [];
    const submissionProblems: Offender[] = [];
    const jobOf = new Map<string, ListedJob>();
    for (const submission of submissions) {
      const found = jobsByPrompt.get(submission.prompt) ?? [];
      if (submission.problem) {
        submissionProblems.push({ prompt: submission.prompt, kind: submission.kind, detail: submission.problem });
      }
      if (found.length === 0) {
        lost.push({
          prompt: submission.prompt,
          kind: submission.kind,
          ...(submission.expectedJobId ? { jobId: submission.expectedJobId } : {}),
          detail: `no job found${submission.source ? ` (from ${submission.source})` : ''}${submission.problem ? `; ${submission.problem}` : ''}`,
        });
        continue;
      }
      if (found.length > 1) {
        duplicated.push({
          prompt: submission.prompt,
          kind: submission.kind,
          detail: `${found.length} jobs: ${found.map((job) => `${job.jobId} ${job.status} (${job.trigger.type} ${job.trigger.source})`).join(', ')}`,
        });
      }
      const job = found.find((candidate) => candidate.jobId === submission.expectedJobId) ?? found[0]!;
      if (submission.expectedJobId && job.jobId !== submission.expectedJobId) {
        submissionProblems.push({
          prompt: submission.prompt,
          kind: submission.kind,
          jobId: job.jobId,
          detail: `expected job ${submission.expectedJobId}, found ${job.jobId}`,
        });
      }
      jobOf.set(submission.prompt, job);
    }
    const hostile = judgeHostile([...hostilePlan.pooled, ...hostilePlan.idConflicts], {
      bucket: live.bucket,
      jobs,
      tasks: live.simulator.tasks(),
      executionNames: live.engine.listExecutions().map((execution) => execution.name),
      manifestsDone,
    });
    lost.push(...hostile.lost);
    duplicated.push(...hostile.duplicated);
    // The hostile cases' jobs go through every check below like the others.
    const ourJobs = [...new Map([...jobOf.values(), ...hostile.jobs].map((job) => [job.jobId, job])).values()];
    const describeJob = (job: ListedJob) =>
      `${job.jobId} ${job.status}${job.error ? ` ${job.error.code}: ${job.error.message.slice(0, 200)}` : ''} (task ${job.providerTaskId ?? '-'}, polls ${job.polls ?? 0}, resumes ${job.resumes ?? 0}, created ${job.createdAt}, deadline ${job.deadlineAt}, finished ${job.finishedAt ?? '-'})`;
    const kindOfPrompt = new Map<string, TriggerKind | HostileKind>([
      ...submissions.map((submission) => [submission.prompt, submission.kind] as const),
      ...hostile.prompts,
    ]);
    const kindOfJob = (job: ListedJob) => kindOfPrompt.get(promptOfJob(job) ?? '') ?? hostile.kindOfJob.get(job.jobId);
    // Every job listed must be some submission's: one nobody asked for is a doubled run under another id.
    const ours = new Set(ourJobs.map((job) => job.jobId));
    const strays: Offender[] = jobs
      .filter((job) => !ours.has(job.jobId))
      .map((job) => ({ prompt: promptOfJob(job), jobId: job.jobId, detail: `no submission made it: ${describeJob(job)} (${job.trigger.type} ${job.trigger.source})` }));

    const nonTerminal: Offender[] = ourJobs
      .filter((job) => !TERMINAL.has(job.status))
      .map((job) => {
        const executions = live.engine
          .listExecutions()
          .filter((execution) => execution.name.startsWith(job.jobId))
          .map((execution) => `${execution.name} ${execution.status}${execution.error ? ` ${execution.error}` : ''}`);
        return {
          prompt: promptOfJob(job),
          jobId: job.jobId,
          kind: kindOfJob(job),
          detail: `${describeJob(job)}; executions: ${executions.join(', ') || 'none'}`,
        };
      });

    // Provider tasks per job, matched by the unique prompt.
    const tasks = live.simulator.tasks();
    const tasksByPrompt = new Map<string, typeof tasks>();
    let orphans = 0;
    for (const task of tasks) {
      const text = task.request.content.find((item) => item.type === 'text');
      const prompt = text && 'text' in text ? text.text : '';
      if (!kindOfPrompt.has(prompt)) orphans += 1;
      tasksByPrompt.set(prompt, [...(tasksByPrompt.get(prompt) ?? []), task]);
    }
    const perJob = countBy(ourJobs, (job) => String(tasksByPrompt.get(promptOfJob(job) ?? '')?.length ?? 0));
    const taskOffenders: Offender[] = [];
    let maxPerJob = 0;
    for (const job of ourJobs) {
      const own = tasksByPrompt.get(promptOfJob(job) ?? '') ?? [];
      maxPerJob = Math.max(maxPerJob, own.length);
      if (own.length > 1) {
        taskOffenders.push({
          prompt: promptOfJob(job),
          jobId: job.jobId,
          kind: kindOfJob(job),
          detail: `${own.length} provider tasks: ${own
            .map((task) => `${task.id} ${task.status} answered=${task.createAnswered} faults=${JSON.stringify(task.faults)}`)
            .join('; ')}; job ${describeJob(job)}`,
        });
      }
    }

    // SUCCEEDED objects: the bytes in S3 are what the record says and what the provider rendered.
    const succeeded = ourJobs.filter((job) => job.status === 'SUCCEEDED');
    const intactOffenders: Offender[] = [];
    await pool(succeeded, 8, async (job) => {
      const offend = (detail: string): void => {
        intactOffenders.push({ prompt: promptOfJob(job), jobId: job.jobId, kind: kindOfJob(job), detail });
      };
      if (!job.output) return offend('SUCCEEDED without output');
      const task = tasks.find((candidate) => candidate.id === job.providerTaskId);
      if (!task) return offend(`its provider task ${job.providerTaskId} is not the simulator's`);
      let stored: { sha256: string; bytes: number };
      try {
        stored = await sha256OfObject(client, job.output.bucket, job.output.key);
      } catch (error) {
        return offend(`GET s3://${job.output.bucket}/${job.output.key} failed: ${(error as Error).message}`);
      }
      const same =
        stored.sha256 === job.output.sha256 &&
        stored.bytes === job.output.bytes &&
        stored.sha256 === task.videoSha256 &&
        stored.bytes === task.videoBytes;
      if (!same) {
        offend(
          `object ${stored.bytes} B ${stored.sha256}; record ${job.output.bytes} B ${job.output.sha256}; provider ${task.videoBytes} B ${task.videoSha256}`,
        );
      }
    });

    // Completion events: exactly one per terminal job, of its status.
    const events = live.events();
    const eventsByJob = new Map<string, string[]>();
    for (const event of events) {
      const jobId = (event.detail as { jobId?: string } | undefined)?.jobId ?? '';
      eventsByJob.set(jobId, [...(eventsByJob.get(jobId) ?? []), event['detail-type']]);
    }
    const expectedType: Record<string, string> = {
      SUCCEEDED: 'Job Succeeded',
      FAILED: 'Job Failed',
      TIMED_OUT: 'Job Timed Out',
      CANCELLED: 'Job Cancelled',
    };
    const terminalJobs = ourJobs.filter((job) => TERMINAL.has(job.status));
    const eventOffenders: Offender[] = [];
    for (const job of terminalJobs) {
      const types = eventsByJob.get(job.jobId) ?? [];
      if (types.length !== 1 || types[0] !== expectedType[job.status]) {
        eventOffenders.push({
          prompt: promptOfJob(job),
          jobId: job.jobId,
          kind: kindOfJob(job),
          detail: `${types.length} event(s) [${types.join(', ')}] for ${describeJob(job)}`,
        });
      }
    }

    const statuses = countBy(ourJobs, (job) => job.status);
    const failedByCode = countBy(
      ourJobs.filter((job) => job.status === 'FAILED'),
      (job) => job.error?.code ?? '(none)',
    );
    const timedOutByCode = countBy(
      ourJobs.filter((job) => job.status === 'TIMED_OUT'),
      (job) => job.error?.code ?? '(none)',
    );
    const errorExamples: Record<string, Offender[]> = {};
    for (const job of ourJobs) {
      if (!job.error) continue;
      const key = `${job.status} ${job.error.code}`;
      const examples = (errorExamples[key] ??= []);
      if (examples.length < 3) {
        examples.push({ prompt: promptOfJob(job), jobId: job.jobId, kind: kindOfJob(job), detail: `${job.error.message.slice(0, 300)} (tasks: ${tasksByPrompt.get(promptOfJob(job) ?? '')?.length ?? 0})` });
      }
    }
    const s3Uploads = submissions.filter((submission) => submission.kind === 's3').length;
    const wallSeconds = (Date.now() - started) / 1000;

    const pass: PassCondition[] = [
      { name: 'lost jobs', ok: lost.length === 0, value: `${lost.length} (must be 0)` },
      { name: 'doubled jobs (2+ jobs for one submission)', ok: duplicated.length === 0, value: `${duplicated.length} (must be 0)` },
      { name: 'jobs no submission made', ok: strays.length === 0, value: `${strays.length} (must be 0)` },
      { name: 'non-terminal after the deadline', ok: nonTerminal.length === 0, value: `${nonTerminal.length} (must be 0)` },
      { name: 'provider tasks per job (max)', ok: maxPerJob <= 1, value: `${maxPerJob} (must be <= 1)` },
      { name: 'slots held at once (max)', ok: slotSamples.maxHeld <= config.maxJobsInFlight, value: `${slotSamples.maxHeld} over ${slotSamples.count} samples (must be <= ${config.maxJobsInFlight})` },
      { name: 'slots still held at the end (leaked)', ok: leakedSlots.length === 0, value: `${leakedSlots.length} (must be 0)${leakedSlots.length > 0 ? `: ${leakedSlots.slice(0, 5).join(', ')}` : ''}` },
      {
        name: 'SUCCEEDED objects intact',
        ok: intactOffenders.length === 0,
        value: `${succeeded.length - intactOffenders.length}/${succeeded.length} (must be 100 %)`,
      },
      {
        name: 'exactly 1 completion event per terminal job',
        ok: eventOffenders.length === 0,
        value: `${terminalJobs.length - eventOffenders.length}/${terminalJobs.length}`,
      },
      // A class none of whose cases was sent proves nothing: it fails rather than passes.
      ...hostile.rows.map((row) => ({
        name: `hostile: ${row.label}`,
        ok: row.cases > 0 && row.violations.length === 0,
        value: `${row.violations.length} violations in ${row.cases} cases (must be 0 in 1+)`,
      })),
    ];

    return {
      config: printableConfig,
      submitted: {
        total: submissions.length,
        http: submissions.filter((submission) => submission.kind === 'http').length,
        'http-idempotent': submissions.filter((submission) => submission.kind === 'http-idempotent').length,
        s3: s3Uploads,
        batch: batchLines.length,
      },
      accepted: ourJobs.length,
      hostile: hostile.rows,
      statuses,
      failedByCode,
      timedOutByCode,
      errorExamples,
      cancelled: statuses.CANCELLED ?? 0,
      nonTerminal,
      nonTerminalBeforeSweep,
      lost,
      duplicated,
      strays,
      submissionProblems,
      providerTasks: { total: tasks.length, perJob, maxPerJob, offenders: taskOffenders, orphans },
      intact: { succeeded: succeeded.length, intact: succeeded.length - intactOffenders.length, offenders: intactOffenders },
      events: { total: events.length, terminalJobs: terminalJobs.length, exactlyOne: terminalJobs.length - eventOffenders.length, offenders: eventOffenders },
      idempotentRetries: { sent: idempotentSent, sameJob: idempotentSame },
      batch: { ...batchStats, manifests: manifests.length },
      sweeper,
      deliveryFailures: live.deliveryFailures().map((failure) => JSON.stringify(failure).slice(0, 400)),
      injected: {
        simulator: live.simulator.stats(),
        chaos: { ...live.chaosStats },
        duplicatedS3Deliveries: config.chaos.duplicateS3Deliveries ? s3Uploads + uploadsOf(hostilePlan.pooled) : 0,
      },
      timings: { submitSeconds, allStartedSeconds, settledSeconds, wallSeconds },
      pass,
      ok: pass.every((condition) => condition.ok),
    };
  } finally {
    s3?.destroy();
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The report as the bench prints it: one table of outcomes, one of injected faults, then the verdict. */
export function formatReport(report: ChaosReport, maxOffenders = 20): string {
  const lines: string[] = [];
  const row = (label: string, value: string | number) => lines.push(`  ${label.padEnd(46)} ${value}`);
  const { config } = report;
  lines.push(
    `Chaos run: ${config.jobs} jobs, time scale ${config.timeScale}, maxJobsInFlight ${config.maxJobsInFlight}, ` +
      `concurrency ${config.concurrency}, max active ${config.maxActive || 'unpaced'}, seed ${config.seed}`,
  );
  lines.push(`  faults ${JSON.stringify(config.faults)}`);
  lines.push(`  chaos  ${JSON.stringify(config.chaos)}`);
  lines.push('');
  lines.push('Submitted');
  row('POST /jobs', report.submitted.http);
  row('POST /jobs with Idempotency-Key, sent twice', `${report.submitted['http-idempotent']} (same job both times: ${report.idempotentRetries.sameJob}/${report.idempotentRetries.sent})`);
  row('S3 uploads under incoming/ (each delivered twice)', report.submitted.s3);
  row('batch manifest lines', `${report.submitted.batch} in ${report.batch.manifests} manifests, ${report.batch.runs} batch runs`);
  row('total', report.submitted.total);
  lines.push('');
  lines.push('Hostile submissions (mixed into the traffic above)');
  for (const hostile of report.hostile) {
    row(hostile.label, hostile.sent);
    row('  outcomes', hostile.outcomes);
    row('  violations', hostile.violations.length);
  }
  lines.push('');
  lines.push('Outcomes (every job, the hostile ones included)');
  const hostileJobs = report.hostile.reduce((sum, hostile) => sum + hostile.expectedJobs, 0);
  row('accepted jobs', `${report.accepted} (expected ${report.submitted.total} + ${hostileJobs} from hostile submissions)`);
  row('SUCCEEDED', report.statuses.SUCCEEDED ?? 0);
  row('FAILED', report.statuses.FAILED ?? 0);
  for (const [code, count] of Object.entries(report.failedByCode)) row(`  ${code}`, count);
  row('TIMED_OUT', report.statuses.TIMED_OUT ?? 0);
  for (const [code, count] of Object.entries(report.timedOutByCode)) row(`  ${code}`, count);
  row('CANCELLED', report.cancelled);
  row('non-terminal when waiting stopped (before sweep)', report.nonTerminalBeforeSweep);
  const sweep = report.sweeper.report;
  row('sweeper', sweep ? `active ${sweep.active}, started ${sweep.started.length}, returned to the line ${sweep.returned.length}, resumed ${sweep.resumed.length}, ended ${sweep.ended.length}, slots reclaimed ${sweep.slotsReclaimed.length}` : `threw: ${report.sweeper.error}`);
  row('provider tasks', `${report.providerTasks.total} (jobs by task count: ${JSON.stringify(report.providerTasks.perJob)}, orphans ${report.providerTasks.orphans})`);
  row('completion events', report.events.total);
  row('delivery failures (after Lambda retries)', report.deliveryFailures.length);
  row('submission problems', report.submissionProblems.length);
  lines.push('');
  lines.push('Error codes, examples');
  for (const [code, examples] of Object.entries(report.errorExamples).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${code}`);
    for (const example of examples) lines.push(`    ${example.prompt ?? '(refused: no request)'} [${example.kind ?? '?'}] ${example.jobId}: ${example.detail}`);
  }
  lines.push('');
  lines.push('Injected');
  const sim = report.injected.simulator;
  row('creates', `${sim.creates}: accepted ${sim.createsAccepted}, refused ${sim.createsRefused}, unanswered ${sim.createsUnanswered}, invalid ${sim.createsInvalid}`);
  row('provider tasks created', sim.tasksCreated);
  row('polls', `${sim.polls}, faulted ${sim.pollFaults}`);
  row('downloads', `${sim.downloads}: cut ${sim.downloadsCut}, full ${sim.fullDownloads}`);
  row('simulator faults by kind', JSON.stringify(sim.faults));
  const chaos = report.injected.chaos;
  row('task invocations', `${chaos.taskInvocations}: crashed before work ${chaos.crashedBeforeWork}, after work ${chaos.crashedAfterWork}`);
  row('S3 events delivered twice', report.injected.duplicatedS3Deliveries);
  lines.push('');
  lines.push('Timings');
  const t = report.timings;
  row('HTTP/S3 submissions sent', `${t.submitSeconds.toFixed(1)} s`);
  row('every batch line started', `${t.allStartedSeconds.toFixed(1)} s`);
  row('every job terminal (or gave up)', `${t.settledSeconds.toFixed(1)} s`);
  row('wall time', `${t.wallSeconds.toFixed(1)} s`);
  lines.push('');
  lines.push('Pass conditions');
  for (const condition of report.pass) lines.push(`  ${condition.ok ? 'PASS' : 'FAIL'}  ${condition.name.padEnd(44)} ${condition.value}`);
  const sections: [string, Offender[]][] = [
    ['lost', report.lost],
    ['doubled', report.duplicated],
    ['made by no submission', report.strays],
    ['non-terminal', report.nonTerminal],
    ['more than one provider task', report.providerTasks.offenders],
    ['SUCCEEDED but not intact', report.intact.offenders],
    ['not exactly one completion event', report.events.offenders],
    ['submission problems', report.submissionProblems],
    ...report.hostile.map((hostile): [string, Offender[]] => [`hostile: ${hostile.label}`, hostile.violations]),
  ];
  for (const [title, offenders] of sections) {
    if (offenders.length === 0) continue;
    lines.push('');
    lines.push(`Offending jobs: ${title} (${offenders.length}${offenders.length > maxOffenders ? `, first ${maxOffenders}` : ''})`);
    for (const offender of offenders.slice(0, maxOffenders)) {
      lines.push(`  ${offender.prompt ?? '?'} [${offender.kind ?? '?'}] ${offender.jobId ?? ''}: ${offender.detail}`);
    }
  }
  if (report.deliveryFailures.length > 0) {
    lines.push('');
    lines.push(`Delivery failures (${report.deliveryFailures.length})`);
    for (const failure of report.deliveryFailures.slice(0, maxOffenders)) lines.push(`  ${failure}`);
  }
  if (report.batch.errors.length > 0) {
    lines.push('');
    lines.push(`Batch run errors (${report.batch.errors.length})`);
    for (const error of report.batch.errors.slice(0, maxOffenders)) lines.push(`  ${error}`);
  }
  lines.push('');
  lines.push(report.ok ? 'CHAOS RUN PASSED' : 'CHAOS RUN FAILED');
  return lines.join('\n');
}
