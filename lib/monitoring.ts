import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** The sweeper's metric namespace and service (Powertools Metrics, embedded metric format). */
export const METRICS_NAMESPACE = 'VideoPipeline';
export const SWEEPER_SERVICE = 'video-pipeline-sweeper';

/** Alarms on what users would otherwise find out about too late. */
export class Monitoring extends Construct {
  public readonly stuckJobsAlarm: Alarm;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stuckJobs = new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'StuckJobs',
      dimensionsMap: { service: SWEEPER_SERVICE },
      statistic: 'Sum',
      period: Duration.minutes(15),
    });
    this.stuckJobsAlarm = stuckJobs.createAlarm(this, 'StuckJobsAlarm', {
      alarmDescription: 'The sweeper found jobs whose execution was lost (started, resumed or ended them)',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
