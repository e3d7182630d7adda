import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  JitterType,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
  type IChainable,
  type RetryProps,
  type TaskStateBase,
} from 'aws-cdk-lib/aws-stepfunctions';
import { DynamoAttributeValue, DynamoUpdateItem, EventBridgePutEvents, LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { MEDIA_PREFIXES, REQUEST_PREFIX, VIDEO_PREFIX } from '../../contracts/bucket.js';
import { TASK_ENDED_DETAIL_TYPE, WORKFLOW_EVENT_SOURCE } from '../../contracts/events.js';
import { HANDLER } from '../../contracts/handlers.js';
import { HISTORY_KEY_PREFIX } from '../../contracts/tables.js';
import { MAX_POLL_SECONDS } from '../../contracts/workflow.js';
import { grantObjects } from './bucket-access.js';
import { HouseFunction } from './house-function.js';
import { acknowledge, objectsUnder, policyOf, wildcardResource } from './nag.js';

/**
 * The Lambda task states and the handler file each one runs. Each function carries its handler file
 * in the template's metadata, which is how the local stack binds the same handlers.
 */
export const WORKFLOW_TASK_HANDLERS = {
  SubmitTask: HANDLER.submitTask,
  PollTask: HANDLER.pollTask,
  StoreVideo: HANDLER.storeVideo,
  DescribeFailure: HANDLER.describeFailure,
  AnnounceOutcome: HANDLER.announceOutcome,
} as const;

export const WAIT_STATE = 'WaitBeforePoll';
/** Where a task followed past the job deadline waits before each poll (see LATE_POLL_SECONDS). */
export const LATE_WAIT_STATE = 'WaitBeforeLatePoll';
/**
 * The gap between polls of a task followed past the deadline. At the poll policy's own cadence (as
 * often as every 2 s, for a provider failing every poll) the default hour of following alone costs
 * about 16,000 history events, and the worst case (test/infra/state-machine.test.ts) passes the
 * 25,000-event limit: about 25,300 with the default 30-minute deadline, 33,700 with the 60-minute one.
 * The job has already ended TIMED_OUT, so a late video found up to a minute after it is made loses
 * nothing; MAX_POLL_SECONDS is the longest gap the policy itself chooses, so a late task is never
 * polled faster than in the policy's own tail.
 */
export const LATE_POLL_SECONDS = MAX_POLL_SECONDS;
/** Where an execution ends when the provider refused its create for its limit (admission returns the job to the line). */
export const PROVIDER_BUSY_STATE = 'ProviderBusy';

/** Where the workflow tells the admission line that its provider task ended: one for a job's video, one for a late one. */
export const FREE_SLOT_STATES = ['FreeSlot', 'FreeSlotOfLateTask'] as const;

/** Lambda refused to run the function at all: safe to retry for every task, SubmitTask included. */
export const LAMBDA_THROTTLED = 'Lambda.TooManyRequestsException';

/**
 * Time the execution gets past the job deadline: a last RecordProgress, the last poll (7 attempts of
 * 60 s plus backoff), the copy (3 attempts of 12 min), the final writes and the announcement, each with
 * CDK's Lambda service-error retries (up to 126 s of waits), all fit in it, so an execution timeout,
 * which skips every Catch, cannot strand a job (test/infra computes the worst case: about 62 min).
 */
export const EXECUTION_MARGIN = Duration.minutes(65);

/** Longest deadline whose worst case (a poll every MIN_POLL_SECONDS) stays well under the 25,000-event history limit. */
export const MAX_JOB_DEADLINE_MINUTES = 60;
/**
 * Longest late-follow window: with the longest deadline and a poll every LATE_POLL_SECONDS past it,
 * the worst-case history stays under 80 % of the 25,000-event limit (test/infra computes it).
 */
export const MAX_LATE_FOLLOW_MINUTES = 240;

/** A poll only reads: everything it meets is retried except these, after which repeating cannot help. */
export const FINAL_POLL_ERRORS = [
  'PROVIDER_TASK_FAILED',
  'PROVIDER_TASK_NOT_FOUND',
  'PROVIDER_AUTH_FAILED',
  'PROVIDER_REJECTED',
  'DEADLINE_EXCEEDED',
  'VIDEO_UNAVAILABLE',
];
/** A copy overwrites the same key, so it is retried too, unless the video itself is gone or refused. */
export const FINAL_COPY_ERRORS = ['VIDEO_UNAVAILABLE'];

/** DynamoDB errors a native task may hit under load; all are safe to retry. */
export const DYNAMODB_TRANSIENT_ERRORS = [
  'DynamoDB.ProvisionedThroughputExceededException',
  'DynamoDB.RequestLimitExceeded',
  'DynamoDB.ThrottlingException',
  'DynamoDB.InternalServerErrorException',
];

export interface GenerationWorkflowProps {
  table: ITable;
  bucket: IBucket;
  providerApiKey: ISecret;
  providerBaseUrl: string;
  /** Where every job that ends is announced. */
  eventBus: IEventBus;
  /** Upper bound on a job from its admission to its last poll; the execution gets a margin on top for the copy. */
  jobDeadline: Duration;
  /** How long past its deadline a job's billed provider task is still followed, so a late video is kept. */
  lateFollow: Duration;
  /** The admission slots (SubmitTask tells them what the provider accepted or refused). */
  admission: ITable;
  /** The configured cap on jobs in flight, which the learned limit never passes. */
  maxJobsInFlight: number;
}

const backoff = (errors: string[], maxAttempts: number): RetryProps => ({
  errors,
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts,
  maxDelay: Duration.seconds(60),
  jitterStrategy: JitterType.FULL,
});

/**
 * For a task that is safe to repeat whatever went wrong (a crash, a timeout, an error we did not
 * foresee): errors that repeating cannot fix end it at once, everything else is retried.
 */
const retryAllBut = (task: TaskStateBase, finalErrors: string[], maxAttempts: number) => {
  if (finalErrors.length > 0) task.addRetry({ errors: finalErrors, maxAttempts: 0 });
  task.addRetry(backoff(['States.ALL'], maxAttempts));
};

const text = (path: string) => DynamoAttributeValue.fromString(JsonPath.stringAt(path));
const number = (path: string) => DynamoAttributeValue.numberFromString(JsonPath.jsonToString(JsonPath.numberAt(path)));
const literal = (value: string) => DynamoAttributeValue.fromString(value);

/** The Standard state machine that takes one job from submission to a stored MP4 (or a recorded failure). */
export class GenerationWorkflow extends Construct {
  public readonly stateMachine: StateMachine;
  public readonly functions: { [State in keyof typeof WORKFLOW_TASK_HANDLERS]: HouseFunction<(typeof WORKFLOW_TASK_HANDLERS)[State]> };

  constructor(scope: Construct, id: string, props: GenerationWorkflowProps) {
    super(scope, id);
    const providerEnv = {
      PROVIDER_BASE_URL: props.providerBaseUrl,
      PROVIDER_API_KEY_SECRET_ID: props.providerApiKey.secretArn,
    };
    this.functions = {
      SubmitTask: new HouseFunction(this, 'SubmitTaskFunction', {
        handlerFile: WORKFLOW_TASK_HANDLERS.SubmitTask,
        // The provider may hold a create open for minutes; our client gives up at 300 s.
        timeout: Duration.seconds(330),
        environment: {
          ...providerEnv,
          VIDEO_BUCKET: props.bucket.bucketName,
          GENERATION_HISTORY_TABLE: props.table.tableName,
          ADMISSION_TABLE: props.admission.tableName,
          MAX_JOBS_IN_FLIGHT: String(props.maxJobsInFlight),
          EVENT_BUS_NAME: props.eventBus.eventBusName,
        },
      }),
      PollTask: new HouseFunction(this, 'PollTaskFunction', {
        handlerFile: WORKFLOW_TASK_HANDLERS.PollTask,
        timeout: Duration.seconds(45),
        environment: {
          ...providerEnv,
          GENERATION_HISTORY_TABLE: props.table.tableName,
          LATE_FOLLOW_SECONDS: String(props.lateFollow.toSeconds()),
          EVENT_BUS_NAME: props.eventBus.eventBusName,
        },
      }),
      StoreVideo: new HouseFunction(this, 'StoreVideoFunction', {
        handlerFile: WORKFLOW_TASK_HANDLERS.StoreVideo,
        // The download gives up at 10 min; a copy that slow is retried rather than waited on.
        timeout: Duration.minutes(11),
        memorySize: 512,
        environment: { VIDEO_BUCKET: props.bucket.bucketName },
      }),
      DescribeFailure: new HouseFunction(this, 'DescribeFailureFunction', {
        handlerFile: WORKFLOW_TASK_HANDLERS.DescribeFailure,
        memorySize: 128,
        timeout: Duration.seconds(10),
        environment: {},
      }),
      AnnounceOutcome: new HouseFunction(this, 'AnnounceOutcomeFunction', {
        handlerFile: WORKFLOW_TASK_HANDLERS.AnnounceOutcome,
        memorySize: 128,
        timeout: Duration.seconds(10),
        environment: { JOBS_TABLE: props.table.tableName, EVENT_BUS_NAME: props.eventBus.eventBusName },
      }),
    };
    // It reads the job by key and marks it announced, so a retried announcement publishes nothing
    // twice: two item actions on the table itself (the table's grant* methods add every index too).
    Grant.addToPrincipal({
      grantee: this.functions.AnnounceOutcome,
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resourceArns: [props.table.tableArn],
    });
    props.eventBus.grantPutEventsTo(this.functions.AnnounceOutcome);
    // `Job Started` and `Job Progress`, which the webhook delivery rule turns into started/progress webhooks.
    props.eventBus.grantPutEventsTo(this.functions.SubmitTask);
    props.eventBus.grantPutEventsTo(this.functions.PollTask);
    // The generation-time history per request shape (generation-history.ts): SubmitTask reads it,
    // PollTask appends the sample of a finished task. Only those items, never a job's.
    const historyItems = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${HISTORY_KEY_PREFIX}*`] } };
    Grant.addToPrincipal({ grantee: this.functions.SubmitTask, actions: ['dynamodb:GetItem'], resourceArns: [props.table.tableArn], conditions: historyItems });
    Grant.addToPrincipal({
      grantee: this.functions.PollTask,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [props.table.tableArn],
      conditions: historyItems,
    });
    // The slots item only: SubmitTask reads it and records a created task or a refusal in it.
    Grant.addToPrincipal({
      grantee: this.functions.SubmitTask,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [props.admission.tableArn],
    });
    props.providerApiKey.grantRead(this.functions.SubmitTask);
    props.providerApiKey.grantRead(this.functions.PollTask);
    // The request body, and the s3:// media a job names (only ever under the media prefixes), which it presigns.
    grantObjects(props.bucket, this.functions.SubmitTask, ['s3:GetObject'], REQUEST_PREFIX, ...MEDIA_PREFIXES);
    acknowledge(
      policyOf(this.functions.SubmitTask),
      objectsUnder(props.bucket, REQUEST_PREFIX),
      `GetObject only, under ${REQUEST_PREFIX}: SubmitTask reads the body of the job it submits, a key made at run time`,
    );
    for (const prefix of MEDIA_PREFIXES) {
      acknowledge(
        policyOf(this.functions.SubmitTask),
        objectsUnder(props.bucket, prefix),
        `GetObject only, under ${prefix}: SubmitTask presigns the s3:// media a job names, whose keys users choose; it writes and lists nothing`,
      );
    }
    // A streamed multipart upload (aborted when the download is cut), then a HeadObject of the result.
    grantObjects(props.bucket, this.functions.StoreVideo, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'], VIDEO_PREFIX);
    acknowledge(
      policyOf(this.functions.StoreVideo),
      objectsUnder(props.bucket, VIDEO_PREFIX),
      `PutObject, AbortMultipartUpload and GetObject under ${VIDEO_PREFIX} only: each finished video is streamed to ` +
        `${VIDEO_PREFIX}<date>/<jobId>.mp4, a key made at run time`,
    );

    const table = props.table;
    const jobKey = { jobId: text('$.jobId') };
    const statusName = { '#status': 'status' };

    const wait = new Wait(this, WAIT_STATE, { time: WaitTime.secondsPath('$.poll.waitSeconds') });
    const lateWait = new Wait(this, LATE_WAIT_STATE, { time: WaitTime.duration(Duration.seconds(LATE_POLL_SECONDS)) });

    const jobNotRecorded = new Fail(this, 'JobNotRecorded', {
      error: 'JOB_NOT_RECORDED',
      cause: 'the final status of the job could not be written',
    });

    // Every terminal write is followed by the announcement, then the execution ends as the job did.
    const announce = new LambdaInvoke(this, 'AnnounceOutcome', {
      lambdaFunction: this.functions.AnnounceOutcome,
      payloadResponseOnly: true,
      payload: TaskInput.fromObject({ jobId: JsonPath.stringAt('$.jobId') }),
      resultPath: '$.announced',
      taskTimeout: Timeout.duration(Duration.seconds(15)),
    });
    // It reads the record and publishes: repeating it at worst publishes twice, which EventBridge consumers tolerate anyway.
    retryAllBut(announce, [], 5);
    announce.addCatch(new Fail(this, 'JobNotAnnounced', { error: 'JOB_NOT_ANNOUNCED', cause: 'the job ended but its event could not be published' }), {
      resultPath: '$.announceError',
    });
    // Ended TIMED_OUT with its task still running at the provider: follow the task on (see IsVideoReady).
    announce.next(
      new Choice(this, 'HowDidItEnd')
        .when(Condition.isPresent('$.poll.overdue'), lateWait)
        .when(Condition.stringEquals('$.announced.status', 'SUCCEEDED'), new Succeed(this, 'JobSucceeded'))
        .when(
          Condition.stringEquals('$.announced.status', 'TIMED_OUT'),
          new Fail(this, 'JobTimedOut', { error: 'JOB_TIMED_OUT', cause: 'the job passed its deadline; see its record' }),
        )
        .otherwise(new Fail(this, 'JobFailed', { error: 'JOB_FAILED', cause: 'the job ended FAILED; see its record' })),
    );

    /** The two terminal failure writers differ only in the status they set. */
    const recordFailure = (id: string, status: 'FAILED' | 'TIMED_OUT') =>
      new DynamoUpdateItem(this, id, {
        table,
        key: jobKey,
        updateExpression: 'SET #status = :final, #error = :error, finishedAt = :at, updatedAt = :at',
        conditionExpression: '#status IN (:queued, :submitted, :running)',
        expressionAttributeNames: { ...statusName, '#error': 'error' },
        expressionAttributeValues: {
          ':final': literal(status),
          ':queued': literal('QUEUED'),
          ':submitted': literal('SUBMITTED'),
          ':running': literal('RUNNING'),
          ':error': DynamoAttributeValue.fromMap({ code: text('$.failure.code'), message: text('$.failure.message') }),
          ':at': text('$.failure.failedAt'),
        },
        resultPath: JsonPath.DISCARD,
      });
    const recordFailed = recordFailure('RecordFailed', 'FAILED');
    const recordTimedOut = recordFailure('RecordTimedOut', 'TIMED_OUT');
    for (const record of [recordFailed, recordTimedOut]) {
      record.addRetry(backoff(DYNAMODB_TRANSIENT_ERRORS, 5));
      record.addCatch(jobNotRecorded, { resultPath: '$.recordError' });
    }
    recordFailed.next(announce);
    recordTimedOut.next(announce);

    const describeFailure = new LambdaInvoke(this, 'DescribeFailure', {
      lambdaFunction: this.functions.DescribeFailure,
      payloadResponseOnly: true,
      payload: TaskInput.fromObject({ error: JsonPath.objectAt('$.error') }),
      resultPath: '$.failure',
      taskTimeout: Timeout.duration(Duration.seconds(15)),
    });
    retryAllBut(describeFailure, [], 3);
    describeFailure.addCatch(jobNotRecorded, { resultPath: '$.recordError' });
    describeFailure.next(new Choice(this, 'IsTimedOut').when(Condition.stringEquals('$.failure.status', 'TIMED_OUT'), recordTimedOut).otherwise(recordFailed));

    const catchInto = (task: TaskStateBase) => task.addCatch(describeFailure, { resultPath: '$.error' });

    const submit = new LambdaInvoke(this, 'SubmitTask', {
      lambdaFunction: this.functions.SubmitTask,
      payloadResponseOnly: true,
      payload: TaskInput.fromObject({
        jobId: JsonPath.stringAt('$.jobId'),
        requestKey: JsonPath.stringAt('$.requestKey'),
        shape: JsonPath.objectAt('$.shape'),
        deadlineAt: JsonPath.stringAt('$.deadlineAt'),
        notify: JsonPath.listAt('$.notify'),
      }),
      resultPath: '$.poll',
      taskTimeout: Timeout.duration(Duration.seconds(340)),
    });
    // Only failures where the provider surely did not take the request: a blind retry could bill twice.
    submit.addRetry(backoff(['PROVIDER_UNAVAILABLE', LAMBDA_THROTTLED], 5));
    // The provider's limit: no task was made, and the job is not failed. The execution ends here, well,
    // with its job still QUEUED: the end of the execution sends the job back to the front of the line.
    submit.addCatch(new Succeed(this, PROVIDER_BUSY_STATE), { errors: ['PROVIDER_BUSY'], resultPath: '$.busy' });
    catchInto(submit);

    const recordSubmitted = new DynamoUpdateItem(this, 'RecordSubmitted', {
      table,
      key: jobKey,
      updateExpression: 'SET #status = :submitted, providerTaskId = :taskId, submittedAt = :at, estimatedFinishAt = :eta, updatedAt = :at',
      conditionExpression: '#status = :queued',
      expressionAttributeNames: statusName,
      expressionAttributeValues: {
        ':submitted': literal('SUBMITTED'),
        ':queued': literal('QUEUED'),
        ':taskId': text('$.poll.providerTaskId'),
        ':at': text('$.poll.submittedAt'),
        ':eta': text('$.poll.estimatedFinishAt'),
      },
      resultPath: JsonPath.DISCARD,
    });

    const poll = new LambdaInvoke(this, 'PollTask', {
      lambdaFunction: this.functions.PollTask,
      payloadResponseOnly: true,
      payload: TaskInput.fromObject({
        jobId: JsonPath.stringAt('$.jobId'),
        shape: JsonPath.objectAt('$.shape'),
        deadlineAt: JsonPath.stringAt('$.deadlineAt'),
        poll: JsonPath.objectAt('$.poll'),
      }),
      resultPath: '$.poll',
      taskTimeout: Timeout.duration(Duration.seconds(60)),
    });
    // Provider faults are absorbed inside the poll (backoff until the deadline); this covers the
    // function itself failing: a crash, a timeout, throttling.
    retryAllBut(poll, FINAL_POLL_ERRORS, 6);
    catchInto(poll);

    const recordProgress = new DynamoUpdateItem(this, 'RecordProgress', {
      table,
      key: jobKey,
      updateExpression: 'SET #status = :status, progress = :progress, polls = :polls, estimatedFinishAt = :eta, updatedAt = :at',
      // Progress only moves forward, and a finished job is never touched.
      conditionExpression: '#status IN (:submitted, :running) AND (attribute_not_exists(progress) OR progress <= :progress)',
      expressionAttributeNames: statusName,
      expressionAttributeValues: {
        ':status': text('$.poll.jobStatus'),
        ':progress': number('$.poll.progress'),
        ':polls': number('$.poll.polls'),
        ':submitted': literal('SUBMITTED'),
        ':running': literal('RUNNING'),
        ':at': text('$.poll.checkedAt'),
        ':eta': text('$.poll.estimatedFinishAt'),
      },
      resultPath: JsonPath.DISCARD,
    });

    const storeVideo = (id: string) => {
      const task = new LambdaInvoke(this, id, {
        lambdaFunction: this.functions.StoreVideo,
        payloadResponseOnly: true,
        payload: TaskInput.fromObject({
          jobId: JsonPath.stringAt('$.jobId'),
          videoUrl: JsonPath.stringAt('$.poll.videoUrl'),
          submittedAt: JsonPath.stringAt('$.poll.submittedAt'),
        }),
        resultPath: '$.output',
        taskTimeout: Timeout.duration(Duration.minutes(12)),
      });
      // The key is deterministic, so a repeated copy overwrites instead of duplicating.
      retryAllBut(task, FINAL_COPY_ERRORS, 2);
      return task;
    };
    const store = storeVideo('StoreVideo');
    catchInto(store);
    const outputMap = DynamoAttributeValue.fromMap({
      bucket: text('$.output.bucket'),
      key: text('$.output.key'),
      bytes: number('$.output.bytes'),
      contentType: text('$.output.contentType'),
      sha256: text('$.output.sha256'),
    });

    // The deadline passed with the task unfinished: the job ends TIMED_OUT now, announced, and the
    // workflow follows the task on (it still holds its slot: the provider still counts it).
    const recordOverdue = new DynamoUpdateItem(this, 'RecordOverdue', {
      table,
      key: jobKey,
      updateExpression: 'SET #status = :timedOut, #error = :error, finishedAt = :at, updatedAt = :at',
      conditionExpression: '#status IN (:submitted, :running)',
      expressionAttributeNames: { ...statusName, '#error': 'error' },
      expressionAttributeValues: {
        ':timedOut': literal('TIMED_OUT'),
        ':submitted': literal('SUBMITTED'),
        ':running': literal('RUNNING'),
        ':error': DynamoAttributeValue.fromMap({ code: text('$.poll.overdue.code'), message: text('$.poll.overdue.message') }),
        ':at': text('$.poll.overdue.at'),
      },
      resultPath: JsonPath.DISCARD,
    });

    // A task followed past the deadline made its video after all: it is stored and attached to the
    // TIMED_OUT job (`output`, `lateVideoAt`), and announced. Nothing on this path can change the
    // job's status; a failure on it ends the execution and leaves the job as it was.
    const lateVideoLost = new Fail(this, 'LateVideoNotStored', {
      error: 'LATE_VIDEO_NOT_STORED',
      cause: 'the task followed past the deadline succeeded, but its video could not be stored or attached; the job stays TIMED_OUT',
    });
    const storeLate = storeVideo('StoreLateVideo');
    const recordLateVideo = new DynamoUpdateItem(this, 'RecordLateVideo', {
      table,
      key: jobKey,
      updateExpression: 'SET #output = :output, lateVideoAt = :at, polls = :polls, updatedAt = :at',
      conditionExpression: '#status = :timedOut AND attribute_not_exists(#output)',
      expressionAttributeNames: { ...statusName, '#output': 'output' },
      expressionAttributeValues: {
        ':timedOut': literal('TIMED_OUT'),
        ':polls': number('$.poll.polls'),
        ':output': outputMap,
        ':at': text('$.output.storedAt'),
      },
      resultPath: JsonPath.DISCARD,
    });
    recordLateVideo.addRetry(backoff(DYNAMODB_TRANSIENT_ERRORS, 5));
    const announceLateVideo = new LambdaInvoke(this, 'AnnounceLateVideo', {
      lambdaFunction: this.functions.AnnounceOutcome,
      payloadResponseOnly: true,
      payload: TaskInput.fromObject({ jobId: JsonPath.stringAt('$.jobId'), lateVideo: true }),
      resultPath: '$.announced',
      taskTimeout: Timeout.duration(Duration.seconds(15)),
    });
    retryAllBut(announceLateVideo, [], 5);
    for (const step of [storeLate, recordLateVideo, announceLateVideo]) step.addCatch(lateVideoLost, { resultPath: '$.lateError' });
    const lateVideoPath = storeLate.next(recordLateVideo).next(announceLateVideo).next(new Succeed(this, 'LateVideoStored'));

    const recordSucceeded = new DynamoUpdateItem(this, 'RecordSucceeded', {
      table,
      key: jobKey,
      updateExpression: 'SET #status = :succeeded, progress = :hundred, polls = :polls, #output = :output, finishedAt = :at, updatedAt = :at',
      conditionExpression: '#status IN (:submitted, :running)',
      expressionAttributeNames: { ...statusName, '#output': 'output' },
      expressionAttributeValues: {
        ':succeeded': literal('SUCCEEDED'),
        ':hundred': DynamoAttributeValue.fromNumber(100),
        ':polls': number('$.poll.polls'),
        ':submitted': literal('SUBMITTED'),
        ':running': literal('RUNNING'),
        ':output': outputMap,
        ':at': text('$.output.storedAt'),
      },
      resultPath: JsonPath.DISCARD,
    });

    for (const record of [recordSubmitted, recordProgress, recordSucceeded, recordOverdue]) {
      record.addRetry(backoff(DYNAMODB_TRANSIENT_ERRORS, 5));
      catchInto(record);
    }

    // The poll found the video: the provider counts the task no more, so its slot goes to the next
    // waiting job now, while this one's video is copied, instead of at the end of the execution. An
    // event, not a call: the admission function starts executions of this state machine, which
    // therefore cannot name it. If the event cannot be put, the end of the execution frees the slot.
    const freeSlot = (id: (typeof FREE_SLOT_STATES)[number], next: IChainable) => {
      const task = new EventBridgePutEvents(this, id, {
        entries: [
          {
            source: WORKFLOW_EVENT_SOURCE,
            detailType: TASK_ENDED_DETAIL_TYPE,
            detail: TaskInput.fromObject({
              jobId: JsonPath.stringAt('$.jobId'),
              execution: JsonPath.executionName,
              stateMachineArn: JsonPath.stateMachineId,
            }),
          },
        ],
        resultPath: JsonPath.DISCARD,
      });
      task.addRetry(backoff(['States.ALL'], 3));
      task.addCatch(next, { resultPath: '$.slotNotFreed' });
      return task.next(next);
    };

    // A resumed job (the sweeper restarting one whose execution was lost) already has its provider
    // task: it goes straight back to polling it, and no second task is created.
    const definition: IChainable = new Choice(this, 'IsResume').when(Condition.isPresent('$.poll'), wait).otherwise(submit);
    submit
      .next(recordSubmitted)
      .next(wait)
      .next(poll)
      .next(
        new Choice(this, 'IsVideoReady')
          .when(Condition.isPresent('$.poll.lateEnded'), new Succeed(this, 'LateTaskEnded'))
          .when(
            Condition.and(Condition.stringEquals('$.poll.jobStatus', 'SUCCEEDED'), Condition.isPresent('$.poll.late')),
            freeSlot('FreeSlotOfLateTask', lateVideoPath),
          )
          .when(Condition.stringEquals('$.poll.jobStatus', 'SUCCEEDED'), freeSlot('FreeSlot', store.next(recordSucceeded).next(announce)))
          .when(Condition.isPresent('$.poll.overdue'), recordOverdue.next(announce))
          // A late task's job has ended: no progress is written any more. (Before the rule on `changed`
          // rather than `changed and not late`: the local engine reads `IsPresent: false` as never true.)
          .when(Condition.isPresent('$.poll.late'), lateWait)
          .when(Condition.booleanEquals('$.poll.changed', true), recordProgress.next(wait))
          .otherwise(wait),
      );
    lateWait.next(poll);

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      // Polls stop at the job deadline, or a late task's follow window after it; the margin covers
      // the copy of a finished video.
      timeout: props.jobDeadline.plus(props.lateFollow).plus(EXECUTION_MARGIN),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'ExecutionLogs', { retention: RetentionDays.ONE_MONTH }),
        // Every state transition (an audit trail of each job's path), without inputs and outputs:
        // those carry prompts and presigned URLs, and the job record already keeps what matters.
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    const machinePolicy = this.stateMachine.role.node.findChild('DefaultPolicy');
    acknowledge(
      machinePolicy,
      wildcardResource(machinePolicy, '*'),
      'X-Ray tracing and the execution log group: xray:PutTraceSegments/PutTelemetryRecords/GetSampling* and the CloudWatch Logs ' +
        'delivery actions (logs:*LogDelivery*, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) have no ' +
        'resource-level permissions, so IAM requires Resource "*"',
    );
    for (const [state, fn] of Object.entries(this.functions)) {
      acknowledge(
        machinePolicy,
        wildcardResource(fn, `${fn.functionArn}:*`),
        `CDK's LambdaInvoke grants the ${state} function's qualified ARNs (<arn>:version or alias) beside the unqualified one; ` +
          'they are the same function, and no other function is invocable',
      );
    }
  }
}
