import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import aslValidator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../../runtime/workflow/describe-failure.js';
import * as handlerErrors from '../../runtime/domain/errors.js';
import {
  DeadlineExceededError,
  EventNotPublishedError,
  PipelineError,
  ProviderBadResponseError,
  ProviderBusyError,
  ProviderUnavailableError,
  SubmissionUncertainError,
  VideoCopyError,
} from '../../runtime/domain/errors.js';
import { ACTIVE_STATUSES, JOB_STATUSES, TERMINAL_STATUSES, type RequestShape } from '../../runtime/domain/job.js';
import { MAX_POLL_SECONDS, MIN_POLL_SECONDS, nextPollSeconds, retryPollSeconds } from '../../runtime/workflow/polling/poll-policy.js';
import type { PollState } from '../../runtime/workflow/polling/poll-state.js';
import { pollTask } from '../../runtime/workflow/poll-task.js';
import { shareDoneAtMostOf } from '../../runtime/provider/anyfast/provider-task.js';
import type { ProviderClient } from '../../runtime/provider/provider-client.js';
import {
  EXECUTION_MARGIN,
  FINAL_COPY_ERRORS,
  FINAL_POLL_ERRORS,
  LATE_POLL_SECONDS,
  LATE_WAIT_STATE,
  MAX_JOB_DEADLINE_MINUTES,
  MAX_LATE_FOLLOW_MINUTES,
  PROVIDER_BUSY_STATE,
  WAIT_STATE,
  WORKFLOW_TASK_HANDLERS,
  FREE_SLOT_STATES,
} from '../../infra/constructs/generation-workflow.js';
import { pipelineConfigFrom } from '../../infra/config.js';
import { synthesizePipelineTemplate } from '../../local/stack/cloud-assembly.js';
import { pipelineDefinitionFrom, type PipelineDefinition } from '../../local/stack/pipeline-definition.js';
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
} from '../../testkit/asl.js';

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
const LAMBDA_SERVICE_ERRORS = ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'];
const DYNAMODB_THROTTLING_ERRORS = ['DynamoDB.ProvisionedThroughputExceededException', 'DynamoDB.RequestLimitExceeded', 'DynamoDB.ThrottlingException'];
/**
 * Errors no retrier may name: they catch everything, or the failure is final, or a retry could bill
 * twice, or (PROVIDER_BUSY) only a free slot helps, and the admission line waits for one.
 */
const NEVER_RETRIED = [
  'States.ALL',
  'States.TaskFailed',
  'DynamoDB.ConditionalCheckFailedException',
  'SUBMISSION_UNCERTAIN',
  'PROVIDER_BUSY',
  'DEADLINE_EXCEEDED',
  'PROVIDER_TASK_FAILED',
  'PROVIDER_TASK_NOT_FOUND',
  'PROVIDER_REJECTED',
  'PROVIDER_AUTH_FAILED',
  'VIDEO_UNAVAILABLE',
  'VALIDATION_ERROR',
];

const isDynamoTask = (candidate: AslState) => candidate.Type === 'Task' && (candidate.Resource ?? '').startsWith('arn:aws:states:::dynamodb:');
const isEventsTask = (candidate: AslState) => candidate.Type === 'Task' && (candidate.Resource ?? '').startsWith('arn:aws:states:::events:');
const isFreeSlot = (name: string) => (FREE_SLOT_STATES as readonly string[]).includes(name);
const taskStates = () => Object.entries(asl.States).filter(([, candidate]) => candidate.Type === 'Task');

