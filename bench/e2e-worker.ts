/**
 * One end-to-end run in a fresh process (one process runs one local stack: handlers read their
 * settings at import): BENCH_E2E_JOBS jobs through startLocalStack over its HTTP API, at most
 * BENCH_E2E_CONCURRENCY in flight (each worker submits a job and waits for its completion event
 * before the next). Prints one JSON line on stdout.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack } from '../local/stack/local-stack.js';
import { subtractUsage, type Usage } from '../local/stack/usage.js';

export interface E2eWorkerResult {
  jobs: number;
  concurrency: number;
  timeScale: number;
  wallSeconds: number;
  statuses: Record<string, number>;
  /** createdAt → finishedAt of each job, seconds. */
  latencies: number[];
  polls: number[];
  cpuSelfSeconds: number;
  /** CPU of waited-for children (the simulator's ffmpeg renders), from /proc/self/stat cutime + cstime. */
  cpuChildrenSeconds?: number;
  startupSeconds: number;
  /** What the jobs used of each AWS service, from their submission to the end of their executions. */
  usage: Usage;
  /** Each provider task's length, submit to end, in unscaled seconds: what a fixed poller would have polled. */
  taskSeconds: number[];
}

const jobs = Number(process.env.BENCH_E2E_JOBS ?? 200);
const concurrency = Number(process.env.BENCH_E2E_CONCURRENCY ?? 20);
const timeScale = Number(process.env.LOCAL_TIME_SCALE ?? 0.01);
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime, stime, cutime, cstime of this process in seconds (Linux), undefined elsewhere. */
function procTimes(): { children: number } | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cutime = Number(fields[13]);
    const cstime = Number(fields[14]);
    return { children: (cutime + cstime) / clockTicks };
  } catch {
    return undefined;
  }
}

const body = (index: number) => ({
  model: 'seedance-fast',
  content: [{ type: 'text', text: `bench job ${index}: a paper boat on a river` }],
  resolution: '480p',
  duration: 5,
  generate_audio: false,
});

const dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-bench-e2e-'));
const bootStarted = performance.now();
const stack = await startLocalStack({ dataDir, port: 0, timeScale });
const startupSeconds = (performance.now() - bootStarted) / 1000;

// Completion events → waiting submitters.
const waiting = new Map<string, () => void>();
const ended = new Set<string>();
let seen = 0;
let watching = true;
const watcher = (async () => {
  while (watching) {
    const events = stack.events();
    for (; seen < events.length; seen += 1) {
      const jobId = (events[seen]!.detail as { jobId?: string } | undefined)?.jobId;
      if (!jobId) continue;
      ended.add(jobId);
      waiting.get(jobId)?.();
    }
    await sleep(25);
  }
})();

const jobIds: string[] = [];
const usageBefore = stack.usage();
const cpuBefore = process.cpuUsage();
const childrenBefore = procTimes();
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(concurrency, jobs) }, async () => {
    while (next < jobs) {
      const index = next++;
      const response = await fetch(`${stack.apiUrl}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(index)),
      });
      const answer = (await response.json()) as { jobId?: string };
      if (response.status !== 202 || !answer.jobId) throw new Error(`POST /jobs answered ${response.status}: ${JSON.stringify(answer)}`);
      const jobId = answer.jobId;
      jobIds.push(jobId);
      if (!ended.has(jobId)) await new Promise<void>((resolve) => waiting.set(jobId, resolve));
      waiting.delete(jobId);
    }
  }),
);
const wallSeconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const childrenAfter = procTimes();
watching = false;
await watcher;
// The executions end a few states after the completion event; the records read below are not the jobs' usage.
await stack.engine.idle();
await stack.deliveriesIdle();
const usage = subtractUsage(stack.usage(), usageBefore);
const taskSeconds = stack.simulator.tasks().map((task) => (task.finishAt - task.createdAt) / 1000 / timeScale);

const statuses: Record<string, number> = {};
const latencies: number[] = [];
const polls: number[] = [];
for (const jobId of jobIds) {
  const record = (await (await fetch(`${stack.apiUrl}/jobs/${jobId}`)).json()) as {
    status: string;
    createdAt: string;
    finishedAt?: string;
    polls?: number;
  };
  statuses[record.status] = (statuses[record.status] ?? 0) + 1;
  if (record.finishedAt) latencies.push((Date.parse(record.finishedAt) - Date.parse(record.createdAt)) / 1000);
  if (record.polls !== undefined) polls.push(record.polls);
}
await stack.stop();
await rm(dataDir, { recursive: true, force: true });

const result: E2eWorkerResult = {
  jobs,
  concurrency,
  timeScale,
  wallSeconds,
  statuses,
  latencies,
  polls,
  cpuSelfSeconds: (cpu.user + cpu.system) / 1e6,
  ...(childrenBefore && childrenAfter ? { cpuChildrenSeconds: childrenAfter.children - childrenBefore.children } : {}),
  startupSeconds,
  usage,
  taskSeconds,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
