import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterCreated, afterRefused, initialLimit, slotsAllowed } from '../../runtime/admission/admission-limit.js';
import { frontOfLine, lineKeyFor } from '../../runtime/admission/admission-line.js';
import { admitWaiting } from '../../runtime/admission/dispatch.js';
import { onExecutionEnded } from '../../runtime/admission/execution-ended.js';
import { acceptJob } from '../../runtime/intake/job-intake.js';
import { intakeTestDeps, recordingWorkflow } from '../../testkit/intake-deps.js';
import { startJobsTable } from '../../testkit/jobs-table.js';

/** Admission against a real (local) DynamoDB: the races it must survive are the table's. */

let table: Awaited<ReturnType<typeof startJobsTable>>;

beforeAll(async () => {
  table = await startJobsTable('Admitted');
});

afterAll(async () => {
  await table?.close();
});

const body = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'seedance-fast', content: [{ type: 'text', text }], ...extra });

describe('the learned limit', () => {
  it('starts at the configured maximum and never passes it', () => {
    let limit = initialLimit(30);
    expect(slotsAllowed(limit, 30)).toBe(30);
    for (let created = 0; created < 100; created += 1) limit = afterCreated(limit, 30, 30);
    expect(limit.cap).toBe(30);
  });

  it('a refusal brings it down to what the provider holds of ours; slow start climbs back to half the old limit, then one per limit of creates', () => {
    let limit = afterRefused(initialLimit(200), 40);
    expect(limit).toEqual({ cap: 40, threshold: 100 });
    // Below the threshold: one more slot per create accepted.
    limit = afterCreated(limit, 40, 200);
    expect(limit.cap).toBe(41);
    // At 41 the provider refuses again: back to 40, and the threshold comes down to it.
    limit = afterRefused(limit, 40);
    expect(limit).toEqual({ cap: 40, threshold: 40 });
    // Above the threshold it takes about 40 more accepted creates to try 41 again.
    let creates = 0;
    while (slotsAllowed(limit, 200) < 41) {
      limit = afterCreated(limit, 40, 200);
      creates += 1;
    }
    // One per accepted create at 1/limit each: about a limit's worth (the limit grows a little on the way).
    expect(creates).toBeGreaterThanOrEqual(40);
    expect(creates).toBeLessThanOrEqual(41);
  });

  it('a refusal counted while other creates were still in flight is corrected by the creates that then succeed', () => {
    // The count was read low (5), but 38 of ours are at the provider by the time those creates come back.
    let limit = afterRefused(initialLimit(200), 5);
    expect(slotsAllowed(limit, 200)).toBe(5);
    limit = afterCreated(limit, 38, 200);
    expect(slotsAllowed(limit, 200)).toBe(39);
  });

  it('never goes below one slot, so a job can always probe the provider', () => {
    expect(slotsAllowed(afterRefused(initialLimit(20), 0), 20)).toBe(1);
  });
});

describe('the slots', () => {
  it('50 jobs taking a slot at the same moment under a cap of 7: exactly 7 get one', async () => {
    const slots = table.slots(7);
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, index) => slots.acquire(`race-${index}`, `race-${index}`, new Date())));
    expect(outcomes.filter((outcome) => outcome === 'acquired')).toHaveLength(7);
    expect(Object.keys((await slots.read()).holders).filter((jobId) => jobId.startsWith('race-'))).toHaveLength(7);
    // A holder's slot is given back only for its own execution, once.
    const [holder] = Object.entries((await slots.read()).holders).filter(([jobId]) => jobId.startsWith('race-'));
    expect(await slots.release(holder![0], 'another-execution')).toBe(false);
    expect(await slots.release(holder![0], holder![1].execution)).toBe(true);
    expect(await slots.release(holder![0], holder![1].execution)).toBe(false);
    for (const jobId of Object.keys((await slots.read()).holders)) await slots.release(jobId);
  });
});

