/**
 * `npm run fuzz`: the long property-based fuzz of POST /jobs (test/e2e/fuzz.test.ts is the short one).
 *
 * Sends FUZZ_RUNS (10,000) generated bodies — valid ones and ones with exactly one rule broken — to
 * the embedded local stack over real HTTP, every one as `POST /jobs?schedule=batch`, so a valid body
 * is recorded (QUEUED, deferred) but never executed. Checks each answer (202 for a valid body, and its
 * recorded job holds what was sent; the documented 4xx naming the broken field for the rest; never a
 * 5xx), then that no execution started and that GET /jobs lists exactly one job per 202.
 *
 * FUZZ_SEED replays a run (the same bodies in the same order); FUZZ_CONCURRENCY (8) requests in flight.
 * Exits 1 if any property failed, after printing every offending body with its answer.
 */
import fc from 'fast-check';
import { startStackFixture } from '../test/support/local-stack-fixture.js';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countStoredRequests, describeBody, fuzzCaseArb, judgeAnswer, judgeRecord, sendCase, type Answer, type FuzzCase } from '../test/support/request-arbitraries.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 8);
const CHUNK = 500;
/** Failures printed in full per kind and reason; the rest are only counted. */
const EXAMPLES_PER_REASON = 2;

interface KindStats {
  sent: number;
  passed: number;
  failed: number;
  statuses: Map<number, number>;
}

interface Failure {
  fuzzCase: FuzzCase;
  answer: Answer;
  wrong: string;
}

const stats = new Map<string, KindStats>();
const failures: Failure[] = [];
let accepted = 0;
let serverErrors = 0;

function statsFor(kind: string): KindStats {
  let entry = stats.get(kind);
  if (!entry) stats.set(kind, (entry = { sent: 0, passed: 0, failed: 0, statuses: new Map() }));
  return entry;
}

async function runCase(apiUrl: string, fuzzCase: FuzzCase): Promise<void> {
  const entry = statsFor(fuzzCase.kind);
  entry.sent += 1;
  let answer: Answer;
  try {
    answer = await sendCase(apiUrl, fuzzCase);
  } catch (error) {
    answer = { status: 0, json: undefined, text: `request failed: ${(error as Error).message}` };
  }
  entry.statuses.set(answer.status, (entry.statuses.get(answer.status) ?? 0) + 1);
  if (answer.status === 202) accepted += 1;
  if (answer.status >= 500) serverErrors += 1;
  let wrong = judgeAnswer(fuzzCase, answer);
  if (!wrong && fuzzCase.valid) {
    const jobId = (answer.json as { jobId: string }).jobId;
    const response = await fetch(`${apiUrl}/jobs/${encodeURIComponent(jobId)}`);
    const text = await response.text();
    const job = JSON.parse(text) as Record<string, unknown>;
    const wrongRecord = response.status === 200 ? judgeRecord(fuzzCase, job) : `GET /jobs/${jobId} answered ${response.status}`;
    if (wrongRecord) {
      wrong = `the recorded job: ${wrongRecord}`;
      answer = { status: response.status, json: job, text: `(GET /jobs/${jobId}) ${text}` };
    }
  }
  if (wrong) {
    entry.failed += 1;
    failures.push({ fuzzCase, answer, wrong });
  } else entry.passed += 1;
}

async function countListedJobs(apiUrl: string): Promise<number> {
  let total = 0;
  let url: string | undefined = `${apiUrl}/jobs?limit=100`;
  while (url) {
    const page = (await (await fetch(url)).json()) as { jobs: unknown[]; links?: { next?: string } };
    total += page.jobs.length;
    url = page.links?.next;
  }
  return total;
}

const FAILURES_FILE = process.env.FUZZ_FAILURES_FILE ?? join(tmpdir(), 'video-pipeline-fuzz-failures.json');

/** The body as sent, long strings cut to 120 characters (the full ones are in FAILURES_FILE). */
function bodyText(fuzzCase: FuzzCase): string {
  return describeBody(fuzzCase.valid ? fuzzCase.body : (fuzzCase.raw ?? fuzzCase.body), 120);
}

function writeFailures(): void {
  const full = failures.map(({ fuzzCase, answer, wrong }) => ({
    kind: fuzzCase.kind,
    wrong,
    expected: fuzzCase.valid ? 202 : fuzzCase.expected,
    contentType: fuzzCase.contentType ?? 'application/json',
    body: fuzzCase.valid ? fuzzCase.body : (fuzzCase.raw ?? fuzzCase.body),
    answer: { status: answer.status, body: answer.text },
  }));
  writeFileSync(FAILURES_FILE, JSON.stringify(full, (_key, value: unknown) => (typeof value === 'string' && value.length > 1_000_000 ? `${value.slice(0, 100)}…(${value.length} chars)` : value), 2));
}