describe('definition', () => {
  it('passes asl-validator (schema, transitions, terminal states, paths, ARNs)', () => {
    const result = aslValidator(structuredClone(asl), { checkPaths: true, checkArn: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('stays in the subset the local engine runs: JSONPath, no Assign, no JSONata, and of the context only the execution’s name and the state machine’s id', () => {
    expect(asl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    const text = JSON.stringify(asl);
    expect(text).not.toContain('"Assign"');
    expect(text).not.toContain('{%');
    expect(new Set(text.match(/\$\$\.[A-Za-z.]+/g))).toEqual(new Set(['$$.Execution.Name', '$$.StateMachine.Id']));
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
      'IsVideoReady -choice-> FreeSlot',
      'FreeSlot -next-> StoreVideo',
      'IsVideoReady -choice-> RecordProgress',
      'IsVideoReady -default-> WaitBeforePoll',
      'RecordProgress -next-> WaitBeforePoll',
      'StoreVideo -next-> RecordSucceeded',
      'RecordSucceeded -next-> AnnounceOutcome',
      // the provider refused the create for its limit: the execution ends, the job goes back to the line
      'SubmitTask -catch-> ProviderBusy',
      // the deadline passed with the task unfinished: the job ends TIMED_OUT, announced, and the task is followed on
      'IsVideoReady -choice-> RecordOverdue',
      'RecordOverdue -next-> AnnounceOutcome',
      'HowDidItEnd -choice-> WaitBeforeLatePoll',
      'IsVideoReady -choice-> WaitBeforeLatePoll',
      'WaitBeforeLatePoll -next-> PollTask',
      // …until it ends: a late video is stored and attached to the TIMED_OUT job, or following it stops
      'IsVideoReady -choice-> LateTaskEnded',
      'IsVideoReady -choice-> FreeSlotOfLateTask',
      'FreeSlotOfLateTask -next-> StoreLateVideo',
      'StoreLateVideo -next-> RecordLateVideo',
      'RecordLateVideo -next-> AnnounceLateVideo',
      'AnnounceLateVideo -next-> LateVideoStored',
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
      'RecordOverdue -catch-> DescribeFailure',
      'StoreVideo -catch-> DescribeFailure',
      'RecordSucceeded -catch-> DescribeFailure',
      // …and the failure path itself into JobNotRecorded, never back into itself
      'DescribeFailure -catch-> JobNotRecorded',
      'RecordFailed -catch-> JobNotRecorded',
      'RecordTimedOut -catch-> JobNotRecorded',
      // …and an announcement that cannot be published into JobNotAnnounced (the job's record is already final)
      'AnnounceOutcome -catch-> JobNotAnnounced',
      // …and the late path, which works on a job already final, into LateVideoNotStored
      'StoreLateVideo -catch-> LateVideoNotStored',
      'RecordLateVideo -catch-> LateVideoNotStored',
      'AnnounceLateVideo -catch-> LateVideoNotStored',
      // a slot that cannot be freed early is freed when the execution ends: the video is copied either way
      'FreeSlot -catch-> StoreVideo',
      'FreeSlotOfLateTask -catch-> StoreLateVideo',
    ];
    expect(edgesOf(asl).map(edgeText).sort()).toEqual([...expected].sort());
  });

  it('IsResume sends an input that carries a poll state to WaitBeforePoll, and any other to SubmitTask', () => {
    expect(state('IsResume')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.poll', IsPresent: true, Next: WAIT_STATE }],
      Default: 'SubmitTask',
    });
    // $.poll is where SubmitTask and PollTask put the PollState, and what the waits and PollTask read.
    expect(state('SubmitTask').ResultPath).toBe('$.poll');
    expect(state('PollTask').Parameters).toMatchObject({ 'poll.$': '$.poll' });
  });

  it('a resumed execution never reaches SubmitTask: it polls the same provider task, no second one is created', () => {
    for (const wait of [WAIT_STATE, LATE_WAIT_STATE]) {
      expect(reachableFrom(asl, wait).has('SubmitTask'), wait).toBe(false);
      expect(reachableFrom(asl, wait).has('RecordSubmitted'), wait).toBe(false);
    }
    // …and a new job never skips the submission: from outside the loop, only the resume and RecordSubmitted
    // lead to a wait. HowDidItEnd's way back in needs $.poll.overdue, which only a poll answers.
    const inLoop = ['PollTask', 'IsVideoReady', 'RecordProgress', 'HowDidItEnd'];
    const intoWaits = edgesOf(asl).filter((edge) => [WAIT_STATE, LATE_WAIT_STATE].includes(edge.to) && !inLoop.includes(edge.from));
    expect(intoWaits.map(edgeText).sort()).toEqual(['IsResume -choice-> WaitBeforePoll', 'RecordSubmitted -next-> WaitBeforePoll']);
    expect(state('HowDidItEnd').Choices![0]).toEqual({ Variable: '$.poll.overdue', IsPresent: true, Next: LATE_WAIT_STATE });
  });

  // The order is the contract: a followed task that ended is done; a late SUCCEEDED must not take the
  // on-time path (RecordSucceeded would fail its condition on the TIMED_OUT job and end the execution
  // JOB_NOT_RECORDED); a late answer never writes progress to a job that has ended.
  it('IsVideoReady: following ended, late video, video, overdue, late wait, progress, and otherwise waits again', () => {
    expect(state('IsVideoReady')).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.poll.lateEnded', IsPresent: true, Next: 'LateTaskEnded' },
        {
          And: [
            { Variable: '$.poll.jobStatus', StringEquals: 'SUCCEEDED' },
            { Variable: '$.poll.late', IsPresent: true },
          ],
          Next: 'FreeSlotOfLateTask',
        },
        { Variable: '$.poll.jobStatus', StringEquals: 'SUCCEEDED', Next: 'FreeSlot' },
        { Variable: '$.poll.overdue', IsPresent: true, Next: 'RecordOverdue' },
        { Variable: '$.poll.late', IsPresent: true, Next: LATE_WAIT_STATE },
        { Variable: '$.poll.changed', BooleanEquals: true, Next: 'RecordProgress' },
      ],
      Default: WAIT_STATE,
    });
  });

  it('asks no Choice for a false IsPresent, IsNull, IsNumeric, IsString, IsBoolean or IsTimestamp: the local engine reads those as never true', () => {
    const negative = (rule: Record<string, unknown>): boolean =>
      ['IsPresent', 'IsNull', 'IsNumeric', 'IsString', 'IsBoolean', 'IsTimestamp'].some((test) => rule[test] === false) ||
      [
        ...((rule.And as Record<string, unknown>[] | undefined) ?? []),
        ...((rule.Or as Record<string, unknown>[] | undefined) ?? []),
        ...(rule.Not ? [rule.Not as Record<string, unknown>] : []),
      ].some(negative);
    const choices = Object.values(asl.States).flatMap((candidate) => (candidate as { Choices?: Record<string, unknown>[] }).Choices ?? []);
    expect(choices.length).toBeGreaterThan(0);
    expect(choices.filter(negative)).toEqual([]);
  });

  it('IsTimedOut sends a passed deadline to RecordTimedOut and anything else to RecordFailed', () => {
    expect(state('IsTimedOut')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.failure.status', StringEquals: 'TIMED_OUT', Next: 'RecordTimedOut' }],
      Default: 'RecordFailed',
    });
    // The lambda side of the same contract: a DEADLINE_EXCEEDED caught by a Catch is described as TIMED_OUT.
    const deadline = new DeadlineExceededError('late');
    expect(describeFailure({ Error: deadline.name, Cause: JSON.stringify({ errorMessage: 'late' }) }, new Date()).status).toBe('TIMED_OUT');
    expect(describeFailure({ Error: 'PROVIDER_TASK_FAILED' }, new Date()).status).toBe('FAILED');
  });

  it('ends only in its Succeed and Fail states, each Fail with its error name; no Task ends it', () => {
    expect(state('RecordSucceeded').End).toBeUndefined();
    expect(state('RecordSucceeded').Next).toBe('AnnounceOutcome');
    const ends = Object.entries(asl.States).filter(([, candidate]) => candidate.End || candidate.Type === 'Fail' || candidate.Type === 'Succeed');
    expect(ends.map(([name]) => name).sort()).toEqual(
      [
        'JobFailed',
        'JobNotAnnounced',
        'JobNotRecorded',
        'JobSucceeded',
        'JobTimedOut',
        'LateTaskEnded',
        'LateVideoNotStored',
        'LateVideoStored',
        PROVIDER_BUSY_STATE,
      ].sort(),
    );
    for (const name of ['JobSucceeded', 'LateTaskEnded', 'LateVideoStored', PROVIDER_BUSY_STATE]) expect(state(name), name).toEqual({ Type: 'Succeed' });
    expect(state('JobFailed')).toMatchObject({ Type: 'Fail', Error: 'JOB_FAILED' });
    expect(state('JobTimedOut')).toMatchObject({ Type: 'Fail', Error: 'JOB_TIMED_OUT' });
    expect(state('JobNotRecorded')).toMatchObject({ Type: 'Fail', Error: 'JOB_NOT_RECORDED' });
    expect(state('JobNotAnnounced')).toMatchObject({ Type: 'Fail', Error: 'JOB_NOT_ANNOUNCED' });
    expect(state('LateVideoNotStored')).toMatchObject({ Type: 'Fail', Error: 'LATE_VIDEO_NOT_STORED' });
  });

  // runtime/admission/execution-ended.ts reads an execution that SUCCEEDED with its job still QUEUED as the
  // provider's refusal and puts the job back at the front of the line: no other way may end so.
  it('ProviderBusy is the only Succeed a new job reaches before a write moves it out of QUEUED', () => {
    const statusWriters = taskStates()
      .filter(([, candidate]) => isDynamoTask(candidate) && /#status\s*=/.test((candidate.Parameters as unknown as UpdateItemParameters).UpdateExpression))
      .map(([name]) => name);
    expect(statusWriters).toEqual(expect.arrayContaining(['RecordSubmitted', 'RecordFailed', 'RecordTimedOut']));
    const unwritten = Object.fromEntries(Object.entries(asl.States).filter(([name]) => !statusWriters.includes(name)));
    const reachable = reachableFrom({ ...asl, States: unwritten }, 'SubmitTask');
    expect([...reachable].filter((name) => asl.States[name]?.Type === 'Succeed')).toEqual([PROVIDER_BUSY_STATE]);
    // A resumed execution starts past RecordSubmitted (its job is SUBMITTED or RUNNING) and cannot reach it.
    expect(reachableFrom(asl, WAIT_STATE).has(PROVIDER_BUSY_STATE)).toBe(false);
  });

  it('AnnounceOutcome is told only the jobId and keeps the job input, putting its answer at $.announced', () => {
    expect(state('AnnounceOutcome')).toMatchObject({
      Type: 'Task',
      Parameters: { 'jobId.$': '$.jobId' },
      ResultPath: '$.announced',
      Next: 'HowDidItEnd',
    });
    expect(state('AnnounceOutcome').Parameters).toEqual({ 'jobId.$': '$.jobId' });
    expect(state('AnnounceOutcome').TimeoutSeconds).toBeGreaterThan(0);
    // Every terminal writer, and nothing else, leads to the announcement.
    const into = edgesOf(asl).filter((edge) => edge.to === 'AnnounceOutcome');
    expect(into.map(edgeText).sort()).toEqual([
      'RecordFailed -next-> AnnounceOutcome',
      'RecordOverdue -next-> AnnounceOutcome',
      'RecordSucceeded -next-> AnnounceOutcome',
      'RecordTimedOut -next-> AnnounceOutcome',
    ]);
  });

  it('HowDidItEnd follows an overdue task on; otherwise it ends the execution as the job ended', () => {
    expect(state('HowDidItEnd')).toEqual({
      Type: 'Choice',
      Choices: [
        // RecordOverdue's announcement (or, should RecordOverdue fail, RecordTimedOut's): the task still runs.
        { Variable: '$.poll.overdue', IsPresent: true, Next: LATE_WAIT_STATE },
        { Variable: '$.announced.status', StringEquals: 'SUCCEEDED', Next: 'JobSucceeded' },
        { Variable: '$.announced.status', StringEquals: 'TIMED_OUT', Next: 'JobTimedOut' },
      ],
      Default: 'JobFailed',
    });
  });

  it('WaitBeforePoll waits the adaptive time the last poll chose ($.poll.waitSeconds)', () => {
    expect(state(WAIT_STATE)).toEqual({ Type: 'Wait', SecondsPath: '$.poll.waitSeconds', Next: 'PollTask' });
    // Both writers of $.poll put the PollState there, so the path resolves on every iteration.
    expect(state('SubmitTask').ResultPath).toBe('$.poll');
    expect(state('PollTask').ResultPath).toBe('$.poll');
  });

  it('WaitBeforeLatePoll waits a fixed LATE_POLL_SECONDS, never shorter than the longest wait the poll policy chooses', () => {
    expect(state(LATE_WAIT_STATE)).toEqual({ Type: 'Wait', Seconds: LATE_POLL_SECONDS, Next: 'PollTask' });
    expect(LATE_POLL_SECONDS).toBeGreaterThanOrEqual(MAX_POLL_SECONDS);
  });

  // As a graph, every way to the announcement is in the loop: HowDidItEnd looks only at $.poll.overdue,
  // so a failure recorded after RecordOverdue failed is followed on too. Every way round but the poll
  // turns passes the announcement, which comes after a write of a live job, so it runs once (see bounds).
  it('has one loop, and every cycle passes PollTask (which enforces the deadline and the late-follow window) and a wait', () => {
    const loops = loopsOf(asl);
    expect(loops.map((loop) => [...loop].sort())).toEqual([
      [
        'AnnounceOutcome',
        'DescribeFailure',
        'FreeSlot',
        'HowDidItEnd',
        'IsTimedOut',
        'IsVideoReady',
        'PollTask',
        'RecordFailed',
        'RecordOverdue',
        'RecordProgress',
        'RecordSucceeded',
        'RecordTimedOut',
        'StoreVideo',
        LATE_WAIT_STATE,
        WAIT_STATE,
      ].sort(),
    ]);
    const without = (names: string[]) => ({ ...asl, States: Object.fromEntries(Object.entries(asl.States).filter(([name]) => !names.includes(name))) });
    expect(loopsOf(without(['PollTask'])), 'a cycle avoids PollTask').toEqual([]);
    expect(loopsOf(without([WAIT_STATE, LATE_WAIT_STATE])), 'a cycle avoids both waits').toEqual([]);
    expect(loopsOf(without(['AnnounceOutcome'])).map((loop) => [...loop].sort())).toEqual([
      ['IsVideoReady', 'PollTask', 'RecordProgress', LATE_WAIT_STATE, WAIT_STATE].sort(),
    ]);
    // The cycles through the late wait alone never pass RecordProgress: a late answer writes nothing to the ended job.
    expect(loopsOf(without(['AnnounceOutcome', WAIT_STATE])).map((loop) => [...loop].sort())).toEqual([['IsVideoReady', 'PollTask', LATE_WAIT_STATE].sort()]);
  });

  it('the late path only attaches a video to the job and announces it: nothing on it can reach a status write', () => {
    expect([...reachableFrom(asl, 'StoreLateVideo')].sort()).toEqual(
      ['AnnounceLateVideo', 'LateVideoNotStored', 'LateVideoStored', 'RecordLateVideo', 'StoreLateVideo'].sort(),
    );
    // The same copy as StoreVideo: same function, input, result, timeout and retries.
    const { Next: _storeNext, Catch: _storeCatch, ...store } = state('StoreVideo');
    const { Next: _lateNext, Catch: _lateCatch, ...storeLate } = state('StoreLateVideo');
    expect(storeLate).toEqual(store);
    // The same announcer, told that the video came late (runtime/workflow/announce-outcome.ts: its own marker and event).
    expect(state('AnnounceLateVideo')).toMatchObject({
      Type: 'Task',
      Resource: state('AnnounceOutcome').Resource,
      TimeoutSeconds: state('AnnounceOutcome').TimeoutSeconds,
      ResultPath: '$.announced',
      Next: 'LateVideoStored',
    });
    expect(state('AnnounceLateVideo').Parameters).toEqual({ 'jobId.$': '$.jobId', lateVideo: true });
    expect(state('AnnounceLateVideo').Retry).toEqual(state('AnnounceOutcome').Retry);
  });
});

