import aslValidator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../../lambdas/core/describe-failure.js';
import {
  DeadlineExceededError,
  EventNotPublishedError,
  ProviderBadResponseError,
  ProviderUnavailableError,
  RETRYABLE_ERROR_NAMES,
  SubmissionUncertainError,
  VideoCopyError,
} from '../../lambdas/core/errors.js';
import { ACTIVE_STATUSES, JOB_STATUSES, TERMINAL_STATUSES, type RequestShape } from '../../lambdas/core/job.js';
import { MIN_POLL_SECONDS, nextPollSeconds } from '../../lambdas/core/poll-policy.js';
import { pipelineConfigFrom } from '../../lib/pipeline-config.js';
import { synthesizePipelineTemplate } from '../../local/cloud-assembly.js';
import { pipelineDefinitionFrom, type PipelineDefinition } from '../../local/pipeline-definition.js';
import {
  edgesOf,
  edgeText,
  loopsOf,
  maxRetries,
  maxRetryDelaySeconds,
  reachableFrom,
  retriedErrors,
  retrierFor,
  type Asl,
  type AslState,
} from '../support/asl.js';

/** The same ASL the local stack runs: synthesized from the CDK app, intrinsics resolved to local names. */
let definition: PipelineDefinition;
let asl: Asl;
const state = (name: string): AslState => {
  const found = asl.States[name];
  if (!found) throw new Error(`no state ${name}`);
  return found;
};

beforeAll(() => {
  definition = pipelineDefinitionFrom(synthesizePipelineTemplate());
  asl = definition.asl as unknown as Asl;
});

/** The Lambda service errors CDK's LambdaInvoke retries by default (the function did not run or its answer was lost). */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
];
const DYNAMODB_THROTTLING_ERRORS = [
  'DynamoDB.ProvisionedThroughputExceededException',
  'DynamoDB.RequestLimitExceeded',
  'DynamoDB.ThrottlingException',
];
/** Errors no retrier may name: they catch everything, or the failure is final, or a retry could bill twice. */
const NEVER_RETRIED = [
  'States.ALL',
  'States.TaskFailed',
  'DynamoDB.ConditionalCheckFailedException',
  'SUBMISSION_UNCERTAIN',
  'DEADLINE_EXCEEDED',
  'PROVIDER_TASK_FAILED',
  'PROVIDER_TASK_NOT_FOUND',
  'PROVIDER_REJECTED',
  'PROVIDER_AUTH_FAILED',
  'VIDEO_UNAVAILABLE',
  'VALIDATION_ERROR',
];

const isDynamoTask = (candidate: AslState) => candidate.Type === 'Task' && (candidate.Resource ?? '').startsWith('arn:aws:states:::dynamodb:');
const taskStates = () => Object.entries(asl.States).filter(([, candidate]) => candidate.Type === 'Task');

