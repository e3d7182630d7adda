import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartFailedError } from '../../lambdas/core/errors.js';
import type { JobRecord } from '../../lambdas/core/job.js';
import { acceptJob, type IntakeDeps } from '../../lambdas/core/job-intake.js';
import { createJobRepository } from '../../lambdas/core/job-repository.js';
import { createJobRequestSchema } from '../../lambdas/core/request-schema.js';
import { startJobsTable } from '../support/jobs-table.js';

/** acceptJob against a real (local) DynamoDB: the races it must survive are the table's. */

const TABLE = 'Jobs';
let table: Awaited<ReturnType<typeof startJobsTable>>;
let documents: DynamoDBDocumentClient;
let counter = 0;

beforeAll(async () => {
  table = await startJobsTable(TABLE);
  documents = table.documents;
});

afterAll(async () => {
  await table?.close();
});

function deps(overrides: Partial<IntakeDeps>): IntakeDeps & { announced: JobRecord[] } {
  const announced: JobRecord[] = [];
  return {
    jobs: createJobRepository(documents, TABLE),
    requests: { save: async () => {}, load: async () => Promise.reject(new Error('not used')) },
    workflow: { start: async (input) => `arn:aws:states:::execution:jobs:${input.jobId}` },
    announcer: { announce: async (job) => void announced.push(job) },
    schema: createJobRequestSchema(),
    readMedia: async () => Promise.reject(new Error('not used')),
    deadlineSeconds: 1800,
    now: () => new Date('2026-11-24T12:00:00Z'),
    newJobId: () => `job-${++counter}`,
    announced,
    ...overrides,
  };
}

const body = { model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }] };

describe('acceptJob', () => {
  it('keeps a job whose execution already moved it on before the start was recorded', async () => {
    // A fast execution: RecordSubmitted runs before StartExecution's answer is even back.
    const raced = deps({
      workflow: {
        start: async (input) => {
          await documents.send(
            new UpdateCommand({
              TableName: TABLE,
              Key: { jobId: input.jobId },
              UpdateExpression: 'SET #status = :submitted',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':submitted': 'SUBMITTED' },
            }),
          );
          return `arn:aws:states:::execution:jobs:${input.jobId}`;
        },
      },
    });
    const { job } = await acceptJob({ body, trigger: { type: 'http', source: 'test' } }, raced);
    const stored = await raced.jobs.get(job.jobId);
    expect(stored).toMatchObject({ status: 'SUBMITTED', executionArn: `arn:aws:states:::execution:jobs:${job.jobId}` });
    expect(raced.announced).toEqual([]);
  });

  it('a job recorded but never started (the intake died between its writes) is started by the next identical request', async () => {
    const crashed = deps({ workflow: { start: async () => Promise.reject(new Error('the process died here')) } });
    // The record exists, QUEUED, without an execution: what a crash between the two writes leaves.
    await crashed.jobs.create({
      jobId: 'idem-crashed',
      kind: 'job',
      status: 'QUEUED',
      progress: 0,
      request: { model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }], generate_audio: true, resolution: '720p', ratio: 'adaptive', duration: 5, watermark: false },
      requestKey: 'requests/idem-crashed.json',
      trigger: { type: 'http', source: 'test' },
      createdAt: '2026-11-24T12:00:00.000Z',
      updatedAt: '2026-11-24T12:00:00.000Z',
      deadlineAt: '2026-11-24T12:30:00.000Z',
    });
    const retried = deps({});
    const { job, replayed } = await acceptJob({ body, trigger: { type: 'http', source: 'test' }, jobId: 'idem-crashed' }, retried);
    expect(replayed).toBe(true);
    expect(job.executionArn).toBe('arn:aws:states:::execution:jobs:idem-crashed');
    expect(await retried.jobs.get('idem-crashed')).toMatchObject({ status: 'QUEUED', executionArn: 'arn:aws:states:::execution:jobs:idem-crashed' });
  });

  it('a start that fails ends the job FAILED with START_FAILED and announces it', async () => {
    const refused = deps({ workflow: { start: async () => Promise.reject(new Error('throttled')) } });
    const attempt = acceptJob({ body, trigger: { type: 'http', source: 'test' } }, refused);
    await expect(attempt).rejects.toBeInstanceOf(StartFailedError);
    const [announced] = refused.announced;
    expect(announced).toMatchObject({ status: 'FAILED', error: { code: 'START_FAILED' } });
    expect(await refused.jobs.get(announced!.jobId)).toMatchObject({ status: 'FAILED' });
  });

  it('a deferred job is recorded and not started; a replayed id finds the job instead of making another', async () => {
    let starts = 0;
    const counting = deps({ workflow: { start: async (input) => (starts += 1, `arn:${input.jobId}`) } });
    const first = await acceptJob({ body, trigger: { type: 's3', source: 's3://b/k' }, jobId: 'upload-1', deferred: true }, counting);
    expect(first).toMatchObject({ replayed: false, job: { status: 'QUEUED', deferred: true } });
    const again = await acceptJob({ body, trigger: { type: 's3', source: 's3://b/k' }, jobId: 'upload-1', deferred: true }, counting);
    expect(again.replayed).toBe(true);
    // The same id for another request is a conflict, not a second job.
    const other = acceptJob({ body: { ...body, duration: 8 }, trigger: { type: 's3', source: 's3://b/k' }, jobId: 'upload-1', deferred: true }, counting);
    await expect(other).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(starts).toBe(0);
    expect(await counting.jobs.listDeferred(10)).toEqual([expect.objectContaining({ jobId: 'upload-1' })]);
  });
});
