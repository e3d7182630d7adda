import { describe, expect, test } from 'vitest';
import { describeFailure } from '../../runtime/workflow/describe-failure.js';

const NOW = new Date('2026-03-12T23:40:00.000Z');

describe('describeFailure', () => {
  test('a Lambda-shaped JSON Cause gives its errorMessage, not the trace', () => {
    const cause = JSON.stringify({
      errorType: 'PROVIDER_TASK_FAILED',
      errorMessage: 'content policy violation',
      trace: ['PROVIDER_TASK_FAILED: content policy violation', '    at pollTask (/var/task/index.mjs:1:1)'],
    });
    expect(describeFailure({ Error: 'PROVIDER_TASK_FAILED', Cause: cause }, NOW)).toEqual({
      status: 'FAILED',
      code: 'PROVIDER_TASK_FAILED',
      message: 'content policy violation',
      failedAt: NOW.toISOString(),
    });
  });

  test('a plain-text cause is kept as the message', () => {
    expect(describeFailure({ Error: 'PROVIDER_TASK_FAILED', Cause: 'the task failed: upstream unavailable' }, NOW).message).toBe(
      'the task failed: upstream unavailable',
    );
  });

  test.each(['Error', 'Sandbox.Timedout', 'States.TaskFailed', 'Lambda.Unknown', 'DynamoDB.ConditionalCheckFailedException'])(
    'a crash or platform error (%s) is FUNCTION_FAILED, its name kept in the message',
    (name) => {
      const failure = describeFailure({ Error: name, Cause: 'it went wrong' }, NOW);
      expect(failure).toMatchObject({ status: 'FAILED', code: 'FUNCTION_FAILED', message: `${name}: it went wrong` });
    },
  );

  test('a JSON cause without errorMessage is kept as it is', () => {
    const cause = JSON.stringify({ reason: 'x' });
    expect(describeFailure({ Error: 'SOMETHING', Cause: cause }, NOW).message).toBe(cause);
  });

  test('DEADLINE_EXCEEDED ends the job TIMED_OUT', () => {
    const cause = JSON.stringify({ errorType: 'DEADLINE_EXCEEDED', errorMessage: 'still IN_PROGRESS at the deadline' });
    expect(describeFailure({ Error: 'DEADLINE_EXCEEDED', Cause: cause }, NOW)).toMatchObject({
      status: 'TIMED_OUT',
      code: 'DEADLINE_EXCEEDED',
      message: 'still IN_PROGRESS at the deadline',
    });
  });

  test.each(['PROVIDER_TASK_FAILED', 'SUBMISSION_UNCERTAIN', 'PROVIDER_AUTH_FAILED', 'VIDEO_UNAVAILABLE', 'States.TaskFailed'])(
    '%s ends the job FAILED',
    (code) => {
      expect(describeFailure({ Error: code, Cause: 'x' }, NOW).status).toBe('FAILED');
    },
  );

  test('a missing Error and Cause still give a code and a message', () => {
    expect(describeFailure({}, NOW)).toEqual({
      status: 'FAILED',
      code: 'UNKNOWN_ERROR',
      message: 'no details were given',
      failedAt: NOW.toISOString(),
    });
  });

  test('a huge cause is cut to 2000 characters', () => {
    const message = describeFailure({ Error: 'X', Cause: JSON.stringify({ errorMessage: 'y'.repeat(10_000) }) }, NOW).message;
    expect(message).toHaveLength(2000);
  });
});
