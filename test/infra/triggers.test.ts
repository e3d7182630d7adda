import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_PREFIX } from '../../contracts/bucket.js';
import { TASK_ENDED_DETAIL_TYPE, WORKFLOW_EVENT_SOURCE } from '../../contracts/events.js';
import { HANDLER } from '../../contracts/handlers.js';
import { JOBS_TABLE } from '../../contracts/tables.js';
import { FREE_SLOT_STATES, MAX_LATE_FOLLOW_MINUTES } from '../../infra/constructs/generation-workflow.js';
import { pipelineConfigFrom } from '../../infra/config.js';
import { executionEndedEventSchema, executionEndedOf } from '../../runtime/admission/execution-ended.js';
import { taskEndedOf } from '../../runtime/admission/task-ended.js';
import { synthesizePipelineTemplate } from '../../local/stack/cloud-assembly.js';
import {
  allowedActions,
  allows,
  executionArnOf,
  functionOfHandler,
  handlerFileOf,
  keyedBy,
  logicalIdOf,
  onlyResourceOfType,
  render,
  renderedResources,
  resourceCovers,
  resourcesOfType,
  roleIdOf,
  statementsOfRole,
  type CfnJson,
  type CfnResource,
  type PolicyStatement,
  stateMachineRole,
} from '../../testkit/cfn-template.js';

const HANDLERS_DIR = fileURLToPath(new URL('../../runtime/handlers/', import.meta.url));
/** The context the custom synthesis runs with: every value must reach the template (none equals a default). */
const CUSTOM_CONTEXT = { batchSchedule: 'rate(30 minutes)', maxJobsInFlight: 7, maxQueueHours: 1.5, sweepSchedule: 'rate(2 minutes)' };
/** The settings every function that dispatches from the admission line reads (infra/constructs/job-intake-access.ts). */
const JOB_INTAKE_ENV = [
  'JOBS_TABLE',
  'VIDEO_BUCKET',
  'STATE_MACHINE_ARN',
  'JOB_DEADLINE_SECONDS',
  'PROVIDER_MODELS',
  'EVENT_BUS_NAME',
  'ADMISSION_TABLE',
  'MAX_JOBS_IN_FLIGHT',
  'MAX_QUEUE_SECONDS',
];
const DEFAULT_SCHEDULES = { batch: 'rate(15 minutes)', sweep: 'rate(5 minutes)' };

/** One synthesized template and the logical ids the tests talk about, found by what they are, never by name. */
interface Stack {
  json: CfnJson;
  template: Template;
  bucketId: string;
  jobsTableId: string;
  manifestsTableId: string;
  admissionTableId: string;
  busId: string;
  stateMachineId: string;
  uploadTriggerId: string;
  batchRunnerId: string;
  sweeperId: string;
  intakeId: string;
  announceId: string;
  submitId: string;
  admissionId: string;
  uploadRuleId: string;
  batchRuleId: string;
  manifestRuleId: string;
  sweepRuleId: string;
  executionEndRuleId: string;
  taskEndRuleId: string;
  deadLettersId: string;
}

/** The upload trigger's dead-letter queue: the one a function names as its DeadLetterConfig (the webhooks' is the delivery rule's). */
function uploadDeadLetters(json: CfnJson) {
  const named = new Set(
    resourcesOfType(json, 'AWS::Lambda::Function').flatMap(([, fn]) => {
      const target = (fn.Properties?.DeadLetterConfig as { TargetArn?: { 'Fn::GetAtt'?: [string, string] } } | undefined)?.TargetArn?.['Fn::GetAtt']?.[0];
      return target ? [target] : [];
    }),
  );
  return { description: 'a function names as its dead-letter queue', test: (_resource: unknown, logicalId: string) => named.has(logicalId) };
}

function inspect(json: CfnJson): Stack {
  /** The one rule with `property` (EventPattern or ScheduleExpression) whose targets include the function. */
  const ruleWith = (property: string, functionId: string, source?: string) =>
    onlyResourceOfType(json, 'AWS::Events::Rule', {
      description: `with ${property}${source ? ` of ${source}` : ''} targeting ${functionId}`,
      test: (rule) =>
        rule.Properties?.[property] !== undefined &&
        (source === undefined || (rule.Properties[property] as { source?: string[] }).source?.includes(source) === true) &&
        ((rule.Properties.Targets as Array<{ Arn: unknown }> | undefined) ?? []).some((target) => logicalIdOf(target.Arn) === functionId),
    })[0];
  const uploadTriggerId = functionOfHandler(json, 's3-trigger');
  const batchRunnerId = functionOfHandler(json, 'batch-runner');
  const sweeperId = functionOfHandler(json, HANDLER.sweeper);
  const admissionId = functionOfHandler(json, HANDLER.admission);
  return {
    json,
    template: Template.fromJSON(json),
    bucketId: onlyResourceOfType(json, 'AWS::S3::Bucket')[0],
    jobsTableId: onlyResourceOfType(json, 'AWS::DynamoDB::Table', keyedBy('jobId'))[0],
    manifestsTableId: onlyResourceOfType(json, 'AWS::DynamoDB::Table', keyedBy('manifestId'))[0],
    admissionTableId: onlyResourceOfType(json, 'AWS::DynamoDB::Table', keyedBy('name'))[0],
    busId: onlyResourceOfType(json, 'AWS::Events::EventBus')[0],
    stateMachineId: onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine', stateMachineRole(false))[0],
    uploadTriggerId,
    batchRunnerId,
    sweeperId,
    intakeId: functionOfHandler(json, 'intake'),
    announceId: functionOfHandler(json, 'announce-outcome'),
    submitId: functionOfHandler(json, 'submit-task'),
    admissionId,
    uploadRuleId: ruleWith('EventPattern', uploadTriggerId),
    batchRuleId: ruleWith('ScheduleExpression', batchRunnerId),
    manifestRuleId: ruleWith('EventPattern', batchRunnerId),
    sweepRuleId: ruleWith('ScheduleExpression', sweeperId),
    executionEndRuleId: ruleWith('EventPattern', admissionId, 'aws.states'),
    taskEndRuleId: ruleWith('EventPattern', admissionId, WORKFLOW_EVENT_SOURCE),
    deadLettersId: onlyResourceOfType(json, 'AWS::SQS::Queue', uploadDeadLetters(json))[0],
  };
}

