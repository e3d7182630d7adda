/**
 * The sweeper, once, as its schedule would run it after the waiting; then a little more waiting, so
 * what it resumed or started runs to its end and the executions still following a late task end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SweepReport } from '../../runtime/sweeper/job-sweeper.js';
import { scheduledEvent } from '../../local/emulators/eventbridge/schedules.js';
import { listAll, TERMINAL } from './jobs.js';
import type { ChaosReport } from './report.js';
import type { ChaosStack } from './stack.js';

export async function sweepOnce({ config, stack, log, since }: ChaosStack): Promise<ChaosReport['sweeper']> {
  const sweeper: ChaosReport['sweeper'] = {};
  try {
    sweeper.report = (await stack.invokeFunction('sweeper', scheduledEvent('arn:aws:events:us-east-1:000000000000:rule/chaos-sweep'))) as SweepReport;
    log(
      `[${since()} s] sweeper: ${JSON.stringify({ active: sweeper.report.active, started: sweeper.report.started.length, resumed: sweeper.report.resumed.length, ended: sweeper.report.ended.length })}`,
    );
  } catch (error) {
    sweeper.error = (error as Error).message;
    log(`[${since()} s] sweeper threw: ${sweeper.error}`);
  }
  // Then a bit more: what it resumed or started runs to its end; the last announcements land.
  const settleUntil = Date.now() + config.afterSweepMs;
  const repaired = (sweeper.report?.resumed.length ?? 0) + (sweeper.report?.started.length ?? 0);
  do {
    await sleep(500);
    const running = stack.engine.listExecutions().filter((execution) => execution.status === 'RUNNING').length;
    if (running === 0 && repaired === 0) break;
    if (running === 0 && (await listAll(stack.apiUrl)).every((job) => TERMINAL.has(job.status))) break;
  } while (Date.now() < settleUntil);
  await stack.deliveriesIdle();
  // A job that timed out may still be followed for its late video, holding its slot as it should:
  // wait for those executions to end (the follow window, scaled) before asking whether any slot leaked.
  const followUntil = Date.now() + config.lateFollowMinutes * 60_000 * config.timeScale + 10_000;
  while (stack.engine.listExecutions().some((execution) => execution.status === 'RUNNING') && Date.now() < followUntil) await sleep(200);
  await stack.deliveriesIdle();
  return sweeper;
}
