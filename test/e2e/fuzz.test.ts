import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { sendRaw } from '../../testkit/raw-http.js';
import { fuzzCaseArb, MUTATION_KINDS, mutationOfKind, type FuzzCase } from '../../testkit/request-arbitraries.js';
import { countStoredRequests, describeBody, judgeAnswer, judgeRecord, sendCase, type Answer } from '../../testkit/request-oracle.js';
import { describeRequest, judgeSurfaceAnswer, SURFACE_KINDS, surfaceCaseArb, surfaceCaseOfKind, type SurfaceCase } from '../../testkit/surface-arbitraries.js';

/**
 * Property-based fuzz of the HTTP API over real HTTP on the local stack. Every body goes in as
 * `?schedule=batch`: validated exactly as an immediate job, but a valid one is only recorded
 * (QUEUED, deferred) and never executed, since no batch run is triggered. Then the rest of the
 * surface: job ids, query strings, cursors, headers, charsets, body bytes, methods. `npm run fuzz` is
 * the long version (10,000 bodies, 2,000 surface requests); FUZZ_RUNS, FUZZ_SURFACE_RUNS and
 * FUZZ_SEED override the counts and the seed here.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 600);
const SURFACE_RUNS = Number(process.env.FUZZ_SURFACE_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const PER_KIND = 3;

let fixture: StackFixture;
let apiUrl: string;
/** Every 202 answered, shrinking runs included: each must be one recorded job. */
let accepted = 0;

beforeAll(async () => {
  fixture = await startStackFixture({ timeScale: 0.01 });
  apiUrl = fixture.stack.apiUrl;
});

afterAll(async () => {
  await fixture?.close();
});

function report(fuzzCase: FuzzCase, answer: Answer, wrong: string): string {
  return [
    `${fuzzCase.kind}: ${wrong}`,
    `expected: ${fuzzCase.valid ? '202' : JSON.stringify(fuzzCase.expected)}`,
    `body: ${describeBody(fuzzCase.valid ? fuzzCase.body : (fuzzCase.raw ?? fuzzCase.body))}`,
    ...(fuzzCase.contentType && fuzzCase.contentType !== 'application/json' ? [`content-type: ${fuzzCase.contentType}`] : []),
    `answer: ${answer.status} ${answer.text.slice(0, 2000)}`,
  ].join('\n');
}

async function check(fuzzCase: FuzzCase): Promise<void> {
  const answer = await sendCase(apiUrl, fuzzCase);
  if (answer.status === 202) accepted += 1;
  const wrong = judgeAnswer(fuzzCase, answer);
  if (wrong) throw new Error(report(fuzzCase, answer, wrong));
  if (fuzzCase.valid) {
    const jobId = (answer.json as { jobId: string }).jobId;
    const response = await fetch(`${apiUrl}/jobs/${encodeURIComponent(jobId)}`);
    const job = (await response.json()) as Record<string, unknown>;
    const wrongRecord = response.status === 200 ? judgeRecord(fuzzCase, job) : `GET /jobs/${jobId} answered ${response.status}`;
    if (wrongRecord) throw new Error(report(fuzzCase, { status: response.status, json: job, text: JSON.stringify(job) }, `the recorded job: ${wrongRecord}`));
  }
}

async function checkSurface(surfaceCase: SurfaceCase): Promise<void> {
  const answer = await sendRaw(apiUrl, surfaceCase.request);
  const wrong = judgeSurfaceAnswer(surfaceCase, answer);
  if (wrong) {
    throw new Error(
      [
        `${surfaceCase.kind}: ${wrong}`,
        `expected: ${JSON.stringify(surfaceCase.expected)}`,
        `request: ${describeRequest(surfaceCase.request)}`,
        `answer: ${answer.status} ${answer.text.slice(0, 2000)}`,
      ].join('\n'),
    );
  }
}

async function listedJobs(): Promise<number> {
  let total = 0;
  let url: string | undefined = `${apiUrl}/jobs?limit=100`;
  while (url) {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { jobs: unknown[]; links?: { next?: string } };
    total += page.jobs.length;
    url = page.links?.next;
  }
  return total;
}

describe('the HTTP API under fuzzing (bodies as POST /jobs?schedule=batch, then the rest of the surface)', () => {
  it.each(MUTATION_KINDS)(`%s: ${PER_KIND} mutated bodies are refused, naming the field`, async (kind) => {
    const cases = fc.sample(mutationOfKind(kind), { numRuns: PER_KIND, seed: 42 });
    for (const mutation of cases) await check({ valid: false, ...mutation });
  });

  it(
    `answers ${RUNS} generated bodies: 202 for valid ones, a 4xx naming the broken rule for the rest, never a 5xx`,
    { timeout: Math.max(60_000, RUNS * 200) },
    async () => {
      await fc.assert(
        fc.asyncProperty(fuzzCaseArb, async (fuzzCase) => {
          await check(fuzzCase);
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
    },
  );

  it.each(SURFACE_KINDS)(`%s: ${PER_KIND} requests get the documented answer (a 4xx naming the parameter, or 200/404 when well-formed)`, async (kind) => {
    for (const surfaceCase of fc.sample(surfaceCaseOfKind(kind), { numRuns: PER_KIND, seed: 42 })) await checkSurface(surfaceCase);
  });

  it(
    `answers ${SURFACE_RUNS} generated requests to the rest of the surface as documented, never a 5xx`,
    { timeout: Math.max(60_000, SURFACE_RUNS * 200) },
    async () => {
      await fc.assert(
        fc.asyncProperty(surfaceCaseArb, async (surfaceCase) => {
          await checkSurface(surfaceCase);
        }),
        { numRuns: SURFACE_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
    },
  );

  it('started no execution and recorded exactly one job per 202', async () => {
    expect(accepted).toBeGreaterThan(0);
    expect(fixture.stack.engine.listExecutions()).toEqual([]);
    expect(await listedJobs()).toBe(accepted);
    // A refused body leaves nothing behind, not even its request body in S3.
    expect(await countStoredRequests(fixture.stack)).toBe(accepted);
  });
});
