/**
 * `npm run fuzz`: the long property-based fuzz of the HTTP API (test/e2e/fuzz.test.ts is the short one).
 *
 * Sends FUZZ_RUNS (10,000) generated bodies — valid ones and ones with exactly one rule broken — to
 * the embedded local stack over real HTTP, every one as `POST /jobs?schedule=batch`, so a valid body
 * is recorded (QUEUED, deferred) but never executed. Checks each answer (202 for a valid body, and its
 * recorded job holds what was sent; the documented 4xx naming the broken field for the rest; never a
 * 5xx). Then sends FUZZ_SURFACE_RUNS (2,000) requests that attack the rest of the surface (malformed
 * and over-long job ids, repeated and odd query parameters, forged cursors, repeated headers, other
 * charsets, bytes that are not UTF-8, wrong methods), each expecting the documented answer: a 4xx
 * naming the parameter, or the 200/404 of a well-formed request. Last, that no execution started and
 * that GET /jobs lists exactly one job per 202.
 *
 * FUZZ_SEED replays a run (the same requests in the same order); FUZZ_CONCURRENCY (8) requests in flight.
 * Exits 1 if any property failed, after printing every offending request with its answer.
 */
import fc from 'fast-check';
import { startStackFixture } from '../testkit/local-stack-fixture.js';
import { isUtf8 } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendRaw } from '../testkit/raw-http.js';
import { fuzzCaseArb, type FuzzCase } from '../testkit/request-arbitraries.js';
import { countStoredRequests, describeBody, judgeAnswer, judgeRecord, sendCase, type Answer } from '../testkit/request-oracle.js';
import { describeRequest, judgeSurfaceAnswer, surfaceCaseArb, type SurfaceCase } from '../testkit/surface-arbitraries.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SURFACE_RUNS = Number(process.env.FUZZ_SURFACE_RUNS ?? 2_000);
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

type Failure = { answer: Answer; wrong: string } & ({ fuzzCase: FuzzCase } | { surfaceCase: SurfaceCase });

const stats = new Map<string, KindStats>();
const surfaceStats = new Map<string, KindStats>();
const failures: Failure[] = [];
let accepted = 0;
let serverErrors = 0;

