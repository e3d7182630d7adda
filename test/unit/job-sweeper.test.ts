import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JOB_KIND, type JobRecord, type WorkflowInput } from '../../lambdas/core/job.js';
import { createJobRepository, type JobRepository } from '../../lambdas/core/job-repository.js';
import { MAX_RESUMES, sweepJobs, type SweepDeps } from '../../lambdas/core/job-sweeper.js';
import { createJobRequestSchema } from '../../lambdas/core/request-schema.js';
import type { ExecutionState } from '../../lambdas/core/workflow-executions.js';
import { startJobsTable } from '../support/jobs-table.js';

/** The sweeper against a real (local) Jobs table; only the executions are scripted. */

let table: Awaited<ReturnType<typeof startJobsTable>>;
let jobs: JobRepository;
const NOW = new Date('2026-11-24T12:00:00.000Z');
const minutes = (count: number) => new Date(NOW.getTime() + count * 60_000).toISOString();

beforeAll(async () => {
  table = await startJobsTable();
  jobs = createJobRepository(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

const request = { model: 'seedance-fast', content: [{ type: 'text' as const, text: 'A cat' }], generate_audio: true, resolution: '720p' as const, ratio: 'adaptive' as const, duration: 5, watermark: false };
const job = (jobId: string, fields: Partial<JobRecord>): JobRecord => ({
  jobId,
  kind: JOB_KIND,
  status: 'RUNNING',
  progress: 30,
  request,
  requestKey: `requests/${jobId}.json`,
  trigger: { type: 'http', source: 'test' },
  createdAt: minutes(-10),
  updatedAt: minutes(-1),
  deadlineAt: minutes(20),
  executionArn: `arn:execution:${jobId}`,
  providerTaskId: `task-${jobId}`,
  submittedAt: minutes(-9),
  ...fields,
});

it('repairs or ends every job whose execution is gone, and leaves running ones alone', async () => {
  const executions: Record<string, ExecutionState> = { 'arn:execution:alive': 'RUNNING' };
  const started: { input: WorkflowInput; name: string }[] = [];
  const announced: JobRecord[] = [];
  await jobs.create(job('alive', {}));
  await jobs.create(job('lost-with-time', {}));
  await jobs.create(job('lost-past-deadline', { deadlineAt: minutes(-1) }));
  await jobs.create(job('lost-before-submit', { status: 'QUEUED', providerTaskId: undefined, submittedAt: undefined }));
  await jobs.create(job('lost-too-often', { resumes: MAX_RESUMES }));
  await jobs.create(job('never-started', { status: 'QUEUED', executionArn: undefined, providerTaskId: undefined, createdAt: minutes(-5) }));
  await jobs.create(job('just-created', { status: 'QUEUED', executionArn: undefined, providerTaskId: undefined, createdAt: NOW.toISOString() }));
  await jobs.create(job('waiting-for-batch', { status: 'QUEUED', executionArn: undefined, deferred: true }));

  const deps: SweepDeps = {
    jobs,
    requests: { save: async () => {}, load: async () => Promise.reject(new Error('not used')) },
    workflow: {
      start: async (input, name = input.jobId) => {
        started.push({ input, name });
        return `arn:execution:${name}`;
      },
      stop: async () => {},
      describe: async (arn) => executions[arn] ?? 'MISSING',
    },
    announcer: { announce: async (ended) => void announced.push(ended) },
    schema: createJobRequestSchema(),
    readMedia: async () => Promise.reject(new Error('not used')),
    deadlineSeconds: 1800,
    now: () => NOW,
    newJobId: () => 'unused',
    startGraceSeconds: 60,
  };
  const report = await sweepJobs(deps);

  expect(report.resumed).toEqual(['lost-with-time']);
  expect(report.started).toEqual(['never-started']);
  expect(report.ended.sort((a, b) => a.jobId.localeCompare(b.jobId))).toEqual([
    { jobId: 'lost-before-submit', status: 'FAILED', code: 'EXECUTION_LOST' },
    { jobId: 'lost-past-deadline', status: 'TIMED_OUT', code: 'STUCK_PAST_DEADLINE' },
    { jobId: 'lost-too-often', status: 'FAILED', code: 'EXECUTION_LOST' },
  ]);
  // The resume polls the same provider task, from where the job was, under a new execution name.
  const resume = started.find((start) => start.input.jobId === 'lost-with-time')!;
  expect(resume.name).toBe('lost-with-time-resume-1');
  expect(resume.input.poll).toMatchObject({ providerTaskId: 'task-lost-with-time', jobStatus: 'RUNNING', progress: 30 });
  expect(await jobs.get('lost-with-time')).toMatchObject({ status: 'RUNNING', resumes: 1, executionArn: 'arn:execution:lost-with-time-resume-1' });
  expect((await jobs.get('lost-past-deadline'))?.error?.message).toMatch(/MISSING.*past its deadline/);
  expect(announced.map((ended) => ended.jobId).sort()).toEqual(['lost-before-submit', 'lost-past-deadline', 'lost-too-often']);
  for (const untouched of ['alive', 'just-created', 'waiting-for-batch']) {
    expect(started.some((start) => start.input.jobId === untouched), untouched).toBe(false);
    expect((await jobs.get(untouched))?.status, untouched).not.toMatch(/FAILED|TIMED_OUT/);
  }
});

function sweepDeps(overrides: Partial<SweepDeps> & Pick<SweepDeps, 'jobs' | 'workflow'>): SweepDeps {
  return {
    requests: { save: async () => {}, load: async () => Promise.reject(new Error('not used')) },
    announcer: { announce: async () => {} },
    schema: createJobRequestSchema(),
    readMedia: async () => Promise.reject(new Error('not used')),
    deadlineSeconds: 1800,
    now: () => NOW,
    newJobId: () => 'unused',
    startGraceSeconds: 60,
    ...overrides,
  };
}

it('acts on the record, not on a stale status-index entry: a job that ended meanwhile is left alone, and nothing throws', async () => {
  await jobs.create(job('stale-running', {}));
  await jobs.create(job('stale-queued', { status: 'QUEUED', executionArn: undefined, providerTaskId: undefined, createdAt: minutes(-5) }));
  // The index still lists them as they were; the records have moved on (the execution finished them).
  const stale = (await jobs.listActive()).filter((listed) => listed.jobId.startsWith('stale-'));
  await table.documents.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { jobId: 'stale-running' },
      UpdateExpression: 'SET #status = :succeeded',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':succeeded': 'SUCCEEDED' },
    }),
  );
  await jobs.endJob('stale-queued', { status: 'CANCELLED', error: { code: 'CANCELLED', message: 'by test' }, at: NOW });
  const started: string[] = [];
  const report = await sweepJobs(
    sweepDeps({
      jobs: { ...jobs, listActive: async () => stale },
      workflow: { start: async (input, name = input.jobId) => (started.push(name), `arn:execution:${name}`), stop: async () => {}, describe: async () => 'MISSING' },
    }),
  );
  expect(report).toMatchObject({ started: [], resumed: [], ended: [], failed: [] });
  expect(started).toEqual([]);
  expect(await jobs.get('stale-running')).toMatchObject({ status: 'SUCCEEDED', executionArn: 'arn:execution:stale-running' });
  expect((await jobs.get('stale-running'))?.resumes).toBeUndefined();
});

