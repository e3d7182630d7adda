import aslValidator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SOURCE } from '../../contracts/events.js';
import { HANDLER } from '../../contracts/handlers.js';
import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_SECONDS, WEBHOOK_TIMEOUT_MS } from '../../contracts/webhooks.js';
import { pipelineConfigFrom } from '../../infra/config.js';
import { DEAD_LETTER_STATE, DELIVER_STATE, RETRY_WAIT_STATE } from '../../infra/constructs/webhook-delivery.js';
import { synthesizePipelineTemplate } from '../../local/stack/cloud-assembly.js';
import { webhookDeliveryDefinitionFrom } from '../../local/stack/pipeline-definition.js';
import { edgesOf, edgeText, reachableFrom, type Asl, type AslState } from '../../testkit/asl.js';
import {
  allowedActions,
  allows,
  functionOfHandler,
  logicalIdOf,
  onlyResourceOfType,
  render,
  resourceCovers,
  resourcesOfType,
  roleIdOf,
  stateMachineRole,
  statementsOfRole,
  type CfnJson,
} from '../../testkit/cfn-template.js';

/**
 * The webhook delivery (infra/constructs/webhook-delivery.ts): its state machine edge by edge, the
 * rule that starts it, the dead-letter queue and its alarm, the generated secret, least privilege
 * for each role, and the context that sets a default webhook.
 */

/** The functions that create jobs: each stamps the stack's default webhook on a job that names none. */
const JOB_INTAKE_HANDLERS = [HANDLER.intake, HANDLER.uploadTrigger, HANDLER.batchRunner, HANDLER.sweeper, HANDLER.admission];

let json: CfnJson;
let machineId: string;
let asl: Asl;
let delivererId: string;
let queueId: string;
let secretId: string;
let tableId: string;
let bucketId: string;

const state = (name: string): AslState => asl.States[name]!;
const statementsOf = (resourceId: string) => statementsOfRole(json, roleIdOf(json, resourceId));

beforeAll(() => {
  json = synthesizePipelineTemplate() as unknown as CfnJson;
  [machineId] = onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine', stateMachineRole(true));
  asl = webhookDeliveryDefinitionFrom(json as never).asl as unknown as Asl;
  delivererId = functionOfHandler(json, HANDLER.deliverWebhook);
  secretId = onlyResourceOfType(json, 'AWS::SecretsManager::Secret')[0];
  tableId = onlyResourceOfType(json, 'AWS::DynamoDB::Table', {
    description: 'keyed by jobId',
    test: (resource) => JSON.stringify(resource.Properties?.KeySchema) === JSON.stringify([{ AttributeName: 'jobId', KeyType: 'HASH' }]),
  })[0];
  bucketId = onlyResourceOfType(json, 'AWS::S3::Bucket')[0];
  const deadLetterTask = state(DEAD_LETTER_STATE).Parameters as { QueueUrl: string };
  queueId = resourcesOfType(json, 'AWS::SQS::Queue').find(([id]) => deadLetterTask.QueueUrl === id || render(deadLetterTask.QueueUrl).includes(id))![0];
});

