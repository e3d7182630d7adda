import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createMetrics, SWEEPER_SERVICE } from '../aws/metrics.js';
import { positiveIntegerSetting, readEnv } from '../compose/env.js';
import { intakeFromEnv } from '../compose/intake-deps.js';
import { sweepJobs, type SweepReport } from '../sweeper/job-sweeper.js';
import * as z from '../domain/zod.js';

const logger = new Logger({ serviceName: SWEEPER_SERVICE });
const metrics = createMetrics(SWEEPER_SERVICE);
const { SWEEP_START_GRACE_SECONDS } = readEnv(
  z.object({ SWEEP_START_GRACE_SECONDS: z._default(positiveIntegerSetting, 120) }),
);
const { deps } = intakeFromEnv(SWEEPER_SERVICE);

/** Run on a schedule: repairs or ends every job whose execution is no longer running. */
export async function handler(): Promise<SweepReport> {
  const report = await sweepJobs({ ...deps, startGraceSeconds: SWEEP_START_GRACE_SECONDS });
  // StuckJobs drives the alarm: any job the sweep had to repair or end is one the workflow lost. A job
  // that waited in the line past its limit was not lost: the queue-age alarm speaks for it.
  const lost = report.ended.filter((ended) => ended.code !== 'QUEUE_TIMEOUT');
  const repaired = lost.length + report.resumed.length + report.started.length + report.returned.length;
  metrics.addMetric('StuckJobs', MetricUnit.Count, repaired);
  metrics.addMetric('StuckJobsEnded', MetricUnit.Count, lost.length);
  metrics.addMetric('QueueTimeouts', MetricUnit.Count, report.ended.length - lost.length);
  metrics.addMetric('SlotsReclaimed', MetricUnit.Count, report.slotsReclaimed.length);
  metrics.addMetric('LineLength', MetricUnit.Count, report.line.waiting);
  const oldestWait = report.line.oldestQueuedAt ? (Date.now() - Date.parse(report.line.oldestQueuedAt)) / 1000 : 0;
  metrics.addMetric('OldestWaitSeconds', MetricUnit.Seconds, Math.max(0, oldestWait));
  if (report.slots) {
    metrics.addMetric('SlotsHeld', MetricUnit.Count, report.slots.held);
    metrics.addMetric('EffectiveCap', MetricUnit.Count, report.slots.allowed);
  }
  metrics.publishStoredMetrics();
  if (repaired + report.slotsReclaimed.length > 0) logger.warn('sweep repaired jobs', { ...report });
  if (report.failed.length > 0) logger.error('sweep could not handle jobs; the next sweep tries again', { failed: report.failed });
  return report;
}
