import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptJob, type IntakeDeps } from '../../runtime/intake/job-intake.js';
import { intakeTestDeps } from '../../testkit/intake-deps.js';
import { startJobsTable } from '../../testkit/jobs-table.js';

/** acceptJob against a real (local) DynamoDB: the races it must survive are the table's. */

const TABLE = 'Jobs';
let table: Awaited<ReturnType<typeof startJobsTable>>;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  table = await startJobsTable(TABLE);
  documents = table.documents;
});

afterAll(async () => {
  await table?.close();
});

function deps(overrides: Partial<IntakeDeps> = {}) {
  return intakeTestDeps(table, overrides);
}

const body = { model: 'seedance-fast', content: [{ type: 'text', text: 'A cat' }] };

describe('acceptJob', () => {
  it('keeps a job whose execution already moved it on before the start was recorded', async () => {
    // A fast execution: RecordSubmitted runs before StartExecution's answer is even back.
    const raced = deps({
      workflow: {
        ...deps().workflow,
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

  it('a job recorded while its dispatch failed waits in the line, and the next dispatch (any intake) starts it', async () => {
    const failing = deps({ slots: { ...table.slots(), read: async () => Promise.reject(new Error('DynamoDB throttled')) } });
    const errors: unknown[] = [];
    const { job } = await acceptJob(
      { body, trigger: { type: 'http', source: 'test' }, jobId: 'idem-waits' },
      { ...failing, onDispatchError: (error) => errors.push(error) },
    );
    expect(errors).toEqual([new Error('DynamoDB throttled')]);
    expect(await failing.jobs.get(job.jobId)).toMatchObject({ status: 'QUEUED', inLine: 'waiting' });
    const next = deps();
    const { job: later } = await acceptJob({ body: { ...body, duration: 6 }, trigger: { type: 'http', source: 'test' } }, next);
    expect(next.started.map((start) => start.input.jobId).sort()).toEqual(['idem-waits', later.jobId].sort());
    expect(await next.jobs.get('idem-waits')).not.toHaveProperty('inLine');
  });

  it('a start that fails sends the job back to the front of the line and gives its slot back; the answer is still the recorded job', async () => {
    const refused = deps({ workflow: { ...deps().workflow, start: async () => Promise.reject(new Error('throttled')) } });
    const { job } = await acceptJob({ body, trigger: { type: 'http', source: 'test' }, jobId: 'idem-start-fails' }, refused);
    expect(job.status).toBe('QUEUED');
    const stored = await refused.jobs.get('idem-start-fails');
    expect(stored).toMatchObject({ status: 'QUEUED', inLine: 'waiting', admissions: 1 });
    expect(stored?.lineKey?.startsWith('!')).toBe(true);
    expect((await refused.slots.read()).holders).not.toHaveProperty('idem-start-fails');
    expect(refused.announced).toEqual([]);
  });

  it('a deferred job is recorded and not started; a replayed id finds the job instead of making another', async () => {
    let starts = 0;
    const counting = deps({ workflow: { ...deps().workflow, start: async (input) => ((starts += 1), `arn:${input.jobId}`) } });
    const first = await acceptJob({ body, trigger: { type: 's3', source: 's3://b/k' }, jobId: 'upload-1', deferred: true }, counting);
    expect(first).toMatchObject({ replayed: false, job: { status: 'QUEUED', deferred: true } });
    const again = await acceptJob({ body, trigger: { type: 's3', source: 's3://b/k' }, jobId: 'upload-1', deferred: true }, counting);
    expect(again.replayed).toBe(true);
    // The same id for another request is a conflict, not a second job.
    const other = acceptJob({ body: { ...body, duration: 8 }, trigger: { type: 's3', source: 's3://b/k' }, jobId: 'upload-1', deferred: true }, counting);
    await expect(other).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(starts).toBe(0);
    expect(await counting.jobs.listDeferred()).toEqual([expect.objectContaining({ jobId: 'upload-1' })]);
  });
});