describe('Catch', () => {
  const EXPECTED_CATCH: Record<string, { Next: string; ResultPath: string }> = {
    RecordSubmitted: { Next: 'DescribeFailure', ResultPath: '$.error' },
    PollTask: { Next: 'DescribeFailure', ResultPath: '$.error' },
    RecordProgress: { Next: 'DescribeFailure', ResultPath: '$.error' },
    RecordOverdue: { Next: 'DescribeFailure', ResultPath: '$.error' },
    StoreVideo: { Next: 'DescribeFailure', ResultPath: '$.error' },
    RecordSucceeded: { Next: 'DescribeFailure', ResultPath: '$.error' },
    DescribeFailure: { Next: 'JobNotRecorded', ResultPath: '$.recordError' },
    RecordFailed: { Next: 'JobNotRecorded', ResultPath: '$.recordError' },
    RecordTimedOut: { Next: 'JobNotRecorded', ResultPath: '$.recordError' },
    // After a terminal write: never back into DescribeFailure, which would write the job again.
    AnnounceOutcome: { Next: 'JobNotAnnounced', ResultPath: '$.announceError' },
    // The job ended TIMED_OUT already: DescribeFailure's writes would fail their condition and hide why.
    StoreLateVideo: { Next: 'LateVideoNotStored', ResultPath: '$.lateError' },
    RecordLateVideo: { Next: 'LateVideoNotStored', ResultPath: '$.lateError' },
    AnnounceLateVideo: { Next: 'LateVideoNotStored', ResultPath: '$.lateError' },
    // A slot not freed early is freed at the end of the execution: the video is copied either way.
    FreeSlot: { Next: 'StoreVideo', ResultPath: '$.slotNotFreed' },
    FreeSlotOfLateTask: { Next: 'StoreLateVideo', ResultPath: '$.slotNotFreed' },
  };

  it('every Task state is in the table below or is SubmitTask: none is left without a Catch', () => {
    expect(
      taskStates()
        .map(([name]) => name)
        .sort(),
    ).toEqual([...Object.keys(EXPECTED_CATCH), 'SubmitTask'].sort());
  });

  it.each(Object.entries(EXPECTED_CATCH))('%s catches States.ALL into %o, keeping the job input', (name, expected) => {
    expect(state(name).Catch).toEqual([{ ErrorEquals: ['States.ALL'], ...expected }]);
  });

  // Step Functions takes the first catcher that matches: after States.ALL, PROVIDER_BUSY would fail the job.
  it('SubmitTask catches PROVIDER_BUSY into ProviderBusy first, then States.ALL into DescribeFailure', () => {
    expect(state('SubmitTask').Catch).toEqual([
      { ErrorEquals: ['PROVIDER_BUSY'], ResultPath: '$.busy', Next: PROVIDER_BUSY_STATE },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DescribeFailure' },
    ]);
    expect(new ProviderBusyError('x').name).toBe('PROVIDER_BUSY');
  });

  it('no catcher but the last names States.ALL, and every catcher keeps the job input (a ResultPath under $)', () => {
    for (const [name, candidate] of taskStates()) {
      const catchers = candidate.Catch ?? [];
      expect(
        catchers.slice(0, -1).flatMap((catcher) => catcher.ErrorEquals),
        name,
      ).not.toContain('States.ALL');
      expect(catchers.at(-1)?.ErrorEquals, name).toEqual(['States.ALL']);
      for (const catcher of catchers) expect(catcher.ResultPath, name).toMatch(/^\$\.\w+$/);
    }
  });

  it('DescribeFailure reads the error where the catchers put it', () => {
    expect(state('DescribeFailure').Parameters).toEqual({ 'error.$': '$.error' });
    expect(state('DescribeFailure').ResultPath).toBe('$.failure');
  });
});