describe('definition', () => {
  it('passes asl-validator (schema, transitions, terminal states, paths, ARNs)', () => {
    const result = aslValidator(structuredClone(asl), { checkPaths: true, checkArn: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('stays in the subset the local engine runs: JSONPath, no Assign, no $$ timestamps, no JSONata', () => {
    expect(asl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    const text = JSON.stringify(asl);
    expect(text).not.toContain('"Assign"');
    expect(text).not.toContain('{%');
    expect(text).not.toContain('$$.');
    for (const [, candidate] of Object.entries(asl.States)) expect(['Task', 'Choice', 'Wait', 'Fail', 'Succeed', 'Pass']).toContain(candidate.Type);
  });

  it('starts at SubmitTask and reaches every state', () => {
    expect(asl.StartAt).toBe('SubmitTask');
    expect([...reachableFrom(asl, asl.StartAt)].sort()).toEqual(Object.keys(asl.States).sort());
  });
});

describe('graph', () => {
  it('has exactly the designed edges, no more', () => {
    const expected = [
      // happy path and the poll loop
      'SubmitTask -next-> RecordSubmitted',
      'RecordSubmitted -next-> WaitBeforePoll',
      'WaitBeforePoll -next-> PollTask',
      'PollTask -next-> IsVideoReady',
      'IsVideoReady -choice-> StoreVideo',
      'IsVideoReady -choice-> RecordProgress',
      'IsVideoReady -default-> WaitBeforePoll',
      'RecordProgress -next-> WaitBeforePoll',
      'StoreVideo -next-> RecordSucceeded',
      'RecordSucceeded -next-> AnnounceOutcome',
      // failure path
      'DescribeFailure -next-> IsTimedOut',
      'IsTimedOut -choice-> RecordTimedOut',
      'IsTimedOut -default-> RecordFailed',
      'RecordTimedOut -next-> AnnounceOutcome',
      'RecordFailed -next-> AnnounceOutcome',
      // every terminal write is announced, then the execution ends as the job did
      'AnnounceOutcome -next-> HowDidItEnd',
      'HowDidItEnd -choice-> JobSucceeded',
      'HowDidItEnd -choice-> JobTimedOut',
      'HowDidItEnd -default-> JobFailed',
      // every task that works on a live job fails into DescribeFailure…
      'SubmitTask -catch-> DescribeFailure',
      'RecordSubmitted -catch-> DescribeFailure',
      'PollTask -catch-> DescribeFailure',
      'RecordProgress -catch-> DescribeFailure',
      'StoreVideo -catch-> DescribeFailure',
      'RecordSucceeded -catch-> DescribeFailure',
      // …and the failure path itself into JobNotRecorded, never back into itself
      'DescribeFailure -catch-> JobNotRecorded',
      'RecordFailed -catch-> JobNotRecorded',
      'RecordTimedOut -catch-> JobNotRecorded',
      // …and an announcement that cannot be published into JobNotAnnounced (the job's record is already final)
      'AnnounceOutcome -catch-> JobNotAnnounced',
    ];
    expect(edgesOf(asl).map(edgeText).sort()).toEqual([...expected].sort());
  });

  it('IsVideoReady checks SUCCEEDED before changed, and otherwise waits again', () => {
    expect(state('IsVideoReady')).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.poll.jobStatus', StringEquals: 'SUCCEEDED', Next: 'StoreVideo' },
        { Variable: '$.poll.changed', BooleanEquals: true, Next: 'RecordProgress' },
      ],
      Default: 'WaitBeforePoll',
    });
  });

  it('IsTimedOut sends a passed deadline to RecordTimedOut and anything else to RecordFailed', () => {
    expect(state('IsTimedOut')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.failure.status', StringEquals: 'TIMED_OUT', Next: 'RecordTimedOut' }],
      Default: 'RecordFailed',
    });
    // The lambda side of the same contract: a DEADLINE_EXCEEDED thrown by PollTask is described as TIMED_OUT.
    const deadline = new DeadlineExceededError('late');
    expect(describeFailure({ Error: deadline.name, Cause: JSON.stringify({ errorMessage: 'late' }) }, new Date()).status).toBe('TIMED_OUT');
    expect(describeFailure({ Error: 'PROVIDER_TASK_FAILED' }, new Date()).status).toBe('FAILED');
  });

  it('ends in the Succeed JobSucceeded or one of the Fail states, each with its error name; no Task ends it', () => {
    expect(state('RecordSucceeded').End).toBeUndefined();
    expect(state('RecordSucceeded').Next).toBe('AnnounceOutcome');
    const ends = Object.entries(asl.States).filter(([, candidate]) => candidate.End || candidate.Type === 'Fail' || candidate.Type === 'Succeed');
    expect(ends.map(([name]) => name).sort()).toEqual(['JobFailed', 'JobNotAnnounced', 'JobNotRecorded', 'JobSucceeded', 'JobTimedOut']);
    expect(state('JobSucceeded')).toEqual({ Type: 'Succeed' });
    expect(state('JobFailed')).toMatchObject({ Type: 'Fail', Error: 'JOB_FAILED' });
    expect(state('JobTimedOut')).toMatchObject({ Type: 'Fail', Error: 'JOB_TIMED_OUT' });
    expect(state('JobNotRecorded')).toMatchObject({ Type: 'Fail', Error: 'JOB_NOT_RECORDED' });
    expect(state('JobNotAnnounced')).toMatchObject({ Type: 'Fail', Error: 'JOB_NOT_ANNOUNCED' });
  });

  it('AnnounceOutcome is told only the jobId and keeps the job input, putting its answer at $.announced', () => {
    expect(state('AnnounceOutcome')).toMatchObject({
      Type: 'Task',
      Parameters: { 'jobId.$': '$.jobId' },
      ResultPath: '$.announced',
      Next: 'HowDidItEnd',
    });
    expect(state('AnnounceOutcome').TimeoutSeconds).toBeGreaterThan(0);
    // Every terminal writer, and nothing else, leads to the announcement.
    const into = edgesOf(asl).filter((edge) => edge.to === 'AnnounceOutcome');
    expect(into.map(edgeText).sort()).toEqual(
      ['RecordFailed -next-> AnnounceOutcome', 'RecordSucceeded -next-> AnnounceOutcome', 'RecordTimedOut -next-> AnnounceOutcome'],
    );
  });

  it('HowDidItEnd ends the execution as the job ended: SUCCEEDED succeeds, TIMED_OUT and anything else fail', () => {
    expect(state('HowDidItEnd')).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.announced.status', StringEquals: 'SUCCEEDED', Next: 'JobSucceeded' },
        { Variable: '$.announced.status', StringEquals: 'TIMED_OUT', Next: 'JobTimedOut' },
      ],
      Default: 'JobFailed',
    });
  });

  it('WaitBeforePoll waits the adaptive time the last poll chose ($.poll.waitSeconds)', () => {
    expect(state('WaitBeforePoll')).toEqual({ Type: 'Wait', SecondsPath: '$.poll.waitSeconds', Next: 'PollTask' });
    // Both writers of $.poll put the PollState there, so the path resolves on every iteration.
    expect(state('SubmitTask').ResultPath).toBe('$.poll');
    expect(state('PollTask').ResultPath).toBe('$.poll');
  });

  it('has one loop, and every cycle passes the wait and the poll (which enforces the deadline)', () => {
    const loops = loopsOf(asl);
    expect(loops.map((loop) => [...loop].sort())).toEqual([['IsVideoReady', 'PollTask', 'RecordProgress', 'WaitBeforePoll']]);
    for (const gate of ['WaitBeforePoll', 'PollTask']) {
      const { [gate]: _removed, ...rest } = asl.States;
      expect(loopsOf({ ...asl, States: rest }), `a cycle avoids ${gate}`).toEqual([]);
    }
  });
});

