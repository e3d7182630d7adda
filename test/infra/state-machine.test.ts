import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import aslValidator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../../lambdas/core/describe-failure.js';
import * as handlerErrors from '../../lambdas/core/errors.js';
import {
  DeadlineExceededError,
  EventNotPublishedError,
  PipelineError,
  ProviderBadResponseError,
  ProviderUnavailableError,
  SubmissionUncertainError,
  VideoCopyError,
} from '../../lambdas/core/errors.js';
import { ACTIVE_STATUSES, JOB_STATUSES, TERMINAL_STATUSES, type RequestShape } from '../../lambdas/core/job.js';
import { MAX_POLL_SECONDS, MIN_POLL_SECONDS, nextPollSeconds, retryPollSeconds } from '../../lambdas/core/poll-policy.js';
import type { PollState } from '../../lambdas/core/poll-state.js';
import { pollTask } from '../../lambdas/core/poll-task.js';
import type { ProviderClient } from '../../lambdas/core/provider-client.js';
import {
  EXECUTION_MARGIN,
  FINAL_COPY_ERRORS,
  FINAL_POLL_ERRORS,
  MAX_JOB_DEADLINE_MINUTES,
  WORKFLOW_TASK_HANDLERS,
} from '../../lib/generation-workflow.js';
import { pipelineConfigFrom } from '../../lib/pipeline-config.js';
import { synthesizePipelineTemplate } from '../../local/cloud-assembly.js';
import { pipelineDefinitionFrom, type PipelineDefinition } from '../../local/pipeline-definition.js';
import {
  edgesOf,
  edgeText,
  isRetried,
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

  it('starts at IsResume and reaches every state', () => {
    expect(asl.StartAt).toBe('IsResume');
    expect([...reachableFrom(asl, asl.StartAt)].sort()).toEqual(Object.keys(asl.States).sort());
  });
});

