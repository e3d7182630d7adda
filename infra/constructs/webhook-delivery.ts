import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  JitterType,
  JsonPath,
  LogLevel,
  Pass,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
  type CfnStateMachine,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, SqsSendMessage } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { VIDEO_PREFIX } from '../../contracts/bucket.js';
import { COMPLETION_DETAIL_TYPES, EVENT_SOURCE, JOB_PROGRESS_DETAIL_TYPE, JOB_STARTED_DETAIL_TYPE } from '../../contracts/events.js';
import { HANDLER } from '../../contracts/handlers.js';
import {
  STATE_MACHINE_METADATA_KEY,
  WEBHOOK_DELIVERY_MACHINE,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_SECONDS,
  WEBHOOK_TIMEOUT_MS,
} from '../../contracts/webhooks.js';
import { grantObjects } from './bucket-access.js';
import { HouseFunction } from './house-function.js';
import { acknowledge, objectsUnder, policyOf, wildcardResource } from './nag.js';

export interface WebhookDeliveryProps {
  table: ITable;
  bucket: IBucket;
  /** The stack's bus: its completion, `Job Started` and `Job Progress` events are what is delivered. */
  eventBus: IEventBus;
  /** Where the API is reached (the bodies' links.self). */
  apiUrl: string;
  /** The name of the signing secret Secrets Manager generates at deploy (the CLI reads it by this name). */
  secretName: string;
}

export const DELIVER_STATE = 'Deliver';
export const RETRY_WAIT_STATE = 'WaitBeforeRetry';
export const DEAD_LETTER_STATE = 'DeadLetter';

/**
 * Webhooks, delivered at least once (README "Webhooks", docs/architecture.md "Webhook delivery"): two
 * rules on the stack's bus start one execution of a small Standard state machine per event; its
 * Lambda makes one signed attempt and answers the wait before the next, a Wait state waits it
 * (up to 10 h: no process of ours waits, and none is billed while it waits), and after the last
 * attempt the event goes to a dead-letter queue, which Monitoring alarms on.
 */
export class WebhookDelivery extends Construct {
  public readonly secret: Secret;
  public readonly deadLetters: Queue;
  public readonly deliverer: HouseFunction<typeof HANDLER.deliverWebhook>;
  public readonly stateMachine: StateMachine;
  public readonly completedRule: Rule;
  public readonly progressRule: Rule;