/** Every PipelineError subclass of runtime/domain/errors.ts, by the code it throws under (its Step Functions error name). */
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

const HANDLERS_DIR = fileURLToPath(new URL('../../runtime/handlers/', import.meta.url));

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
    for (const match of source.matchAll(
      /^\s*(?:import|export)\s+(type\s+)?(?:[^;]*?from\s+)?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]/gm,
    )) {
      if (match[1]) continue; // type-only: erased, never loaded
      const target = resolve(dirname(file), (match[2] ?? match[3])!.replace(/\.js$/, '.ts'));
      if (existsSync(target)) visit(target);
    }
  };
  visit(`${HANDLERS_DIR}${handlerFile}.ts`);
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
/** The Lambda task states that run another state's function (checked against the ASL's Resource below). */
const RUNS_FUNCTION_OF: Record<string, TaskName> = { StoreLateVideo: 'StoreVideo', AnnounceLateVideo: 'AnnounceOutcome' };
const functionOf = (stateName: string): TaskName => RUNS_FUNCTION_OF[stateName] ?? (stateName as TaskName);
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
  PollTask: {
    SUBMISSION_UNCERTAIN: 'only a create can leave a submission uncertain',
    PROVIDER_BUSY: "only a create is refused for the provider's limit; a get answered 429 is PROVIDER_UNAVAILABLE",
    DEADLINE_EXCEEDED: 'made only for its code: a passed deadline is answered as $.poll.overdue, never thrown (runtime/workflow/poll-task.ts)',
  },
  AnnounceOutcome: {
    VALIDATION_ERROR: "the repository's listing cursor; the announcement only reads one job",
    CONFLICT: "the repository's create; the announcement only reads one job",
  },
};
/**
 * Retryable errors a task's handler absorbs instead of throwing: PollTask goes round the loop again with a backoff
 * (runtime/workflow/poll-task.ts); SubmitTask and PollTask log a `Job Started`/`Job Progress` event they could not
 * publish (runtime/handlers/submit-task.ts, poll-task.ts): a webhook event must not fail the job.
 */