describe('graph', () => {
  it('has exactly the designed edges, no more', () => {
    const expected = [
      // a new job is submitted; a resumed one (the sweeper's, with $.poll) goes straight back to polling
      'IsResume -choice-> WaitBeforePoll',
      'IsResume -default-> SubmitTask',
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

  it('IsResume sends an input that carries a poll state to WaitBeforePoll, and any other to SubmitTask', () => {
    expect(state('IsResume')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.poll', IsPresent: true, Next: 'WaitBeforePoll' }],
      Default: 'SubmitTask',
    });
    // $.poll is where SubmitTask and PollTask put the PollState, and what WaitBeforePoll and PollTask read.
    expect(state('SubmitTask').ResultPath).toBe('$.poll');
    expect(state('PollTask').Parameters).toMatchObject({ 'poll.$': '$.poll' });
  });

  it('a resumed execution never reaches SubmitTask: it polls the same provider task, no second one is created', () => {
    expect(reachableFrom(asl, 'WaitBeforePoll').has('SubmitTask')).toBe(false);
    expect(reachableFrom(asl, 'WaitBeforePoll').has('RecordSubmitted')).toBe(false);
    // …and a new job never skips the submission: the only way to the poll loop without $.poll is SubmitTask.
    const intoLoop = edgesOf(asl).filter((edge) => edge.to === 'WaitBeforePoll' && !['PollTask', 'IsVideoReady', 'RecordProgress'].includes(edge.from));
    expect(intoLoop.map(edgeText).sort()).toEqual(['IsResume -choice-> WaitBeforePoll', 'RecordSubmitted -next-> WaitBeforePoll']);
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

/** Every PipelineError subclass of lambdas/core/errors.ts, by the code it throws under (its Step Functions error name). */
const HANDLER_ERRORS: ReadonlyMap<string, { className: string; retryable: boolean }> = new Map(
  Object.entries(handlerErrors)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof PipelineError)
    .map(([className, value]) => {
      const ErrorClass = value as unknown as new (argument: unknown) => PipelineError;
      let error: PipelineError;
      try {
        error = new ErrorClass('x');
      } catch {
        error = new ErrorClass([]); // ValidationError takes its issues
      }
      if (error.name !== error.code) throw new Error(`${className} is thrown as ${error.name}, not its code ${error.code}`);
      return [error.code, { className, retryable: error.retryable }] as const;
    }),
);
const codeOfClass = (className: string) => [...HANDLER_ERRORS].find(([, error]) => error.className === className)?.[0];

const LAMBDAS_DIR = fileURLToPath(new URL('../../lambdas/', import.meta.url));

/**
 * The error codes a task's handler can throw: every PipelineError subclass constructed (`new XError(`)
 * in a module its handler file reaches through relative runtime imports. An over-approximation (a
 * module may hold code the task never calls), which the NOT_THROWN table below narrows, with reasons.
 */
function errorsThrownBy(handlerFile: string): Set<string> {
  const modules = new Set<string>();
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    const source = readFileSync(file, 'utf8');
    // `import … from './x.js'`, `export … from './x.js'`, `import './x.js'`, `import('./x.js')`
    for (const match of source.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^;]*?from\s+)?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      if (match[1]) continue; // type-only: erased, never loaded
      const target = resolve(dirname(file), (match[2] ?? match[3])!.replace(/\.js$/, '.ts'));
      if (existsSync(target)) visit(target);
    }
  };
  visit(`${LAMBDAS_DIR}${handlerFile}.ts`);
  const codes = new Set<string>();
  for (const file of modules) {
    for (const [, className] of readFileSync(file, 'utf8').matchAll(/\bnew\s+(\w+)\s*\(/g)) {
      const code = codeOfClass(className!);
      if (code) codes.add(code);
    }
  }
  return codes;
}

type TaskName = keyof typeof WORKFLOW_TASK_HANDLERS;
const TASK_NAMES = Object.keys(WORKFLOW_TASK_HANDLERS) as TaskName[];
let thrownBy: Record<TaskName, Set<string>>;
beforeAll(() => {
  thrownBy = Object.fromEntries(TASK_NAMES.map((task) => [task, errorsThrownBy(WORKFLOW_TASK_HANDLERS[task])])) as Record<TaskName, Set<string>>;
});

/** Errors a task's modules construct but the task itself cannot throw, and why (checked to stay true to the reach above). */
const NOT_THROWN: Partial<Record<TaskName, Record<string, string>>> = {
  SubmitTask: {
    PROVIDER_BAD_RESPONSE: 'only a get (a poll) reads a snapshot; an unreadable create answer is SUBMISSION_UNCERTAIN',
    PROVIDER_TASK_NOT_FOUND: 'only a get (a poll) looks a task up',
  },
  PollTask: { SUBMISSION_UNCERTAIN: 'only a create can leave a submission uncertain' },
  AnnounceOutcome: {
    VALIDATION_ERROR: "the repository's listing cursor; the announcement only reads one job",
    CONFLICT: "the repository's create; the announcement only reads one job",
  },
};
/** Retryable errors a task's handler absorbs instead of throwing: PollTask goes round the loop again with a backoff (lambdas/core/poll-task.ts). */
const ABSORBED: Partial<Record<TaskName, string[]>> = { PollTask: ['PROVIDER_UNAVAILABLE', 'PROVIDER_BAD_RESPONSE'] };
/** Retryable errors thrown outside the workflow: they never reach a task. */
const OUTSIDE_THE_WORKFLOW = {};
const throwable = (task: TaskName) => [...thrownBy[task]].filter((code) => !(code in (NOT_THROWN[task] ?? {})));

/**
 * The tasks that are safe to repeat whatever went wrong (lib's retryAllBut): after CDK's Lambda retrier,
 * one retrier lists the errors that repeating cannot fix (MaxAttempts 0), and a last one retries
 * everything else (States.ALL) with a capped, jittered backoff.
 */
const REPEATABLE: Record<string, { finals: string[]; attempts: number }> = {
  PollTask: {
    finals: ['DEADLINE_EXCEEDED', 'PROVIDER_AUTH_FAILED', 'PROVIDER_REJECTED', 'PROVIDER_TASK_FAILED', 'PROVIDER_TASK_NOT_FOUND', 'VIDEO_UNAVAILABLE'],
    attempts: 6,
  },
  StoreVideo: { finals: ['VIDEO_UNAVAILABLE'], attempts: 2 },
  AnnounceOutcome: { finals: [], attempts: 5 },
  DescribeFailure: { finals: [], attempts: 3 },
};
/** A failure of the function itself: a crash, its own timeout, the task timeout, throttling, an error nobody foresaw. */
const FUNCTION_FAULTS = ['States.Timeout', 'Lambda.Unknown', 'Lambda.TooManyRequestsException', 'States.TaskFailed', 'Runtime.ExitError', 'Error', 'TypeError'];
const isFinalRetrier = (retrier: { MaxAttempts?: number }) => retrier.MaxAttempts === 0;
const isCdkLambdaRetrier = (retrier: { ErrorEquals: string[] }) => retrier.ErrorEquals.every((error) => LAMBDA_SERVICE_ERRORS.includes(error));

describe('Retry', () => {
  it('the error names in the ASL are the names the handlers throw', () => {
    expect(new ProviderUnavailableError('x').name).toBe('PROVIDER_UNAVAILABLE');
    expect(new ProviderBadResponseError('x').name).toBe('PROVIDER_BAD_RESPONSE');
    expect(new VideoCopyError('x').name).toBe('VIDEO_COPY_FAILED');
    expect(new SubmissionUncertainError('x').name).toBe('SUBMISSION_UNCERTAIN');
    expect(new DeadlineExceededError('x').name).toBe('DEADLINE_EXCEEDED');
    expect(new EventNotPublishedError('x').name).toBe('EVENT_NOT_PUBLISHED');
    // Every custom name any retrier lists is the code of a handler error: a typo would never match.
    const custom = taskStates()
      .flatMap(([, candidate]) => retriedErrors(candidate))
      .filter((error) => !/^(Lambda|DynamoDB|States)\./.test(error));
    for (const error of custom) expect(HANDLER_ERRORS.has(error), error).toBe(true);
  });

  it('the reach of each task handler is what the NOT_THROWN and ABSORBED tables talk about (they cannot go stale)', () => {
    for (const task of TASK_NAMES) {
      for (const code of Object.keys(NOT_THROWN[task] ?? {})) expect(thrownBy[task], `${task} ${code}`).toContain(code);
      for (const code of ABSORBED[task] ?? []) expect(throwable(task), `${task} ${code}`).toContain(code);
    }
    // The reach is not empty where it must not be: the walk follows the handlers' imports.
    expect(throwable('PollTask')).toEqual(expect.arrayContaining(['DEADLINE_EXCEEDED', 'PROVIDER_UNAVAILABLE']));
    expect(throwable('StoreVideo')).toEqual(expect.arrayContaining(['VIDEO_COPY_FAILED', 'VIDEO_UNAVAILABLE']));
    expect(throwable('AnnounceOutcome')).toContain('EVENT_NOT_PUBLISHED');
    expect(throwable('SubmitTask')).toEqual(expect.arrayContaining(['PROVIDER_UNAVAILABLE', 'SUBMISSION_UNCERTAIN']));
  });

  it('every retryable error a task can throw is retried by that task or absorbed by its handler', () => {
    for (const task of TASK_NAMES) {
      for (const code of throwable(task).filter((candidate) => HANDLER_ERRORS.get(candidate)!.retryable)) {
        const absorbed = ABSORBED[task]?.includes(code) ?? false;
        expect(absorbed || isRetried(state(task), code), `${task} neither retries nor absorbs ${code}`).toBe(true);
      }
    }
    // Absorbed on a poll means the loop goes on: neither may end the job as a final error.
    for (const code of ABSORBED.PollTask!) expect(FINAL_POLL_ERRORS).not.toContain(code);
    // Every retryable error of errors.ts is thrown by some task, or never inside the workflow.
    const retryable = [...HANDLER_ERRORS].filter(([, error]) => error.retryable).map(([code]) => code);
    const inTasks = new Set(TASK_NAMES.flatMap(throwable));
    expect(retryable.filter((code) => !inTasks.has(code)).sort()).toEqual(Object.keys(OUTSIDE_THE_WORKFLOW).sort());
  });

  it.each(Object.entries(REPEATABLE))('%s: CDK’s Lambda retrier, its final errors (MaxAttempts 0), then States.ALL alone and last', (name, { finals, attempts }) => {
    const retriers = state(name).Retry ?? [];
    expect([...retriers[0]!.ErrorEquals].sort()).toEqual([...LAMBDA_SERVICE_ERRORS].sort());
    const last = retriers.at(-1)!;
    // ASL: States.ALL must appear alone in its ErrorEquals and in the last retrier.
    expect(last).toEqual({ ErrorEquals: ['States.ALL'], IntervalSeconds: expect.any(Number), MaxAttempts: attempts, BackoffRate: expect.any(Number), MaxDelaySeconds: expect.any(Number), JitterStrategy: 'FULL' });
    expect(retriers.slice(0, -1).flatMap((retrier) => retrier.ErrorEquals)).not.toContain('States.ALL');
    const finalRetriers = retriers.filter(isFinalRetrier);
    if (finals.length === 0) {
      expect(retriers).toHaveLength(2);
      expect(finalRetriers).toEqual([]);
    } else {
      expect(retriers).toHaveLength(3);
      // The final errors must come BEFORE States.ALL: Step Functions takes the first retrier that matches.
      expect(retriers[1]).toEqual({ ErrorEquals: expect.any(Array), MaxAttempts: 0 });
      expect([...retriers[1]!.ErrorEquals].sort()).toEqual([...finals].sort());
      for (const error of finals) expect(isRetried(state(name), error), `${name} retries ${error}`).toBe(false);
    }
    // Whatever else fails, the function itself included, is repeated by the States.ALL retrier.
    for (const error of FUNCTION_FAULTS) expect(retrierFor(state(name), error), `${name} ${error}`).toBe(last);
  });

  it('the final errors in the ASL are the ones lib exports (FINAL_POLL_ERRORS, FINAL_COPY_ERRORS)', () => {
    expect([...FINAL_POLL_ERRORS].sort()).toEqual(REPEATABLE.PollTask!.finals);
    expect([...FINAL_COPY_ERRORS].sort()).toEqual(REPEATABLE.StoreVideo!.finals);
  });

  it.each(Object.entries(REPEATABLE))('%s: each final error is a handler error that is not retryable, and every such error it can throw is final', (name, { finals }) => {
    for (const code of finals) {
      expect(HANDLER_ERRORS.get(code), `${code} is no PipelineError code of errors.ts`).toBeDefined();
      expect(HANDLER_ERRORS.get(code)!.retryable, `${code} is retryable`).toBe(false);
    }
    // A non-retryable error that is not listed would be repeated by States.ALL: a blind retry that cannot help.
    const notRetryable = throwable(name as TaskName).filter((code) => !HANDLER_ERRORS.get(code)!.retryable);
    expect(notRetryable.filter((code) => !finals.includes(code)), `${name} repeats these`).toEqual([]);
  });

  it('PollTask ends the job at once on a passed deadline or a failed task, and repeats a poll whose function failed', () => {
    const poll = state('PollTask');
    // Repeating a poll past the deadline, or of a task the provider failed, only delays the end.
    for (const error of ['DEADLINE_EXCEEDED', 'PROVIDER_TASK_FAILED', 'PROVIDER_TASK_NOT_FOUND', 'PROVIDER_AUTH_FAILED']) {
      expect(retrierFor(poll, error), error).toEqual(expect.objectContaining({ MaxAttempts: 0 }));
    }
    // Provider faults never end a job here: the handler absorbs them (and if one escaped, States.ALL would retry it).
    for (const error of ['PROVIDER_UNAVAILABLE', 'PROVIDER_BAD_RESPONSE']) expect(isRetried(poll, error), error).toBe(true);
    // A poll is read-only: its retries only need to fit inside its own task timeout.
    expect(poll.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('StoreVideo retries VIDEO_COPY_FAILED (a cut download is copied again) but never VIDEO_UNAVAILABLE', () => {
    const store = state('StoreVideo');
    expect(isRetried(store, 'VIDEO_COPY_FAILED')).toBe(true);
    expect(retrierFor(store, 'VIDEO_COPY_FAILED')).toMatchObject({ ErrorEquals: ['States.ALL'], JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
    expect(isRetried(store, 'VIDEO_UNAVAILABLE')).toBe(false);
  });

  it('AnnounceOutcome retries a refused event, its own timeouts and throttling (an event published twice is harmless)', () => {
    const announce = state('AnnounceOutcome');
    for (const error of ['EVENT_NOT_PUBLISHED', 'States.Timeout', 'Lambda.Unknown', 'Lambda.TooManyRequestsException']) {
      expect(isRetried(announce, error), error).toBe(true);
    }
  });

  it('SubmitTask retries only PROVIDER_UNAVAILABLE and Lambda refusing to run it: a blind retry could bill twice', () => {
    const submit = state('SubmitTask');
    expect(retriedErrors(submit).sort()).toEqual([...LAMBDA_SERVICE_ERRORS, 'PROVIDER_UNAVAILABLE', 'Lambda.TooManyRequestsException'].sort());
    // No wildcard: any error nobody foresaw may come after the create was sent.
    expect(retriedErrors(submit)).not.toContain('States.ALL');
    expect(retriedErrors(submit)).not.toContain('States.TaskFailed');
    // How AWS reports a function that timed out: the create may have been sent.
    expect(retrierFor(submit, 'Lambda.Unknown')).toBeUndefined();
    expect(retrierFor(submit, 'SUBMISSION_UNCERTAIN')).toBeUndefined();
    expect(retrierFor(submit, 'States.TaskFailed')).toBeUndefined();
    // A task timeout happens after the create was sent: as uncertain as SUBMISSION_UNCERTAIN.
    expect(retrierFor(submit, 'States.Timeout')).toBeUndefined();
    expect(retrierFor(submit, 'PROVIDER_UNAVAILABLE')).toMatchObject({ JitterStrategy: 'FULL' });
    expect(isRetried(submit, 'PROVIDER_UNAVAILABLE')).toBe(true);
    // Every non-retryable error a submit can throw ends it.
    for (const code of throwable('SubmitTask').filter((candidate) => !HANDLER_ERRORS.get(candidate)!.retryable)) {
      expect(isRetried(submit, code), code).toBe(false);
    }
  });

  it('States.ALL appears only as the last retrier of a repeatable task; States.TaskFailed nowhere', () => {
    for (const [name, candidate] of taskStates()) {
      const retriers = candidate.Retry ?? [];
      expect(retriedErrors(candidate), name).not.toContain('States.TaskFailed');
      const withAll = retriers.filter((retrier) => retrier.ErrorEquals.includes('States.ALL'));
      if (name in REPEATABLE) expect(withAll, name).toEqual([retriers.at(-1)]);
      else expect(withAll, name).toEqual([]);
    }
  });

  it('a task without States.ALL names no final error, no uncertain submission and no failed condition', () => {
    for (const [name, candidate] of taskStates().filter(([name]) => !(name in REPEATABLE))) {
      for (const error of NEVER_RETRIED) expect(isRetried(candidate, error), `${name} retries ${error}`).toBe(false);
    }
  });

  it('every retrier backs off within bounds; the ones we add also cap the delay and use full jitter', () => {
    for (const [name, candidate] of taskStates()) {
      const retriers = candidate.Retry ?? [];
      for (const [index, retrier] of retriers.entries()) {
        if (isFinalRetrier(retrier)) {
          // A stop, not a retry: only our own error codes, and before the wildcard it exempts them from.
          expect(retrier, name).toEqual({ ErrorEquals: expect.any(Array), MaxAttempts: 0 });
          for (const error of retrier.ErrorEquals) expect(HANDLER_ERRORS.has(error), `${name} ${error}`).toBe(true);
          expect(retriers.slice(index + 1).some((later) => later.ErrorEquals.includes('States.ALL')), name).toBe(true);
          continue;
        }
        expect(retrier.MaxAttempts, name).toBeGreaterThanOrEqual(1);
        expect(retrier.MaxAttempts, name).toBeLessThanOrEqual(10);
        expect(retrier.BackoffRate, name).toBeGreaterThanOrEqual(1.5);
        expect(retrier.IntervalSeconds, name).toBeGreaterThanOrEqual(1);
        if (!isCdkLambdaRetrier(retrier)) {
          expect(retrier.JitterStrategy, name).toBe('FULL');
          expect(retrier.MaxDelaySeconds, name).toBeGreaterThan(0);
          expect(retrier.MaxDelaySeconds, name).toBeLessThanOrEqual(120);
        }
      }
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

/** A provider whose every get fails the way a flaky gateway does (5xx, 429, timeout, unreadable answer). */
const failingProvider = (error: PipelineError): ProviderClient => ({
  createTask: () => Promise.reject(new Error('a poll never creates')),
  getTask: () => Promise.reject(error),
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
  const eventsOfStates = (names: Iterable<string>) => [...names].reduce((sum, name) => sum + eventsOf(state(name)), 0);

  const deadlineSeconds = () => Number(definition.functionEnvironment.JOB_DEADLINE_SECONDS);

  /** One turn of the loop after a poll the provider failed: the answer is unchanged, so IsVideoReady waits again (no RecordProgress). */
  const FAILED_POLL_CYCLE = ['WaitBeforePoll', 'PollTask', 'IsVideoReady'];

  /**
   * The smallest wait each policy can choose with `remainingSeconds` left before the deadline.
   * An answered poll: nextPollSeconds, at least MIN_POLL_SECONDS while that much is left, else 1 s (the
   * test "the poll policy never waits less than…" checks it). A failed poll: retryPollSeconds, its minimum
   * over every run of failures and the whole jitter range (it is monotone in the jitter, so 0 is covered).
   */
  const answeredPollFloor = (remainingSeconds: number) => (remainingSeconds >= MIN_POLL_SECONDS ? MIN_POLL_SECONDS : 1);
  const JITTERS = [0, 1e-9, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1 - 1e-9];
  const failedPollFloors = new Map<number, number>();
  const failedPollFloor = (remainingSeconds: number) => {
    let floor = failedPollFloors.get(remainingSeconds);
    if (floor === undefined) {
      floor = Number.POSITIVE_INFINITY;
      for (let failures = 1; failures <= 16; failures += 1) {
        for (const random of JITTERS) floor = Math.min(floor, retryPollSeconds(failures, remainingSeconds, random));
      }
      failedPollFloors.set(remainingSeconds, floor);
    }
    return floor;
  };

  /**
   * The worst case of the poll loop, in history events. Each turn is an answered poll (every state of
   * the loop, RecordProgress counted every time) or a failed one (FAILED_POLL_CYCLE), and waits at least
   * what its policy can choose with that much time left; the poll after the deadline throws
   * DEADLINE_EXCEEDED (and is counted as a whole turn). The sequence of turns that packs the most events
   * into the deadline is found exactly, second by second: `most[k]` is the most events with at most k
   * seconds left. (With r in (k-1, k] left, both policies see floor(r) ≥ k-1, and after a wait of w at
   * most k-w seconds are left.)
   */
  function worstCaseLoop(forDeadlineSeconds: number) {
    const [loop] = loopsOf(asl);
    const answered = { events: eventsOfStates(loop!), floor: answeredPollFloor };
    const failed = { events: eventsOfStates(FAILED_POLL_CYCLE), floor: failedPollFloor };
    const seconds = Math.ceil(forDeadlineSeconds);
    const most = [{ events: answered.events, iterations: 1 }];
    for (let k = 1; k <= seconds; k += 1) {
      const remaining = k - 0.5;
      let best = most[k - 1]!;
      for (const turn of [answered, failed]) {
        const wait = turn.floor(remaining);
        if (!(wait >= 1)) throw new Error(`a wait of ${wait} s with ${remaining} s left: the loop would not be bounded by time`);
        const rest = most[Math.max(0, k - wait)]!;
        if (turn.events + rest.events > best.events) best = { events: turn.events + rest.events, iterations: rest.iterations + 1 };
      }
      most.push(best);
    }
    return { ...most[seconds]!, answeredEvents: answered.events, failedEvents: failed.events };
  }

  /**
   * The worst case of an execution: the poll loop as above, every state off the loop once, and every
   * retrier used up once. (A retrier's count starts again each time its state is entered; the model
   * assumes the functions do not fail and recover on every turn of the loop.)
   */
  function worstCaseHistoryEvents(forDeadlineSeconds: number) {
    const [loop] = loopsOf(asl);
    const states = Object.entries(asl.States);
    const { events: loopEvents, iterations, answeredEvents, failedEvents } = worstCaseLoop(forDeadlineSeconds);
    const offLoop = states.filter(([name]) => !loop!.has(name)).map(([name]) => name);
    const once = eventsOfStates(offLoop);
    const retries = states.reduce((sum, [, candidate]) => sum + maxRetries(candidate) * EVENTS.retry, 0);
    return { iterations, loopEvents, answeredEvents, failedEvents, once, offLoop, retries, total: EVENTS.execution + once + loopEvents + retries };
  }

  it('the execution times out at the job deadline (30 min by default) + EXECUTION_MARGIN (at least an hour)', () => {
    expect(deadlineSeconds()).toBe(30 * 60);
    expect(EXECUTION_MARGIN.toSeconds()).toBeGreaterThanOrEqual(60 * 60);
    expect(asl.TimeoutSeconds).toBe(deadlineSeconds() + EXECUTION_MARGIN.toSeconds());
  });

  it('the execution timeout follows a configured deadline', () => {
    const custom = pipelineDefinitionFrom(synthesizePipelineTemplate({ jobDeadlineMinutes: 60 }));
    expect(custom.functionEnvironment.JOB_DEADLINE_SECONDS).toBe('3600');
    expect((custom.asl as unknown as Asl).TimeoutSeconds).toBe(3600 + EXECUTION_MARGIN.toSeconds());
  });

  it('the poll policy never waits less than MIN_POLL_SECONDS while that much time is left', () => {
    const shapes: RequestShape[] = [
      { duration: 2, resolution: '480p', generateAudio: false, media: 'text' },
      { duration: 12, resolution: '720p', generateAudio: true, media: 'video' },
    ];
    // What the provider may have said: nothing, still queued now, a start 30 s in with "30%", and a learned history.
    const told = (elapsedSeconds: number) => [
      { startedNotBeforeSeconds: 0, startReported: false },
      { startedNotBeforeSeconds: elapsedSeconds, startReported: false },
      { startedNotBeforeSeconds: Math.min(30, elapsedSeconds), startReported: true, progress: 30 },
      { startedNotBeforeSeconds: 0, startReported: false, history: { medianSeconds: 20, sigma: 0.15, samples: 50 } },
    ];
    for (const shape of shapes) {
      for (let elapsedSeconds = 0; elapsedSeconds <= 2_000; elapsedSeconds += 7) {
        for (const remainingSeconds of [0.2, 1, 2.5, MIN_POLL_SECONDS, 10, 600]) {
          for (const random of [0, 0.5, 0.999]) {
            for (const what of told(elapsedSeconds)) {
              const wait = nextPollSeconds({ shape, elapsedSeconds, ...what, remainingSeconds, random });
              expect(wait).toBeGreaterThanOrEqual(answeredPollFloor(remainingSeconds));
              expect(Number.isInteger(wait)).toBe(true);
            }
          }
        }
      }
    }
  });

  it('a poll the provider failed is one more turn of the loop: same task, nothing changed, a wait of at least 1 s', async () => {
    const shape: RequestShape = { duration: 5, resolution: '720p', generateAudio: true, media: 'text' };
    const now = new Date('2026-01-01T00:10:00Z');
    const previous: PollState = {
      providerTaskId: 'cgt-1',
      submittedAt: '2026-01-01T00:00:00Z',
      jobStatus: 'RUNNING',
      providerStatus: 'running',
      progress: 40,
      polls: 7,
      waitSeconds: 9,
      checkedAt: '2026-01-01T00:09:51Z',
      changed: true,
    };
    for (const error of [new ProviderUnavailableError('HTTP 503'), new ProviderBadResponseError('not JSON')]) {
      for (const [deadlineAt, random] of [['2026-01-01T00:30:00Z', 0], ['2026-01-01T00:10:00.400Z', 0.99]] as const) {
        const next = await pollTask({ jobId: 'job-1', shape, deadlineAt, poll: previous }, { provider: failingProvider(error), now: () => now, random: () => random });
        // IsVideoReady then sends it straight back to WaitBeforePoll: FAILED_POLL_CYCLE.
        expect(next, `${error.code} ${deadlineAt}`).toMatchObject({ providerTaskId: 'cgt-1', jobStatus: 'RUNNING', progress: 40, polls: 8, changed: false });
        expect(next.waitSeconds).toBeGreaterThanOrEqual(1);
      }
      // Past the deadline the loop ends: the catcher records the job TIMED_OUT.
      await expect(
        pollTask({ jobId: 'job-1', shape, deadlineAt: '2026-01-01T00:09:59Z', poll: previous }, { provider: failingProvider(error), now: () => now, random: () => 0 }),
      ).rejects.toMatchObject({ name: 'DEADLINE_EXCEEDED' });
    }
    expect(state('IsVideoReady').Default).toBe('WaitBeforePoll');
    expect(state('WaitBeforePoll').Next).toBe('PollTask');
    expect(state('PollTask').Next).toBe('IsVideoReady');
  });

  it('the failed-poll backoff waits whole seconds, at least 1 s and at most MAX_POLL_SECONDS, and never sleeps past the deadline by more than 1 s', () => {
    for (let failures = 1; failures <= 16; failures += 1) {
      for (const remainingSeconds of [0.2, 0.999, 1, 1.5, 2.5, 7, 59.9, 600, 3600]) {
        for (const random of JITTERS) {
          const wait = retryPollSeconds(failures, remainingSeconds, random);
          expect(Number.isInteger(wait)).toBe(true);
          expect(wait).toBeGreaterThanOrEqual(1);
          expect(wait).toBeLessThanOrEqual(MAX_POLL_SECONDS);
          expect(wait).toBeLessThanOrEqual(Math.max(1, remainingSeconds));
        }
      }
    }
  });

  it('the worst-case history stays well under the 25,000-event limit', () => {
    const { iterations, answeredEvents, failedEvents, total } = worstCaseHistoryEvents(deadlineSeconds());
    // A turn is Wait + PollTask + IsVideoReady, plus RecordProgress when the answer changed something.
    expect(answeredEvents).toBe(EVENTS.other + EVENTS.task + EVENTS.other + EVENTS.task);
    expect(failedEvents).toBe(EVENTS.other + EVENTS.task + EVENTS.other);
    // At least as many turns as answered polls every MIN_POLL_SECONDS: failed polls can only come faster.
    expect(iterations).toBeGreaterThanOrEqual(Math.ceil(deadlineSeconds() / MIN_POLL_SECONDS));
    expect(total, `${iterations} turns of the loop in ${deadlineSeconds()} s`).toBeLessThan(HISTORY_BUDGET);
  });

  it('the worst case counts the announcement once, with every one of its retries', () => {
    const { once, offLoop, retries } = worstCaseHistoryEvents(deadlineSeconds());
    // The start and the end of every execution: the resume choice, the announcement, the choice on it, each state it may end in.
    expect(offLoop).toEqual(expect.arrayContaining(['IsResume', 'AnnounceOutcome', 'HowDidItEnd', 'JobSucceeded', 'JobFailed', 'JobTimedOut', 'JobNotAnnounced']));
    expect(offLoop).toHaveLength(Object.keys(asl.States).length - 4);
    const taskCount = offLoop.filter((name) => state(name).Type === 'Task').length;
    expect(once).toBe(taskCount * EVENTS.task + (offLoop.length - taskCount) * EVENTS.other);
    // AnnounceOutcome's retriers: CDK's Lambda service errors (6) and ours (5).
    expect(maxRetries(state('AnnounceOutcome'))).toBe(6 + 5);
    // A final-errors retrier (MaxAttempts 0) adds no attempt: PollTask has CDK's 6 and States.ALL's 6.
    expect(maxRetries(state('PollTask'))).toBe(6 + 0 + 6);
    expect(retries).toBe(Object.values(asl.States).reduce((sum, candidate) => sum + maxRetries(candidate), 0) * EVENTS.retry);
  });

  // Past the cap, a provider task that never finishes (or a provider that keeps failing) could drive the
  // history past 25,000 events.
  it('the config rejects a deadline whose worst-case history passes the limit', () => {
    let safeMinutes = 0;
    while (safeMinutes < MAX_JOB_DEADLINE_MINUTES + 1 && worstCaseHistoryEvents((safeMinutes + 1) * 60).total < HISTORY_LIMIT) safeMinutes += 1;
    const atCap = worstCaseHistoryEvents(MAX_JOB_DEADLINE_MINUTES * 60);
    expect(
      MAX_JOB_DEADLINE_MINUTES,
      `at the ${MAX_JOB_DEADLINE_MINUTES}-minute cap the worst case is ${atCap.total} events (${atCap.iterations} turns of the loop); ` +
        `the longest deadline under ${HISTORY_LIMIT} is ${safeMinutes} min`,
    ).toBeLessThanOrEqual(safeMinutes);
    expect(() => pipelineConfigFrom((key) => (key === 'jobDeadlineMinutes' ? MAX_JOB_DEADLINE_MINUTES + 1 : undefined))).toThrow();
  });

  // An execution timeout skips every Catch: the margin must cover what can still run after the deadline.
  it('the margin after the deadline covers the worst case of the tasks that run after it', () => {
    /** DynamoDB tasks carry no TimeoutSeconds; assume a slow single call. */
    const DYNAMODB_CALL_SECONDS = 5;
    const worstSeconds = (name: string) => {
      const candidate = state(name);
      const attempt = candidate.TimeoutSeconds ?? DYNAMODB_CALL_SECONDS;
      // Every retrier used up once: each retry is an attempt and a backoff sleep (FULL jitter only shortens
      // it). Lambda service errors come back fast, so the attempts CDK's retrier repeats count 0 s, but its
      // sleeps (2, 4 … 64 s, no cap, no jitter) are real. Everything else (States.ALL: the function's own
      // timeouts included) counts as a whole attempt. A final-errors retrier (MaxAttempts 0) adds nothing.
      const retriers = candidate.Retry ?? [];
      const slowRetries = maxRetries({ ...candidate, Retry: retriers.filter((retrier) => !isCdkLambdaRetrier(retrier)) });
      return (1 + slowRetries) * attempt + retriers.reduce((sum, retrier) => sum + maxRetryDelaySeconds(retrier), 0);
    };
    // The longest a wait chosen before the deadline can run past it: both policies cap the wait at the time
    // left, but never below 1 s.
    let overshoot = 0;
    for (const remainingSeconds of [0.001, 0.5, 0.999, 1, 1.5, 2.999, 3, 10]) {
      for (const random of JITTERS) {
        overshoot = Math.max(overshoot, retryPollSeconds(3, remainingSeconds, random) - remainingSeconds);
        const shape: RequestShape = { duration: 5, resolution: '480p', generateAudio: false, media: 'text' };
        for (const startedNotBeforeSeconds of [0, 500]) {
          const context = { shape, elapsedSeconds: 500, startedNotBeforeSeconds, startReported: false, remainingSeconds, random };
          overshoot = Math.max(overshoot, nextPollSeconds(context) - remainingSeconds);
        }
      }
    }
    expect(overshoot).toBeLessThanOrEqual(1);
    // The last poll before the deadline answers a change just before it: RecordProgress runs after it, then
    // the wait, then the poll after the deadline finds the video ready; the copy and its record run and may
    // fail late; the failure is recorded and announced. (Every path after the deadline is a sub-path of this one.)
    const path = ['RecordProgress', 'PollTask', 'StoreVideo', 'RecordSucceeded', 'DescribeFailure', 'RecordFailed', 'AnnounceOutcome'];
    const shares = Object.fromEntries(path.map((name) => [name, worstSeconds(name)]));
    const afterDeadline = overshoot + path.reduce((sum, name) => sum + shares[name]!, 0);
    // The announcement's share is real: its timeouts are retried (5 × 15 s and the backoff).
    expect(worstSeconds('AnnounceOutcome')).toBeGreaterThanOrEqual(6 * 15);
    // The poll's share covers its own retries: 7 attempts of its task timeout.
    expect(worstSeconds('PollTask')).toBeGreaterThanOrEqual(7 * state('PollTask').TimeoutSeconds!);
    expect(afterDeadline, `seconds after the deadline: ${JSON.stringify({ wait: overshoot, ...shares })}`).toBeLessThanOrEqual(
      asl.TimeoutSeconds! - deadlineSeconds(),
    );
  });
});
