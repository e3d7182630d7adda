import { describe, expect, test } from 'vitest';
import { parseProgress, readCreatedTaskId, readGatewayError, readTaskSnapshot, shareDoneAtMostOf } from '../../runtime/provider/anyfast/provider-task.js';
import { CREATED_TASK, TASK_ID, taskEnvelope } from '../../testkit/provider-fixtures.js';

const VIDEO_URL = 'https://cdn.example.com/out/video.mp4';
const envelope = taskEnvelope;

describe('readTaskSnapshot: the gateway envelope', () => {
  test.each([
    ['NOT_START', 'queued'],
    ['SUBMITTED', 'queued'],
    ['QUEUED', 'queued'],
    ['IN_PROGRESS', 'running'],
    ['UNKNOWN', 'running'],
    ['WARMING_UP', 'running'],
    ['', 'queued'],
  ])('data.status %j reads as %s', (status, phase) => {
    const snapshot = readTaskSnapshot(envelope({ status }), 'requested');
    expect(snapshot).toMatchObject({ phase, providerStatus: status, taskId: TASK_ID });
    expect(snapshot).not.toHaveProperty('failReason');
  });

  test('SUCCESS reads as succeeded at 100 %, with the video from result_url', () => {
    const snapshot = readTaskSnapshot(envelope({ status: 'SUCCESS', progress: '100%', result_url: VIDEO_URL, finish_time: 1773328400 }), 'x');
    expect(snapshot).toEqual({
      taskId: TASK_ID,
      phase: 'succeeded',
      providerStatus: 'SUCCESS',
      progress: 100,
      videoUrl: VIDEO_URL,
      submitTime: 1773328294,
      startTime: 1773328300,
      finishTime: 1773328400,
      shareDoneAtMost: 1,
    });
  });

  test('SUCCESS whose fail_reason holds the URL (old gateways) is not a failure', () => {
    const snapshot = readTaskSnapshot(
      envelope({ status: 'SUCCESS', progress: '100%', result_url: VIDEO_URL, fail_reason: VIDEO_URL }, { status: 'succeeded' }),
      'x',
    );
    expect(snapshot?.phase).toBe('succeeded');
    expect(snapshot?.videoUrl).toBe(VIDEO_URL);
    expect(snapshot).not.toHaveProperty('failReason');
  });

  test('SUCCESS with an empty result_url takes the URL from data.data.content.video_url', () => {
    const snapshot = readTaskSnapshot(
      envelope({ status: 'SUCCESS', result_url: '' }, { status: 'succeeded', content: { video_url: 'https://upstream.example.com/v.mp4' } }),
      'x',
    );
    expect(snapshot?.videoUrl).toBe('https://upstream.example.com/v.mp4');
  });

  test('result_url wins over data.data.content.video_url', () => {
    const snapshot = readTaskSnapshot(
      envelope({ status: 'SUCCESS', result_url: VIDEO_URL }, { content: { video_url: 'https://upstream.example.com/v.mp4' } }),
      'x',
    );
    expect(snapshot?.videoUrl).toBe(VIDEO_URL);
  });

  test('SUCCESS with no URL anywhere has no videoUrl', () => {
    const snapshot = readTaskSnapshot(envelope({ status: 'SUCCESS', result_url: '' }, { content: { video_url: '' } }), 'x');
    expect(snapshot?.phase).toBe('succeeded');
    expect(snapshot).not.toHaveProperty('videoUrl');
  });

  test('FAILURE reads the reason from fail_reason', () => {
    const snapshot = readTaskSnapshot(envelope({ status: 'FAILURE', progress: '100%', fail_reason: 'content policy violation' }, { status: 'failed' }), 'x');
    expect(snapshot).toMatchObject({ phase: 'failed', providerStatus: 'FAILURE', failReason: 'content policy violation' });
  });

  test('FAILURE with an empty fail_reason still names the failure', () => {
    const snapshot = readTaskSnapshot(envelope({ status: 'FAILURE', fail_reason: '' }), 'x');
    expect(snapshot?.phase).toBe('failed');
    expect(snapshot?.failReason).toBe('FAILURE');
  });

  test('the outer status is read, not the nested upstream status', () => {
    // Outer says queued, the nested upstream object already says running: the gateway's word counts.
    expect(readTaskSnapshot(envelope({ status: 'QUEUED' }, { status: 'running' }), 'x')?.phase).toBe('queued');
  });

  test('zero timestamps are left out', () => {
    const snapshot = readTaskSnapshot(envelope({ start_time: 0, finish_time: 0 }), 'x');
    expect(snapshot).toHaveProperty('submitTime', 1773328294);
    expect(snapshot).not.toHaveProperty('startTime');
    expect(snapshot).not.toHaveProperty('finishTime');
  });

  test('the requested id stands in when the answer names none', () => {
    const body = envelope();
    delete (body.data as Partial<typeof body.data>).task_id;
    expect(readTaskSnapshot(body, 'asyntask_abc')?.taskId).toBe('asyntask_abc');
  });
});