describe('the delivery state machine', () => {
  it('is a Standard workflow with X-Ray and every transition logged (without data), marked for the local stack', () => {
    const machine = json.Resources[machineId]!;
    expect(machine.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
  });

  it('passes asl-validator and stays in the local engine’s subset (JSONPath, no Assign, no JSONata)', () => {
    const result = aslValidator(structuredClone(asl), { checkPaths: true, checkArn: true });
    expect(result.errors).toEqual([]);
    expect(asl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(JSON.stringify(asl)).not.toMatch(/"Assign"|\{%|\$\$\./);
    expect([...reachableFrom(asl, asl.StartAt)].sort()).toEqual(Object.keys(asl.States).sort());
  });

  it('has exactly the designed edges: attempt, wait what the attempt says, attempt again; the last failure into the dead-letter queue', () => {
    expect(edgesOf(asl).map(edgeText).sort()).toEqual(
      [
        'Receive -next-> Deliver',
        'Deliver -next-> WhatNext',
        'WhatNext -choice-> WaitBeforeRetry',
        'WhatNext -choice-> DeadLetter',
        'WhatNext -default-> Done',
        'WaitBeforeRetry -next-> Deliver',
        // the function itself failing past its retries loses no event either
        'Deliver -catch-> DeadLetter',
        'DeadLetter -next-> NotDelivered',
      ].sort(),
    );
    expect(state('WhatNext').Choices).toEqual([
      { Variable: '$.delivery.outcome', StringEquals: 'retry', Next: RETRY_WAIT_STATE },
      { Variable: '$.delivery.outcome', StringEquals: 'exhausted', Next: DEAD_LETTER_STATE },
    ]);
    expect(state(RETRY_WAIT_STATE)).toMatchObject({ Type: 'Wait', SecondsPath: '$.delivery.waitSeconds' });
    expect(state('NotDelivered')).toMatchObject({ Type: 'Fail', Error: 'WEBHOOK_NOT_DELIVERED' });
  });

  it('hands the bus event and the attempt count to the function; the first attempt is number 1', () => {
    expect(state('Receive')).toMatchObject({ Type: 'Pass', Parameters: { 'event.$': '$', delivery: { attempt: 0 } } });
    expect(state(DELIVER_STATE)).toMatchObject({
      Resource: expect.stringContaining(delivererId),
      Parameters: { 'event.$': '$.event', 'attempt.$': '$.delivery.attempt' },
      ResultPath: '$.delivery',
    });
    expect(state(DELIVER_STATE).Catch).toEqual([{ ErrorEquals: ['States.ALL'], Next: DEAD_LETTER_STATE, ResultPath: '$.delivery' }]);
    // The function failing (not the receiver) is retried with a capped, jittered backoff, States.ALL last.
    expect(state(DELIVER_STATE).Retry!.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], MaxAttempts: 4, JitterStrategy: 'FULL' });
  });

  it('puts the event and the last outcome in the dead-letter queue, retrying the send', () => {
    expect(state(DEAD_LETTER_STATE)).toMatchObject({
      Resource: 'arn:aws:states:::sqs:sendMessage',
      Parameters: { MessageBody: { 'event.$': '$.event', 'delivery.$': '$.delivery' } },
    });
    expect(state(DEAD_LETTER_STATE).Retry![0]).toMatchObject({ ErrorEquals: ['States.ALL'], MaxAttempts: 5 });
  });

  it('outlives the whole schedule: every wait (more than 24 h), every attempt at its slowest, and the dead letter', () => {
    const waits = WEBHOOK_RETRY_SECONDS.reduce((sum, seconds) => sum + seconds, 0);
    expect(waits).toBeGreaterThan(24 * 3600);
    const attemptSeconds = (WEBHOOK_TIMEOUT_MS / 1000 + 30) * 5; // its task timeout, tried 1 + 4 times
    expect(asl.TimeoutSeconds).toBeGreaterThan(waits + WEBHOOK_MAX_ATTEMPTS * attemptSeconds);
    // …and stays far from Standard's one-year limit and the 25,000-event history (about 10 events per attempt).
    expect(asl.TimeoutSeconds).toBeLessThan(365 * 24 * 3600);
  });
});

describe('the rule, the queue, the alarm and the secret', () => {
  const rulesToMachine = () =>
    resourcesOfType(json, 'AWS::Events::Rule').filter(([, candidate]) =>
      ((candidate.Properties?.Targets as { Arn: unknown }[]) ?? []).some((target) => logicalIdOf(target.Arn) === machineId),
    );

  it('two rules on the stack’s bus start the delivery machine: ends of jobs whose webhook takes `completed`, and Job Started / Job Progress', () => {
    const [busId] = onlyResourceOfType(json, 'AWS::Events::EventBus');
    const rules = rulesToMachine();
    expect(rules).toHaveLength(2);
    const patterns = rules.map(([, rule]) => rule.Properties!.EventPattern);
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: [EVENT_SOURCE],
          'detail-type': ['Job Succeeded', 'Job Failed', 'Job Timed Out', 'Job Cancelled'],
          // A job without a webhook (or one that does not take `completed`) starts no execution.
          detail: { webhook: { events: ['completed'] } },
        },
        // Published only for jobs whose webhook takes them (WorkflowInput.notify).
        { source: [EVENT_SOURCE], 'detail-type': ['Job Started', 'Job Progress'] },
      ]),
    );
    for (const [ruleId, rule] of rules) {
      expect(logicalIdOf(rule.Properties!.EventBusName), ruleId).toBe(busId);
      const [target] = rule.Properties!.Targets as {
        RoleArn: unknown;
        DeadLetterConfig: { Arn: unknown };
        RetryPolicy: Record<string, number>;
        Input?: unknown;
        InputTransformer?: unknown;
      }[];
      // The event itself is the input (no transformer), so the local router can hand it over as it is.
      expect(target!.Input ?? target!.InputTransformer).toBeUndefined();
      expect(logicalIdOf(target!.DeadLetterConfig.Arn)).toBe(queueId);
      expect(target!.RetryPolicy).toEqual({ MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 });
      // The rules' role may start this machine and nothing else.
      const ruleRole = statementsOfRole(json, logicalIdOf(target!.RoleArn)!);
      expect(allowedActions(ruleRole)).toEqual(['states:StartExecution']);
      expect(allows(ruleRole, 'states:StartExecution', (rendered) => rendered === `\${${machineId}}`)).toBe(true);
    }
  });

  it('the generation workflow hands SubmitTask the job’s notifications (which of Job Started / Job Progress to publish)', () => {
    const [, generation] = onlyResourceOfType(json, 'AWS::StepFunctions::StateMachine', stateMachineRole(false));
    expect(render(generation.Properties!.DefinitionString)).toContain('"notify.$":"$.notify"');
  });

  it('the dead-letter queue is encrypted, SSL-only, keeps messages 14 days, and an alarm fires on its first message', () => {
    expect(json.Resources[queueId]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const [, policy] = onlyResourceOfType(json, 'AWS::SQS::QueuePolicy', {
      description: 'of the webhook queue',
      test: (candidate) => JSON.stringify(candidate.Properties?.Queues) === JSON.stringify([{ Ref: queueId }]),
    });
    expect(JSON.stringify(policy.Properties!.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    const [, alarm] = onlyResourceOfType(json, 'AWS::CloudWatch::Alarm', {
      description: 'on the webhook dead letters',
      test: (candidate) =>
        (candidate.Properties?.Dimensions as { Value: unknown }[] | undefined)?.some((dimension) => logicalIdOf(dimension.Value) === queueId) === true,
    });
    expect(alarm.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('the signing secret is generated at deploy under the configured name, and its ARN is an output', () => {
    expect(json.Resources[secretId]!.Properties).toMatchObject({
      Name: 'video-pipeline/webhook-signing-secret',
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
    });
    expect(json.Outputs?.WebhookSecretArn).toEqual({ Value: { Ref: secretId } });
    const custom = synthesizePipelineTemplate({ webhookSecretName: 'acme/hooks' }) as unknown as CfnJson;
    expect(onlyResourceOfType(custom, 'AWS::SecretsManager::Secret')[1].Properties).toMatchObject({ Name: 'acme/hooks' });
  });
});

describe('least privilege', () => {
  const isTable = (rendered: string) => rendered === `\${${tableId}.Arn}`;

  it('the deliverer reads a job and appends its attempts (no index), reads its own secret, presigns videos; nothing else', () => {
    const statements = statementsOf(delivererId);
    const actions = allowedActions(statements).filter((action) => !action.startsWith('xray:') && !action.startsWith('logs:'));
    expect(new Set(actions)).toEqual(
      new Set(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 's3:GetObject']),
    );
    for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem']) expect(allows(statements, action, isTable), action).toBe(true);
    expect(allows(statements, 'dynamodb:GetItem', (rendered) => rendered.includes('/index/'))).toBe(false);
    expect(allows(statements, 'secretsmanager:GetSecretValue', (rendered) => rendered === `\${${secretId}}`)).toBe(true);
    expect(allows(statements, 's3:GetObject', (rendered) => resourceCovers(rendered, `\${${bucketId}.Arn}/videos/2026/01/01/job.mp4`))).toBe(true);
    expect(allows(statements, 's3:GetObject', (rendered) => resourceCovers(rendered, `\${${bucketId}.Arn}/requests/job/hash.json`))).toBe(false);
  });

  it('no other function may read the signing secret', () => {
    for (const [functionId] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      if (functionId === delivererId) continue;
      expect(
        allows(statementsOf(functionId), 'secretsmanager:GetSecretValue', (rendered) => rendered === `\${${secretId}}`),
        functionId,
      ).toBe(false);
    }
  });

  it('the delivery machine may invoke the deliverer and send to its dead-letter queue; nothing else of ours', () => {
    const statements = statementsOf(machineId);
    const ours = allowedActions(statements).filter((action) => !action.startsWith('xray:') && !action.startsWith('logs:'));
    expect(new Set(ours)).toEqual(new Set(['lambda:InvokeFunction', 'sqs:SendMessage']));
    expect(allows(statements, 'sqs:SendMessage', (rendered) => rendered === `\${${queueId}.Arn}`)).toBe(true);
    expect(allows(statements, 'lambda:InvokeFunction', (rendered) => rendered === `\${${delivererId}.Arn}`)).toBe(true);
    for (const [functionId] of resourcesOfType(json, 'AWS::Lambda::Function').filter(([id]) => id !== delivererId)) {
      expect(
        allows(statements, 'lambda:InvokeFunction', (rendered) => resourceCovers(rendered, `\${${functionId}.Arn}`)),
        functionId,
      ).toBe(false);
    }
  });

  it('the submit and poll functions may put Job Started / Job Progress on the stack’s bus only', () => {
    const [busId] = onlyResourceOfType(json, 'AWS::Events::EventBus');
    for (const handler of [HANDLER.submitTask, HANDLER.pollTask]) {
      const statements = statementsOf(functionOfHandler(json, handler));
      expect(
        allows(statements, 'events:PutEvents', (rendered) => rendered === `\${${busId}.Arn}`),
        handler,
      ).toBe(true);
      expect(
        allows(statements, 'events:PutEvents', (rendered) => rendered.includes('event-bus/default')),
        handler,
      ).toBe(false);
    }
  });
});

describe('context: a default webhook for jobs that name none', () => {
  it('webhookUrl and webhookEvents reach every job-creating function; none is set without them', () => {
    const withDefault = synthesizePipelineTemplate({ webhookUrl: 'https://hooks.example.com/all', webhookEvents: 'started,completed' }) as unknown as CfnJson;
    for (const handler of JOB_INTAKE_HANDLERS) {
      const variables = (withDefault.Resources[functionOfHandler(withDefault, handler)]!.Properties!.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(variables, handler).toMatchObject({ WEBHOOK_URL: 'https://hooks.example.com/all', WEBHOOK_EVENTS: 'started,completed' });
      const plain = (json.Resources[functionOfHandler(json, handler)]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(plain, handler).not.toHaveProperty('WEBHOOK_URL');
    }
  });

  it('refuses a webhookUrl that is not https (a loopback http one is a local stack’s) and unknown events', () => {
    const config = (context: Record<string, unknown>) => () => pipelineConfigFrom((key) => context[key]);
    expect(config({ webhookUrl: 'http://hooks.example.com/x' })).toThrow();
    expect(config({ webhookUrl: 'not a url' })).toThrow();
    expect(config({ webhookUrl: 'https://hooks.example.com/x', webhookEvents: 'finished' })).toThrow();
    expect(config({ webhookUrl: 'https://hooks.example.com/x', webhookEvents: [] })).toThrow();
    expect(config({ webhookUrl: 'http://127.0.0.1:9000/hook' })().defaultWebhook).toEqual({ url: 'http://127.0.0.1:9000/hook', events: ['completed'] });
    expect(config({ webhookUrl: 'https://h.example.com/', webhookEvents: ['progress', 'completed'] })().defaultWebhook?.events).toEqual([
      'progress',
      'completed',
    ]);
    expect(config({})().defaultWebhook).toBeUndefined();
  });
});
