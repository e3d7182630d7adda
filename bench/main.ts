/**
 * `npm run bench`: runs the sections named in BENCH_SECTIONS (default all, in this order:
 * polling,copy,bundles,e2e,burst), each comparing our code with a baseline run in the same process, prints
 * one summary table (section | metric | ours | baseline | ratio | target | met?) with each section's
 * details, and writes every figure to bench/results.json.
 *
 * Settings: BENCH_SECTIONS; polling: BENCH_POLL_JOBS (1000), BENCH_SEED; copy: BENCH_COPY_MB (1024),
 * BENCH_COPY_RUNS (1), BENCH_COPY_NULL_S3 (1; 0 skips the null-S3 runs); bundles: BENCH_BUNDLE_IMPORTS
 * (5); e2e: BENCH_E2E_JOBS (200), BENCH_E2E_CONCURRENCY (20), LOCAL_TIME_SCALE (0.01); burst (what
 * `npm run burst` runs, bench/burst-run.ts): BURST_JOBS (1000), BURST_QUOTA (40), BURST_MAX_IN_FLIGHT
 * (30,200), BURST_TIME_SCALE (0.1);
 * BENCH_RESULTS_FILE (bench/results.json) to write the figures elsewhere, e.g. for a small trial run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runBundlesBench } from './bundles.js';
import { runBurstBench } from './burst-run.js';
import { runCopyBench } from './copy.js';
import { runE2eBench } from './e2e.js';
import { runPollingBench } from './polling.js';
import { formatSummary, type SectionReport, type SummaryRow } from './report.js';

const SECTIONS = {
  polling: runPollingBench,
  copy: runCopyBench,
  bundles: runBundlesBench,
  e2e: runE2eBench,
  burst: runBurstBench,
} as const;
type SectionName = keyof typeof SECTIONS;

const requested = (process.env.BENCH_SECTIONS ?? Object.keys(SECTIONS).join(','))
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
for (const name of requested) {
  if (!(name in SECTIONS)) throw new Error(`BENCH_SECTIONS: unknown section "${name}" (known: ${Object.keys(SECTIONS).join(', ')})`);
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

function gitRevision(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const machine = {
  cpus: availableParallelism(),
  cpuModel: cpuModel(),
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  gitRevision: gitRevision(),
  loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
};
const log = (line: string) => console.error(line);
log(
  `bench: sections ${requested.join(', ')} on ${machine.cpus} CPU(s) (${machine.cpuModel}), node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`,
);

const started = Date.now();
const reports: SectionReport[] = [];
const failures: { section: string; error: string }[] = [];
for (const name of requested as SectionName[]) {
  const sectionStarted = Date.now();
  try {
    const report = await SECTIONS[name](log);
    reports.push(report);
    log(`bench: ${name} done in ${((Date.now() - sectionStarted) / 1000).toFixed(1)} s`);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push({ section: name, error: message });
    log(`bench: ${name} FAILED: ${message}`);
  }
}

const rows: SummaryRow[] = reports.flatMap((report) => report.rows);
console.log('');
console.log(formatSummary(rows));
for (const report of reports) {
  for (const note of report.notes) console.log(`\n${note}`);
}
const finished = { seconds: Math.round((Date.now() - started) / 100) / 10, loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100) };
console.log(
  `\nmachine: ${machine.cpus} CPU(s), ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node} (${machine.platform}), code ${machine.gitRevision}; load average ${machine.loadAverageAtStart.join(' ')} at start, ${finished.loadAverageAtEnd.join(' ')} at the end; ${finished.seconds} s in all`,
);
for (const failure of failures) console.log(`\nsection ${failure.section} FAILED:\n${failure.error}`);

const resultsFile = process.env.BENCH_RESULTS_FILE || fileURLToPath(new URL('./results.json', import.meta.url));
writeFileSync(
  resultsFile,
  `${JSON.stringify({ at: new Date().toISOString(), machine, ...finished, sections: requested, summary: rows, failures, details: Object.fromEntries(reports.map((r) => [r.section, r.details])) }, null, 2)}\n`,
);
console.log(`\nresults written to ${resultsFile}`);
process.exit(failures.length > 0 ? 1 : 0);