describe('readTaskSnapshot: progress', () => {
  test.each([
    ['"50%"', '50%', 50],
    ['50', 50, 50],
    ['"0%"', '0%', 0],
    ['"10%"', '10%', 10],
    ['"33.6%"', '33.6%', 34],
    ['"150%"', '150%', 100],
  ])('progress %s reads as %d', (_name, progress, expected) => {
    expect(readTaskSnapshot(envelope({ progress }), 'x')?.progress).toBe(expected);
  });

  test('missing progress stays missing', () => {
    const body = envelope();
    delete (body.data as Partial<typeof body.data>).progress;
    const snapshot = readTaskSnapshot(body, 'x');
    expect(snapshot?.phase).toBe('running');
    expect(snapshot).not.toHaveProperty('progress');
  });

  test('unreadable progress stays missing', () => {
    expect(readTaskSnapshot(envelope({ progress: 'soon' }), 'x')).not.toHaveProperty('progress');
  });

  test('a success is 100 % even when the gateway still says less', () => {
    expect(readTaskSnapshot(envelope({ status: 'SUCCESS', progress: '50%', result_url: VIDEO_URL }), 'x')?.progress).toBe(100);
  });

  // The gateway's "30%" lasts until the middle of the run (local/simulator/task-clock.ts plays it):
  // under 50 % the poll policy is told the task has done at most 55 % of its run.
  test.each([
    ['"0%"', '0%'],
    ['"10%"', '10%'],
    ['"30%"', '30%'],
    ['"49%"', '49%'],
  ])('a running task at %s is not half way: at most 55 %% of its run done', (_name, progress) => {
    expect(readTaskSnapshot(envelope({ progress }), 'x')?.shareDoneAtMost).toBe(0.55);
  });

  test.each([
    ['"50%"', '50%'],
    ['"55%"', '55%'],
    ['"99%"', '99%'],
  ])('a running task at %s bounds nothing', (_name, progress) => {
    expect(readTaskSnapshot(envelope({ progress }), 'x')?.shareDoneAtMost).toBe(1);
  });

  test('a running task without a progress is read as the first step; a queued one says nothing; a finished one is all done', () => {
    const body = envelope();
    delete (body.data as Partial<typeof body.data>).progress;
    expect(readTaskSnapshot(body, 'x')?.shareDoneAtMost).toBe(0.55);
    expect(readTaskSnapshot(envelope({ status: 'QUEUED', progress: '10%' }), 'x')).not.toHaveProperty('shareDoneAtMost');
    expect(readTaskSnapshot(envelope({ status: 'SUCCESS', progress: '30%', result_url: VIDEO_URL }), 'x')?.shareDoneAtMost).toBe(1);
    expect(shareDoneAtMostOf('failed', 30)).toBeUndefined();
  });

  test('parseProgress clamps and rounds', () => {
    expect(parseProgress(-5)).toBe(0);
    expect(parseProgress('99.5%')).toBe(100);
    expect(parseProgress(null)).toBeUndefined();
    expect(parseProgress('')).toBeUndefined();
  });
});

