import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_KIND, type JobRecord, type JobStatus } from '../../lambdas/core/job.js';
import { createJobRepository, type JobRepository } from '../../lambdas/core/job-repository.js';
import { startJobsTable } from '../support/jobs-table.js';

let table: Awaited<ReturnType<typeof startJobsTable>>;
let jobs: JobRepository;

beforeAll(async () => {
  table = await startJobsTable();
  jobs = createJobRepository(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

const job = (jobId: string, status: JobStatus, extra: Partial<JobRecord> = {}): JobRecord => ({
  jobId,
  kind: JOB_KIND,
  status,
  progress: 0,
  trigger: { type: 'schedule', source: 'test' },
  createdAt: `2026-11-24T12:00:00.${String(jobId.length).padStart(3, '0')}Z`,
  updatedAt: '2026-11-24T12:00:00.000Z',
  deadlineAt: '2026-11-24T12:30:00.000Z',
  ...extra,
});

describe('countInFlight', () => {
  it('counts a job that moves on between two of its status queries (the batch cap depends on it)', async () => {
    await jobs.create(job('moving', 'QUEUED', { executionArn: 'arn:moving' }));
    // The worst timing: the QUEUED query is answered only after the SUBMITTED query ran and the
    // execution then moved the job QUEUED → SUBMITTED. Queried in parallel, the job would be missed.
    let submittedQueried: () => void = () => {};
    const afterSubmittedQuery = new Promise<void>((resolve) => (submittedQueried = resolve));
    table.documents.middlewareStack.add(
      (handler) => async (args) => {
        const input = args.input as { ProjectionExpression?: string; ExpressionAttributeValues?: Record<string, unknown> };
        const status = input.ProjectionExpression === 'jobId' ? input.ExpressionAttributeValues?.[':status'] : undefined;
        if (status === 'QUEUED') await Promise.race([afterSubmittedQuery, new Promise((resolve) => setTimeout(resolve, 200))]);
        const result = await handler(args);
        if (status === 'SUBMITTED' && (await jobs.get('moving'))?.status === 'QUEUED') {
          await table.documents.send(
            new UpdateCommand({
              TableName: table.tableName,
              Key: { jobId: 'moving' },
              UpdateExpression: 'SET #status = :submitted',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':submitted': 'SUBMITTED' },
            }),
          );
          submittedQueried();
        }
        return result;
      },
      { step: 'initialize', name: 'move-job-between-queries' },
    );
    try {
      // Exactly once: neither missed nor counted in both statuses.
      expect(await jobs.countInFlight()).toBe(1);
    } finally {
      table.documents.middlewareStack.remove('move-job-between-queries');
    }
    expect((await jobs.get('moving'))?.status).toBe('SUBMITTED');
  });

  it('does not count deferred or finished jobs', async () => {
    await jobs.create(job('waiting', 'QUEUED', { deferred: true }));
    await jobs.create(job('done', 'SUCCEEDED'));
    const before = await jobs.countInFlight();
    await jobs.create(job('live', 'RUNNING'));
    expect(await jobs.countInFlight()).toBe(before + 1);
  });
});
