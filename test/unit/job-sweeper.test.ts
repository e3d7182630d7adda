import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JOB_KIND, type JobRecord } from '../../runtime/domain/job.js';
import { createJobRepository, type JobRepository } from '../../runtime/aws/job-repository.js';
import { MAX_RESUMES, sweepJobs, type SweepDeps } from '../../runtime/sweeper/job-sweeper.js';
import { intakeTestDeps, recordingWorkflow } from '../../testkit/intake-deps.js';
import { startJobsTable } from '../../testkit/jobs-table.js';

/** The sweeper against a real (local) Jobs table and admission slots; only the executions are scripted. */

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

const arnOf = (name: string) => recordingWorkflow().workflow.executionArnFor(name);
const request = {
  model: 'seedance-fast',
  content: [{ type: 'text' as const, text: 'A cat' }],
  generate_audio: true,
  resolution: '720p' as const,
  ratio: 'adaptive' as const,
  duration: 5,
  watermark: false,
};
const job = (jobId: string, fields: Partial<JobRecord>): JobRecord => ({
  jobId,
  kind: JOB_KIND,
  status: 'RUNNING',
  progress: 30,
  request,
  requestKey: `requests/${jobId}/hash.json`,
  trigger: { type: 'http', source: 'test' },
  createdAt: minutes(-10),
  updatedAt: minutes(-1),
  deadlineAt: minutes(20),
  admissions: 1,
  admittedAt: minutes(-10),
  executionArn: arnOf(jobId),
  providerTaskId: `task-${jobId}`,
  submittedAt: minutes(-9),
  ...fields,
});

/** Jobs of one test only: each test names its own, and they share the table. */
function scopedTo(prefix: string): JobRepository {
  return { ...jobs, listActive: async () => (await jobs.listActive()).filter((listed) => listed.jobId.startsWith(prefix)) };
}

function sweepDeps(overrides: Partial<SweepDeps> & Pick<SweepDeps, 'workflow'>): SweepDeps & { announced: JobRecord[] } {
  return { ...intakeTestDeps(table, { now: () => NOW, maxQueueSeconds: 3600 }), startGraceSeconds: 60, ...overrides };
}