it('two sweeps that find the same lost execution resume it once', async () => {
  await jobs.create(job('lost-twice-seen', {}));
  const started: string[] = [];
  const workflow: SweepDeps['workflow'] = {
    start: async (input, name = input.jobId) => (started.push(name), `arn:execution:${name}`),
    stop: async () => {},
    describe: async (arn) => (arn === 'arn:execution:lost-twice-seen' ? 'FAILED' : 'RUNNING'),
  };
  const only = (listed: JobRecord[]) => listed.filter((entry) => entry.jobId === 'lost-twice-seen');
  const scoped = { ...jobs, listActive: async () => only(await jobs.listActive()) };
  const reports = await Promise.all([sweepJobs(sweepDeps({ jobs: scoped, workflow })), sweepJobs(sweepDeps({ jobs: scoped, workflow }))]);
  expect(started).toEqual(['lost-twice-seen-resume-1']);
  expect(reports.flatMap((report) => report.resumed)).toEqual(['lost-twice-seen']);
  expect(reports.flatMap((report) => report.failed)).toEqual([]);
  expect(await jobs.get('lost-twice-seen')).toMatchObject({ resumes: 1, executionArn: 'arn:execution:lost-twice-seen-resume-1' });
});

it('a job it cannot handle (a service error) is reported, and the others are still swept', async () => {
  await jobs.create(job('broken-a', {}));
  await jobs.create(job('broken-b', { deadlineAt: minutes(-1) }));
  const only = (listed: JobRecord[]) => listed.filter((entry) => entry.jobId.startsWith('broken-'));
  const report = await sweepJobs(
    sweepDeps({
      jobs: { ...jobs, listActive: async () => only(await jobs.listActive()) },
      workflow: {
        start: async () => Promise.reject(new Error('StartExecution throttled')),
        stop: async () => {},
        describe: async () => 'MISSING',
      },
    }),
  );
  expect(report.failed).toEqual([{ jobId: 'broken-a', message: 'StartExecution throttled' }]);
  expect(report.ended).toEqual([{ jobId: 'broken-b', status: 'TIMED_OUT', code: 'STUCK_PAST_DEADLINE' }]);
});
