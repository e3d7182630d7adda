/**
 * End to end: BENCH_E2E_JOBS (200) jobs through the offline stack (startLocalStack, LOCAL_TIME_SCALE
 * 0.01) over its HTTP API, each run in its own fresh process (bench/e2e-worker.ts):
 *   OURS     = the jobs kept BENCH_E2E_CONCURRENCY (20) at a time in flight,
 *   BASELINE = the same jobs one at a time (submit, wait for the completion event, next).
 * Job latency is the record's createdAt → finishedAt. CPU is the stack process's own (intake, the
 * Step Functions engine, every handler, dynalite, s3rver and the provider simulator share it) plus the
 * simulator's ffmpeg renders (waited-for children, /proc/self/stat cutime + cstime).
 * What the OURS run used of each AWS service (LocalStack.usage()) is priced per 1,000 videos
 * (testkit/aws-cost.ts) beside the same run with a fixed 15 s poller's polls (testkit/simulated-polling.ts).
 */
import { costPer1000Videos, fixedPollerBaseline, formatCostTable, totalUsd } from '../testkit/aws-cost.js';
import { runTsChild } from './child.js';
import type { E2eWorkerResult } from './e2e-worker.js';
import { fixedPollerPolls } from '../testkit/simulated-polling.js';
import { formatTable } from '../testkit/table.js';
import { integerEnv, mean, quantile, round, type Log, type SectionReport, type SummaryRow } from './report.js';

interface E2eFigures extends E2eWorkerResult {
  jobsPerSecond: number;
  latencyP50: number;
  latencyP95: number;
  latencyMax: number;
  cpuPerJobMs: number;
  childrenCpuPerJobMs?: number;
  pollsPerJob: number;
}

function figures(result: E2eWorkerResult): E2eFigures {
  return {
    ...result,
    jobsPerSecond: result.jobs / result.wallSeconds,
    latencyP50: quantile(result.latencies, 0.5),
    latencyP95: quantile(result.latencies, 0.95),
    latencyMax: Math.max(...result.latencies),
    cpuPerJobMs: (result.cpuSelfSeconds / result.jobs) * 1000,
    ...(result.cpuChildrenSeconds !== undefined ? { childrenCpuPerJobMs: (result.cpuChildrenSeconds / result.jobs) * 1000 } : {}),
    pollsPerJob: mean(result.polls),
  };
}