describe('the line', () => {
  it('orders by queue time plus the priority offset: high passes normal queued up to 10 min earlier, normal passes low queued up to 4 h earlier; the front passes all', () => {
    const at = (minutes: number) => new Date(Date.UTC(2026, 11, 4, 12, 0) + minutes * 60_000);
    const keys = [
      lineKeyFor(at(0), 'low', 'low-first'),
      lineKeyFor(at(5), 'normal', 'normal-later'),
      lineKeyFor(at(14), 'high', 'high-latest'),
      lineKeyFor(at(-250), 'low', 'low-long-ago'),
      frontOfLine(lineKeyFor(at(30), 'low', 'sent-back')),
    ];
    // low-long-ago waited 4 h 10 min: it passes the fresher work (no lane starves); low-first did not.
    expect([...keys].sort().map((key) => key.split('#').pop())).toEqual(['sent-back', 'low-long-ago', 'high-latest', 'normal-later', 'low-first']);
  });

  it('40 jobs posted at once under a cap of 5: 5 start at once, the rest wait in order, and each end starts the next', async () => {
    const deps = intakeTestDeps(table, { maxJobsInFlight: 5, slots: table.slots(5) });
    const accepted = await Promise.all(
      Array.from({ length: 40 }, (_, index) => acceptJob({ body: body(`Job ${index}`), trigger: { type: 'http', source: 'test' } }, deps)),
    );
    expect(deps.started).toHaveLength(5);
    expect(Object.keys((await deps.slots.read()).holders)).toHaveLength(5);
    const waiting = await deps.jobs.nextInLine(100);
    expect(waiting.filter((job) => deps.started.some((start) => start.input.jobId === job.jobId))).toEqual([]);
    expect(waiting).toHaveLength(35);
    // An answer says "started" only of a job that did start; one that says "waiting" may have been
    // started a moment later by another intake's dispatch (its record says so, not the answer).
    const answeredStarted = accepted.filter(({ job }) => !job.inLine).map(({ job }) => job.jobId);
    expect(answeredStarted.every((jobId) => deps.started.some((start) => start.input.jobId === jobId))).toBe(true);
    // A job ends (cancelled: its execution is stopped), and the end arrives twice, as EventBridge may
    // deliver it: it frees one slot and starts the next in line, once.
    const first = deps.started[0]!;
    await deps.jobs.endJob(first.input.jobId, { status: 'CANCELLED', error: { code: 'CANCELLED', message: 'test' }, at: new Date() });
    await Promise.all([
      onExecutionEnded({ jobId: first.input.jobId, execution: first.name, status: 'ABORTED' }, deps),
      onExecutionEnded({ jobId: first.input.jobId, execution: first.name, status: 'ABORTED' }, deps),
    ]);
    expect(deps.started).toHaveLength(6);
    expect(deps.started[5]!.input.jobId).toBe(waiting[0]!.jobId);
    expect(Object.keys((await deps.slots.read()).holders)).toHaveLength(5);
  });

  it('60 dispatchers at once over 10 free slots: the 10 at the head of the line start, each once, without every dispatcher writing for every one', async () => {
    const herd = await startJobsTable('Herd');
    try {
      const base = intakeTestDeps(herd, { maxJobsInFlight: 10, slots: herd.slots(10) });
      // Recorded while the slots could not be read, as during a throttled burst: all 40 wait in the line.
      const unreadable = { ...base, slots: { ...base.slots, read: async () => Promise.reject(new Error('throttled')) }, onDispatchError: () => {} };
      for (let index = 0; index < 40; index += 1) await acceptJob({ body: body(`Herd ${index}`), trigger: { type: 'http', source: 'test' } }, unreadable);
      const head = (await base.jobs.nextInLine(10)).map((job) => job.jobId);
      let acquisitions = 0;
      const counted = {
        ...base,
        slots: { ...base.slots, acquire: (...args: Parameters<typeof base.slots.acquire>) => ((acquisitions += 1), base.slots.acquire(...args)) },
      };
      const reports = await Promise.all(Array.from({ length: 60 }, () => admitWaiting(counted)));
      const started = reports.flatMap((report) => report.started);
      expect([...started].sort()).toEqual([...head].sort());
      expect(base.started.map((start) => start.input.jobId).sort()).toEqual([...head].sort());
      expect(Object.keys((await base.slots.read()).holders).sort()).toEqual([...head].sort());
      // Trying the head in line order, each of the 60 would write for all 10 (598 writes measured; about 100 now).
      expect(acquisitions).toBeLessThan(300);
    } finally {
      await herd.close();
    }
  });
});

