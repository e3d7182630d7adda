import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DIMENSION, METRIC, METRICS_NAMESPACE, type ServiceName } from '../../contracts/telemetry.js';
import type { JobRecord } from '../domain/job.js';

export function createMetrics(serviceName: ServiceName): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

/** How a job ended: the figures the dashboard and alarms read, published once per job by AnnounceOutcome. */
export function recordOutcome(metrics: Metrics, job: JobRecord): void {
  const outcome = metrics.singleMetric();
  outcome.addDimension(DIMENSION.status, job.status);
  outcome.addDimension(DIMENSION.code, job.error?.code ?? 'NONE');
  outcome.addMetric(METRIC.JobsEnded, MetricUnit.Count, 1);
  if (job.polls !== undefined) metrics.addMetric(METRIC.PollsPerJob, MetricUnit.Count, job.polls);
  if (job.status === 'SUCCEEDED' && job.finishedAt) {
    metrics.addMetric(METRIC.TimeToS3, MetricUnit.Seconds, (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000);
    if (job.output) metrics.addMetric(METRIC.BytesStored, MetricUnit.Bytes, job.output.bytes);
  }
}
