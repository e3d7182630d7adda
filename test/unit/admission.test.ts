import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterCreated, afterRefused, initialLimit, slotsAllowed } from '../../runtime/admission/admission-limit.js';
import { frontOfLine, lineKeyFor } from '../../runtime/admission/admission-line.js';
import { admitWaiting } from '../../runtime/admission/dispatch.js';
import { onExecutionEnded } from '../../runtime/admission/execution-ended.js';
import { onTaskEnded } from '../../runtime/admission/task-ended.js';
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

/** A test's own Jobs and Admission tables, for a test that changes the learned limit or needs the line to itself. */
async function withOwnTable(name: string, test: (table: Awaited<ReturnType<typeof startJobsTable>>) => Promise<void>): Promise<void> {
  const own = await startJobsTable(name);
  try {
    await test(own);
  } finally {
    await own.close();
  }
}

const body = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'seedance-fast', content: [{ type: 'text', text }], ...extra });

describe('the learned limit', () => {
  it('starts at the configured maximum and never passes it', () => {
    let limit = initialLimit(30);
    expect(slotsAllowed(limit, 30)).toBe(30);
    for (let created = 0; created < 100; created += 1) limit = afterCreated(limit, 30, 30, 0);
    expect(limit.cap).toBe(30);
  });

  it('a refusal brings it down to what the provider holds of ours; slow start climbs back to half the old limit, then one slot per limit of creates on average', () => {
    let limit = afterRefused(initialLimit(200), { tasksAtProvider: 40, admittedAt: 1_000, at: 2_000 });
    expect(limit).toEqual({ cap: 40, threshold: 100, decreasedAt: 2_000 });
    // Below the threshold: one more slot per create accepted, whatever the draw.
    limit = afterCreated(limit, 40, 200, 0.99);
    expect(limit.cap).toBe(41);
    // At 41 the provider refuses a job admitted since: back to 40, and the threshold comes down to it.
    limit = afterRefused(limit, { tasksAtProvider: 40, admittedAt: 3_000, at: 4_000 });
    expect(limit).toEqual({ cap: 40, threshold: 40, decreasedAt: 4_000 });
    // Above the threshold a create grows it by one slot with probability 1/40, else leaves it as it is.
    expect(afterCreated(limit, 40, 200, 0.026).cap).toBe(40);
    expect(afterCreated(limit, 40, 200, 0.024).cap).toBe(41);
    // So it takes a limit's worth of creates on average to try 41 again (an even draw: 40 creates in, 1 slot more).
    let even = limit;
    for (let create = 0; create < 40; create += 1) even = afterCreated(even, 40, 200, (create + 0.5) / 40);
    expect(even.cap).toBe(41);
  });

  it('refusals of jobs admitted before the last decrease are one episode: a burst of them brings the limit down once, not to the lowest count read', () => {
    // A burst admitted 136 jobs at t=0..100 under a cap of 200; the provider takes 40 and refuses the rest,
    // while the accepted creates are still being recorded: the counts read with the refusals go down and up.
    let limit = afterRefused(initialLimit(200), { tasksAtProvider: 38, admittedAt: 50, at: 1_000 });
    for (const [count, at] of [
      [12, 1_010],
      [0, 1_020],
      [3, 1_500],
    ] as const) {
      limit = afterRefused(limit, { tasksAtProvider: count, admittedAt: 90, at });
    }
    expect(slotsAllowed(limit, 200)).toBe(38);
    expect(limit.decreasedAt).toBe(1_000);
    // A job admitted after that decrease and refused is news: a new episode.
    limit = afterRefused(limit, { tasksAtProvider: 36, admittedAt: 1_200, at: 2_000 });
    expect(slotsAllowed(limit, 200)).toBe(36);
  });

  it('a refusal counted while other creates were still in flight is corrected by the creates that then succeed', () => {
    // The count was read low (5), but 38 of ours are at the provider by the time those creates come back.
    let limit = afterRefused(initialLimit(200), { tasksAtProvider: 5, admittedAt: 0, at: 10 });
    expect(slotsAllowed(limit, 200)).toBe(5);
    limit = afterCreated(limit, 38, 200, 0.5);
    expect(slotsAllowed(limit, 200)).toBe(39);
  });

  it('never goes below one slot, so a job can always probe the provider', () => {
    expect(slotsAllowed(afterRefused(initialLimit(20), { tasksAtProvider: 0, at: 0 }), 20)).toBe(1);
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

describe('the learned limit in the slots item', () => {
  it('a burst of 40 accepted creates and 60 refusals recorded at once: every task is counted, and the limit comes down once, to no less than the count then', async () => {
    await withOwnTable('LimitBurst', async (own) => {
      const slots = own.slots(200);
      const admittedAt = new Date(Date.now() - 1_000);
      const jobs = Array.from({ length: 100 }, (_, index) => `burst-${index}`);
      for (const jobId of jobs) expect(await slots.acquire(jobId, jobId, admittedAt)).toBe('acquired');
      const refusedAt = new Date();
      await Promise.all(jobs.map((jobId, index) => (index % 5 < 2 ? slots.recordCreated(jobId, new Date()) : slots.recordRefused(jobId, refusedAt))));
      const { holders, limit } = await slots.read();
      // The count every later refusal is measured by: no accepted create missing from it.
      expect(Object.values(holders).filter((holder) => holder.task !== undefined)).toHaveLength(40);
      expect(limit.decreasedAt).toBe(refusedAt.getTime());
      // The refused give their slots back; the next create recorded proves the provider's 40 (and one more: slow start).
      for (const [index, jobId] of jobs.entries()) if (index % 5 >= 2) await slots.release(jobId);
      await slots.recordCreated('burst-0', new Date());
      expect((await slots.read()).allowed).toBeGreaterThanOrEqual(41);
    });
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
    await withOwnTable('Herd', async (herd) => {
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
    });
  });
});

describe('the end of an execution', () => {
  const slotsOf = async (deps: ReturnType<typeof intakeTestDeps>) => (await deps.slots.read()).holders;

  it('that ended well with its job still QUEUED (the provider refused the create) sends the job to the front; one that lost a running job keeps its slot', async () => {
    await withOwnTable('Ends', async (ends) => {
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
    });
  });
});

describe('a provider task that ends while jobs wait', () => {
  it('hands its slot straight to the head of the line; a slot the learned limit no longer allows is given back instead', async () => {
    await withOwnTable('HandOver', async (handed) => {
      const deps = intakeTestDeps(handed, { maxJobsInFlight: 2, slots: handed.slots(2) });
      const post = async (text: string) => (await acceptJob({ body: body(text), trigger: { type: 'http', source: 'test' } }, deps)).job.jobId;
      const [first, second, third, fourth] = [await post('First'), await post('Second'), await post('Third'), await post('Fourth')];
      expect(deps.started.map((start) => start.name)).toEqual([first, second]);

      const ended = await onTaskEnded({ jobId: first, execution: first }, deps);
      expect(ended).toMatchObject({ released: true, dispatch: { started: [third] } });
      expect(Object.keys((await deps.slots.read()).holders).sort()).toEqual([second, third].sort());
      // A repeated delivery hands nothing over twice.
      expect(await onTaskEnded({ jobId: first, execution: first }, deps)).toMatchObject({ released: false, dispatch: { started: [] } });

      // The provider refused a create meanwhile, holding none of ours: the limit comes down to one slot.
      await deps.slots.recordRefused(third, new Date());
      expect((await onTaskEnded({ jobId: second, execution: second }, deps)).dispatch.started).toEqual([]);
      expect(Object.keys((await deps.slots.read()).holders)).toEqual([third]);
      expect(await deps.jobs.get(fourth)).toMatchObject({ status: 'QUEUED', inLine: 'waiting' });
    });
  });
});

describe('an execution that ends before its dispatcher recorded its start', () => {
  it('refused by the provider: the job still goes back to the front of the line, and the late start record leaves it there', async () => {
    await withOwnTable('EarlyEnd', async (early) => {
      const ends: Promise<unknown>[] = [];
      const base = intakeTestDeps(early, { maxJobsInFlight: 1, slots: early.slots(1) });
      // StartExecution returns only once the execution has reached the provider, been refused and
      // ended (a slow bookkeeping write, or a fast engine): its end is handled before markStarted.
      const deps: typeof base = intakeTestDeps(early, {
        maxJobsInFlight: 1,
        slots: base.slots,
        workflow: {
          ...base.workflow,
          start: async (input, name = input.jobId) => {
            const arn = await base.workflow.start(input, name);
            if (name === input.jobId) {
              ends.push(onExecutionEnded({ jobId: input.jobId, execution: name, status: 'SUCCEEDED' }, deps));
              await ends[0];
            }
            return arn;
          },
        },
      });
      const { job } = await acceptJob({ body: body('Refused before it was recorded started'), trigger: { type: 'http', source: 'test' } }, deps);
      expect(await ends[0]).toMatchObject({ returnedToLine: true, released: true });
      // Back at the front, so admitted again at once in an execution of its own, which the record points at:
      // the first dispatcher's start record, written after all that, changed nothing.
      expect(base.started.map((start) => start.name)).toEqual([job.jobId, `${job.jobId}-admission-2`]);
      expect(await deps.jobs.get(job.jobId)).toMatchObject({
        status: 'QUEUED',
        admissions: 2,
        executionArn: expect.stringMatching(new RegExp(`:${job.jobId}-admission-2$`)),
      });
      expect(Object.values((await deps.slots.read()).holders).map((holder) => holder.execution)).toEqual([`${job.jobId}-admission-2`]);
    });
  });
});

describe('a job cancelled between its admission and its start', () => {
  it('has its execution stopped as soon as it is started, before it reaches the provider', async () => {
    await withOwnTable('Raced', async (raced) => {
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
    });
  });
});