export async function runE2eBench(log: Log): Promise<SectionReport> {
  const jobs = integerEnv('BENCH_E2E_JOBS', 200);
  const concurrency = integerEnv('BENCH_E2E_CONCURRENCY', 20);
  const timeScale = Number(process.env.LOCAL_TIME_SCALE ?? 0.01);
  const run = async (inFlight: number) => {
    log(`e2e: ${jobs} jobs, ${inFlight} at a time, time scale ${timeScale}`);
    const result = figures(
      await runTsChild<E2eWorkerResult>(
        './e2e-worker.ts',
        { BENCH_E2E_JOBS: String(jobs), BENCH_E2E_CONCURRENCY: String(inFlight), LOCAL_TIME_SCALE: String(timeScale) },
        log,
        { timeoutMs: 60 * 60 * 1000 },
      ),
    );
    log(
      `e2e: ${inFlight} at a time: ${result.wallSeconds.toFixed(1)} s, ${result.jobsPerSecond.toFixed(2)} jobs/s, p50 ${result.latencyP50.toFixed(2)} s, p95 ${result.latencyP95.toFixed(2)} s, ${JSON.stringify(result.statuses)}`,
    );
    return result;
  };
  const ours = await run(concurrency);
  const baseline = await run(1);
  const succeeded = (r: E2eFigures) => r.statuses.SUCCEEDED ?? 0;
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const polls = { ours: sum(ours.polls), fixed: sum(await fixedPollerPolls(ours.taskSeconds)) };
  // Per video delivered: what failed jobs used is paid for by the ones that succeeded.
  const videos = Math.max(1, succeeded(ours));
  const cost = {
    polls,
    videos,
    ours: costPer1000Videos(ours.usage, videos),
    fixed15: costPer1000Videos(fixedPollerBaseline(ours.usage, polls), videos),
  };
  const rows: SummaryRow[] = [
    {
      section: 'e2e',
      metric: `jobs/s, ${jobs} jobs (${concurrency} in flight vs 1)`,
      ours: round(ours.jobsPerSecond, 2),
      baseline: round(baseline.jobsPerSecond, 3),
      ratio: ours.jobsPerSecond / baseline.jobsPerSecond,
      target: '',
    },
    {
      section: 'e2e',
      metric: 'wall time s',
      ours: round(ours.wallSeconds, 1),
      baseline: round(baseline.wallSeconds, 1),
      ratio: ours.wallSeconds / baseline.wallSeconds,
      target: '',
    },
    {
      section: 'e2e',
      metric: 'job latency p50 s (createdAt → finishedAt)',
      ours: round(ours.latencyP50, 2),
      baseline: round(baseline.latencyP50, 2),
      ratio: ours.latencyP50 / baseline.latencyP50,
      target: '',
    },
    {
      section: 'e2e',
      metric: 'job latency p95 s',
      ours: round(ours.latencyP95, 2),
      baseline: round(baseline.latencyP95, 2),
      ratio: ours.latencyP95 / baseline.latencyP95,
      target: '',
    },
    {
      section: 'e2e',
      metric: 'CPU ms / job, stack process',
      ours: round(ours.cpuPerJobMs, 1),
      baseline: round(baseline.cpuPerJobMs, 1),
      ratio: ours.cpuPerJobMs / baseline.cpuPerJobMs,
      target: '',
    },
    ...(ours.childrenCpuPerJobMs !== undefined && baseline.childrenCpuPerJobMs !== undefined
      ? [
          {
            section: 'e2e',
            metric: 'CPU ms / job, ffmpeg renders',
            ours: round(ours.childrenCpuPerJobMs, 1),
            baseline: round(baseline.childrenCpuPerJobMs, 1),
            ratio: ours.childrenCpuPerJobMs / baseline.childrenCpuPerJobMs,
            target: '',
          },
        ]
      : []),
    {
      section: 'e2e',
      metric: '$ / 1,000 videos on AWS (vs fixed 15 s poller)',
      ours: round(totalUsd(cost.ours), 3),
      baseline: round(totalUsd(cost.fixed15), 3),
      ratio: totalUsd(cost.ours) / totalUsd(cost.fixed15),
      target: '',
    },
    {
      section: 'e2e',
      metric: 'jobs SUCCEEDED',
      ours: `${succeeded(ours)}/${jobs}`,
      baseline: `${succeeded(baseline)}/${jobs}`,
      target: 'all',
      met: succeeded(ours) === jobs && succeeded(baseline) === jobs,
    },
  ];
  const table = [ours, baseline].map((r) => [
    r.concurrency,
    round(r.wallSeconds, 1),
    round(r.jobsPerSecond, 3),
    round(r.latencyP50, 2),
    round(r.latencyP95, 2),
    round(r.latencyMax, 2),
    round(r.pollsPerJob, 1),
    round(r.cpuPerJobMs, 1),
    r.childrenCpuPerJobMs === undefined ? '?' : round(r.childrenCpuPerJobMs, 1),
    round(r.startupSeconds, 1),
    JSON.stringify(r.statuses),
  ]);
  const notes = [
    `e2e: per run\n${formatTable(
      ['in flight', 'wall s', 'jobs/s', 'p50 s', 'p95 s', 'max s', 'polls/job', 'CPU ms/job', 'ffmpeg CPU ms/job', 'stack boot s', 'statuses'],
      table,
    )}`,
    `e2e: AWS cost per 1,000 videos, us-east-1 on-demand (testkit/aws-cost.ts), from what the ${concurrency}-in-flight run used, per video delivered (${videos}); the baseline is the same run with its ${polls.ours} polls replaced by the ${polls.fixed} a fixed 15 s poller makes on the same provider tasks\n${formatCostTable(cost.ours, { label: 'fixed 15 s', lines: cost.fixed15 })}`,
    `e2e: cost counts: Step Functions transitions = states entered + retries; Lambda requests and billed ms per function as they ran here (in one process on this machine, ${concurrency} jobs in flight, a provider on loopback: durations are this machine's, not Lambda's), MemorySize as deployed; DynamoDB units by item size, GSI writes and failed conditions included (local/emulators/dynamodb/dynamodb-meter.ts); S3 requests by class, presigned ones included; EventBridge custom events per 64 KB, S3's events free; Secrets Manager once per function per cold start (one process = one cold start each; on AWS each new container reads it again). At LOCAL_TIME_SCALE ${timeScale} the waits are scaled and the poll policy reads the handlers' clock in provider seconds (runtime/workflow/polling/policy-clock.ts), so its polls follow bench/polling.ts's up to the local stack's own latency. Not counted: API Gateway, CloudWatch Logs and metrics, X-Ray, storage and data transfer, init durations, free tiers.`,
    `e2e: request per job: text-only, 5 s, 480p, silent (the cheapest render); LOCAL_TIME_SCALE ${timeScale} scales the simulated generation time (median 104 s → ${round(104 * timeScale, 2)} s), the workflow's waits and the deadline (30 min → ${Math.max(10, Math.round(1800 * timeScale))} s). Each run boots its own stack in a fresh process; boot time is not in the wall time. Baseline = the same ${jobs} jobs submitted one at a time, each after the previous one's completion event.`,
  ];
  return { section: 'e2e', rows, notes, details: { jobs, concurrency, timeScale, ours, baseline, cost } };
}