describe('the end of an execution', () => {
  const slotsOf = async (deps: ReturnType<typeof intakeTestDeps>) => (await deps.slots.read()).holders;

  it('that ended well with its job still QUEUED (the provider refused the create) sends the job to the front; one that lost a running job keeps its slot', async () => {
    const ends = await startJobsTable('Ends');
    try {
      const deps = intakeTestDeps(ends, { maxJobsInFlight: 1, slots: ends.slots(1) });
      const { job: refused } = await acceptJob({ body: body('Refused once'), trigger: { type: 'http', source: 'test' } }, deps);
      const { job: behind } = await acceptJob({ body: body('Waits behind it'), trigger: { type: 'http', source: 'test' } }, deps);
      expect(deps.started.map((start) => start.name)).toEqual([refused.jobId]);

      const busy = await onExecutionEnded({ jobId: refused.jobId, execution: refused.jobId, status: 'SUCCEEDED' }, deps);
      expect(busy).toMatchObject({ returnedToLine: true, released: true });
      // Back at the front: admitted again before the job behind it, in an execution of its own.
      expect(deps.started.map((start) => start.name)).toEqual([refused.jobId, `${refused.jobId}-admission-2`]);
      expect(await deps.jobs.get(refused.jobId)).toMatchObject({ status: 'QUEUED', admissions: 2 });
      expect(await deps.jobs.get(behind.jobId)).toMatchObject({ inLine: 'waiting' });

      // The second execution submits (RecordSubmitted), then dies past every Catch: its task runs on at the provider.
      await ends.documents.send(
        new UpdateCommand({
          TableName: ends.tableName,
          Key: { jobId: refused.jobId },
          UpdateExpression: 'SET #status = :submitted, providerTaskId = :task',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':submitted': 'SUBMITTED', ':task': 'task-1' },
        }),
      );
      const lost = await onExecutionEnded({ jobId: refused.jobId, execution: `${refused.jobId}-admission-2`, status: 'FAILED' }, deps);
      expect(lost).toMatchObject({ returnedToLine: false, released: false });
      expect(Object.keys(await slotsOf(deps))).toEqual([refused.jobId]);
      // An old execution's end, delivered late, frees nothing of the new one's.
      expect((await onExecutionEnded({ jobId: refused.jobId, execution: refused.jobId, status: 'SUCCEEDED' }, deps)).released).toBe(false);
      expect(await deps.jobs.get(behind.jobId)).toMatchObject({ inLine: 'waiting' });
    } finally {
      await ends.close();
    }
  });
});

describe('a job cancelled between its admission and its start', () => {
  it('has its execution stopped as soon as it is started, before it reaches the provider', async () => {
    const raced = await startJobsTable('Raced');
    try {
      const stopped: string[] = [];
      const base = intakeTestDeps(raced, { maxJobsInFlight: 1, slots: raced.slots(1) });
      const deps = {
        ...base,
        workflow: {
          ...base.workflow,
          // The cancel lands while StartExecution is on its way.
          start: async (input: Parameters<typeof base.workflow.start>[0], name?: string) => {
            await base.jobs.endJob(input.jobId, { status: 'CANCELLED', error: { code: 'CANCELLED', message: 'by test' }, at: new Date() });
            return base.workflow.start(input, name);
          },
          stop: async (executionArn: string) => void stopped.push(executionArn),
        },
      };
      const { job } = await acceptJob({ body: body('Cancelled on the way in'), trigger: { type: 'http', source: 'test' } }, deps);
      expect(stopped).toEqual([recordingWorkflow().workflow.executionArnFor(job.jobId)]);
      expect(await deps.jobs.get(job.jobId)).toMatchObject({ status: 'CANCELLED' });
    } finally {
      await raced.close();
    }
  });
});