function printFailures(): void {
  // Grouped by what was wrong (kinds tallied), so one bug met by many kinds reads as one.
  const byReason = new Map<string, Failure[]>();
  for (const failure of failures) {
    const key = failure.wrong.slice(0, 200);
    byReason.set(key, [...(byReason.get(key) ?? []), failure]);
  }
  console.log(`\nFAILURES (${failures.length}), grouped by reason (every one in full: ${FAILURES_FILE}):`);
  for (const [reason, group] of byReason) {
    const kinds = new Map<string, number>();
    for (const { fuzzCase } of group) kinds.set(fuzzCase.kind, (kinds.get(fuzzCase.kind) ?? 0) + 1);
    console.log(`\n- ${reason}  ×${group.length}  (${[...kinds].map(([kind, n]) => `${kind}×${n}`).join(', ')})`);
    for (const { fuzzCase, answer } of group.slice(0, EXAMPLES_PER_REASON)) {
      console.log(`  expected: ${fuzzCase.valid ? '202 and a job recording the body' : JSON.stringify(fuzzCase.expected)}`);
      if (fuzzCase.contentType && fuzzCase.contentType !== 'application/json') console.log(`  content-type: ${fuzzCase.contentType}`);
      console.log(`  body:     ${bodyText(fuzzCase)}`);
      console.log(`  answer:   ${answer.status} ${describeBody(answer.json ?? answer.text, 120).slice(0, 3000)}`);
    }
  }
}

const pad = (value: string | number, width: number) => String(value).padStart(width);

function printSummary(executions: number, listedJobs: number, storedRequests: number, wallMs: number, sent: number): void {
  const valid = [...stats].filter(([kind]) => kind.startsWith('valid:'));
  const invalid = [...stats].filter(([kind]) => !kind.startsWith('valid:'));
  const sum = (rows: [string, KindStats][], pick: (entry: KindStats) => number) => rows.reduce((total, [, entry]) => total + pick(entry), 0);
  const statusText = (entry: KindStats) => [...entry.statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ');
  console.log(`\nPOST /jobs?schedule=batch fuzz — seed ${SEED} (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npm run fuzz)`);
  console.log(`bodies sent        ${pad(sent, 7)}`);
  console.log(`valid → 202        ${pad(sum(valid, (entry) => entry.statuses.get(202) ?? 0), 7)} of ${sum(valid, (entry) => entry.sent)} valid bodies (${sum(valid, (entry) => entry.passed)} also recorded as sent)`);
  for (const [kind, entry] of valid.sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`    ${kind.padEnd(34)} ${pad(entry.sent, 5)} sent  ${pad(entry.passed, 5)} ok  ${pad(entry.failed, 4)} failed   ${statusText(entry)}`);
  }
  console.log(`invalid → 4xx, right code and path  ${sum(invalid, (entry) => entry.passed)} of ${sum(invalid, (entry) => entry.sent)} mutated bodies, by mutation kind:`);
  for (const [kind, entry] of invalid.sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`    ${kind.padEnd(34)} ${pad(entry.sent, 5)} sent  ${pad(entry.passed, 5)} ok  ${pad(entry.failed, 4)} failed   ${statusText(entry)}`);
  }
  console.log(`5xx answers        ${pad(serverErrors, 7)}`);
  console.log(`failed checks      ${pad(failures.length, 7)}`);
  console.log(`executions started ${pad(executions, 7)}`);
  console.log(`jobs listed        ${pad(listedJobs, 7)}  (202s answered: ${accepted})`);
  console.log(`requests in S3     ${pad(storedRequests, 7)}  (requests/<jobId>.json; one per 202)`);
  console.log(`wall time          ${pad((wallMs / 1000).toFixed(1), 7)} s   ${(sent / (wallMs / 1000)).toFixed(0)} requests/s (POSTs; plus one GET per 202), concurrency ${CONCURRENCY}`);
}

async function main(): Promise<number> {
  const fixture = await startStackFixture({ timeScale: 0.01 });
  const apiUrl = fixture.stack.apiUrl;
  const started = Date.now();
  let sent = 0;
  try {
    for (let chunk = 0; sent < RUNS; chunk += 1) {
      // Chunks keep memory flat; each is reproducible from the run's seed.
      const cases = fc.sample(fuzzCaseArb, { numRuns: Math.min(CHUNK, RUNS - sent), seed: SEED + chunk });
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < cases.length) await runCase(apiUrl, cases[next++]!);
        }),
      );
      sent += cases.length;
      if (process.stderr.isTTY) process.stderr.write(`\r${sent}/${RUNS} sent, ${failures.length} failed`);
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
    const wallMs = Date.now() - started;
    const executions = fixture.stack.engine.listExecutions().length;
    const listedJobs = await countListedJobs(apiUrl);
    const storedRequests = await countStoredRequests(fixture.stack);
    if (failures.length > 0) {
      writeFailures();
      printFailures();
    }
    printSummary(executions, listedJobs, storedRequests, wallMs, sent);
    const ok = failures.length === 0 && serverErrors === 0 && executions === 0 && listedJobs === accepted && storedRequests === accepted;
    console.log(ok ? '\nPASS: every property held' : '\nFAIL: see above');
    return ok ? 0 : 1;
  } finally {
    await fixture.close();
  }
}

process.exitCode = await main();