let stack: Stack;
let custom: Stack;

beforeAll(() => {
  // Bundling skipped, the slow schema check off (synth.test.ts keeps it on); the same templates the local stack runs.
  stack = inspect(synthesizePipelineTemplate() as unknown as CfnJson);
  custom = inspect(synthesizePipelineTemplate(CUSTOM_CONTEXT) as unknown as CfnJson);
});

const getAtt = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const propertiesOf = (logicalId: string) => stack.json.Resources[logicalId]!.Properties!;
const environmentOf = ({ json }: Stack, functionId: string) =>
  (json.Resources[functionId]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
const statementsOf = (functionId: string): PolicyStatement[] => statementsOfRole(stack.json, roleIdOf(stack.json, functionId));

/** Predicates over a statement's rendered resource: does it cover this object, table, bus…? (IAM wildcards). */
const object = (key: string) => (rendered: string) => resourceCovers(rendered, `\${${stack.bucketId}.Arn}/${key}`);
const theBucket = (rendered: string) => rendered === `\${${stack.bucketId}.Arn}`;
const table = (tableId: () => string) => (rendered: string) => rendered === `\${${tableId()}.Arn}`;
const jobsTable = table(() => stack.jobsTableId);
const manifestsTable = table(() => stack.manifestsTableId);
const admissionTable = table(() => stack.admissionTableId);
/** Anything of the admission table, or every resource. */
const anyOfAdmissionTable = (rendered: string) => rendered === '*' || rendered.includes(`\${${stack.admissionTableId}`);
/** Anything of the Jobs table: the table, an index, a wildcard over its indexes. */
const anyOfJobsTable = (rendered: string) => rendered.includes(`\${${stack.jobsTableId}`);
const ourBus = (rendered: string) => rendered === `\${${stack.busId}.Arn}`;
const defaultBus = (rendered: string) => resourceCovers(rendered, 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default');
const stateMachine = (rendered: string) => rendered === `\${${stack.stateMachineId}}`;
/** Does the statement's resource cover this execution of our state machine (or of another one)? */
const execution =
  (name: string, machineId = () => stack.stateMachineId) =>
  (rendered: string) =>
    resourceCovers(rendered, executionArnOf(machineId(), name));
const otherMachineExecution = (rendered: string) =>
  resourceCovers(rendered, 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:another-machine:job-1');

const WRITE_ITEM = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

describe('scheduled batch', () => {
  it('runs on the default schedule, rate(15 minutes), enabled, on the default bus', () => {
    expect(propertiesOf(stack.batchRuleId)).toMatchObject({ ScheduleExpression: 'rate(15 minutes)', State: 'ENABLED' });
    // A schedule belongs to the default bus; on our completion bus it would never fire.
    expect(propertiesOf(stack.batchRuleId).EventBusName).toBeUndefined();
  });

  it('follows the batchSchedule, maxJobsInFlight and maxQueueHours context', () => {
    custom.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: CUSTOM_CONTEXT.batchSchedule,
      Targets: [Match.objectLike({ Arn: getAtt(custom.batchRunnerId) })],
    });
    expect(custom.json.Resources[custom.batchRuleId]!.Properties!.ScheduleExpression).toBe(CUSTOM_CONTEXT.batchSchedule);
    // One cap and one queue limit for every function that takes slots, SubmitTask included (it learns the limit).
    for (const functionId of [custom.batchRunnerId, custom.intakeId, custom.uploadTriggerId, custom.sweeperId, custom.admissionId, custom.submitId]) {
      expect(environmentOf(custom, functionId).MAX_JOBS_IN_FLIGHT, functionId).toBe('7');
    }
    for (const functionId of [custom.batchRunnerId, custom.intakeId, custom.uploadTriggerId, custom.sweeperId, custom.admissionId]) {
      expect(environmentOf(custom, functionId).MAX_QUEUE_SECONDS, functionId).toBe(String(1.5 * 3600));
    }
    // Nothing of the defaults is left behind.
    for (const schedule of Object.values(DEFAULT_SCHEDULES)) expect(JSON.stringify(custom.json)).not.toContain(schedule);
  });

  it('the config refuses what is not a schedule expression or not a usable cap', () => {
    const config = (context: Record<string, unknown>) => () => pipelineConfigFrom((key) => context[key]);
    expect(config({ batchSchedule: 'every 5 minutes' })).toThrow(/schedule expression/);
    expect(config({ sweepSchedule: 'every 5 minutes' })).toThrow(/schedule expression/);
    expect(config({ sweepSchedule: '' })).toThrow();
    expect(config({ maxJobsInFlight: 0 })).toThrow();
    expect(config({ maxJobsInFlight: 2.5 })).toThrow();
    expect(config({ batchSchedule: 'cron(0 2 * * ? *)', maxJobsInFlight: '7', sweepSchedule: 'cron(0/10 * * * ? *)' })()).toMatchObject({
      batchSchedule: 'cron(0 2 * * ? *)',
      maxJobsInFlight: 7,
      sweepSchedule: 'cron(0/10 * * * ? *)',
    });
    expect(config({})()).toMatchObject({ batchSchedule: DEFAULT_SCHEDULES.batch, sweepSchedule: DEFAULT_SCHEDULES.sweep });
  });

  it('the config refuses a queue limit, a late-follow window or a queue-age alarm that is not usable, and reads the ones that are', () => {
    const config = (context: Record<string, unknown>) => () => pipelineConfigFrom((key) => context[key]);
    for (const maxQueueHours of [0, -1, 24 * 14 + 1]) expect(config({ maxQueueHours }), `maxQueueHours ${maxQueueHours}`).toThrow();
    for (const lateFollowMinutes of [0, 2.5, MAX_LATE_FOLLOW_MINUTES + 1])
      expect(config({ lateFollowMinutes }), `lateFollowMinutes ${lateFollowMinutes}`).toThrow();
    for (const queueAgeAlarmMinutes of [0, 1.5]) expect(config({ queueAgeAlarmMinutes }), `queueAgeAlarmMinutes ${queueAgeAlarmMinutes}`).toThrow();
    const read = config({ maxQueueHours: '0.5', lateFollowMinutes: '90', queueAgeAlarmMinutes: 15 })();
    expect([read.maxQueue.toSeconds(), read.lateFollow.toSeconds(), read.queueAgeAlarm.toSeconds()]).toEqual([1800, 5400, 900]);
    const defaults = config({})();
    // 24 h in the line, an hour of following a late task, an alarm after an hour of waiting.
    expect([defaults.maxQueue.toSeconds(), defaults.lateFollow.toSeconds(), defaults.queueAgeAlarm.toSeconds()]).toEqual([86_400, 3600, 3600]);
  });

  it('targets the batch runner only, without retries (a missed run is the next run’s work)', () => {
    const targets = propertiesOf(stack.batchRuleId).Targets as Array<Record<string, unknown>>;
    expect(targets).toEqual([{ Id: expect.any(String), Arn: getAtt(stack.batchRunnerId), RetryPolicy: { MaximumRetryAttempts: 0 } }]);
  });

  it('the batch runner knows the cap (20 by default, with the job-intake settings) and the Manifests table', () => {
    expect(environmentOf(stack, stack.batchRunnerId)).toMatchObject({
      MAX_JOBS_IN_FLIGHT: '20',
      MANIFESTS_TABLE: { Ref: stack.manifestsTableId },
    });
  });

  it('the batch runner never runs twice at once: ReservedConcurrentExecutions 1', () => {
    // Two runs would read the same manifests and each put the other's lines in the line again (infra/constructs/triggers.ts);
    // the cap itself is the slots' to keep now. Manifest uploads that come together wait their turn.
    expect(propertiesOf(stack.batchRunnerId).ReservedConcurrentExecutions).toBe(1);
    expect(custom.json.Resources[custom.batchRunnerId]!.Properties!.ReservedConcurrentExecutions).toBe(1);
  });
});

describe('manifest rule', () => {
  it('takes exactly Object Created events of our bucket under batches/, on the default bus', () => {
    expect(MANIFEST_PREFIX).toBe('batches/');
    expect(propertiesOf(stack.manifestRuleId)).toMatchObject({ State: 'ENABLED' });
    expect(propertiesOf(stack.manifestRuleId).EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [{ Ref: stack.bucketId }] },
        object: { key: [{ prefix: MANIFEST_PREFIX }] },
      },
    });
    // S3 sends its events to the default bus.
    expect(propertiesOf(stack.manifestRuleId).EventBusName).toBeUndefined();
  });

  // The schedule stays the backstop: a delivery EventBridge gives up on is picked up by the next scheduled run.
  it('targets the batch runner alone, with retries and a bounded event age', () => {
    expect(propertiesOf(stack.manifestRuleId).Targets).toEqual([
      { Id: expect.any(String), Arn: getAtt(stack.batchRunnerId), RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 6 * 60 * 60 } },
    ]);
    expect(stack.manifestRuleId).not.toBe(stack.batchRuleId);
  });

  it('no object starts both an upload job and a batch run: the two rules’ prefixes do not overlap', () => {
    const prefixOf = (ruleId: string) =>
      (propertiesOf(ruleId).EventPattern as { detail: { object: { key: Array<{ prefix: string }> } } }).detail.object.key[0]!.prefix;
    const [uploads, manifests] = [prefixOf(stack.uploadRuleId), prefixOf(stack.manifestRuleId)];
    expect(uploads.startsWith(manifests) || manifests.startsWith(uploads)).toBe(false);
  });
});

