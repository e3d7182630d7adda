import { Duration } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, SingleValueWidget, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { UPLOAD_PREFIX } from '../../contracts/bucket.js';
import { HANDLER } from '../../contracts/handlers.js';
import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_NAMES } from '../../contracts/telemetry.js';

export interface MonitoringProps {
  stateMachine: IStateMachine;
  /** Uploads the trigger could not handle. */
  uploadDeadLetters: IQueue;
  /** Webhook events whose every delivery attempt failed. */
  webhookDeadLetters: IQueue;
  /** The oldest waiting job's age that raises the alarm. */
  queueAgeAlarm: Duration;
}

const PERIOD = Duration.minutes(15);
const pipelineMetric = (metricName: string, service: string, statistic = 'Sum') =>
  new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { [DIMENSION.service]: service }, statistic, period: PERIOD });
/** Every series of the metric, whatever the values of these dimensions (CloudWatch's SEARCH). */
const searchAll = (metricName: string, dimensions: string[], label: string) =>
  new MathExpression({
    expression: `SEARCH('{${[METRICS_NAMESPACE, ...dimensions].join(',')}} MetricName="${metricName}"', 'Sum', ${PERIOD.toSeconds()})`,
    label,
    period: PERIOD,
  });
const SWEEPER = SERVICE_NAMES[HANDLER.sweeper];
const POLL_TASK = SERVICE_NAMES[HANDLER.pollTask];
const ANNOUNCE = SERVICE_NAMES[HANDLER.announceOutcome];

/** A dashboard of the job path, and alarms on what users would otherwise find out about too late. */
export class Monitoring extends Construct {
  public readonly stuckJobsAlarm: Alarm;
  public readonly failedExecutionsAlarm: Alarm;
  public readonly providerFailureRateAlarm: Alarm;
  public readonly deadLettersAlarm: Alarm;
  public readonly webhookDeadLettersAlarm: Alarm;
  public readonly queueAgeAlarm: Alarm;
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const alarmAtLeastOnce = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };

    const stuckJobs = pipelineMetric(METRIC.StuckJobs, SWEEPER);
    this.stuckJobsAlarm = stuckJobs.createAlarm(this, 'StuckJobsAlarm', {
      alarmDescription: 'The sweeper found jobs whose execution was lost (started, resumed or ended them)',
      ...alarmAtLeastOnce,
    });

    // A job ending FAILED is normal (a refused prompt); an execution failing without a recorded job is not.
    const notRecorded = props.stateMachine.metricFailed({ period: PERIOD, statistic: 'Sum' });
    this.failedExecutionsAlarm = notRecorded.createAlarm(this, 'FailedExecutionsAlarm', {
      alarmDescription: 'Executions failed: jobs ended FAILED or TIMED_OUT, or (JobNotRecorded/JobNotAnnounced) could not be recorded',
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const polls = pipelineMetric(METRIC.ProviderPolls, POLL_TASK);
    const pollFailures = pipelineMetric(METRIC.ProviderPollFailures, POLL_TASK);
    const providerFailureRate = new MathExpression({
      expression: '100 * failures / (polls + failures)',
      usingMetrics: { polls, failures: pollFailures },
      label: 'provider 5xx/429/timeouts per poll (%)',
      period: PERIOD,
    });
    this.providerFailureRateAlarm = providerFailureRate.createAlarm(this, 'ProviderFailureRateAlarm', {
      alarmDescription: 'More than 20 % of polls failed at the provider (5xx, 429, timeouts) over 15 minutes',
      threshold: 20,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const deadLetters = props.uploadDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' });
    this.deadLettersAlarm = deadLetters.createAlarm(this, 'UploadDeadLettersAlarm', {
      alarmDescription: `Uploads under ${UPLOAD_PREFIX} that the trigger could not handle wait in the dead-letter queue`,
      ...alarmAtLeastOnce,
    });

    const webhookDeadLetters = props.webhookDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' });
    this.webhookDeadLettersAlarm = webhookDeadLetters.createAlarm(this, 'WebhookDeadLettersAlarm', {
      alarmDescription: 'Webhook events that could not be delivered after every retry (about 27 h) wait in the dead-letter queue',
      ...alarmAtLeastOnce,
    });

    // The admission line, as each sweep sees it (runtime/handlers/sweeper.ts): a full line is fine, a stale one is not.
    const line = (metricName: string, statistic: string) =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { [DIMENSION.service]: SWEEPER }, statistic, period: Duration.minutes(5) });
    const oldestWait = line(METRIC.OldestWaitSeconds, 'Maximum');
    this.queueAgeAlarm = oldestWait.createAlarm(this, 'QueueAgeAlarm', {
      alarmDescription: `A job has waited in the admission line for more than ${props.queueAgeAlarm.toHumanString()}: slots are busy for long, or the learned provider limit is low`,
      threshold: props.queueAgeAlarm.toSeconds(),
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Jobs started and ended',
        left: [
          searchAll(METRIC.JobsStarted, [DIMENSION.service, DIMENSION.trigger], 'started'),
          searchAll(METRIC.JobsEnded, [DIMENSION.code, DIMENSION.service, DIMENSION.status], 'ended'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Executions',
        left: [
          props.stateMachine.metricStarted(),
          props.stateMachine.metricSucceeded(),
          props.stateMachine.metricFailed(),
          props.stateMachine.metricTimedOut(),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Time to S3 (s) and polls per job',
        left: [pipelineMetric(METRIC.TimeToS3, ANNOUNCE, 'p50'), pipelineMetric(METRIC.TimeToS3, ANNOUNCE, 'p95')],
        right: [pipelineMetric(METRIC.PollsPerJob, ANNOUNCE, 'Average')],
        width: 12,
      }),
      new GraphWidget({ title: 'Provider failures per poll (%)', left: [providerFailureRate], width: 12 }),
      new GraphWidget({ title: 'Bytes stored', left: [pipelineMetric(METRIC.BytesStored, ANNOUNCE)], width: 12 }),
      new SingleValueWidget({ title: 'Stuck jobs, upload and webhook dead letters', metrics: [stuckJobs, deadLetters, webhookDeadLetters], width: 12 }),
      new GraphWidget({
        title: 'Admission line: waiting jobs and slots',
        left: [line(METRIC.LineLength, 'Maximum'), line(METRIC.SlotsHeld, 'Maximum')],
        right: [line(METRIC.EffectiveCap, 'Minimum')],
        width: 12,
      }),
      new GraphWidget({ title: 'Oldest wait in the line (s), slots reclaimed', left: [oldestWait], right: [line(METRIC.SlotsReclaimed, 'Sum')], width: 12 }),
    );
  }
}
