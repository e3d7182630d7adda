import { describe, expect, it, test } from 'vitest';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../../runtime/domain/job.js';
import { providerCreated, providerStatusOf, providerTask } from '../../runtime/intake/provider-view.js';
import { readCreatedTaskId, readTaskSnapshot } from '../../runtime/provider/anyfast/provider-task.js';
import { CREATED_TASK } from '../../testkit/provider-fixtures.js';

/** The drop-in routes' mapping of a job to the provider's shapes (runtime/intake/provider-view.ts). */

const VIDEO = { bucket: 'videos', key: 'videos/2026/11/24/job-1.mp4', bytes: 1234, contentType: 'video/mp4', sha256: 'a'.repeat(64) };
const RESULT_URL = 'https://videos.s3.amazonaws.com/videos/2026/11/24/job-1.mp4?X-Amz-Signature=abc';

function job(status: JobStatus, extra: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: 'job-1',
    kind: 'job',
    status,
    progress: 0,
    trigger: { type: 'http', source: 'token:0123456789abcdef' },
    createdAt: '2026-11-24T12:00:00.500Z',
    updatedAt: '2026-11-24T12:01:00.000Z',
    deadlineAt: '2026-11-24T12:30:00.000Z',
    ...extra,
  };
}

describe('status mapping', () => {
  test.each([
    ['QUEUED', 'NOT_START', 'queued'],
    ['SUBMITTED', 'QUEUED', 'queued'],
    ['RUNNING', 'IN_PROGRESS', 'running'],
    ['SUCCEEDED', 'SUCCESS', 'succeeded'],
    ['FAILED', 'FAILURE', 'failed'],
    ['TIMED_OUT', 'FAILURE', 'failed'],
    ['CANCELLED', 'FAILURE', 'failed'],
  ] as const)('%s → %s, which a provider client (our own adapter) reads as %s', (status, provider, phase) => {
    expect(providerStatusOf({ status })).toBe(provider);
    const answer = providerTask(job(status, status === 'SUCCEEDED' ? { output: VIDEO } : {}), status === 'SUCCEEDED' ? RESULT_URL : undefined);
    expect(answer.data.status).toBe(provider);
    expect(readTaskSnapshot(answer, 'job-1')).toMatchObject({ taskId: 'job-1', phase, providerStatus: provider });
  });

  it('covers every job status', () => {
    for (const status of JOB_STATUSES) expect(providerStatusOf({ status }), status).toMatch(/^(NOT_START|QUEUED|IN_PROGRESS|SUCCESS|FAILURE)$/);
  });

  it('a TIMED_OUT job whose video was stored late is a SUCCESS with it', () => {
    const late = job('TIMED_OUT', {
      output: VIDEO,
      lateVideoAt: '2026-11-24T12:40:00.000Z',
      finishedAt: '2026-11-24T12:30:00.000Z',
      error: { code: 'DEADLINE_EXCEEDED', message: 'deadline passed' },
    });
    expect(providerTask(late, RESULT_URL).data).toMatchObject({ status: 'SUCCESS', progress: '100%', result_url: RESULT_URL, fail_reason: '' });
  });
});

describe('progress', () => {
  it('is the job’s, as a percent string, under 100 % until the video is in our bucket', () => {
    expect(providerTask(job('QUEUED', { progress: 0 }), undefined).data.progress).toBe('0%');
    expect(providerTask(job('SUBMITTED', { progress: 10 }), undefined).data.progress).toBe('10%');
    expect(providerTask(job('RUNNING', { progress: 50 }), undefined).data.progress).toBe('50%');
    // The provider said 100 % but the copy to S3 is still running: not yet.
    expect(providerTask(job('RUNNING', { progress: 100 }), undefined).data.progress).toBe('99%');
    expect(providerTask(job('SUCCEEDED', { progress: 100, output: VIDEO }), RESULT_URL).data.progress).toBe('100%');
    expect(providerTask(job('FAILED', { progress: 30 }), undefined).data.progress).toBe('30%');
  });

  it('reads back through our adapter as the same number', () => {
    expect(readTaskSnapshot(providerTask(job('RUNNING', { progress: 50 }), undefined), 'job-1')?.progress).toBe(50);
  });
});

describe('result_url and fail_reason', () => {
  it('result_url is our presigned copy on SUCCESS only, never on a running or failed job', () => {
    expect(providerTask(job('SUCCEEDED', { output: VIDEO }), RESULT_URL).data.result_url).toBe(RESULT_URL);
    expect(providerTask(job('RUNNING'), RESULT_URL).data.result_url).toBe('');
    expect(readTaskSnapshot(providerTask(job('SUCCEEDED', { output: VIDEO }), RESULT_URL), 'job-1')?.videoUrl).toBe(RESULT_URL);
  });

  test.each([
    ['FAILED', { code: 'PROVIDER_TASK_FAILED', message: 'content policy' }, 'PROVIDER_TASK_FAILED: content policy'],
    [
      'TIMED_OUT',
      { code: 'DEADLINE_EXCEEDED', message: 'the task was still running at the deadline' },
      'DEADLINE_EXCEEDED: the task was still running at the deadline',
    ],
    ['CANCELLED', { code: 'CANCELLED', message: 'cancelled by arn:aws:iam::1:user/a' }, 'CANCELLED: cancelled by arn:aws:iam::1:user/a'],
  ] as const)('%s gives fail_reason "%s"-style text: code and message', (status, error, reason) => {
    const answer = providerTask(job(status, { error }), undefined);
    expect(answer.data.fail_reason).toBe(reason);
    expect(readTaskSnapshot(answer, 'job-1')?.failReason).toBe(reason);
  });

  it('fail_reason is empty unless the task failed', () => {
    for (const status of ['QUEUED', 'SUBMITTED', 'RUNNING', 'SUCCEEDED'] as const) expect(providerTask(job(status), undefined).data.fail_reason).toBe('');
  });
});

describe('times', () => {
  it('are epoch seconds: submit when recorded, start when handed to the provider, finish when ended; 0 before', () => {
    const running = providerTask(job('RUNNING', { submittedAt: '2026-11-24T12:00:05.900Z' }), undefined).data;
    expect(running).toMatchObject({ submit_time: 1795521600, start_time: 1795521605, finish_time: 0 });
    expect(providerTask(job('QUEUED'), undefined).data.start_time).toBe(0);
    const ended = providerTask(job('SUCCEEDED', { output: VIDEO, submittedAt: '2026-11-24T12:00:05Z', finishedAt: '2026-11-24T12:03:00Z' }), RESULT_URL).data;
    expect(ended).toMatchObject({ submit_time: 1795521600, start_time: 1795521605, finish_time: 1795521780 });
  });
});

describe('the create answer', () => {
  it('has exactly the provider’s fields, status "" and progress 0, the job id as both ids', () => {
    const created = providerCreated(job('QUEUED'), 'seedance-fast');
    expect(created).toEqual({ id: 'job-1', task_id: 'job-1', object: 'video', model: 'seedance-fast', status: '', progress: 0, created_at: 1795521600 });
    expect(Object.keys(created).sort()).toEqual(Object.keys(CREATED_TASK).sort());
    expect(readCreatedTaskId(created)).toBe('job-1');
  });
});