describe('upload trigger', () => {
  it('there are exactly the eight rules: uploads, manifests, the batch schedule, the sweep, the ends of provider tasks and of executions, and two for webhooks', () => {
    stack.template.resourceCountIs('AWS::Events::Rule', 8);
    const [deliveryMachineId] = onlyResourceOfType(stack.json, 'AWS::StepFunctions::StateMachine', stateMachineRole(true));
    const webhookRuleIds = resourcesOfType(stack.json, 'AWS::Events::Rule')
      .filter(([, rule]) =>
        ((rule.Properties?.Targets as { Arn: unknown }[]) ?? []).some((target) => JSON.stringify(target.Arn) === JSON.stringify({ Ref: deliveryMachineId })),
      )
      .map(([id]) => id);
    expect(webhookRuleIds).toHaveLength(2);
    expect(
      new Set([
        stack.uploadRuleId,
        stack.manifestRuleId,
        stack.batchRuleId,
        stack.sweepRuleId,
        stack.taskEndRuleId,
        stack.executionEndRuleId,
        ...webhookRuleIds,
      ]).size,
    ).toBe(8);
  });

  it('the rule takes exactly Object Created events of our bucket under incoming/', () => {
    expect(propertiesOf(stack.uploadRuleId).EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [{ Ref: stack.bucketId }] },
        object: { key: [{ prefix: 'incoming/' }] },
      },
    });
    expect(propertiesOf(stack.uploadRuleId).State).toBe('ENABLED');
    // S3 sends its events to the default bus: a rule on another bus would never see one.
    expect(propertiesOf(stack.uploadRuleId).EventBusName).toBeUndefined();
  });

  it('targets the upload trigger with retries, a bounded event age and a dead-letter queue', () => {
    const targets = propertiesOf(stack.uploadRuleId).Targets as Array<Record<string, unknown>>;
    expect(targets).toEqual([
      {
        Id: expect.any(String),
        Arn: getAtt(stack.uploadTriggerId),
        DeadLetterConfig: { Arn: getAtt(stack.deadLettersId) },
        RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
      },
    ]);
    const retry = targets[0]!.RetryPolicy as { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number };
    // EventBridge's limits are 0–185 attempts and 60 s–24 h; a trigger worth a DLQ retries a few times first.
    expect(retry.MaximumRetryAttempts).toBeGreaterThanOrEqual(3);
    expect(retry.MaximumRetryAttempts).toBeLessThanOrEqual(185);
    expect(retry.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(60 * 60);
    expect(retry.MaximumEventAgeInSeconds).toBeLessThanOrEqual(24 * 60 * 60);
  });

  it('an upload the function itself fails on lands in the same queue after Lambda retries it twice', () => {
    // The rule's DeadLetterConfig covers only events EventBridge could not hand to Lambda.
    expect(propertiesOf(stack.uploadTriggerId).DeadLetterConfig).toEqual({ TargetArn: getAtt(stack.deadLettersId) });
    const invokeConfigs = resourcesOfType(stack.json, 'AWS::Lambda::EventInvokeConfig').map(([, config]) => config.Properties!);
    expect(invokeConfigs).toContainEqual(expect.objectContaining({ FunctionName: { Ref: stack.uploadTriggerId }, MaximumRetryAttempts: 2 }));
    // A failed batch run is not repeated at once: the next scheduled run resumes from the saved progress.
    expect(invokeConfigs).toContainEqual(expect.objectContaining({ FunctionName: { Ref: stack.batchRunnerId }, MaximumRetryAttempts: 0 }));
  });

  it('the dead-letter queue is encrypted and keeps messages the longest SQS allows', () => {
    const queue = propertiesOf(stack.deadLettersId);
    expect(queue.SqsManagedSseEnabled === true || queue.KmsMasterKeyId !== undefined).toBe(true);
    expect(queue.MessageRetentionPeriod).toBe(14 * 24 * 60 * 60);
  });

  it('the queue policy lets only the upload rule send (events.amazonaws.com) and denies anything not over TLS', () => {
    const [, policy] = onlyResourceOfType(stack.json, 'AWS::SQS::QueuePolicy', {
      description: 'of the upload dead-letter queue',
      test: (resource) => JSON.stringify(resource.Properties?.Queues) === JSON.stringify([{ Ref: stack.deadLettersId }]),
    });
    expect(policy.Properties!.Queues).toEqual([{ Ref: stack.deadLettersId }]);
    const statements = (policy.Properties!.PolicyDocument as { Statement: PolicyStatement[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt(stack.deadLettersId),
        Condition: { ArnEquals: { 'aws:SourceArn': getAtt(stack.uploadRuleId) } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    // Nothing else is allowed in: only the statement above grants.
    expect(statements.filter((statement) => statement.Effect === 'Allow')).toHaveLength(1);
  });

  it('the bucket sends its events to EventBridge, set on the bucket itself (no CDK custom resource or function)', () => {
    expect(stack.json.Resources[stack.bucketId]!.Properties!.NotificationConfiguration).toEqual({
      // EventBridge only: no direct Lambda, SQS or SNS notification bypasses the rule and its DLQ.
      EventBridgeConfiguration: { EventBridgeEnabled: true },
    });
    expect(resourcesOfType(stack.json, 'Custom::S3BucketNotifications')).toEqual([]);
  });
});

describe('Lambda permissions', () => {
  it.each([
    ['upload trigger', () => stack.uploadTriggerId, () => [stack.uploadRuleId]],
    ['batch runner', () => stack.batchRunnerId, () => [stack.batchRuleId, stack.manifestRuleId]],
    ['sweeper', () => stack.sweeperId, () => [stack.sweepRuleId]],
    ['admission function', () => stack.admissionId, () => [stack.executionEndRuleId, stack.taskEndRuleId]],
  ])('EventBridge may invoke the %s, from its own rules only', (_name, functionId, ruleIds) => {
    const permissions = resourcesOfType(stack.json, 'AWS::Lambda::Permission').filter(
      ([, permission]) => logicalIdOf(permission.Properties!.FunctionName) === functionId(),
    );
    const bySource = (a: { SourceArn: unknown }, b: { SourceArn: unknown }) => render(a.SourceArn).localeCompare(render(b.SourceArn));
    expect(permissions.map(([, permission]) => permission.Properties as { SourceArn: unknown }).sort(bySource)).toEqual(
      ruleIds()
        .map((ruleId) => ({
          Action: 'lambda:InvokeFunction',
          FunctionName: getAtt(functionId()),
          Principal: 'events.amazonaws.com',
          SourceArn: getAtt(ruleId),
        }))
        .sort(bySource),
    );
  });

  it('no permission lets EventBridge invoke a function without naming the rule', () => {
    for (const [permissionId, permission] of resourcesOfType(stack.json, 'AWS::Lambda::Permission')) {
      if (permission.Properties!.Principal !== 'events.amazonaws.com') continue;
      const ruleId = logicalIdOf(permission.Properties!.SourceArn);
      expect(stack.json.Resources[ruleId ?? '']?.Type, permissionId).toBe('AWS::Events::Rule');
    }
  });
});

describe('job-creating functions (intake, upload trigger, batch runner, sweeper)', () => {
  const creators = [
    ['intake', () => stack.intakeId],
    ['s3-trigger', () => stack.uploadTriggerId],
    ['batch-runner', () => stack.batchRunnerId],
    ['sweeper', () => stack.sweeperId],
  ] as const;

  it.each([...creators, ['admission', () => stack.admissionId] as const])('%s gets the same job-intake environment', (_name, functionId) => {
    expect(environmentOf(stack, functionId())).toMatchObject({
      JOBS_TABLE: { Ref: stack.jobsTableId },
      VIDEO_BUCKET: { Ref: stack.bucketId },
      STATE_MACHINE_ARN: { Ref: stack.stateMachineId },
      JOB_DEADLINE_SECONDS: '1800',
      PROVIDER_MODELS: 'seedance-fast',
      EVENT_BUS_NAME: { Ref: stack.busId },
      ADMISSION_TABLE: { Ref: stack.admissionTableId },
      MAX_JOBS_IN_FLIGHT: '20',
      MAX_QUEUE_SECONDS: String(24 * 60 * 60),
    });
  });

  it.each(creators)('%s may take and give back slots: GetItem, PutItem, UpdateItem on the admission table', (_name, functionId) => {
    const statements = statementsOf(functionId());
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']) expect(allows(statements, action, admissionTable), action).toBe(true);
    for (const action of ['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchWriteItem'])
      expect(allows(statements, action, anyOfAdmissionTable), action).toBe(false);
  });

  it.each(creators)('%s may record jobs, keep their request bodies, start executions and announce on our bus', (_name, functionId) => {
    const statements = statementsOf(functionId());
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']) {
      expect(allows(statements, action, jobsTable), action).toBe(true);
    }
    expect(allows(statements, 'dynamodb:Query', (arn) => resourceCovers(arn, `\${${stack.jobsTableId}.Arn}/index/byStatus`))).toBe(true);
    expect(allows(statements, 's3:PutObject', object('requests/job-1.json'))).toBe(true);
    expect(allows(statements, 'states:StartExecution', stateMachine)).toBe(true);
    expect(allows(statements, 'events:PutEvents', ourBus)).toBe(true);
    expect(allows(statements, 'events:PutEvents', defaultBus)).toBe(false);
    // Never the videos: StoreVideo alone writes them.
    expect(allows(statements, 's3:PutObject', object('videos/2026/01/01/job-1.mp4'))).toBe(false);
    expect(allows(statements, 's3:DeleteObject', object('videos/2026/01/01/job-1.mp4'))).toBe(false);
  });

  it.each(creators)('%s may stop and describe executions of this state machine only (cancel, sweep), never by a wildcard', (_name, functionId) => {
    const statements = statementsOf(functionId());
    for (const action of ['states:StopExecution', 'states:DescribeExecution']) {
      // A job's execution is named after it; a resumed one after it and its attempt.
      for (const name of ['job-1', 'job-1-resume-1']) expect(allows(statements, action, execution(name)), `${action} ${name}`).toBe(true);
      expect(allows(statements, action, otherMachineExecution), `${action} on another machine`).toBe(false);
      expect(
        allows(statements, action, (rendered) => rendered === '*'),
        `${action} on *`,
      ).toBe(false);
      // Starting is on the machine; stopping and describing are on its executions, not the machine.
      expect(allows(statements, action, stateMachine), `${action} on the machine`).toBe(false);
    }
    // Of Step Functions, these three actions and nothing else (no redrive, no history, no machine changes).
    const states = allowedActions(statements).filter((action) => /^states:/i.test(action));
    expect([...new Set(states)].sort()).toEqual(['states:DescribeExecution', 'states:StartExecution', 'states:StopExecution']);
  });

  it('no function outside the job-creating ones may start, stop or describe executions; the admission function may only start and stop them', () => {
    const creatorIds = creators.map(([, functionId]) => functionId());
    for (const [functionId] of resourcesOfType(stack.json, 'AWS::Lambda::Function')) {
      if (creatorIds.includes(functionId)) continue;
      for (const action of ['states:StartExecution', 'states:StopExecution', 'states:DescribeExecution']) {
        const expected = functionId === stack.admissionId && action !== 'states:DescribeExecution';
        expect(
          allows(statementsOf(functionId), action, () => true),
          `${functionId} ${action}`,
        ).toBe(expected);
      }
    }
  });

  it('only the batch runner touches the Manifests table', () => {
    for (const [functionId] of resourcesOfType(stack.json, 'AWS::Lambda::Function')) {
      const statements = statementsOf(functionId);
      const touches = allows(statements, 'dynamodb:GetItem', manifestsTable) || allows(statements, 'dynamodb:PutItem', manifestsTable);
      expect(touches, functionId).toBe(functionId === stack.batchRunnerId);
    }
  });
});

describe('IAM of the triggers', () => {
  it('the upload trigger may read and delete incoming/*, and put accepted/* and rejected/* (with the reason beside it)', () => {
    const statements = statementsOf(stack.uploadTriggerId);
    expect(allows(statements, 's3:GetObject', object('incoming/spec.json'))).toBe(true);
    expect(allows(statements, 's3:DeleteObject', object('incoming/spec.json'))).toBe(true);
    expect(allows(statements, 's3:PutObject', object('accepted/spec.json'))).toBe(true);
    expect(allows(statements, 's3:PutObject', object('rejected/spec.json'))).toBe(true);
    expect(allows(statements, 's3:PutObject', object('rejected/spec.json.0123456789abcdef0123456789abcdef.reason.json'))).toBe(true);
    // A copy needs the source's tags and the target's tagging (CopyObject keeps tags by default).
    expect(allows(statements, 's3:GetObjectTagging', object('incoming/cat.png'))).toBe(true);
    expect(allows(statements, 's3:PutObjectTagging', object('accepted/cat.png'))).toBe(true);
  });

  it('the upload trigger may do all of that to exactly the version its event names', () => {
    const statements = statementsOf(stack.uploadTriggerId);
    // A DeleteObject with If-Match: S3 checks the ETag only for a caller that may read the object.
    for (const action of ['s3:GetObject', 's3:DeleteObject']) expect(allows(statements, action, object('incoming/spec.json')), action).toBe(true);
    // On a versioned bucket the version id pins it: the read, the copy source and the delete of that version.
    for (const action of ['s3:GetObjectVersion', 's3:GetObjectVersionTagging', 's3:DeleteObjectVersion']) {
      expect(allows(statements, action, object('incoming/spec.json')), action).toBe(true);
      expect(allows(statements, action, object('accepted/spec.json')), action).toBe(false);
    }
  });

  it('the upload trigger reads nothing outside incoming/ and the media prefixes (the s3:// media check), and deletes nothing outside incoming/ (but the image copies it may need to undo)', () => {
    const statements = statementsOf(stack.uploadTriggerId);
    for (const key of ['videos/x.mp4', 'requests/job-1.json', 'batches/night.jsonl', 'accepted/spec.json', 'rejected/spec.json']) {
      expect(allows(statements, 's3:GetObject', object(key)), key).toBe(false);
    }
    expect(allows(statements, 's3:GetObject', object('media/uploads/job-1/cat.png'))).toBe(true);
    for (const key of ['videos/x.mp4', 'requests/job-1.json', 'batches/night.jsonl', 'accepted/spec.json', 'rejected/spec.json', 'media/ab12.png']) {
      expect(allows(statements, 's3:DeleteObject', object(key)), key).toBe(false);
    }
    expect(allows(statements, 's3:PutObject', object('batches/night.jsonl'))).toBe(false);
    expect(allows(statements, 's3:PutObject', object('other/thing'))).toBe(false);
    // The CLI's media (media/<sha256>.<ext>) is not the trigger's to write.
    expect(allows(statements, 's3:PutObject', object('media/ab12.png'))).toBe(false);
  });

  // Each image job gets its own copy of its image, made before the job is validated: a refused job's copy must be removable.
  it('the upload trigger may copy an image to media/uploads/<jobId>/ and delete that copy', () => {
    const statements = statementsOf(stack.uploadTriggerId);
    for (const action of ['s3:PutObject', 's3:PutObjectTagging', 's3:DeleteObject']) {
      expect(allows(statements, action, object('media/uploads/upload-1/cat.png')), action).toBe(true);
    }
  });

  it('the batch runner may list the bucket, read batches/*, and read/write the Manifests table', () => {
    const statements = statementsOf(stack.batchRunnerId);
    expect(allows(statements, 's3:ListBucket', theBucket)).toBe(true);
    expect(allows(statements, 's3:GetObject', object('batches/night.jsonl'))).toBe(true);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem']) expect(allows(statements, action, manifestsTable), action).toBe(true);
    expect(allows(statements, 'states:StartExecution', stateMachine)).toBe(true);
  });

  it('the batch runner reads manifests and the media lines name, no other prefix, never writes a manifest and deletes nothing', () => {
    const statements = statementsOf(stack.batchRunnerId);
    for (const key of ['media/cat.png', 'incoming/cat.png']) expect(allows(statements, 's3:GetObject', object(key)), key).toBe(true);
    for (const key of ['accepted/cat.png', 'videos/x.mp4', 'rejected/x.json']) {
      expect(allows(statements, 's3:GetObject', object(key)), key).toBe(false);
    }
    expect(allows(statements, 's3:PutObject', object('batches/night.jsonl'))).toBe(false);
    expect(allows(statements, 's3:DeleteObject', () => true)).toBe(false);
  });

  it('AnnounceOutcome may read the Jobs table, mark a job announced, and put events on our bus, and nothing more', () => {
    const statements = statementsOf(stack.announceId);
    expect(allows(statements, 'dynamodb:GetItem', jobsTable)).toBe(true);
    // UpdateItem for the announced marker only: it can neither create nor delete a job.
    expect(allows(statements, 'dynamodb:UpdateItem', jobsTable)).toBe(true);
    for (const action of WRITE_ITEM.filter((action) => action !== 'dynamodb:UpdateItem')) {
      expect(
        allows(statements, action, () => true),
        action,
      ).toBe(false);
    }
    expect(allows(statements, 'events:PutEvents', ourBus)).toBe(true);
    expect(allows(statements, 'events:PutEvents', defaultBus)).toBe(false);
    expect(allows(statements, 'states:StartExecution', () => true)).toBe(false);
    const services = new Set(allowedActions(statements).map((action) => action.split(':')[0]));
    // logs: its own log group only (see stack.test.ts, every function's logs).
    expect([...services].sort()).toEqual(['dynamodb', 'events', 'logs', 'xray']);
    expect(environmentOf(stack, stack.announceId)).toMatchObject({ JOBS_TABLE: { Ref: stack.jobsTableId }, EVENT_BUS_NAME: { Ref: stack.busId } });
  });

  it('AnnounceOutcome is the function the state machine runs for it', () => {
    const machine = stack.json.Resources[stack.stateMachineId]!;
    const asl = JSON.parse(render(machine.Properties!.DefinitionString)) as { States: Record<string, { Resource?: string }> };
    expect(asl.States.AnnounceOutcome?.Resource).toBe(`\${${stack.announceId}.Arn}`);
  });

  it('the intake may put events on our bus (it announces the jobs it could not start), on no other', () => {
    const statements = statementsOf(stack.intakeId);
    expect(allows(statements, 'events:PutEvents', ourBus)).toBe(true);
    expect(allows(statements, 'events:PutEvents', defaultBus)).toBe(false);
  });

  it('whoever may put events may put them on our bus only', () => {
    for (const [functionId] of resourcesOfType(stack.json, 'AWS::Lambda::Function')) {
      const targets = statementsOf(functionId)
        .filter((statement) => statement.Effect === 'Allow' && [statement.Action].flat().some((action) => /^events:/i.test(action ?? '')))
        .flatMap(renderedResources);
      for (const target of targets) expect(target, functionId).toBe(`\${${stack.busId}.Arn}`);
    }
    expect(stack.template.toJSON().Outputs).toMatchObject({ EventBusName: { Value: { Ref: stack.busId } } });
  });
});

describe('handler metadata', () => {
  const handlerFiles = () =>
    readdirSync(HANDLERS_DIR)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => file.replace(/\.ts$/, ''));

  it('every function of ours names its handler file, and the file exists in runtime/handlers/', () => {
    for (const [functionId, fn] of resourcesOfType(stack.json, 'AWS::Lambda::Function')) {
      const handlerFile = handlerFileOf(fn as CfnResource);
      expect(handlerFile, `${functionId} has no video-pipeline:handler metadata`).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(existsSync(`${HANDLERS_DIR}${handlerFile}.ts`), `${functionId}: runtime/handlers/${handlerFile}.ts`).toBe(true);
    }
  });

  it('each handler file under runtime/handlers/ runs in exactly one function', () => {
    const named = resourcesOfType(stack.json, 'AWS::Lambda::Function')
      .map(([, fn]) => handlerFileOf(fn))
      .filter((file): file is string => file !== undefined);
    expect([...named].sort()).toEqual(handlerFiles().sort());
  });
});

describe('sweeper', () => {
  it('is a function of ours (a HouseFunction) that runs runtime/handlers/sweeper.ts', () => {
    expect(handlerFileOf(stack.json.Resources[stack.sweeperId] as CfnResource)).toBe(HANDLER.sweeper);
    expect(existsSync(`${HANDLERS_DIR}${HANDLER.sweeper}.ts`)).toBe(true);
    expect(propertiesOf(stack.sweeperId)).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
  });

  it('runs on the default schedule, rate(5 minutes), enabled, on the default bus, without retries', () => {
    expect(propertiesOf(stack.sweepRuleId)).toMatchObject({ ScheduleExpression: DEFAULT_SCHEDULES.sweep, State: 'ENABLED' });
    expect(propertiesOf(stack.sweepRuleId).EventBusName).toBeUndefined();
    // A missed sweep is the next sweep's work.
    const targets = propertiesOf(stack.sweepRuleId).Targets as Array<Record<string, unknown>>;
    expect(targets).toEqual([{ Id: expect.any(String), Arn: getAtt(stack.sweeperId), RetryPolicy: { MaximumRetryAttempts: 0 } }]);
  });

  it('follows the sweepSchedule context', () => {
    expect(custom.json.Resources[custom.sweepRuleId]!.Properties).toMatchObject({
      ScheduleExpression: CUSTOM_CONTEXT.sweepSchedule,
      Targets: [expect.objectContaining({ Arn: getAtt(custom.sweeperId) })],
    });
  });

  it('never runs twice at once (ReservedConcurrentExecutions 1), and a failed sweep is not repeated by Lambda', () => {
    // Two sweeps could both find a job lost and resume it twice.
    expect(propertiesOf(stack.sweeperId).ReservedConcurrentExecutions).toBe(1);
    expect(custom.json.Resources[custom.sweeperId]!.Properties!.ReservedConcurrentExecutions).toBe(1);
    const invokeConfigs = resourcesOfType(stack.json, 'AWS::Lambda::EventInvokeConfig').filter(
      ([, config]) => logicalIdOf(config.Properties!.FunctionName) === stack.sweeperId,
    );
    expect(invokeConfigs.map(([, config]) => config.Properties)).toEqual([expect.objectContaining({ MaximumRetryAttempts: 0 })]);
  });

  it('gets the job-intake environment and a start grace in whole seconds, nothing more', () => {
    const environment = environmentOf(stack, stack.sweeperId);
    // The job-intake values themselves are checked with the other job-creating functions above.
    expect(Object.keys(environment).sort()).toEqual(['NODE_OPTIONS', ...JOB_INTAKE_ENV, 'SWEEP_START_GRACE_SECONDS'].sort());
    expect(String(environment.SWEEP_START_GRACE_SECONDS)).toMatch(/^[1-9]\d*$/);
  });
});

describe('admission control', () => {
  it('the execution-end rule takes exactly the ends of our state machine’s executions, from the default bus', () => {
    expect(propertiesOf(stack.executionEndRuleId)).toMatchObject({ State: 'ENABLED' });
    expect(propertiesOf(stack.executionEndRuleId).EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        // Ref of a state machine is its ARN: the one the events carry.
        stateMachineArn: [{ Ref: stack.stateMachineId }],
        // Every way an execution ends (a Succeed or Fail state, a crash past every Catch, the execution
        // timeout, a StopExecution), and not RUNNING: a start frees no slot.
        status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
      },
    });
    // Step Functions publishes to the default bus only: a rule on our completion bus would never fire.
    expect(propertiesOf(stack.executionEndRuleId).EventBusName).toBeUndefined();
  });

  it('the admission function reads every status the rule lets through, and the rule lets through every status it reads', () => {
    const event = (status: string) => ({
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      detail: { name: 'job-1-admission-1', status, input: JSON.stringify({ jobId: 'job-1' }) },
    });
    const statuses = (propertiesOf(stack.executionEndRuleId).EventPattern as { detail: { status: string[] } }).detail.status;
    for (const status of statuses) expect(executionEndedOf(event(status)), status).toEqual({ jobId: 'job-1', execution: 'job-1-admission-1', status });
    for (const status of ['RUNNING', 'PENDING_REDRIVE']) expect(() => executionEndedOf(event(status)), status).toThrow();
    expect([...executionEndedEventSchema.shape.detail.shape.status.options].sort()).toEqual([...statuses].sort());
  });

  // A lost end is the sweeper's to reconcile (it reclaims the slot), so an hour of retries is enough.
  it('targets the admission function alone, with retries and an event age of an hour', () => {
    expect(propertiesOf(stack.executionEndRuleId).Targets).toEqual([
      { Id: expect.any(String), Arn: getAtt(stack.admissionId), RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 60 * 60 } },
    ]);
  });

  it('the task-end rule takes exactly the workflow’s word that a provider task of this state machine ended, from the default bus', () => {
    expect(propertiesOf(stack.taskEndRuleId)).toMatchObject({ State: 'ENABLED' });
    expect(propertiesOf(stack.taskEndRuleId).EventPattern).toEqual({
      source: [WORKFLOW_EVENT_SOURCE],
      'detail-type': [TASK_ENDED_DETAIL_TYPE],
      detail: { stateMachineArn: [{ Ref: stack.stateMachineId }] },
    });
    // The FreeSlot states put their event on the default bus (no EventBusArn): the rule must be there too.
    expect(propertiesOf(stack.taskEndRuleId).EventBusName).toBeUndefined();
    expect(propertiesOf(stack.taskEndRuleId).Targets).toEqual([
      { Id: expect.any(String), Arn: getAtt(stack.admissionId), RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 60 * 60 } },
    ]);
  });

  it('what the FreeSlot states put is what the task-end rule matches and the admission function reads', () => {
    const asl = JSON.parse(render(propertiesOf(stack.stateMachineId).DefinitionString)) as {
      States: Record<string, { Resource: string; Parameters: { Entries: Array<Record<string, unknown>> } }>;
    };
    for (const name of FREE_SLOT_STATES) {
      const { Resource, Parameters } = asl.States[name]!;
      expect(Resource, name).toBe('arn:${AWS::Partition}:states:::events:putEvents');
      expect(Parameters.Entries, name).toEqual([
        {
          Source: WORKFLOW_EVENT_SOURCE,
          DetailType: TASK_ENDED_DETAIL_TYPE,
          Detail: { 'jobId.$': '$.jobId', 'execution.$': '$$.Execution.Name', 'stateMachineArn.$': '$$.StateMachine.Id' },
        },
      ]);
    }
    const event = {
      source: WORKFLOW_EVENT_SOURCE,
      'detail-type': TASK_ENDED_DETAIL_TYPE,
      detail: { jobId: 'job-1', execution: 'job-1-admission-1', stateMachineArn: 'arn' },
    };
    expect(taskEndedOf(event)).toEqual({ jobId: 'job-1', execution: 'job-1-admission-1' });
    expect(() => taskEndedOf({ ...event, detail: { jobId: 'job-1' } })).toThrow();
  });

  it('the admission function runs runtime/handlers/admission.ts as a function of ours, with the job-intake settings and nothing more', () => {
    expect(handlerFileOf(stack.json.Resources[stack.admissionId] as CfnResource)).toBe(HANDLER.admission);
    expect(existsSync(`${HANDLERS_DIR}${HANDLER.admission}.ts`)).toBe(true);
    expect(propertiesOf(stack.admissionId)).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' }, Timeout: 60 });
    expect(Object.keys(environmentOf(stack, stack.admissionId)).sort()).toEqual(['NODE_OPTIONS', ...JOB_INTAKE_ENV].sort());
    // Ends come in bursts and every dispatch is safe beside another (one conditional write per slot):
    // a reserved concurrency of 1 would only queue the slots' release.
    expect(propertiesOf(stack.admissionId).ReservedConcurrentExecutions).toBeUndefined();
  });

  // It reads the job that ended and the head of the line, moves jobs in and out of the line, takes and
  // gives back slots, and starts executions (runtime/admission/execution-ended.ts, dispatch.ts): nothing else.
  it('the admission function may read and update jobs, read the line, use the slots, start executions and stop them, and nothing more', () => {
    const statements = statementsOf(stack.admissionId);
    for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem']) expect(allows(statements, action, jobsTable), action).toBe(true);
    const lineIndex = (rendered: string) => rendered === `\${${stack.jobsTableId}.Arn}/index/${JOBS_TABLE.indexes.byLine.name}`;
    expect(allows(statements, 'dynamodb:Query', lineIndex)).toBe(true);
    for (const index of ['byStatus', 'byCreatedAt']) {
      expect(
        allows(statements, 'dynamodb:Query', (rendered) => resourceCovers(rendered, `\${${stack.jobsTableId}.Arn}/index/${index}`)),
        index,
      ).toBe(false);
    }
    // It never creates nor deletes a job, and never lists the table itself.
    for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan']) {
      expect(allows(statements, action, anyOfJobsTable), action).toBe(false);
    }
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']) expect(allows(statements, action, admissionTable), action).toBe(true);
    expect(allows(statements, 'states:StartExecution', stateMachine)).toBe(true);
    // A job cancelled between its admission and its start: the dispatch stops the execution it just
    // started (runtime/admission/dispatch.ts), an execution of this state machine only.
    expect(allows(statements, 'states:StopExecution', execution('job-1-admission-2'))).toBe(true);
    expect(allows(statements, 'states:StopExecution', otherMachineExecution)).toBe(false);
    expect(allows(statements, 'states:DescribeExecution', () => true)).toBe(false);
    // Exactly these grants: DynamoDB on the Jobs table, its line and the admission table, the start and the stop.
    const granted = statements
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap((statement) => [statement.Action].flat().flatMap((action) => renderedResources(statement).map((resource) => `${action} ${resource}`)))
      .filter((grant) => !/^(logs|xray):/.test(grant));
    expect(granted.sort()).toEqual(
      [
        `dynamodb:GetItem \${${stack.jobsTableId}.Arn}`,
        `dynamodb:UpdateItem \${${stack.jobsTableId}.Arn}`,
        `dynamodb:Query \${${stack.jobsTableId}.Arn}/index/${JOBS_TABLE.indexes.byLine.name}`,
        `dynamodb:GetItem \${${stack.admissionTableId}.Arn}`,
        `dynamodb:PutItem \${${stack.admissionTableId}.Arn}`,
        `dynamodb:UpdateItem \${${stack.admissionTableId}.Arn}`,
        `states:StartExecution \${${stack.stateMachineId}}`,
        `states:StopExecution ${executionArnOf(stack.stateMachineId, '*')}`,
      ].sort(),
    );
    // No S3 (no request bodies, no media), no events, no secret.
    const services = new Set(allowedActions(statements).map((action) => action.split(':')[0]));
    expect([...services].sort()).toEqual(['dynamodb', 'logs', 'states', 'xray']);
  });
});
