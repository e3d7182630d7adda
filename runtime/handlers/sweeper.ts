import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { HANDLER } from '../../contracts/handlers.js';
import { METRIC, SERVICE_NAMES } from '../../contracts/telemetry.js';
import { createMetrics } from '../aws/metrics.js';
import { intakeFromEnv } from '../compose/intake-deps.js';
import { sweepJobs, type SweepReport } from '../sweeper/job-sweeper.js';

const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.sweeper] });
const metrics = createMetrics(SERVICE_NAMES[HANDLER.sweeper]);
const { env, deps } = intakeFromEnv(HANDLER.sweeper);

/** Run on a schedule: repairs or ends every job whose execution is no longer running. */
export async function handler(): Promise<SweepReport> {
  const report = await sweepJobs({ ...deps, startGraceSeconds: env.SWEEP_START_GRACE_SECONDS });
  // StuckJobs drives the alarm: any job the sweep had to repair or end is one the workflow lost. A job
  // that waited in the line past its limit was not lost: the queue-age alarm speaks for it.
  const lost = report.ended.filter((ended) => ended.code !== 'QUEUE_TIMEOUT');
  const repaired = lost.length + report.resumed.length + report.started.length + report.returned.length;
  metrics.addMetric(METRIC.StuckJobs, MetricUnit.Count, repaired);
  metrics.addMetric(METRIC.StuckJobsEnded, MetricUnit.Count, lost.length);
  metrics.addMetric(METRIC.QueueTimeouts, MetricUnit.Count, report.ended.length - lost.length);
  metrics.addMetric(METRIC.SlotsReclaimed, MetricUnit.Count, report.slotsReclaimed.length);
  metrics.addMetric(METRIC.LineLength, MetricUnit.Count, report.line.waiting);
  const oldestWait = report.line.oldestQueuedAt ? (Date.now() - Date.parse(report.line.oldestQueuedAt)) / 1000 : 0;
  metrics.addMetric(METRIC.OldestWaitSeconds, MetricUnit.Seconds, Math.max(0, oldestWait));
  if (report.slots) {
    metrics.addMetric(METRIC.SlotsHeld, MetricUnit.Count, report.slots.held);
    metrics.addMetric(METRIC.EffectiveCap, MetricUnit.Count, report.slots.allowed);
  }
  metrics.publishStoredMetrics();
  if (repaired + report.slotsReclaimed.length > 0) logger.warn('sweep repaired jobs', { ...report });
  if (report.failed.length > 0) logger.error('sweep could not handle jobs; the next sweep tries again', { failed: report.failed });
  return report;
}