it('repairs or ends every job whose execution is gone, and leaves running ones alone', async () => {
  const { workflow, started } = recordingWorkflow({ [arnOf('a-alive')]: 'RUNNING', [arnOf('a-busy')]: 'SUCCEEDED' });
  const slots = table.slots();
  await jobs.create(job('a-alive', {}));
  await jobs.create(job('a-lost-with-time', {}));
  await slots.acquire('a-lost-with-time', 'a-lost-with-time', new Date(minutes(-10)));
  await jobs.create(job('a-lost-past-deadline', { deadlineAt: minutes(-1) }));
  await slots.acquire('a-lost-past-deadline', 'a-lost-past-deadline', new Date(minutes(-10)));
  await jobs.create(job('a-lost-before-submit', { status: 'QUEUED', providerTaskId: undefined, submittedAt: undefined }));
  await jobs.create(job('a-busy', { status: 'QUEUED', providerTaskId: undefined, submittedAt: undefined, lineKey: '2026-11-24T11:50:00.000Z#a-busy' }));
  await slots.acquire('a-busy', 'a-busy', new Date(minutes(-10)));
  await jobs.create(job('a-lost-too-often', { resumes: MAX_RESUMES }));
  await jobs.create(job('a-admitted-never-started', { status: 'QUEUED', executionArn: undefined, providerTaskId: undefined, admittedAt: minutes(-5) }));
  await slots.acquire('a-admitted-never-started', 'a-admitted-never-started', new Date(minutes(-5)));
  await jobs.create(job('a-just-admitted', { status: 'QUEUED', executionArn: undefined, providerTaskId: undefined, admittedAt: NOW.toISOString() }));
  await jobs.create(job('a-waiting-for-batch', { status: 'QUEUED', executionArn: undefined, deferred: true, admissions: undefined }));

  const deps = sweepDeps({ jobs: scopedTo('a-'), workflow });
  const report = await sweepJobs(deps);

  expect(report.resumed).toEqual(['a-lost-with-time']);
  expect(report.started).toEqual(['a-admitted-never-started']);
  // The provider refused its create and the end of its execution was lost: back to the front of the
  // line, from where the sweep's own dispatch admits it again, in its second execution.
  expect(report.returned).toEqual(['a-busy']);
  expect(await jobs.get('a-busy')).toMatchObject({ status: 'QUEUED', admissions: 2, lineKey: '!2026-11-24T11:50:00.000Z#a-busy' });
  expect(report.dispatch?.started).toContain('a-busy');
  expect(started.filter((start) => start.input.jobId === 'a-busy').map((start) => start.name)).toEqual(['a-busy-admission-2']);
  expect(report.ended.sort((a, b) => a.jobId.localeCompare(b.jobId))).toEqual([
    { jobId: 'a-lost-before-submit', status: 'FAILED', code: 'EXECUTION_LOST' },
    { jobId: 'a-lost-past-deadline', status: 'TIMED_OUT', code: 'STUCK_PAST_DEADLINE' },
    { jobId: 'a-lost-too-often', status: 'FAILED', code: 'EXECUTION_LOST' },
  ]);
  // The resume polls the same provider task, from where the job was, under a new execution name, in the same slot.
  const resume = started.find((start) => start.input.jobId === 'a-lost-with-time')!;
  expect(resume.name).toBe('a-lost-with-time-resume-1');
  expect(resume.input.poll).toMatchObject({ providerTaskId: 'task-a-lost-with-time', jobStatus: 'RUNNING', progress: 30 });
  expect(await jobs.get('a-lost-with-time')).toMatchObject({ status: 'RUNNING', resumes: 1, executionArn: arnOf('a-lost-with-time-resume-1') });
  const { holders } = await slots.read();
  expect(holders['a-lost-with-time']?.execution).toBe('a-lost-with-time-resume-1');
  // Ended by the sweep: its slot is given back, as no execution of its own will.
  expect(holders).not.toHaveProperty('a-lost-past-deadline');
  expect((await jobs.get('a-lost-past-deadline'))?.error?.message).toMatch(/MISSING.*past its deadline/);
  expect(deps.announced.map((ended) => ended.jobId).sort()).toEqual(['a-lost-before-submit', 'a-lost-past-deadline', 'a-lost-too-often']);
  for (const untouched of ['a-alive', 'a-just-admitted', 'a-waiting-for-batch']) {
    expect(
      started.some((start) => start.input.jobId === untouched),
      untouched,
    ).toBe(false);
    expect((await jobs.get(untouched))?.status, untouched).not.toMatch(/FAILED|TIMED_OUT/);
  }
});

it('ends a job that waited in the line past its limit TIMED_OUT with QUEUE_TIMEOUT, and reports the line', async () => {
  const { workflow } = recordingWorkflow();
  const waiting = (jobId: string, queuedAt: string) =>
    job(jobId, {
      status: 'QUEUED',
      executionArn: undefined,
      providerTaskId: undefined,
      admissions: undefined,
      queuedAt,
      inLine: 'waiting',
      lineKey: `${queuedAt}#${jobId}`,
    });
  await jobs.create(waiting('q-too-long', minutes(-61)));
  await jobs.create(waiting('q-fresh', minutes(-30)));
  // A full line: nothing is free, so the sweep's own dispatch starts nothing.
  const deps = sweepDeps({
    jobs: scopedTo('q-'),
    workflow,
    slots: { ...table.slots(), read: async () => ({ holders: {}, limit: { cap: 0, threshold: 0 }, allowed: 0 }) },
  });
  const report = await sweepJobs(deps);
  expect(report.ended).toEqual([{ jobId: 'q-too-long', status: 'TIMED_OUT', code: 'QUEUE_TIMEOUT' }]);
  expect(await jobs.get('q-too-long')).toMatchObject({ status: 'TIMED_OUT', error: { code: 'QUEUE_TIMEOUT' } });
  expect(await jobs.get('q-too-long')).not.toHaveProperty('inLine');
  expect(report.line).toEqual({ waiting: 1, oldestQueuedAt: minutes(-30) });
});

