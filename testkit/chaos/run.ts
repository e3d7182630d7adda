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
 *
 * The steps, one module each: stack.ts, slots.ts, submissions.ts (with batches.ts), waiting.ts,
 * sweep.ts, verdict.ts (matching.ts, checks.ts); format-report.ts prints the report.
 */
import type { ChaosConfig } from './config.js';
import type { ChaosReport } from './report.js';
import { sampleSlots } from './slots.js';
import { withChaosStack } from './stack.js';
import { submitAll } from './submissions.js';
import { sweepOnce } from './sweep.js';
import { judgeRun } from './verdict.js';
import { waitForEveryJob } from './waiting.js';

export function runChaos(config: ChaosConfig): Promise<ChaosReport> {
  return withChaosStack(config, async (chaos) => {
    const slots = sampleSlots(chaos);
    const submitted = await submitAll(chaos);
    const waited = await waitForEveryJob(chaos, submitted);
    const sweeper = await sweepOnce(chaos);
    const slotSamples = await slots.stop();
    // Every slot came back: none is held by a job that ended, none by a dispatcher that died.
    const leakedSlots = await slots.holders();
    return judgeRun(chaos, submitted, { waited, sweeper, slotSamples, leakedSlots });
  });
}