const ABSORBED: Partial<Record<TaskName, string[]>> = {
  PollTask: ['PROVIDER_UNAVAILABLE', 'PROVIDER_BAD_RESPONSE', 'EVENT_NOT_PUBLISHED'],
  SubmitTask: ['EVENT_NOT_PUBLISHED'],
};
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
  StoreLateVideo: { finals: ['VIDEO_UNAVAILABLE'], attempts: 2 },
  AnnounceOutcome: { finals: [], attempts: 5 },
  AnnounceLateVideo: { finals: [], attempts: 5 },
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
    expect(throwable('PollTask')).toEqual(expect.arrayContaining(['PROVIDER_TASK_FAILED', 'PROVIDER_UNAVAILABLE']));
    expect(throwable('PollTask')).not.toContain('DEADLINE_EXCEEDED');
    expect(throwable('StoreVideo')).toEqual(expect.arrayContaining(['VIDEO_COPY_FAILED', 'VIDEO_UNAVAILABLE']));
    expect(throwable('AnnounceOutcome')).toContain('EVENT_NOT_PUBLISHED');
    expect(throwable('SubmitTask')).toEqual(expect.arrayContaining(['PROVIDER_UNAVAILABLE', 'SUBMISSION_UNCERTAIN', 'PROVIDER_BUSY']));
  });

  it('a task state that runs another state’s function runs exactly that function', () => {
    for (const [name, task] of Object.entries(RUNS_FUNCTION_OF)) expect(state(name).Resource, name).toBe(state(task).Resource);
    // Every other Lambda task state runs a function of its own.
    const lambdaStates = taskStates().filter(([, candidate]) => !isDynamoTask(candidate) && !isEventsTask(candidate));
    const own = lambdaStates.filter(([name]) => !(name in RUNS_FUNCTION_OF));
    expect(own.map(([name]) => name).sort()).toEqual([...TASK_NAMES].sort());
    expect(new Set(own.map(([, candidate]) => candidate.Resource)).size).toBe(TASK_NAMES.length);
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

  it.each(Object.entries(REPEATABLE))(
    '%s: CDK’s Lambda retrier, its final errors (MaxAttempts 0), then States.ALL alone and last',
    (name, { finals, attempts }) => {
      const retriers = state(name).Retry ?? [];
      expect([...retriers[0]!.ErrorEquals].sort()).toEqual([...LAMBDA_SERVICE_ERRORS].sort());
      const last = retriers.at(-1)!;
      // ASL: States.ALL must appear alone in its ErrorEquals and in the last retrier.
      expect(last).toEqual({
        ErrorEquals: ['States.ALL'],
        IntervalSeconds: expect.any(Number),
        MaxAttempts: attempts,
        BackoffRate: expect.any(Number),
        MaxDelaySeconds: expect.any(Number),
        JitterStrategy: 'FULL',
      });
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
    },
  );

  it('the final errors in the ASL are the ones lib exports (FINAL_POLL_ERRORS, FINAL_COPY_ERRORS)', () => {
    expect([...FINAL_POLL_ERRORS].sort()).toEqual(REPEATABLE.PollTask!.finals);
    expect([...FINAL_COPY_ERRORS].sort()).toEqual(REPEATABLE.StoreVideo!.finals);
  });

  it.each(Object.entries(REPEATABLE))(
    '%s: each final error is a handler error that is not retryable, and every such error it can throw is final',
    (name, { finals }) => {
      for (const code of finals) {
        expect(HANDLER_ERRORS.get(code), `${code} is no PipelineError code of errors.ts`).toBeDefined();
        expect(HANDLER_ERRORS.get(code)!.retryable, `${code} is retryable`).toBe(false);
      }
      // A non-retryable error that is not listed would be repeated by States.ALL: a blind retry that cannot help.
      const notRetryable = throwable(functionOf(name)).filter((code) => !HANDLER_ERRORS.get(code)!.retryable);
      expect(
        notRetryable.filter((code) => !finals.includes(code)),
        `${name} repeats these`,
      ).toEqual([]);
    },
  );

  it('PollTask ends the job at once on a failed or lost task, and repeats a poll whose function failed', () => {
    const poll = state('PollTask');
    // Repeating a poll of a task the provider failed or forgot only delays the end. A passed deadline is
    // answered, not thrown ($.poll.overdue); should a DEADLINE_EXCEEDED ever be thrown, it ends the job too.
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

  // A refusal for the provider's limit made no task. Retrying it at once would only be refused again:
  // the job waits for a slot in the admission line instead (runtime/admission/execution-ended.ts).
  it('SubmitTask never retries PROVIDER_BUSY: it is not retryable, and its catcher ends the execution at ProviderBusy', () => {
    expect(HANDLER_ERRORS.get('PROVIDER_BUSY')).toEqual({ className: 'ProviderBusyError', retryable: false });
    expect(retrierFor(state('SubmitTask'), 'PROVIDER_BUSY')).toBeUndefined();
    expect(state('SubmitTask').Catch![0]).toMatchObject({ ErrorEquals: ['PROVIDER_BUSY'], Next: PROVIDER_BUSY_STATE });
  });

  it('States.ALL appears only as the last retrier of a repeatable task; States.TaskFailed nowhere', () => {
    for (const [name, candidate] of taskStates()) {
      const retriers = candidate.Retry ?? [];
      expect(retriedErrors(candidate), name).not.toContain('States.TaskFailed');
      const withAll = retriers.filter((retrier) => retrier.ErrorEquals.includes('States.ALL'));
      if (name in REPEATABLE || isFreeSlot(name)) expect(withAll, name).toEqual([retriers.at(-1)]);
      else expect(withAll, name).toEqual([]);
    }
  });

  // Putting the event again only repeats a conditional release: whatever failed, trying again is safe.
  it('the FreeSlot states put one event, retry anything three times with a capped, jittered backoff, and keep the job input', () => {
    for (const name of FREE_SLOT_STATES) {
      expect(state(name), name).toMatchObject({ Type: 'Task', Resource: 'arn:aws:states:::events:putEvents', ResultPath: null });
      expect(state(name).Retry, name).toEqual([
        { ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: 'FULL' },
      ]);
    }
  });

  it('a task without States.ALL names no final error, no uncertain submission and no failed condition', () => {
    for (const [name, candidate] of taskStates().filter(([name]) => !(name in REPEATABLE) && !isFreeSlot(name))) {
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
          expect(
            retriers.slice(index + 1).some((later) => later.ErrorEquals.includes('States.ALL')),
            name,
          ).toBe(true);
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
    expect(dynamoTasks.map(([name]) => name).sort()).toEqual(
      ['RecordFailed', 'RecordLateVideo', 'RecordOverdue', 'RecordProgress', 'RecordSubmitted', 'RecordSucceeded', 'RecordTimedOut'].sort(),
    );
    for (const [name, candidate] of dynamoTasks) {
      for (const error of DYNAMODB_THROTTLING_ERRORS) {
        expect(retrierFor(candidate, error), `${name} ${error}`).toMatchObject({ JitterStrategy: 'FULL' });
      }
      expect(retrierFor(candidate, 'DynamoDB.ConditionalCheckFailedException'), name).toBeUndefined();
      expect(
        retriedErrors(candidate).every((error) => error.startsWith('DynamoDB.')),
        name,
      ).toBe(true);
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

/**
 * What an update writes: `SET a = :x, #b = :y` as { a: ':x', b: ':y' } (names resolved). Only plain
 * SET clauses are accepted, so a REMOVE, ADD or DELETE (or a function call) fails the parse.
 */
function attributesSetBy(parameters: UpdateItemParameters): Record<string, string> {
  const match = /^SET\s+(.+)$/.exec(parameters.UpdateExpression.trim());
  expect(match, parameters.UpdateExpression).not.toBeNull();
  return Object.fromEntries(
    match![1]!.split(',').map((clause) => {
      const assignment = /^\s*(#?\w+)\s*=\s*(:\w+)\s*$/.exec(clause);
      expect(assignment, `${clause} in ${parameters.UpdateExpression}`).not.toBeNull();
      const [, attribute, value] = assignment!;
      return [attribute!.startsWith('#') ? parameters.ExpressionAttributeNames[attribute!]! : attribute!, value!];
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

  it('no write can touch a job in a terminal status, but RecordLateVideo, which only attaches a late video', () => {
    const touchingTerminal: string[] = [];
    for (const [name, parameters] of updates()) {
      const allowed = statusesAllowedBy(parameters);
      for (const status of allowed) expect(JOB_STATUSES, name).toContain(status);
      if (TERMINAL_STATUSES.some((terminal) => allowed.has(terminal))) touchingTerminal.push(name);
    }
    expect(touchingTerminal).toEqual(['RecordLateVideo']);
  });

  // A terminal job is never moved: the one write a terminal job may receive changes neither its status
  // nor its error nor when it ended, and attaches an output only to a TIMED_OUT job that has none.
  it('RecordLateVideo attaches the output (and when it came) only to a TIMED_OUT job without one, and moves nothing', () => {
    const parameters = state('RecordLateVideo').Parameters as unknown as UpdateItemParameters;
    expect(parameters.ConditionExpression).toBe('#status = :timedOut AND attribute_not_exists(#output)');
    expect(parameters.ExpressionAttributeNames).toEqual({ '#status': 'status', '#output': 'output' });
    expect(statusesAllowedBy(parameters)).toEqual(new Set(['TIMED_OUT']));
    const written = attributesSetBy(parameters);
    expect(Object.keys(written).sort()).toEqual(['lateVideoAt', 'output', 'polls', 'updatedAt']);
    for (const untouched of ['status', 'error', 'finishedAt', 'progress']) expect(written, untouched).not.toHaveProperty(untouched);
    // The stored copy's description, as StoreLateVideo answered it; the time is the copy's, not a clock's.
    const values = parameters.ExpressionAttributeValues;
    expect(values[written.output!]).toEqual({
      M: {
        bucket: { 'S.$': '$.output.bucket' },
        key: { 'S.$': '$.output.key' },
        bytes: { 'N.$': 'States.JsonToString($.output.bytes)' },
        contentType: { 'S.$': '$.output.contentType' },
        sha256: { 'S.$': '$.output.sha256' },
      },
    });
    expect(written.lateVideoAt).toBe(written.updatedAt);
    expect(values[written.lateVideoAt!]).toEqual({ 'S.$': '$.output.storedAt' });
    // The same output RecordSucceeded records for a video on time.
    const onTime = state('RecordSucceeded').Parameters as unknown as UpdateItemParameters;
    expect(values[written.output!]).toEqual(onTime.ExpressionAttributeValues[attributesSetBy(onTime).output!]);
  });

  it('RecordOverdue ends a submitted or running job TIMED_OUT with the error and the time the poll answered', () => {
    const parameters = state('RecordOverdue').Parameters as unknown as UpdateItemParameters;
    // A poll runs only after RecordSubmitted: the job cannot be QUEUED here.
    expect(statusesAllowedBy(parameters)).toEqual(new Set(['SUBMITTED', 'RUNNING']));
    const written = attributesSetBy(parameters);
    expect(Object.keys(written).sort()).toEqual(['error', 'finishedAt', 'status', 'updatedAt']);
    const values = parameters.ExpressionAttributeValues;
    expect(values[written.status!]).toEqual({ S: 'TIMED_OUT' });
    expect(values[written.error!]).toEqual({ M: { code: { 'S.$': '$.poll.overdue.code' }, message: { 'S.$': '$.poll.overdue.message' } } });
    expect(written.finishedAt).toBe(written.updatedAt);
    expect(values[written.finishedAt!]).toEqual({ 'S.$': '$.poll.overdue.at' });
    // Retried like every write, and caught into the failure path (the job is still live if it failed).
    expect(state('RecordOverdue').Retry).toEqual(state('RecordProgress').Retry);
  });

  it.each([
    ['RecordSucceeded', 'SUCCEEDED'],
    ['RecordFailed', 'FAILED'],
    ['RecordTimedOut', 'TIMED_OUT'],
    ['RecordOverdue', 'TIMED_OUT'],
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
/** A provider whose task runs on, whenever it is asked (or has failed, with `phase: 'failed'`). */
const taskProvider = (phase: 'running' | 'failed'): ProviderClient => ({
  createTask: () => Promise.reject(new Error('a poll never creates')),
  getTask: (taskId) => Promise.resolve({ taskId, phase, providerStatus: phase === 'running' ? 'IN_PROGRESS' : 'FAILURE', progress: 50 }),
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
  const lateFollowSeconds = () => Number(definition.functionEnvironment.LATE_FOLLOW_SECONDS);
  const lateWaitSeconds = () => state(LATE_WAIT_STATE).Seconds!;

  /**
   * The turns of the poll loop: an answered poll before the deadline (RecordProgress counted every
   * time), one the provider failed (the answer is unchanged, so IsVideoReady waits again), and a poll
   * past the deadline (late: it writes nothing, and waits the fixed late wait).
   */
  const TURNS = {
    answered: [WAIT_STATE, 'PollTask', 'IsVideoReady', 'RecordProgress'],
    failed: [WAIT_STATE, 'PollTask', 'IsVideoReady'],
    late: [LATE_WAIT_STATE, 'PollTask', 'IsVideoReady'],
  };
  const TURN_STATES = new Set(Object.values(TURNS).flat());
  /** The designed way from the turns before the deadline to the late ones: the job is recorded TIMED_OUT and announced, once. */
  const OVERDUE_DETOUR = ['IsVideoReady', 'RecordOverdue', 'AnnounceOutcome', 'HowDidItEnd', LATE_WAIT_STATE];
  const hasEdge = (from: string, to: string) => edgesOf(asl).some((edge) => edge.from === from && edge.to === to);

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

  interface Turn {
    events: number;
    /** The shortest wait after this turn with that many seconds left. */
    floor: (remainingSeconds: number) => number;
  }

  /**
   * The most history events a sequence of turns packs into `seconds`, found exactly, second by second:
   * `most[k]` is the most events with at most k seconds left. (With r in (k-1, k] left, every floor sees
   * floor(r) ≥ k-1, and after a wait of w at most k-w seconds are left.) The poll at or after the end
   * counts as a whole turn. The time the tasks themselves take is left out, which only adds turns.
   */
  const mostEventsMemo = new Map<string, { events: number; iterations: number }>();
  function mostEvents(name: string, forSeconds: number, turns: Turn[]) {
    const seconds = Math.ceil(forSeconds);
    const key = `${name}/${seconds}`;
    const known = mostEventsMemo.get(key);
    if (known) return known;
    const most = [{ events: Math.max(...turns.map((turn) => turn.events)), iterations: 1 }];
    for (let k = 1; k <= seconds; k += 1) {
      const remaining = k - 0.5;
      let best = most[k - 1]!;
      for (const turn of turns) {
        const wait = turn.floor(remaining);
        if (!(wait >= 1)) throw new Error(`a wait of ${wait} s with ${remaining} s left: the loop would not be bounded by time`);
        const rest = most[Math.max(0, k - wait)]!;
        if (turn.events + rest.events > best.events) best = { events: turn.events + rest.events, iterations: rest.iterations + 1 };
      }
      most.push(best);
    }
    mostEventsMemo.set(key, most[seconds]!);
    return most[seconds]!;
  }

  /**
   * The worst case of an execution, in history events. Until the deadline, answered or failed turns as
   * the poll policies allow; the poll after it is the overdue detour's way in, and the detour runs once
   * (it is off the turns, counted with the other states); then late turns until the late-follow window
   * closes, one per late wait. Every state off the turns runs once, and every retrier is used up once.
   * (A retrier's count starts again each time its state is entered; the model assumes the functions do
   * not fail and recover on every turn of the loop.)
   */
  function worstCaseHistoryEvents(forDeadlineSeconds: number, forLateFollowSeconds: number) {
    const answered = { events: eventsOfStates(TURNS.answered), floor: answeredPollFloor };
    const failed = { events: eventsOfStates(TURNS.failed), floor: failedPollFloor };
    const late = { events: eventsOfStates(TURNS.late), floor: lateWaitSeconds };
    const beforeDeadline = mostEvents('before', forDeadlineSeconds, [answered, failed]);
    const pastDeadline = mostEvents('late', forLateFollowSeconds, [late]);
    const states = Object.entries(asl.States);
    const offTurns = states.filter(([name]) => !TURN_STATES.has(name)).map(([name]) => name);
    const once = eventsOfStates(offTurns);
    const retries = states.reduce((sum, [, candidate]) => sum + maxRetries(candidate) * EVENTS.retry, 0);
    const loopEvents = beforeDeadline.events + pastDeadline.events;
    return {
      iterations: beforeDeadline.iterations,
      lateIterations: pastDeadline.iterations,
      beforeDeadlineEvents: beforeDeadline.events,
      pastDeadlineEvents: pastDeadline.events,
      answeredEvents: answered.events,
      failedEvents: failed.events,
      lateEvents: late.events,
      once,
      offTurns,
      retries,
      total: EVENTS.execution + once + loopEvents + retries,
    };
  }
  const summary = (worst: ReturnType<typeof worstCaseHistoryEvents>) =>
    `${worst.total} events: ${worst.iterations} turns (${worst.beforeDeadlineEvents}) before the deadline, ` +
    `${worst.lateIterations} late turns (${worst.pastDeadlineEvents}), ${worst.once} once, ${worst.retries} in retries`;

  it('the execution times out at the job deadline (30 min by default) + the late-follow window (60 min) + EXECUTION_MARGIN (at least an hour)', () => {
    expect(deadlineSeconds()).toBe(30 * 60);
    expect(lateFollowSeconds()).toBe(60 * 60);
    expect(EXECUTION_MARGIN.toSeconds()).toBeGreaterThanOrEqual(60 * 60);
    expect(asl.TimeoutSeconds).toBe(deadlineSeconds() + lateFollowSeconds() + EXECUTION_MARGIN.toSeconds());
  });

  it('the execution timeout follows a configured deadline and late-follow window', () => {
    const custom = pipelineDefinitionFrom(synthesizePipelineTemplate({ jobDeadlineMinutes: 60, lateFollowMinutes: 90 }));
    expect(custom.functionEnvironment.JOB_DEADLINE_SECONDS).toBe('3600');
    expect(custom.functionEnvironment.LATE_FOLLOW_SECONDS).toBe('5400');
    expect((custom.asl as unknown as Asl).TimeoutSeconds).toBe(3600 + 5400 + EXECUTION_MARGIN.toSeconds());
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
      { startedNotBeforeSeconds: Math.min(30, elapsedSeconds), startReported: true, shareDoneAtMost: shareDoneAtMostOf('running', 30) },
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

  it('each turn is a cycle of the graph, the overdue detour a path, and every other way round passes the announcement', () => {
    for (const [kind, turn] of Object.entries(TURNS)) {
      turn.forEach((from, index) => {
        const to = turn[(index + 1) % turn.length]!;
        expect(hasEdge(from, to), `${kind} turn: ${from} -> ${to}`).toBe(true);
      });
    }
    OVERDUE_DETOUR.slice(1).forEach((to, index) => expect(hasEdge(OVERDUE_DETOUR[index]!, to), `${OVERDUE_DETOUR[index]} -> ${to}`).toBe(true));
    const { AnnounceOutcome: _announce, ...withoutAnnouncement } = asl.States;
    expect(loopsOf({ ...asl, States: withoutAnnouncement }).map((loop) => [...loop].sort())).toEqual([[...TURN_STATES].sort()]);
  });

  // So the states of the loop off the turns are counted once: a way round them passes AnnounceOutcome,
  // every way into it is a write that only a live job passes, and after the first one the job is final.
  // RecordOverdue follows only a poll that says overdue, which only the first poll past the deadline does (below).
  it('the announcement, and so the overdue detour, runs at most once: every way into it is a write of a live job', () => {
    expect(
      edgesOf(asl)
        .filter((edge) => edge.to === 'RecordOverdue')
        .map(edgeText),
    ).toEqual(['IsVideoReady -choice-> RecordOverdue']);
    const writers = edgesOf(asl)
      .filter((edge) => edge.to === 'AnnounceOutcome')
      .map((edge) => edge.from);
    expect(writers.length).toBeGreaterThan(0);
    for (const writer of writers) {
      expect(isDynamoTask(state(writer)), writer).toBe(true);
      const allowed = statusesAllowedBy(state(writer).Parameters as unknown as UpdateItemParameters);
      for (const terminal of TERMINAL_STATUSES) expect(allowed.has(terminal), `${writer} from ${terminal}`).toBe(false);
    }
  });

  it('a poll answers overdue once, at the first poll past the deadline; then it follows the task (late) until the window closes (lateEnded)', async () => {
    const shape: RequestShape = { duration: 5, resolution: '720p', generateAudio: true, media: 'text' };
    const deadlineAt = '2026-01-01T00:30:00Z';
    const lateFollowSeconds = 3600;
    const first: PollState = {
      providerTaskId: 'cgt-1',
      submittedAt: '2026-01-01T00:00:00Z',
      jobStatus: 'RUNNING',
      providerStatus: 'running',
      progress: 40,
      polls: 7,
      waitSeconds: 9,
      checkedAt: '2026-01-01T00:28:51Z',
      estimatedFinishAt: '2026-01-01T00:29:30Z',
      changed: true,
    };
    for (const provider of [taskProvider('running'), failingProvider(new ProviderUnavailableError('HTTP 503'))]) {
      const poll = (previous: PollState, at: string) =>
        pollTask({ jobId: 'job-1', shape, deadlineAt, poll: previous }, { provider, now: () => new Date(at), random: () => 0, lateFollowSeconds });
      const before = await poll(first, '2026-01-01T00:29:00Z');
      expect(before).not.toHaveProperty('overdue');
      expect(before).not.toHaveProperty('late');
      // The first poll past the deadline: why the job ends TIMED_OUT, and when (IsVideoReady: RecordOverdue).
      const overdue = await poll(before, '2026-01-01T00:30:01Z');
      expect(overdue.overdue).toEqual({ code: 'DEADLINE_EXCEEDED', message: expect.any(String), at: '2026-01-01T00:30:01.000Z' });
      expect(overdue).not.toHaveProperty('late');
      expect(overdue).not.toHaveProperty('lateEnded');
      // Every later poll inside the window is late and never overdue again (IsVideoReady: the late wait).
      let previous = overdue;
      for (const at of ['2026-01-01T00:31:01Z', '2026-01-01T01:00:00Z', '2026-01-01T01:29:59Z']) {
        previous = await poll(previous, at);
        expect(previous, at).toMatchObject({ late: true });
        expect(previous, at).not.toHaveProperty('overdue');
        expect(previous, at).not.toHaveProperty('lateEnded');
      }
      // The poll that finds the window closed ends the following; IsVideoReady checks lateEnded first.
      const closed = await poll(previous, '2026-01-01T01:30:00Z');
      expect(closed.lateEnded).toEqual(expect.any(String));
    }
    // A late task that failed ends the following too, and is not thrown (the job ended TIMED_OUT already).
    const failedLate = await pollTask(
      { jobId: 'job-1', shape, deadlineAt, poll: { ...first, late: true } },
      { provider: taskProvider('failed'), now: () => new Date('2026-01-01T00:45:00Z'), random: () => 0, lateFollowSeconds },
    );
    expect(failedLate.lateEnded).toEqual(expect.any(String));
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
      estimatedFinishAt: '2026-01-01T00:11:00Z',
      changed: true,
    };
    const deps = (error: PipelineError, random: number) => ({
      provider: failingProvider(error),
      now: () => now,
      random: () => random,
      lateFollowSeconds: 3600,
    });
    for (const error of [new ProviderUnavailableError('HTTP 503'), new ProviderBadResponseError('not JSON')]) {
      for (const [deadlineAt, random] of [
        ['2026-01-01T00:30:00Z', 0],
        ['2026-01-01T00:10:00.400Z', 0.99],
      ] as const) {
        const next = await pollTask({ jobId: 'job-1', shape, deadlineAt, poll: previous }, deps(error, random));
        // IsVideoReady then sends it straight back to WaitBeforePoll: the failed turn.
        expect(next, `${error.code} ${deadlineAt}`).toMatchObject({ providerTaskId: 'cgt-1', jobStatus: 'RUNNING', progress: 40, polls: 8, changed: false });
        expect(next).not.toHaveProperty('overdue');
        expect(next.waitSeconds).toBeGreaterThanOrEqual(1);
      }
      // Past the deadline the loop leaves its turns: the answer says overdue, and the job is recorded TIMED_OUT.
      const past = await pollTask({ jobId: 'job-1', shape, deadlineAt: '2026-01-01T00:09:59Z', poll: previous }, deps(error, 0));
      expect(past.overdue).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    }
    expect(state('IsVideoReady').Default).toBe(WAIT_STATE);
    expect(state(WAIT_STATE).Next).toBe('PollTask');
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

  it('the worst-case history, late-follow window included, stays well under the 25,000-event limit', () => {
    const worst = worstCaseHistoryEvents(deadlineSeconds(), lateFollowSeconds());
    // A turn is a wait + PollTask + IsVideoReady, plus RecordProgress when an answer before the deadline changed something.
    expect(worst.answeredEvents).toBe(EVENTS.other + EVENTS.task + EVENTS.other + EVENTS.task);
    expect(worst.failedEvents).toBe(EVENTS.other + EVENTS.task + EVENTS.other);
    expect(worst.lateEvents).toBe(EVENTS.other + EVENTS.task + EVENTS.other);
    // At least as many turns as answered polls every MIN_POLL_SECONDS: failed polls can only come faster.
    expect(worst.iterations).toBeGreaterThanOrEqual(Math.ceil(deadlineSeconds() / MIN_POLL_SECONDS));
    // A late turn per late wait in the window, and the poll that finds it closed.
    expect(worst.lateIterations).toBe(Math.floor(lateFollowSeconds() / lateWaitSeconds()) + 1);
    expect(worst.total, summary(worst)).toBeLessThan(HISTORY_BUDGET);
  });

  it('the worst case counts the overdue detour, the announcements and the late path once, with every one of their retries', () => {
    const { once, offTurns, retries } = worstCaseHistoryEvents(deadlineSeconds(), lateFollowSeconds());
    // The start and every end of an execution, the detour, the failure path and the late path.
    expect(offTurns).toEqual(
      expect.arrayContaining([
        'IsResume',
        'SubmitTask',
        PROVIDER_BUSY_STATE,
        'RecordOverdue',
        'AnnounceOutcome',
        'HowDidItEnd',
        'JobSucceeded',
        'JobFailed',
        'JobTimedOut',
        'JobNotAnnounced',
        'LateTaskEnded',
        'StoreLateVideo',
        'RecordLateVideo',
        'AnnounceLateVideo',
        'LateVideoStored',
        'LateVideoNotStored',
      ]),
    );
    expect(offTurns).toHaveLength(Object.keys(asl.States).length - TURN_STATES.size);
    const taskCount = offTurns.filter((name) => state(name).Type === 'Task').length;
    expect(once).toBe(taskCount * EVENTS.task + (offTurns.length - taskCount) * EVENTS.other);
    // The announcers' retriers: CDK's Lambda service errors (6) and ours (5).
    expect(maxRetries(state('AnnounceOutcome'))).toBe(6 + 5);
    expect(maxRetries(state('AnnounceLateVideo'))).toBe(6 + 5);
    // A final-errors retrier (MaxAttempts 0) adds no attempt: PollTask has CDK's 6 and States.ALL's 6.
    expect(maxRetries(state('PollTask'))).toBe(6 + 0 + 6);
    expect(retries).toBe(Object.values(asl.States).reduce((sum, candidate) => sum + maxRetries(candidate), 0) * EVENTS.retry);
  });

  // Past either cap, a provider task that never finishes (or a provider that keeps failing) could drive
  // the history towards the 25,000-event limit.
  it('at the longest deadline and late-follow window the config allows, the worst case stays under 80 % of the limit', () => {
    const deadline = MAX_JOB_DEADLINE_MINUTES * 60;
    const atCaps = worstCaseHistoryEvents(deadline, MAX_LATE_FOLLOW_MINUTES * 60);
    let safeLateMinutes = 0;
    while (safeLateMinutes < 24 * 60 && worstCaseHistoryEvents(deadline, (safeLateMinutes + 1) * 60).total < HISTORY_BUDGET) safeLateMinutes += 1;
    expect(
      atCaps.total,
      `at the caps (${MAX_JOB_DEADLINE_MINUTES} + ${MAX_LATE_FOLLOW_MINUTES} min): ${summary(atCaps)}; ` +
        `with a ${MAX_JOB_DEADLINE_MINUTES}-minute deadline the longest window under ${HISTORY_BUDGET} is ${safeLateMinutes} min`,
    ).toBeLessThan(HISTORY_BUDGET);
    expect(MAX_LATE_FOLLOW_MINUTES).toBeLessThanOrEqual(safeLateMinutes);
    const config = (key: string, value: number) => () => pipelineConfigFrom((asked) => (asked === key ? value : undefined));
    expect(config('jobDeadlineMinutes', MAX_JOB_DEADLINE_MINUTES + 1)).toThrow();
    expect(config('lateFollowMinutes', MAX_LATE_FOLLOW_MINUTES + 1)).toThrow();
    expect(config('lateFollowMinutes', MAX_LATE_FOLLOW_MINUTES)()).toMatchObject({ lateFollow: expect.anything() });
    expect(config('lateFollowMinutes', 0)).toThrow();
  });

  // An execution timeout skips every Catch: the margin must cover what can still run after the deadline,
  // and after the late-follow window.
  it('the margin covers the worst case of the tasks that run after the deadline, and after the late-follow window', () => {
    /** DynamoDB tasks carry no TimeoutSeconds; assume a slow single call. */
    const DYNAMODB_CALL_SECONDS = 5;
    const worstSeconds = (name: string) => {
      const candidate = state(name);
      if (candidate.Type !== 'Task') return 0;
      const attempt = candidate.TimeoutSeconds ?? DYNAMODB_CALL_SECONDS;
      // Every retrier used up once: each retry is an attempt and a backoff sleep (FULL jitter only shortens
      // it). Lambda service errors come back fast, so the attempts CDK's retrier repeats count 0 s, but its
      // sleeps (2, 4 … 64 s, no cap, no jitter) are real. Everything else (States.ALL: the function's own
      // timeouts included) counts as a whole attempt. A final-errors retrier (MaxAttempts 0) adds nothing.
      const retriers = candidate.Retry ?? [];
      const slowRetries = maxRetries({ ...candidate, Retry: retriers.filter((retrier) => !isCdkLambdaRetrier(retrier)) });
      return (1 + slowRetries) * attempt + retriers.reduce((sum, retrier) => sum + maxRetryDelaySeconds(retrier), 0);
    };
    /** The longest run from `start` until the execution ends or reaches a wait (each state once: a wait means another poll). */
    const longestRunFrom = (start: string) => {
      const edges = edgesOf(asl);
      let longest = { seconds: 0, path: [] as string[] };
      const visit = (name: string, seconds: number, path: string[]) => {
        const here = { seconds: seconds + worstSeconds(name), path: [...path, name] };
        if (here.seconds > longest.seconds) longest = here;
        for (const { to } of edges.filter((edge) => edge.from === name)) {
          if (state(to).Type !== 'Wait' && !here.path.includes(to)) visit(to, here.seconds, here.path);
        }
      };
      visit(start, 0, []);
      return longest;
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
    const fromPoll = longestRunFrom('PollTask');
    // The job's own end: the last poll before the deadline answers a change (RecordProgress), the wait
    // overshoots, and the poll after the deadline runs the longest way to an end: it finds the video, the
    // copy and its record run and fail late, and the failure is recorded and announced. It must fit the
    // margin alone, so that an execution timeout never strands a job, however short the late-follow window.
    expect(fromPoll.path).toEqual(expect.arrayContaining(['StoreVideo', 'RecordSucceeded', 'DescribeFailure', 'AnnounceOutcome']));
    const afterDeadline = worstSeconds('RecordProgress') + overshoot + fromPoll.seconds;
    // Following a late task: the last late wait starts before the window closes, and the poll after it
    // takes the longest way to an end (a late video is copied, recorded and announced). With a window
    // shorter than the overdue detour itself, the timeout may cut a late copy short; the job is final by then.
    const afterWindow = lateWaitSeconds() + fromPoll.seconds;
    // The announcement's share is real: its timeouts are retried (5 × 15 s and the backoff).
    expect(worstSeconds('AnnounceOutcome')).toBeGreaterThanOrEqual(6 * 15);
    // The poll's share covers its own retries: 7 attempts of its task timeout.
    expect(worstSeconds('PollTask')).toBeGreaterThanOrEqual(7 * state('PollTask').TimeoutSeconds!);
    const shares = Object.fromEntries(fromPoll.path.map((name) => [name, worstSeconds(name)]));
    const margin = asl.TimeoutSeconds! - deadlineSeconds() - lateFollowSeconds();
    expect(margin).toBe(EXECUTION_MARGIN.toSeconds());
    expect(
      afterDeadline,
      `seconds after the deadline: ${JSON.stringify({ RecordProgress: worstSeconds('RecordProgress'), wait: overshoot, ...shares })}`,
    ).toBeLessThanOrEqual(margin);
    expect(afterWindow, `seconds after the late-follow window: ${JSON.stringify({ lateWait: lateWaitSeconds(), ...shares })}`).toBeLessThanOrEqual(margin);
  });
});