  constructor(scope: Construct, id: string, props: WebhookDeliveryProps) {
    super(scope, id);
    // Its UTF-8 bytes are the HMAC key; receivers hold it as whsec_ + base64 (runtime/webhooks/signing.ts).
    this.secret = new Secret(this, 'SigningSecret', {
      secretName: props.secretName,
      description: 'video-pipeline: signs webhooks (receivers use whsec_ + the base64 of this value; `video-pipeline webhook-secret` prints it)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.secret,
      'AwsSolutions-SMG4',
      'Receivers verify every delivery with this secret: rotating it automatically would break them all at once. ' +
        'An operator rotates it by hand (put-secret-value), tells the receivers, and warm functions pick it up at their next cold start',
    );
    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.deadLetters,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue itself: events whose every delivery attempt failed land here, and Monitoring alarms on it',
    );

    this.deliverer = new HouseFunction(this, 'DeliverFunction', {
      handlerFile: HANDLER.deliverWebhook,
      memorySize: 256,
      // One POST (its timeout, redirects included), the job read, the attempt written.
      timeout: Duration.seconds(WEBHOOK_TIMEOUT_MS / 1000 + 20),
      environment: {
        JOBS_TABLE: props.table.tableName,
        VIDEO_BUCKET: props.bucket.bucketName,
        WEBHOOK_SECRET_ID: this.secret.secretArn,
        PUBLIC_API_URL: props.apiUrl,
        WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
      },
    });
    // It reads the job and appends each attempt to it: two item actions on the table itself, no index.
    Grant.addToPrincipal({ grantee: this.deliverer, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resourceArns: [props.table.tableArn] });
    this.secret.grantRead(this.deliverer);
    // The body is the job's public view, whose downloadUrl is presigned: GetObject on the videos only.
    grantObjects(props.bucket, this.deliverer, ['s3:GetObject'], VIDEO_PREFIX);
    acknowledge(
      policyOf(this.deliverer),
      objectsUnder(props.bucket, VIDEO_PREFIX),
      `GetObject only, under ${VIDEO_PREFIX}: a delivered job view carries a presigned downloadUrl of the job's video, a key made at run time`,
    );

    const deliver = new LambdaInvoke(this, DELIVER_STATE, {
      lambdaFunction: this.deliverer,
      payloadResponseOnly: true,
      payload: TaskInput.fromObject({ event: JsonPath.objectAt('$.event'), attempt: JsonPath.numberAt('$.delivery.attempt') }),
      resultPath: '$.delivery',
      taskTimeout: Timeout.duration(Duration.seconds(WEBHOOK_TIMEOUT_MS / 1000 + 30)),
    });
    // The function failing itself (a crash, a timeout, throttling): an attempt the receiver may or
    // may not have seen; it is retried like any, and its webhook-id lets the receiver drop a repeat.
    deliver.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(5),
      backoffRate: 4,
      maxAttempts: 4,
      maxDelay: Duration.minutes(10),
      jitterStrategy: JitterType.FULL,
    });
    const deadLetter = new SqsSendMessage(this, DEAD_LETTER_STATE, {
      queue: this.deadLetters,
      messageBody: TaskInput.fromObject({ event: JsonPath.objectAt('$.event'), delivery: JsonPath.objectAt('$.delivery') }),
      resultPath: JsonPath.DISCARD,
    });
    deadLetter.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 5, jitterStrategy: JitterType.FULL });
    deadLetter.next(new Fail(this, 'NotDelivered', { error: 'WEBHOOK_NOT_DELIVERED', cause: 'every attempt failed; the event is in the dead-letter queue' }));
    deliver.addCatch(deadLetter, { resultPath: '$.delivery' });
    const retryWait = new Wait(this, RETRY_WAIT_STATE, { time: WaitTime.secondsPath('$.delivery.waitSeconds') });
    retryWait.next(deliver);
    const definition = new Pass(this, 'Receive', {
      // The rule hands over the bus event itself; the first attempt is number 1.
      parameters: { event: JsonPath.entirePayload, delivery: { attempt: 0 } },
    })
      .next(deliver)
      .next(
        new Choice(this, 'WhatNext')
          .when(Condition.stringEquals('$.delivery.outcome', 'retry'), retryWait)
          .when(Condition.stringEquals('$.delivery.outcome', 'exhausted'), deadLetter)
          .otherwise(new Succeed(this, 'Done')),
      );

    const waits = WEBHOOK_RETRY_SECONDS.reduce((sum, seconds) => sum + seconds, 0);
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      // Every wait, plus every attempt at its longest with its retries, plus the dead letter.
      timeout: Duration.seconds(waits + WEBHOOK_MAX_ATTEMPTS * 20 * 60 + 3600),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'ExecutionLogs', { retention: RetentionDays.ONE_MONTH }),
        // Every transition (the audit trail cdk-nag asks for), without inputs: they carry job records.
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    (this.stateMachine.node.defaultChild as CfnStateMachine).addMetadata(STATE_MACHINE_METADATA_KEY, WEBHOOK_DELIVERY_MACHINE);
    const machinePolicy = this.stateMachine.role.node.findChild('DefaultPolicy');
    acknowledge(
      machinePolicy,
      wildcardResource(machinePolicy, '*'),
      'X-Ray tracing and the execution log group: xray:PutTraceSegments/PutTelemetryRecords/GetSampling* and the CloudWatch Logs ' +
        'delivery actions (logs:*LogDelivery*, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) have no ' +
        'resource-level permissions, so IAM requires Resource "*"',
    );
    acknowledge(
      machinePolicy,
      wildcardResource(this.deliverer, `${this.deliverer.functionArn}:*`),
      "CDK's LambdaInvoke grants the deliver function's qualified ARNs (<arn>:version or alias) beside the unqualified one; " +
        'they are the same function, and no other function is invocable',
    );

    const target = () => new SfnStateMachine(this.stateMachine, { deadLetterQueue: this.deadLetters, retryAttempts: 185, maxEventAge: Duration.hours(24) });
    // Only jobs whose webhook takes `completed`: the completion event carries the job's webhook, so
    // the others start no execution at all.
    this.completedRule = new Rule(this, 'CompletedRule', {
      description: 'video-pipeline: deliver the end of a job to its webhook',
      eventBus: props.eventBus,
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: Object.values(COMPLETION_DETAIL_TYPES),
        detail: { webhook: { events: ['completed'] } },
      },
      targets: [target()],
    });
    // Published only for jobs whose webhook takes them (WorkflowInput.notify).
    this.progressRule = new Rule(this, 'ProgressRule', {
      description: 'video-pipeline: deliver the start and the progress of a job to its webhook',
      eventBus: props.eventBus,
      eventPattern: { source: [EVENT_SOURCE], detailType: [JOB_STARTED_DETAIL_TYPE, JOB_PROGRESS_DETAIL_TYPE] },
      targets: [target()],
    });
  }
}