describe('readTaskSnapshot: the upstream object (lower-case statuses)', () => {
  const upstream = (status: string, extra: Record<string, unknown> = {}) => ({
    id: TASK_ID,
    model: 'seedance-fast',
    status,
    content: { video_url: '' },
    duration: 5,
    ratio: '16:9',
    resolution: '720p',
    created_at: 1773328294,
    updated_at: 1773328300,
    ...extra,
  });

  test.each([
    ['queued', 'queued'],
    ['running', 'running'],
  ])('%s reads as %s', (status, phase) => {
    expect(readTaskSnapshot(upstream(status), 'x')).toMatchObject({ phase, providerStatus: status, taskId: TASK_ID });
  });

  test('succeeded reads the URL from content.video_url', () => {
    const snapshot = readTaskSnapshot(upstream('succeeded', { content: { video_url: VIDEO_URL } }), 'x');
    expect(snapshot).toMatchObject({ phase: 'succeeded', progress: 100, videoUrl: VIDEO_URL });
  });

  test.each(['failed', 'cancelled', 'expired'])('%s reads as failed', (status) => {
    const snapshot = readTaskSnapshot(upstream(status), 'x');
    expect(snapshot?.phase).toBe('failed');
    expect(snapshot?.failReason).toBe(status);
  });

  test('failed takes the reason from the error object', () => {
    const snapshot = readTaskSnapshot(
      upstream('failed', { error: { code: 'OutputVideoSensitiveContentDetected', message: 'the output may contain sensitive content' } }),
      'x',
    );
    expect(snapshot?.failReason).toBe('the output may contain sensitive content');
  });
});

describe('readTaskSnapshot: the flat older shape', () => {
  test('processing reads as running', () => {
    expect(readTaskSnapshot({ id: TASK_ID, status: 'processing', video_url: '', progress: 40 }, 'x')).toMatchObject({
      phase: 'running',
      progress: 40,
      taskId: TASK_ID,
    });
  });

  test('completed reads as succeeded with the flat video_url', () => {
    expect(readTaskSnapshot({ id: TASK_ID, status: 'completed', video_url: VIDEO_URL }, 'x')).toMatchObject({
      phase: 'succeeded',
      videoUrl: VIDEO_URL,
      progress: 100,
    });
  });

  test('failed reads as failed', () => {
    const snapshot = readTaskSnapshot({ id: TASK_ID, status: 'failed', video_url: '' }, 'x');
    expect(snapshot?.phase).toBe('failed');
    expect(snapshot).not.toHaveProperty('videoUrl');
  });
});

describe('readTaskSnapshot: answers that are no task', () => {
  test.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'IN_PROGRESS'],
    ['an object without status', { id: TASK_ID }],
    ['the task_not_exist answer', { code: 'task_not_exist', message: 'task does not exist', data: null }],
    ['a gateway error', { error: { message: 'boom', type: 'server_error', code: 'internal' } }],
  ])('%s reads as undefined', (_name, body) => {
    expect(readTaskSnapshot(body, 'x')).toBeUndefined();
  });
});

describe('readCreatedTaskId', () => {
  test('reads the documented create answer', () => {
    expect(readCreatedTaskId(CREATED_TASK)).toBe(TASK_ID);
  });

  test.each([
    ['id only', { id: 'asyntask_01J9Z', status: 'queued' }, 'asyntask_01J9Z'],
    ['task_id only', { task_id: 'asyntask_01J9Z' }, 'asyntask_01J9Z'],
    ['id inside data', { code: 'success', data: { task_id: 'asyntask_nested' } }, 'asyntask_nested'],
    ['an empty task_id beside an id', { id: TASK_ID, task_id: '' }, TASK_ID],
  ])('%s', (_name, body, expected) => {
    expect(readCreatedTaskId(body)).toBe(expected);
  });

  test.each([
    ['no id', { object: 'video', status: '' }],
    ['blank ids', { id: '  ', task_id: '' }],
    ['null', null],
    ['a string', 'cgt-1'],
  ])('%s gives undefined', (_name, body) => {
    expect(readCreatedTaskId(body)).toBeUndefined();
  });
});

describe('readGatewayError', () => {
  test('reads the OpenAI-style error', () => {
    expect(readGatewayError({ error: { message: 'insufficient balance', type: 'billing_error', code: 'insufficient_quota' } })).toEqual({
      code: 'insufficient_quota',
      message: 'insufficient balance',
    });
  });

  test('reads the task-route error', () => {
    expect(readGatewayError({ code: 'task_not_exist', message: 'task cgt-1 does not exist', data: null })).toEqual({
      code: 'task_not_exist',
      message: 'task cgt-1 does not exist',
    });
  });

  test('a numeric code becomes a string', () => {
    expect(readGatewayError({ error: { message: 'slow down', code: 429 } })).toEqual({ code: '429', message: 'slow down' });
  });

  test('an empty message is left out', () => {
    expect(readGatewayError({ error: { message: '', code: 'x' } })).toEqual({ code: 'x' });
  });

  test.each([undefined, null, 'Bad Gateway', {}])('%j gives nothing', (body) => {
    expect(readGatewayError(body)).toEqual({});
  });
});
