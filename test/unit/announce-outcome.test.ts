import { afterAll, beforeAll, expect, it } from 'vitest';
import { announceOutcome } from '../../runtime/workflow/announce-outcome.js';
import { JOB_KIND, type JobRecord } from '../../runtime/domain/job.js';
import { createJobRepository } from '../../runtime/aws/job-repository.js';
import { startJobsTable } from '../../testkit/jobs-table.js';

let table: Awaited<ReturnType<typeof startJobsTable>>;

beforeAll(async () => {
  table = await startJobsTable();
});

afterAll(async () => {
  await table?.close();
});

it('a retried announcement (the step crashed after its work) publishes the event once', async () => {
  const jobs = createJobRepository(table.documents, table.tableName);
  await jobs.create({
    jobId: 'done',
    kind: JOB_KIND,
    status: 'SUCCEEDED',
    progress: 100,
    trigger: { type: 'http', source: 'test' },
    createdAt: '2026-11-24T12:00:00.000Z',
    updatedAt: '2026-11-24T12:01:00.000Z',
    deadlineAt: '2026-11-24T12:30:00.000Z',
  });
  const published: JobRecord[] = [];
  const deps = {
    jobs,
    announcer: { announce: async (job: JobRecord) => void published.push(job), announceLateVideo: async () => {} },
    now: () => new Date('2026-11-24T12:02:00Z'),
  };
  expect((await announceOutcome({ jobId: 'done' }, deps)).job.status).toBe('SUCCEEDED');
  expect((await announceOutcome({ jobId: 'done' }, deps)).job.status).toBe('SUCCEEDED');
  expect(published.map((job) => job.jobId)).toEqual(['done']);
  expect((await jobs.get('done'))?.announcedAt).toBe('2026-11-24T12:02:00.000Z');
});