describe('Catch', () => {
  const EXPECTED_CATCH: Record<string, { Next: string; ResultPath: string }> = {
    SubmitTask: { Next: 'DescribeFailure', ResultPath: '$.error' },
    RecordSubmitted: { Next: 'DescribeFailure', ResultPath: '$.error' },
    PollTask: { Next: 'DescribeFailure', ResultPath: '$.error' },
    RecordProgress: { Next: 'DescribeFailure', ResultPath: '$.error' },
    StoreVideo: { Next: 'DescribeFailure', ResultPath: '$.error' },
    RecordSucceeded: { Next: 'DescribeFailure', ResultPath: '$.error' },
    DescribeFailure: { Next: 'JobNotRecorded', ResultPath: '$.recordError' },
    RecordFailed: { Next: 'JobNotRecorded', ResultPath: '$.recordError' },
    RecordTimedOut: { Next: 'JobNotRecorded', ResultPath: '$.recordError' },
    // After a terminal write: never back into DescribeFailure, which would write the job again.
    AnnounceOutcome: { Next: 'JobNotAnnounced', ResultPath: '$.announceError' },
  };

  it('every Task state is in the table below: none is left without a Catch', () => {
    expect(taskStates().map(([name]) => name).sort()).toEqual(Object.keys(EXPECTED_CATCH).sort());
  });

  it.each(Object.entries(EXPECTED_CATCH))('%s catches States.ALL into %o, keeping the job input', (name, expected) => {
    expect(state(name).Catch).toEqual([{ ErrorEquals: ['States.ALL'], ...expected }]);
  });

  it('DescribeFailure reads the error where the catchers put it', () => {
    expect(state('DescribeFailure').Parameters).toEqual({ 'error.$': '$.error' });
    expect(state('DescribeFailure').ResultPath).toBe('$.failure');
  });
});

