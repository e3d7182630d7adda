import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { JobRecord } from '../domain/job.js';

/** Every metric of the pipeline lives in one CloudWatch namespace, published as embedded metric format logs. */
export const METRICS_NAMESPACE = 'VideoPipeline';
/** The sweeper's service dimension: its StuckJobs metric drives an alarm. */
export const SWEEPER_SERVICE = 'video-pipeline-sweeper';

export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

/** How a job ended: the figures the dashboard and alarms read, published once per job by AnnounceOutcome. */
export function recordOutcome(metrics: Metrics, job: JobRecord): void {
  const outcome = metrics.singleMetric();
  outcome.addDimension('status', job.status);
  outcome.addDimension('code', job.error?.code ?? 'NONE');
  outcome.addMetric('JobsEnded', MetricUnit.Count, 1);
  if (job.polls !== undefined) metrics.addMetric('PollsPerJob', MetricUnit.Count, job.polls);
  if (job.status === 'SUCCEEDED' && job.finishedAt) {
    metrics.addMetric('TimeToS3', MetricUnit.Seconds, (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000);
    if (job.output) metrics.addMetric('BytesStored', MetricUnit.Bytes, job.output.bytes);
  }
}