function statsFor(kind: string, table = stats): KindStats {
  let entry = table.get(kind);
  if (!entry) table.set(kind, (entry = { sent: 0, passed: 0, failed: 0, statuses: new Map() }));
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

async function runSurfaceCase(apiUrl: string, surfaceCase: SurfaceCase): Promise<void> {
  const entry = statsFor(surfaceCase.kind, surfaceStats);
  entry.sent += 1;
  let answer: Answer;
  try {
    answer = await sendRaw(apiUrl, surfaceCase.request);
  } catch (error) {
    answer = { status: 0, json: undefined, text: `request failed: ${(error as Error).message}` };
  }
  entry.statuses.set(answer.status, (entry.statuses.get(answer.status) ?? 0) + 1);
  if (answer.status >= 500) serverErrors += 1;
  const wrong = judgeSurfaceAnswer(surfaceCase, answer);
  if (wrong) {
    entry.failed += 1;
    failures.push({ surfaceCase, answer, wrong });
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

/** The request as sent, a body of bytes that are not UTF-8 as base64. */
function requestRecord(surfaceCase: SurfaceCase) {
  const { body, ...request } = surfaceCase.request;
  if (body === undefined || typeof body === 'string') return surfaceCase.request;
  const bytes = Buffer.from(body);
  return { ...request, ...(isUtf8(bytes) ? { body: bytes.toString('utf8') } : { bodyBase64: bytes.toString('base64') }) };
}

function writeFailures(): void {
  const full = failures.map((failure) => {
    const answer = { status: failure.answer.status, body: failure.answer.text };
    if ('surfaceCase' in failure) {
      const { surfaceCase } = failure;
      return { kind: surfaceCase.kind, wrong: failure.wrong, expected: surfaceCase.expected, request: requestRecord(surfaceCase), answer };
    }
    const { fuzzCase } = failure;
    return {
      kind: fuzzCase.kind,
      wrong: failure.wrong,
      expected: fuzzCase.valid ? 202 : fuzzCase.expected,
      contentType: fuzzCase.contentType ?? 'application/json',
      body: fuzzCase.valid ? fuzzCase.body : (fuzzCase.raw ?? fuzzCase.body),
      answer,
    };
  });
  writeFileSync(
    FAILURES_FILE,
    JSON.stringify(
      full,
      (_key, value: unknown) => (typeof value === 'string' && value.length > 1_000_000 ? `${value.slice(0, 100)}…(${value.length} chars)` : value),
      2,
    ),
  );
}

const kindOf = (failure: Failure) => ('surfaceCase' in failure ? failure.surfaceCase.kind : failure.fuzzCase.kind);

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
    for (const failure of group) kinds.set(kindOf(failure), (kinds.get(kindOf(failure)) ?? 0) + 1);
    console.log(`\n- ${reason}  ×${group.length}  (${[...kinds].map(([kind, n]) => `${kind}×${n}`).join(', ')})`);
    for (const failure of group.slice(0, EXAMPLES_PER_REASON)) {
      if ('surfaceCase' in failure) {
        console.log(`  expected: ${JSON.stringify(failure.surfaceCase.expected)}`);
        console.log(`  request:  ${describeRequest(failure.surfaceCase.request)}`);
      } else {
        const { fuzzCase } = failure;
        console.log(`  expected: ${fuzzCase.valid ? '202 and a job recording the body' : JSON.stringify(fuzzCase.expected)}`);
        if (fuzzCase.contentType && fuzzCase.contentType !== 'application/json') console.log(`  content-type: ${fuzzCase.contentType}`);
        console.log(`  body:     ${bodyText(fuzzCase)}`);
      }
      console.log(`  answer:   ${failure.answer.status} ${describeBody(failure.answer.json ?? failure.answer.text, 120).slice(0, 3000)}`);
    }
  }
}

const pad = (value: string | number, width: number) => String(value).padStart(width);

interface Timing {
  wallMs: number;
  sent: number;
}

function printSummary(executions: number, listedJobs: number, storedRequests: number, bodies: Timing, surface: Timing): void {
  const valid = [...stats].filter(([kind]) => kind.startsWith('valid:'));
  const invalid = [...stats].filter(([kind]) => !kind.startsWith('valid:'));
  const sum = (rows: [string, KindStats][], pick: (entry: KindStats) => number) => rows.reduce((total, [, entry]) => total + pick(entry), 0);
  const statusText = (entry: KindStats) =>
    [...entry.statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}×${n}`)
      .join(' ');
  console.log(`\nPOST /jobs?schedule=batch fuzz — seed ${SEED} (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} FUZZ_SURFACE_RUNS=${SURFACE_RUNS} npm run fuzz)`);
  console.log(`bodies sent        ${pad(bodies.sent, 7)}`);
  console.log(
    `valid → 202        ${pad(
      sum(valid, (entry) => entry.statuses.get(202) ?? 0),
      7,
    )} of ${sum(valid, (entry) => entry.sent)} valid bodies (${sum(valid, (entry) => entry.passed)} also recorded as sent)`,
  );
  for (const [kind, entry] of valid.sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`    ${kind.padEnd(34)} ${pad(entry.sent, 5)} sent  ${pad(entry.passed, 5)} ok  ${pad(entry.failed, 4)} failed   ${statusText(entry)}`);
  }
  console.log(
    `invalid → 4xx, right code and path  ${sum(invalid, (entry) => entry.passed)} of ${sum(invalid, (entry) => entry.sent)} mutated bodies, by mutation kind:`,
  );
  for (const [kind, entry] of invalid.sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`    ${kind.padEnd(34)} ${pad(entry.sent, 5)} sent  ${pad(entry.passed, 5)} ok  ${pad(entry.failed, 4)} failed   ${statusText(entry)}`);
  }
  const surfaceRows = [...surfaceStats].sort(([a], [b]) => a.localeCompare(b));
  console.log(`surface requests   ${pad(surface.sent, 7)}  (paths, query strings, cursors, headers, charsets, body bytes, methods)`);
  console.log(
    `surface → documented answer  ${sum(surfaceRows, (entry) => entry.passed)} of ${sum(surfaceRows, (entry) => entry.sent)} (a 4xx naming the parameter; 200/404 for the well-formed), by kind:`,
  );
  for (const [kind, entry] of surfaceRows) {
    console.log(`    ${kind.padEnd(34)} ${pad(entry.sent, 5)} sent  ${pad(entry.passed, 5)} ok  ${pad(entry.failed, 4)} failed   ${statusText(entry)}`);
  }
  console.log(`5xx answers        ${pad(serverErrors, 7)}`);
  console.log(`failed checks      ${pad(failures.length, 7)}`);
  console.log(`executions started ${pad(executions, 7)}`);
  console.log(`jobs listed        ${pad(listedJobs, 7)}  (202s answered: ${accepted})`);
  console.log(`requests in S3     ${pad(storedRequests, 7)}  (requests/<jobId>.json; one per 202)`);
  console.log(
    `wall time          ${pad((bodies.wallMs / 1000).toFixed(1), 7)} s   ${(bodies.sent / (bodies.wallMs / 1000)).toFixed(0)} requests/s (POSTs; plus one GET per 202), concurrency ${CONCURRENCY}`,
  );
  console.log(
    `surface time       ${pad((surface.wallMs / 1000).toFixed(1), 7)} s   ${(surface.sent / (surface.wallMs / 1000)).toFixed(0)} requests/s, concurrency ${CONCURRENCY}`,
  );
}

/** Runs `count` cases drawn in chunks (memory stays flat; each chunk is reproducible from the seed). */
async function runAll<T>(label: string, count: number, arbitrary: fc.Arbitrary<T>, seed: number, run: (item: T) => Promise<void>): Promise<Timing> {
  const started = Date.now();
  let sent = 0;
  for (let chunk = 0; sent < count; chunk += 1) {
    const cases = fc.sample(arbitrary, { numRuns: Math.min(CHUNK, count - sent), seed: seed + chunk });
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) await run(cases[next++]!);
      }),
    );
    sent += cases.length;
    if (process.stderr.isTTY) process.stderr.write(`\r${label}: ${sent}/${count} sent, ${failures.length} failed`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  return { wallMs: Date.now() - started, sent };
}

async function main(): Promise<number> {
  const fixture = await startStackFixture({ timeScale: 0.01 });
  const apiUrl = fixture.stack.apiUrl;
  try {
    const bodies = await runAll('bodies', RUNS, fuzzCaseArb, SEED, (fuzzCase) => runCase(apiUrl, fuzzCase));
    // Another stream of seeds than the bodies', so neither run's cases depend on the other's count.
    const surface = await runAll('surface', SURFACE_RUNS, surfaceCaseArb, SEED + 1_000_000, (surfaceCase) => runSurfaceCase(apiUrl, surfaceCase));
    const executions = fixture.stack.engine.listExecutions().length;
    const listedJobs = await countListedJobs(apiUrl);
    const storedRequests = await countStoredRequests(fixture.stack);
    if (failures.length > 0) {
      writeFailures();
      printFailures();
    }
    printSummary(executions, listedJobs, storedRequests, bodies, surface);
    const ok = failures.length === 0 && serverErrors === 0 && executions === 0 && listedJobs === accepted && storedRequests === accepted;
    console.log(ok ? '\nPASS: every property held' : '\nFAIL: see above');
    return ok ? 0 : 1;
  } finally {
    await fixture.close();
  }
}

process.exitCode = await main();
