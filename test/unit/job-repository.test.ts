import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../runtime/domain/errors.js';
import { JOB_KIND, type JobRecord, type JobStatus } from '../../runtime/domain/job.js';
import { createJobRepository, type JobRepository } from '../../runtime/aws/job-repository.js';
import { startJobsTable } from '../../testkit/jobs-table.js';

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

describe('list cursors', () => {
  const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');

  async function refusal(query: Parameters<JobRepository['list']>[0], repository = jobs): Promise<unknown> {
    try {
      await repository.list(query);
    } catch (error) {
      return error;
    }
    throw new Error('expected list to refuse the cursor');
  }

  async function expectCursorRefused(query: Parameters<JobRepository['list']>[0], repository = jobs): Promise<void> {
    const error = await refusal(query, repository);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual(['query.cursor']);
  }

  let runningCursor: string;
  let allCursor: string;

  beforeAll(async () => {
    for (const id of ['page-a', 'page-bb', 'page-ccc']) await jobs.create(job(id, 'RUNNING'));
    runningCursor = (await jobs.list({ status: 'RUNNING', limit: 1 })).nextCursor!;
    allCursor = (await jobs.list({ limit: 1 })).nextCursor!;
  });

  it('a cursor goes on with the listing it came from', async () => {
    const first = await jobs.list({ status: 'RUNNING', limit: 1 });
    const second = await jobs.list({ status: 'RUNNING', limit: 1, cursor: runningCursor });
    expect(second.jobs).toHaveLength(1);
    expect(second.jobs[0]!.jobId).not.toBe(first.jobs[0]!.jobId);
    expect((await jobs.list({ limit: 1, cursor: allCursor })).jobs).toHaveLength(1);
    // A trigger filter reads the same index: the cursor stays valid.
    expect((await jobs.list({ status: 'RUNNING', trigger: 'schedule', limit: 1, cursor: runningCursor })).jobs).toHaveLength(1);
  });

  it('a cursor of a status=RUNNING listing is refused with another status or none', async () => {
    await expectCursorRefused({ status: 'SUBMITTED', limit: 1, cursor: runningCursor });
    await expectCursorRefused({ limit: 1, cursor: runningCursor });
    await expectCursorRefused({ status: 'RUNNING', limit: 1, cursor: allCursor });
    await expectCursorRefused({ status: 'QUEUED', limit: 1, cursor: runningCursor });
  });

  it.each([
    ['another shape', cursorOf({ a: 1 })],
    ['JSON that is not an object', cursorOf([1, 2])],
    ['a key with one field more', cursorOf({ jobId: 'page-a', status: 'RUNNING', createdAt: '2026-11-24T12:00:00.006Z', progress: 0 })],
    ['a key with one field less', cursorOf({ jobId: 'page-a', status: 'RUNNING' })],
    ['a number for an id', cursorOf({ jobId: 7, status: 'RUNNING', createdAt: '2026-11-24T12:00:00.006Z' })],
    ['an id over the key limit', cursorOf({ jobId: 'a'.repeat(2049), status: 'RUNNING', createdAt: '2026-11-24T12:00:00.006Z' })],
    ['an empty id', cursorOf({ jobId: '', status: 'RUNNING', createdAt: '2026-11-24T12:00:00.006Z' })],
    ['a date that is not one', cursorOf({ jobId: 'page-a', status: 'RUNNING', createdAt: 'yesterday' })],
    ['not base64url', `${cursorOf({ jobId: 'page-a', status: 'RUNNING', createdAt: '2026-11-24T12:00:00.006Z' })}!`],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')],
    ['not JSON', 'bm90IGpzb24'],
  ])('%s is refused, naming query.cursor', async (_name, cursor) => {
    await expectCursorRefused({ status: 'RUNNING', limit: 1, cursor });
  });

  it('a forged key of exactly the right shape is read like ours (DynamoDB needs no such item)', async () => {
    const cursor = cursorOf({ jobId: 'never-made', status: 'RUNNING', createdAt: '2026-11-24T12:00:00.999Z' });
    expect((await jobs.list({ status: 'RUNNING', limit: 10, cursor })).jobs.length).toBeGreaterThan(0);
  });

  it('if DynamoDB still refuses the start key (an index that changed under old cursors), the cursor is named', async () => {
    const changed = await startJobsTable('Jobs', { sortKey: 'updatedAt' });
    try {
      const repository = createJobRepository(changed.documents, changed.tableName);
      const error = await refusal({ status: 'RUNNING', limit: 1, cursor: runningCursor }, repository);
      expect((error as ValidationError).issues).toEqual([{ path: 'query.cursor', message: expect.stringContaining('nextCursor') }]);
      // Without a cursor the same query is answered: it was the start key DynamoDB refused.
      expect((await repository.list({ status: 'RUNNING', limit: 1 })).jobs).toEqual([]);
    } finally {
      await changed.close();
    }
  });

  it('status=QUEUED lists the admission line in order, page after page, and its cursor is good for that listing only', async () => {
    const waiting = (jobId: string, lineKey: string) => ({ ...job(jobId, 'QUEUED'), inLine: 'waiting' as const, lineKey });
    await jobs.create(waiting('line-2', '2026-11-24T12:10:00.000Z#line-2'));
    await jobs.create(waiting('line-1', '!2026-11-24T12:20:00.000Z#line-1'));
    await jobs.create(waiting('line-3', '2026-11-24T12:11:00.000Z#line-3'));
    const first = await jobs.list({ status: 'QUEUED', limit: 2 });
    const second = await jobs.list({ status: 'QUEUED', limit: 2, cursor: first.nextCursor! });
    expect([...first.jobs, ...second.jobs].map((listed) => listed.jobId)).toEqual(['line-1', 'line-2', 'line-3']);
    await expectCursorRefused({ status: 'RUNNING', limit: 1, cursor: first.nextCursor! });
    await expectCursorRefused({ status: 'QUEUED', limit: 1, cursor: cursorOf({ jobId: 'line-1', inLine: 'elsewhere', lineKey: 'x' }) });
    expect(await jobs.countAhead('2026-11-24T12:11:00.000Z#line-3')).toBe(2);
  });
});