describe('Retry', () => {
  it('the error names in the ASL are the names the handlers throw', () => {
    expect(new ProviderUnavailableError('x').name).toBe('PROVIDER_UNAVAILABLE');
    expect(new ProviderBadResponseError('x').name).toBe('PROVIDER_BAD_RESPONSE');
    expect(new VideoCopyError('x').name).toBe('VIDEO_COPY_FAILED');
    expect(new SubmissionUncertainError('x').name).toBe('SUBMISSION_UNCERTAIN');
    expect(new DeadlineExceededError('x').name).toBe('DEADLINE_EXCEEDED');
    expect(new EventNotPublishedError('x').name).toBe('EVENT_NOT_PUBLISHED');
  });

  it('every retried custom error is one the handlers mark retryable, and every retryable one is retried', () => {
    const custom = taskStates()
      .flatMap(([, candidate]) => retriedErrors(candidate))
      .filter((error) => !/^(Lambda|DynamoDB|States)\./.test(error));
    expect(new EventNotPublishedError('x').retryable).toBe(true);
    expect(new Set(custom)).toEqual(new Set(RETRYABLE_ERROR_NAMES));
  });

  it('no retrier names States.ALL, a final error or an uncertain submission', () => {
    for (const [name, candidate] of taskStates()) {
      for (const error of NEVER_RETRIED) expect(retriedErrors(candidate), `${name} retries ${error}`).not.toContain(error);
    }
  });

  it('every retrier backs off within bounds; the ones we add also cap the delay and use full jitter', () => {
    for (const [name, candidate] of taskStates()) {
      for (const retrier of candidate.Retry ?? []) {
        expect(retrier.MaxAttempts, name).toBeGreaterThanOrEqual(1);
        expect(retrier.MaxAttempts, name).toBeLessThanOrEqual(10);
        expect(retrier.BackoffRate, name).toBeGreaterThanOrEqual(1.5);
        expect(retrier.IntervalSeconds, name).toBeGreaterThanOrEqual(1);
        const isCdkLambdaDefault = retrier.ErrorEquals.every((error) => error.startsWith('Lambda.'));
        if (!isCdkLambdaDefault) {
          expect(retrier.JitterStrategy, name).toBe('FULL');
          expect(retrier.MaxDelaySeconds, name).toBeGreaterThan(0);
          expect(retrier.MaxDelaySeconds, name).toBeLessThanOrEqual(120);
        }
      }
    }
  });

  it('SubmitTask retries only PROVIDER_UNAVAILABLE and Lambda refusing to run it: a blind retry could bill twice', () => {
    const submit = state('SubmitTask');
    expect(retriedErrors(submit).sort()).toEqual([...LAMBDA_SERVICE_ERRORS, 'PROVIDER_UNAVAILABLE', 'Lambda.TooManyRequestsException'].sort());
    // How AWS reports a function that timed out: the create may have been sent.
    expect(retrierFor(submit, 'Lambda.Unknown')).toBeUndefined();
    expect(retrierFor(submit, 'SUBMISSION_UNCERTAIN')).toBeUndefined();
    expect(retrierFor(submit, 'States.TaskFailed')).toBeUndefined();
    // A task timeout happens after the create was sent: as uncertain as SUBMISSION_UNCERTAIN.
    expect(retrierFor(submit, 'States.Timeout')).toBeUndefined();
    expect(retrierFor(submit, 'PROVIDER_UNAVAILABLE')).toMatchObject({ JitterStrategy: 'FULL' });
  });

  it('PollTask retries provider faults and its own timeouts (a poll only reads) with full jitter and a capped delay', () => {
    const poll = state('PollTask');
    const retried = ['PROVIDER_UNAVAILABLE', 'PROVIDER_BAD_RESPONSE', 'States.Timeout', 'Lambda.Unknown', 'Lambda.TooManyRequestsException'];
    expect(retriedErrors(poll).sort()).toEqual([...LAMBDA_SERVICE_ERRORS, ...retried].sort());
    for (const error of retried) {
      expect(retrierFor(poll, error), error).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
    }
    // A poll is read-only: its retries only need to fit inside its own task timeout.
    expect(poll.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('StoreVideo retries VIDEO_COPY_FAILED (a cut download is copied again) but not VIDEO_UNAVAILABLE', () => {
    const store = state('StoreVideo');
    expect(retrierFor(store, 'VIDEO_COPY_FAILED')).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
    expect(retriedErrors(store).sort()).toEqual(
      [...LAMBDA_SERVICE_ERRORS, 'VIDEO_COPY_FAILED', 'States.Timeout', 'Lambda.Unknown', 'Lambda.TooManyRequestsException'].sort(),
    );
    expect(retrierFor(store, 'VIDEO_UNAVAILABLE')).toBeUndefined();
  });

  it('DescribeFailure (a pure function) retries only Lambda faults, its timeout and throttling included', () => {
    expect(retriedErrors(state('DescribeFailure')).sort()).toEqual(
      [...LAMBDA_SERVICE_ERRORS, 'Lambda.Unknown', 'Lambda.TooManyRequestsException'].sort(),
    );
  });

  it('AnnounceOutcome retries a refused event, its own timeouts and throttling (an event published twice is harmless)', () => {
    const announce = state('AnnounceOutcome');
    const retried = ['States.Timeout', 'Lambda.Unknown', 'Lambda.TooManyRequestsException', 'EVENT_NOT_PUBLISHED'];
    expect(retriedErrors(announce).sort()).toEqual([...LAMBDA_SERVICE_ERRORS, ...retried].sort());
    for (const error of retried) {
      expect(retrierFor(announce, error), error).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
    }
  });

  it('every DynamoDB task retries throttling with jittered backoff, never a failed condition', () => {
    const dynamoTasks = taskStates().filter(([, candidate]) => isDynamoTask(candidate));
    expect(dynamoTasks.map(([name]) => name).sort()).toEqual(['RecordFailed', 'RecordProgress', 'RecordSubmitted', 'RecordSucceeded', 'RecordTimedOut']);
    for (const [name, candidate] of dynamoTasks) {
      for (const error of DYNAMODB_THROTTLING_ERRORS) {
        expect(retrierFor(candidate, error), `${name} ${error}`).toMatchObject({ JitterStrategy: 'FULL' });
      }
      expect(retrierFor(candidate, 'DynamoDB.ConditionalCheckFailedException'), name).toBeUndefined();
      expect(retriedErrors(candidate).every((error) => error.startsWith('DynamoDB.')), name).toBe(true);
    }
  });
});

interface UpdateItemParameters {
  TableName: string;
  Key: Record<string, unknown>;
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, { S?: string; N?: string; 'S.$'?: string; 'N.$'?: string; M?: unknown }>;
}

/** Splits an expression on a keyword at parenthesis depth 0. */
function splitTopLevel(expression: string, keyword: 'AND' | 'OR'): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  const separator = new RegExp(`^\\s${keyword}\\s`, 'i');
  for (let at = 0; at < expression.length; at += 1) {
    const char = expression[at];
    if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (depth === 0 && separator.test(expression.slice(at))) {
      parts.push(expression.slice(start, at).trim());
      start = at + keyword.length + 2;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

/**
 * The statuses a write's condition lets through. The condition must be `<status test> [AND …]` with no
 * top-level OR, so the other conjuncts can only narrow it; the status test is `#s = :v` or `#s IN (:a, :b…)`.
 */
function statusesAllowedBy(parameters: UpdateItemParameters): Set<string> {
  const condition = parameters.ConditionExpression ?? '';
  const statusName = Object.entries(parameters.ExpressionAttributeNames).find(([, attribute]) => attribute === 'status')?.[0];
  expect(statusName, 'the condition names the status attribute').toBeDefined();
  expect(splitTopLevel(condition, 'OR'), `top-level OR in ${condition}`).toHaveLength(1);
  const tests = splitTopLevel(condition, 'AND').filter((conjunct) => conjunct.startsWith(statusName!));
  expect(tests, condition).toHaveLength(1);
  const match = new RegExp(`^${statusName}\\s*(?:=\\s*(:\\w+)|IN\\s*\\(([^)]*)\\))$`).exec(tests[0]!);
  expect(match, tests[0]).not.toBeNull();
  const placeholders = match![1] ? [match![1]] : match![2]!.split(',').map((placeholder) => placeholder.trim());
  return new Set(
    placeholders.map((placeholder) => {
      const value = parameters.ExpressionAttributeValues[placeholder]?.S;
      expect(value, `${placeholder} must be a literal status`).toBeDefined();
      return value!;
    }),
  );
}

describe('DynamoDB writes', () => {
  const updates = () =>
    taskStates()
      .filter(([, candidate]) => isDynamoTask(candidate))
      .map(([name, candidate]) => [name, candidate.Parameters as unknown as UpdateItemParameters] as const);

  it('every write is a conditional UpdateItem of this job in the Jobs table, and keeps the state data', () => {
    for (const [name, parameters] of updates()) {
      expect(state(name).Resource, name).toBe('arn:aws:states:::dynamodb:updateItem');
      expect(parameters.TableName, name).toBe(definition.tableName);
      expect(parameters.Key, name).toEqual({ jobId: { 'S.$': '$.jobId' } });
      expect(parameters.ConditionExpression, name).toMatch(/\S/);
      expect(state(name).ResultPath, name).toBeNull();
    }
  });

  it('every placeholder is defined and every definition is used (DynamoDB rejects unused values)', () => {
    for (const [name, parameters] of updates()) {
      const expressions = `${parameters.UpdateExpression} ${parameters.ConditionExpression ?? ''}`;
      const usedValues = new Set(expressions.match(/:\w+/g));
      const usedNames = new Set(expressions.match(/#\w+/g));
      expect(usedValues, name).toEqual(new Set(Object.keys(parameters.ExpressionAttributeValues)));
      expect(usedNames, name).toEqual(new Set(Object.keys(parameters.ExpressionAttributeNames)));
    }
  });

  it('no write can touch a job in a terminal status', () => {
    for (const [name, parameters] of updates()) {
      const allowed = statusesAllowedBy(parameters);
      for (const terminal of TERMINAL_STATUSES) expect(allowed.has(terminal), `${name} may overwrite ${terminal}`).toBe(false);
      for (const status of allowed) expect(JOB_STATUSES, name).toContain(status);
    }
  });

  it.each([
    ['RecordSucceeded', 'SUCCEEDED'],
    ['RecordFailed', 'FAILED'],
    ['RecordTimedOut', 'TIMED_OUT'],
  ])('%s sets %s only from QUEUED/SUBMITTED/RUNNING', (name, status) => {
    const parameters = state(name).Parameters as unknown as UpdateItemParameters;
    const allowed = statusesAllowedBy(parameters);
    expect(allowed.size).toBeGreaterThan(0);
    for (const from of allowed) expect(ACTIVE_STATUSES).toContain(from);
    const target = /#status\s*=\s*(:\w+)/.exec(parameters.UpdateExpression)?.[1];
    expect(parameters.ExpressionAttributeValues[target!]).toEqual({ S: status });
  });

  it('a failure is recordable from any live status, including QUEUED (SubmitTask fails before RecordSubmitted)', () => {
    for (const name of ['RecordFailed', 'RecordTimedOut']) {
      expect(statusesAllowedBy(state(name).Parameters as unknown as UpdateItemParameters)).toEqual(new Set(ACTIVE_STATUSES));
    }
  });

  it('RecordSubmitted moves only QUEUED; RecordProgress only a live job, and progress never goes back', () => {
    expect(statusesAllowedBy(state('RecordSubmitted').Parameters as unknown as UpdateItemParameters)).toEqual(new Set(['QUEUED']));
    const progress = state('RecordProgress').Parameters as unknown as UpdateItemParameters;
    expect(statusesAllowedBy(progress)).toEqual(new Set(['SUBMITTED', 'RUNNING']));
    expect(progress.ConditionExpression).toMatch(/attribute_not_exists\(progress\)\s+OR\s+progress\s*<=\s*:progress/);
  });
});

describe('bounds', () => {
  /** Events in the execution history, counted conservatively (see each number). */
  const EVENTS = {
    execution: 2, // ExecutionStarted + ExecutionSucceeded/Failed
    task: 5, // StateEntered, (Lambda|Task)Scheduled, Started, Succeeded, StateExited
    other: 2, // StateEntered, StateExited (Wait, Choice, Fail, Pass)
    retry: 5, // a failed attempt (Scheduled, Started, Failed) and its retry, rounded up
  } as const;
  const HISTORY_LIMIT = 25_000;
  /** Stay 20 % under the hard limit. */
  const HISTORY_BUDGET = HISTORY_LIMIT * 0.8;
  const eventsOf = (candidate: AslState) => (candidate.Type === 'Task' ? EVENTS.task : EVENTS.other);

  const deadlineSeconds = () => Number(definition.functionEnvironment.JOB_DEADLINE_SECONDS);

  /**
   * The worst case: every iteration of the loop waits at least MIN_POLL_SECONDS while that much time is
   * left before the deadline, and at least 1 s in the last MIN_POLL_SECONDS; the poll after the deadline
   * throws DEADLINE_EXCEEDED. A state off the loop runs at most once. Every retrier is used up once.
   */
  function worstCaseHistoryEvents(forDeadlineSeconds: number) {
    const [loop] = loopsOf(asl);
    const iterations = Math.ceil(forDeadlineSeconds / MIN_POLL_SECONDS) + MIN_POLL_SECONDS + 1;
    const states = Object.entries(asl.States);
    const perIteration = states.filter(([name]) => loop!.has(name)).reduce((sum, [, candidate]) => sum + eventsOf(candidate), 0);
    const once = states.filter(([name]) => !loop!.has(name)).reduce((sum, [, candidate]) => sum + eventsOf(candidate), 0);
    const retries = states.reduce((sum, [, candidate]) => sum + maxRetries(candidate) * EVENTS.retry, 0);
    const offLoop = states.filter(([name]) => !loop!.has(name)).map(([name]) => name);
    return { iterations, perIteration, once, offLoop, retries, total: EVENTS.execution + once + iterations * perIteration + retries };
  }

  it('the execution times out at the job deadline (30 min by default) + 60 min', () => {
    expect(deadlineSeconds()).toBe(30 * 60);
    expect(asl.TimeoutSeconds).toBe(deadlineSeconds() + 60 * 60);
  });

  it('the execution timeout follows a configured deadline', () => {
    const custom = pipelineDefinitionFrom(synthesizePipelineTemplate({ jobDeadlineMinutes: 60 }));
    expect(custom.functionEnvironment.JOB_DEADLINE_SECONDS).toBe('3600');
    expect((custom.asl as unknown as Asl).TimeoutSeconds).toBe(3600 + 60 * 60);
  });

  it('the poll policy never waits less than MIN_POLL_SECONDS while that much time is left', () => {
    const shapes: RequestShape[] = [
      { duration: 2, resolution: '480p', generateAudio: false, media: 'text' },
      { duration: 12, resolution: '720p', generateAudio: true, media: 'video' },
    ];
    for (const shape of shapes) {
      for (const phase of ['submitted', 'queued', 'running'] as const) {
        for (let elapsedSeconds = 0; elapsedSeconds <= 2_000; elapsedSeconds += 7) {
          for (const remainingSeconds of [0.2, 1, 2.5, MIN_POLL_SECONDS, 10, 600]) {
            for (const random of [0, 0.5, 0.999]) {
              const wait = nextPollSeconds({ shape, elapsedSeconds, phase, progress: 99, remainingSeconds, random });
              expect(wait).toBeGreaterThanOrEqual(remainingSeconds >= MIN_POLL_SECONDS ? MIN_POLL_SECONDS : 1);
            }
          }
        }
      }
    }
  });

  it('the worst-case history stays well under the 25,000-event limit', () => {
    const { iterations, perIteration, total } = worstCaseHistoryEvents(deadlineSeconds());
    // 30 min / 3 s → ~600 polls of Wait + PollTask + IsVideoReady + RecordProgress.
    expect(iterations).toBe(Math.ceil(1800 / MIN_POLL_SECONDS) + MIN_POLL_SECONDS + 1);
    expect(perIteration).toBe(EVENTS.other + EVENTS.task + EVENTS.other + EVENTS.task);
    expect(total).toBeLessThan(HISTORY_BUDGET);
  });

  it('the worst case counts the announcement once, with every one of its retries', () => {
    const { once, offLoop, retries } = worstCaseHistoryEvents(deadlineSeconds());
    // The end of every execution: the announcement, the choice on it, and each state it may end in.
    expect(offLoop).toEqual(expect.arrayContaining(['AnnounceOutcome', 'HowDidItEnd', 'JobSucceeded', 'JobFailed', 'JobTimedOut', 'JobNotAnnounced']));
    expect(offLoop).toHaveLength(Object.keys(asl.States).length - 4);
    const taskCount = offLoop.filter((name) => state(name).Type === 'Task').length;
    expect(once).toBe(taskCount * EVENTS.task + (offLoop.length - taskCount) * EVENTS.other);
    // AnnounceOutcome's retriers: CDK's Lambda service errors (6) and ours (5).
    expect(maxRetries(state('AnnounceOutcome'))).toBe(6 + 5);
    expect(retries).toBe(Object.values(asl.States).reduce((sum, candidate) => sum + maxRetries(candidate), 0) * EVENTS.retry);
  });

  // Past the cap, a provider task that never finishes could drive the history past 25,000 events.
  it('the config rejects a deadline whose worst-case history passes the limit', () => {
    let safeMinutes = 1;
    while (worstCaseHistoryEvents((safeMinutes + 1) * 60).total < HISTORY_LIMIT) safeMinutes += 1;
    expect(() => pipelineConfigFrom((key) => (key === 'jobDeadlineMinutes' ? safeMinutes + 1 : undefined))).toThrow();
  });

  // An execution timeout skips every Catch: the margin must cover what can still run after the deadline.
  it('the margin after the deadline covers the worst case of the tasks that run after it', () => {
    /** DynamoDB tasks carry no TimeoutSeconds; assume a slow single call. */
    const DYNAMODB_CALL_SECONDS = 5;
    const worstSeconds = (name: string) => {
      const candidate = state(name);
      const attempt = candidate.TimeoutSeconds ?? DYNAMODB_CALL_SECONDS;
      // Lambda service errors come back fast: count only the retriers of slow failures (ours, throttling,
      // timeouts). Lambda.Unknown is a function that ran into its own timeout: slow, so it counts.
      const slow = (candidate.Retry ?? []).filter((retrier) => !retrier.ErrorEquals.every((error) => LAMBDA_SERVICE_ERRORS.includes(error)));
      const retries = maxRetries({ ...candidate, Retry: slow });
      return (1 + retries) * attempt + slow.reduce((sum, retrier) => sum + maxRetryDelaySeconds(retrier), 0);
    };
    // The poll at the deadline finds the video ready; the copy and its record then run, and may fail late;
    // the failure is recorded and announced. (Every path after the deadline is a sub-path of this one.)
    const path = ['PollTask', 'StoreVideo', 'RecordSucceeded', 'DescribeFailure', 'RecordFailed', 'AnnounceOutcome'];
    const afterDeadline = path.reduce((sum, name) => sum + worstSeconds(name), 0);
    // The announcement's share is real: its timeouts are retried (5 × 15 s and the backoff).
    expect(worstSeconds('AnnounceOutcome')).toBeGreaterThanOrEqual(6 * 15);
    expect(afterDeadline).toBeLessThanOrEqual(asl.TimeoutSeconds! - deadlineSeconds());
  });
});
