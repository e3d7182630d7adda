/** Waits until every job of the run ends (or 60 s, config.graceAfterDeadlineMs, past the last deadline), then stops the batch loop. */
import { setTimeout as sleep } from 'node:timers/promises';
import { listAll, TERMINAL, type ListedJob } from './jobs.js';
import type { ChaosStack } from './stack.js';
import type { Submitted } from './submissions.js';

export interface Waited {
  /** When every manifest line had started (0: they never all did). */
  allStartedSeconds: number;
  /** Jobs not terminal when the waiting stopped, before the sweeper ran. */
  nonTerminalBeforeSweep: number;
  settledSeconds: number;
}

export async function waitForEveryJob(chaos: ChaosStack, { manifests, batches, submitSeconds }: Submitted): Promise<Waited> {
  const { config, stack, log, since, started, deadlineSeconds } = chaos;
  const { manifestsDone } = batches;
  let allStartedSeconds = 0;
  let jobs: ListedJob[] = [];
  let lastLog = 0;
  for (;;) {
    jobs = await listAll(stack.apiUrl);
    const active = jobs.filter((job) => !TERMINAL.has(job.status)).length;
    const batchesDone = manifestsDone.size >= manifests.length;
    if (batchesDone && !allStartedSeconds) {
      allStartedSeconds = (Date.now() - started) / 1000;
      log(`[${since()} s] every batch line started (${batches.stats.runs} batch runs)`);
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
  await batches.stop();
  await stack.deliveriesIdle();
  const nonTerminalBeforeSweep = (await listAll(stack.apiUrl)).filter((job) => !TERMINAL.has(job.status)).length;
  const settledSeconds = (Date.now() - started) / 1000;
  return { allStartedSeconds, nonTerminalBeforeSweep, settledSeconds };
}
