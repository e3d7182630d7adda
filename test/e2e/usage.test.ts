import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStack } from '../../local/stack/local-stack.js';
import { subtractUsage, type Usage } from '../../local/stack/usage.js';
import { getJob, postJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';

/** LocalStack.usage(): what a job uses of each AWS service, counted where the local stack stands in for it. */

let fixture: StackFixture;

beforeAll(async () => {
  fixture = await startStackFixture();
});

afterAll(async () => {
  await fixture?.close();
});

const body = (text: string) => ({ model: 'seedance-fast', content: [{ type: 'text', text }], resolution: '480p', duration: 4, generate_audio: false });

/**
 * Submits the jobs and waits, without reading anything through the API, until each has published its
 * completion event and its execution has ended: the window then holds the jobs' own usage only.
 */
async function usageOfJobs(stack: LocalStack, count: number): Promise<{ used: Usage; jobIds: string[] }> {
  const before = stack.usage();
  const jobIds = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const { response, json } = await postJob(stack.apiUrl, body(`usage job ${index}`));
      expect(response.status).toBe(202);
      return json.jobId;
    }),
  );
  const announced = () => new Set(stack.events().map((event) => (event.detail as { jobId?: string }).jobId));
  await vi.waitFor(
    () => {
      if (!jobIds.every((jobId) => announced().has(jobId))) throw new Error('jobs not announced in 30 s');
    },
    { timeout: 30_000, interval: 20 },
  );
  await stack.engine.idle();
  await stack.deliveriesIdle();
  return { used: subtractUsage(stack.usage(), before), jobIds };
}

describe('the usage of one job', () => {
  let used: Usage;
  let polls: number;

  beforeAll(async () => {
    const run = await usageOfJobs(fixture.stack, 1);
    used = run.used;
    const job = (await getJob(fixture.stack.apiUrl, run.jobIds[0]!)) as Awaited<ReturnType<typeof getJob>> & { polls: number };
    expect(job.status).toBe('SUCCEEDED');
    polls = job.polls;
  });

  it('is one execution whose transitions are the states of the success path, the poll loop once per poll', () => {
    expect(polls).toBeGreaterThanOrEqual(1);
    const { executionsStarted, transitions, transitionsByState, retries } = used.stepFunctions;
    expect(executionsStarted).toBe(1);
    expect(retries).toBe(0);
    const recordProgress = transitionsByState.RecordProgress ?? 0;
    expect(recordProgress).toBeLessThan(polls);
    expect(transitionsByState).toEqual({
      IsResume: 1,
      SubmitTask: 1,
      RecordSubmitted: 1,
      WaitBeforePoll: polls,
      PollTask: polls,
      IsVideoReady: polls,
      ...(recordProgress > 0 ? { RecordProgress: recordProgress } : {}),
      FreeSlot: 1,
      StoreVideo: 1,
      RecordSucceeded: 1,
      AnnounceOutcome: 1,
      HowDidItEnd: 1,
      JobSucceeded: 1,
    });
    expect(transitions).toBe(9 + 3 * polls + recordProgress);
  });

  it('invokes each function as often as the job needs it, with its deployed memory', () => {
    expect(used.lambda).toMatchObject({
      intake: { invocations: 1, errors: 0, memoryMb: 256 },
      'submit-task': { invocations: 1, errors: 0, memoryMb: 256 },
      'poll-task': { invocations: polls, errors: 0, memoryMb: 256 },
      'store-video': { invocations: 1, errors: 0, memoryMb: 512 },
      'announce-outcome': { invocations: 1, errors: 0, memoryMb: 128 },
      'describe-failure': { invocations: 0 },
      'batch-runner': { invocations: 0 },
      sweeper: { invocations: 0 },
    });
    for (const usage of Object.values(used.lambda).filter((entry) => entry.invocations > 0)) {
      expect(usage.durationMs).toBeGreaterThan(0);
      expect(usage.billedMs).toBeGreaterThanOrEqual(usage.durationMs);
      expect(usage.billedMs).toBeLessThanOrEqual(usage.durationMs + usage.invocations);
    }
  });

  it('writes the job record at every step, in the table and in both of its indexes', () => {
    const { byOperation, writeUnits, indexWriteUnits, readUnits } = used.dynamodb;
    // The intake's put, then RecordSubmitted, RecordProgress…, RecordSucceeded and the announcement's mark.
    expect(byOperation.PutItem?.requests).toBeGreaterThanOrEqual(1);
    expect(byOperation.UpdateItem?.requests).toBeGreaterThanOrEqual(3 + (used.stepFunctions.transitionsByState.RecordProgress ?? 0));
    const writes = (byOperation.PutItem?.requests ?? 0) + (byOperation.UpdateItem?.requests ?? 0) + (byOperation.DeleteItem?.requests ?? 0);
    // Every write of a job record lands in byStatus and byCreatedAt too.
    expect(indexWriteUnits).toBeGreaterThanOrEqual(2 * (1 + 3));
    expect(writeUnits).toBeGreaterThanOrEqual(writes + indexWriteUnits);
    expect(readUnits).toBeGreaterThan(0);
  });

  it('stores the request body and the video, and reads the body back, in S3', () => {
    expect(used.s3.requests.PutObject).toBeGreaterThanOrEqual(1);
    expect(used.s3.requests.GetObject).toBeGreaterThanOrEqual(1);
    expect(used.s3.tier1).toBeGreaterThanOrEqual(2);
    expect(used.s3.free).toBe(0);
  });

  it('publishes one completion event and one word that its task ended; the S3 events it causes and the end of its execution are service events', () => {
    // The end of its provider task (FreeSlot) and the end of its execution reach the admission function
    // (the two rule deliveries): the first gives the slot back, the second finds it given back already.
    // One PutEvents request is a function's (the announcer's); Step Functions puts FreeSlot's event itself.
    expect(used.eventBridge).toMatchObject({ putEventsRequests: 1, customEvents: 2, customEventUnits: 2, ruleDeliveries: 2 });
    const { PutObject = 0, CopyObject = 0, CompleteMultipartUpload = 0 } = used.s3.requests;
    expect(used.eventBridge.serviceEvents).toEqual({
      'aws.s3': PutObject + CopyObject + CompleteMultipartUpload,
      'aws.states': used.stepFunctions.executionsStarted,
    });
  });

  it('reads the provider key once per function that calls the provider, on its first use', () => {
    expect(used.secretsManager.getSecretValue).toBe(2);
  });
});

describe('the usage of more jobs on the same (warm) functions', () => {
  it('counts each job once, sums the polls, and reads no secret again', async () => {
    const { used, jobIds } = await usageOfJobs(fixture.stack, 3);
    const polls = (await Promise.all(jobIds.map(async (jobId) => ((await getJob(fixture.stack.apiUrl, jobId)) as { polls?: number }).polls ?? 0))).reduce(
      (a, b) => a + b,
      0,
    );
    expect(used.stepFunctions.executionsStarted).toBe(3);
    expect(used.stepFunctions.transitionsByState.PollTask).toBe(polls);
    expect(used.lambda).toMatchObject({
      intake: { invocations: 3 },
      'submit-task': { invocations: 3 },
      'poll-task': { invocations: polls },
      'store-video': { invocations: 3 },
      'announce-outcome': { invocations: 3 },
    });
    expect(used.eventBridge.customEvents).toBe(6);
    expect(used.secretsManager.getSecretValue).toBe(0);
  });
});
