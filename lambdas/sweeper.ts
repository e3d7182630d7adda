import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createMetrics, SWEEPER_SERVICE } from './core/metrics.js';
import { positiveIntegerSetting, readEnv } from './core/env.js';
import { intakeFromEnv } from './core/intake-deps.js';
import { sweepJobs, type SweepReport } from './core/job-sweeper.js';
import * as z from './core/zod.js';

const logger = new Logger({ serviceName: SWEEPER_SERVICE });
const metrics = createMetrics(SWEEPER_SERVICE);
const { SWEEP_START_GRACE_SECONDS } = readEnv(
  z.object({ SWEEP_START_GRACE_SECONDS: z._default(positiveIntegerSetting, 120) }),
);
const { deps } = intakeFromEnv(SWEEPER_SERVICE);

/** Run on a schedule: repairs or ends every job whose execution is no longer running. */
export async function handler(): Promise<SweepReport> {
  const report = await sweepJobs({ ...deps, startGraceSeconds: SWEEP_START_GRACE_SECONDS });
  // StuckJobs drives the alarm: any job the sweep had to end or repair is one the workflow lost.
  metrics.addMetric('StuckJobs', MetricUnit.Count, report.ended.length + report.resumed.length + report.started.length);
  metrics.addMetric('StuckJobsEnded', MetricUnit.Count, report.ended.length);
  metrics.publishStoredMetrics();
  if (report.ended.length + report.resumed.length + report.started.length > 0) logger.warn('sweep repaired jobs', { ...report });
  if (report.failed.length > 0) logger.error('sweep could not handle jobs; the next sweep tries again', { failed: report.failed });
  return report;
}