it('gives back slots no execution will: a job that ended with its end event lost, and a job still in the line', async () => {
  const slots = table.slots();
  const { workflow } = recordingWorkflow();
  await jobs.create(job('r-ended', { status: 'SUCCEEDED' }));
  await slots.acquire('r-ended', 'r-ended', new Date(minutes(-5)));
  await jobs.create(
    job('r-in-line', {
      status: 'QUEUED',
      executionArn: undefined,
      providerTaskId: undefined,
      inLine: 'waiting',
      lineKey: `${minutes(-5)}#r-in-line`,
      queuedAt: minutes(-5),
    }),
  );
  await slots.acquire('r-in-line', 'r-in-line', new Date(minutes(-5)));
  const report = await sweepJobs(sweepDeps({ jobs: scopedTo('r-'), workflow }));
  expect(report.slotsReclaimed.filter((jobId) => jobId.startsWith('r-')).sort()).toEqual(['r-ended', 'r-in-line']);
});

it('acts on the record, not on a stale status-index entry: a job that ended meanwhile is left alone, and nothing throws', async () => {
  await jobs.create(job('s-running', {}));
  await jobs.create(job('s-queued', { status: 'QUEUED', executionArn: undefined, providerTaskId: undefined, admittedAt: minutes(-5) }));
  // The index still lists them as they were; the records have moved on (the execution finished them).
  const stale = (await jobs.listActive()).filter((listed) => listed.jobId.startsWith('s-'));
  await table.documents.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { jobId: 's-running' },
      UpdateExpression: 'SET #status = :succeeded',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':succeeded': 'SUCCEEDED' },
    }),
  );
  await jobs.endJob('s-queued', { status: 'CANCELLED', error: { code: 'CANCELLED', message: 'by test' }, at: NOW });
  const { workflow, started } = recordingWorkflow();
  const report = await sweepJobs(sweepDeps({ jobs: { ...jobs, listActive: async () => stale }, workflow }));
  expect(report).toMatchObject({ started: [], resumed: [], ended: [], failed: [] });
  expect(started.filter((start) => start.input.jobId.startsWith('s-'))).toEqual([]);
  expect(await jobs.get('s-running')).toMatchObject({ status: 'SUCCEEDED', executionArn: arnOf('s-running') });
  expect((await jobs.get('s-running'))?.resumes).toBeUndefined();
});

it('two sweeps that find the same lost execution resume it once', async () => {
  await jobs.create(job('t-lost', {}));
  await table.slots().acquire('t-lost', 't-lost', new Date(minutes(-10)));
  const { workflow, started } = recordingWorkflow({ [arnOf('t-lost')]: 'FAILED' });
  const scoped = scopedTo('t-');
  const reports = await Promise.all([sweepJobs(sweepDeps({ jobs: scoped, workflow })), sweepJobs(sweepDeps({ jobs: scoped, workflow }))]);
  expect(started.map((start) => start.name)).toEqual(['t-lost-resume-1']);
  expect(reports.flatMap((report) => report.resumed)).toEqual(['t-lost']);
  expect(reports.flatMap((report) => report.failed)).toEqual([]);
  expect(await jobs.get('t-lost')).toMatchObject({ resumes: 1, executionArn: arnOf('t-lost-resume-1') });
});

it('a job it cannot handle (a service error) is reported, and the others are still swept', async () => {
  await jobs.create(job('u-broken', {}));
  await table.slots().acquire('u-broken', 'u-broken', new Date(minutes(-10)));
  await jobs.create(job('u-past', { deadlineAt: minutes(-1) }));
  const { workflow } = recordingWorkflow();
  const report = await sweepJobs(
    sweepDeps({ jobs: scopedTo('u-'), workflow: { ...workflow, start: async () => Promise.reject(new Error('StartExecution throttled')) } }),
  );
  expect(report.failed).toEqual([{ jobId: 'u-broken', message: 'StartExecution throttled' }]);
  expect(report.ended).toEqual([{ jobId: 'u-past', status: 'TIMED_OUT', code: 'STUCK_PAST_DEADLINE' }]);
});
