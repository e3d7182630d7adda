import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SweepReport } from '../../runtime/sweeper/job-sweeper.js';
import { scheduledEvent } from '../../local/emulators/eventbridge/schedules.js';
import { burstBody, burstJobs, burstOutcome, fireBurst, getWaitingJob, listAllJobs } from '../../testkit/burst.js';
import { localS3Client } from '../../testkit/local-s3.js';
import { postJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';

/**
 * The admission line on the local stack: a cap of 3 jobs in flight under a provider quota of 4.
 * The line's limit is 0.2 h (× the time scale: about 7 s), the deadline 30 min × the time scale (18 s).
 */

const CAP = 3;
const QUOTA = 4;
let fixture: StackFixture;
let s3: S3Client;

beforeAll(async () => {
  fixture = await startStackFixture({ context: { maxJobsInFlight: CAP, maxQueueHours: '0.2' }, simulatorMaxActiveTasks: QUOTA });
  s3 = localS3Client(fixture.stack);
});

afterAll(async () => {
  s3?.destroy();
  await fixture?.close();
});

const slotsHeld = async () => {
  const report = (await fixture.stack.invokeFunction('sweeper', scheduledEvent('arn:aws:events:us-east-1:000000000000:rule/test'))) as SweepReport;
  return report;
};
const promptsAtProvider = () => fixture.stack.simulator.tasks().map((task) => (task.request.content[0] as { text?: string }).text ?? '');
/** Three jobs that hold every slot for `seconds` of wall time. */
const fillSlots = async (seconds: number, tag: string) =>
  Promise.all(Array.from({ length: CAP }, (_, index) => postJob(fixture.stack.apiUrl, burstBody(`${tag} ${index} TAKES_${seconds}S`))));

describe(`a burst of 30 jobs from three triggers under a cap of ${CAP} and a provider quota of ${QUOTA}`, () => {
  it('all succeed, never more than the cap at the provider, no create refused, no task twice; the waiting ones say so, in order', async () => {
    const jobs = burstJobs(30, 'under');
    const fired = fireBurst(fixture.stack, s3, jobs, 'under');
    // While the burst waits: the line in order, each with its place and when it joined.
    const line = await vi.waitFor(
      async () => {
        const queued = await listAllJobs(fixture.stack.apiUrl, 'status=QUEUED');
        if (queued.length < 3) throw new Error(`${queued.length} job(s) waiting in the line, not 3`);
        return queued;
      },
      { timeout: 5_000, interval: 50 },
    );
    const [first, second] = await Promise.all(line.slice(0, 2).map((job) => getWaitingJob(fixture.stack.apiUrl, job.jobId)));
    for (const job of [first!, second!].filter((candidate) => candidate.status === 'QUEUED' && candidate.waiting)) {
      expect(job.queuedAt).toEqual(expect.any(String));
      expect(job.ahead).toBeGreaterThanOrEqual(0);
    }
    if (first!.waiting && second!.waiting) expect(second!.ahead!).toBeGreaterThan(first!.ahead!);
    expect(line.every((job) => job.waiting)).toBe(true);
    await fired;
    await fixture.stack.deliveriesIdle();
    const ended = await burstOutcome(fixture.stack, jobs, 120_000);
    expect(ended.map((job) => job.status)).toEqual(Array<string>(30).fill('SUCCEEDED'));
    expect(new Set(ended.map((job) => job.trigger.type))).toEqual(new Set(['http', 's3', 'schedule']));
    const stats = fixture.stack.simulator.stats();
    expect(stats.peakActiveTasks).toBeLessThanOrEqual(CAP);
    expect(stats.quotaRefusals).toBe(0);
    const prompts = promptsAtProvider().filter((prompt) => prompt.startsWith('under burst job'));
    expect(prompts).toHaveLength(30);
    expect(new Set(prompts).size).toBe(30);
    // Every slot came back, each by the end of the execution that held it.
    const report = await slotsHeld();
    expect(report.slots?.held).toBe(0);
    expect(report.slotsReclaimed).toEqual([]);
  }, 180_000);
});

describe('a slot is held until the provider task ends, not until the video is copied', () => {
  it('while the videos of the jobs holding every slot are still downloading, the waiting job is already at the provider', async () => {
    fixture.stack.simulator.setFaults({ downloadLatencyMs: 6_000 });
    try {
      const fillers = await fillSlots(1, 'slow-copy-filler');
      const waiting = await postJob(fixture.stack.apiUrl, burstBody('The job that takes a slot freed by a task that ended'));
      expect(waiting.json.waiting).toBe(true);
      await vi.waitFor(
        () => {
          if (!promptsAtProvider().includes('The job that takes a slot freed by a task that ended')) throw new Error('not at the provider yet');
        },
        { timeout: 5_000, interval: 20 },
      );
      // The fillers' tasks ended (their slots were given back) but their videos are still on the way.
      const fillerJobs = await Promise.all(fillers.map((filler) => getWaitingJob(fixture.stack.apiUrl, filler.json.jobId)));
      expect(fillerJobs.map((job) => job.status)).not.toContain('SUCCEEDED');
      expect(fixture.stack.simulator.stats().peakActiveTasks).toBeLessThanOrEqual(CAP);
      for (const job of [...fillers, waiting]) expect((await waitForJob(fixture.stack.apiUrl, job.json.jobId, 60_000)).job.status).toBe('SUCCEEDED');
      // Each slot was given back once: the ends of the executions found them free already.
      const report = await slotsHeld();
      expect(report.slots?.held).toBe(0);
      expect(report.slotsReclaimed).toEqual([]);
    } finally {
      fixture.stack.simulator.setFaults({});
    }
  }, 90_000);
});

describe('a job waiting in the line', () => {
  it('can be cancelled: it never starts, and the job behind it takes its place', async () => {
    await fillSlots(4, 'cancel-filler');
    const waiting = await postJob(fixture.stack.apiUrl, burstBody('A job cancelled while it waits'));
    const behind = await postJob(fixture.stack.apiUrl, burstBody('The job behind the cancelled one'));
    expect(waiting.json).toMatchObject({ status: 'QUEUED', waiting: true });
    expect(await getWaitingJob(fixture.stack.apiUrl, behind.json.jobId)).toMatchObject({ waiting: true, ahead: 1 });
    const cancel = await fetch(`${fixture.stack.apiUrl}/jobs/${waiting.json.jobId}`, { method: 'DELETE' });
    expect(cancel.status).toBe(200);
    expect(await getWaitingJob(fixture.stack.apiUrl, behind.json.jobId)).toMatchObject({ waiting: true, ahead: 0 });
    const { job } = await waitForJob(fixture.stack.apiUrl, behind.json.jobId, 60_000);
    expect(job.status).toBe('SUCCEEDED');
    expect(await getWaitingJob(fixture.stack.apiUrl, waiting.json.jobId)).toMatchObject({ status: 'CANCELLED', waiting: false });
    expect(fixture.stack.engine.listExecutions().some((execution) => execution.name.startsWith(waiting.json.jobId))).toBe(false);
    expect(promptsAtProvider()).not.toContain('A job cancelled while it waits');
  }, 90_000);

  it('that waits past maxQueueHours ends TIMED_OUT with QUEUE_TIMEOUT, announced, never started', async () => {
    const fillers = await fillSlots(15, 'timeout-filler');
    const waiting = await postJob(fixture.stack.apiUrl, burstBody('A job that waits too long'));
    expect(waiting.json.waiting).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    const report = await slotsHeld();
    expect(report.ended).toContainEqual({ jobId: waiting.json.jobId, status: 'TIMED_OUT', code: 'QUEUE_TIMEOUT' });
    expect(await getWaitingJob(fixture.stack.apiUrl, waiting.json.jobId)).toMatchObject({
      status: 'TIMED_OUT',
      waiting: false,
      error: { code: 'QUEUE_TIMEOUT' },
    });
    await fixture.stack.deliveriesIdle();
    const events = fixture.stack.events().filter((event) => (event.detail as { jobId: string }).jobId === waiting.json.jobId);
    expect(events.map((event) => event['detail-type'])).toEqual(['Job Timed Out']);
    expect(fixture.stack.engine.listExecutions().some((execution) => execution.name.startsWith(waiting.json.jobId))).toBe(false);
    for (const filler of fillers) await waitForJob(fixture.stack.apiUrl, filler.json.jobId, 60_000);
  }, 90_000);
});

describe('a billed video is never thrown away', () => {
  it('a task that outlives the deadline ends the job TIMED_OUT; the task is followed on, and its video is stored and announced late', async () => {
    const { json } = await postJob(fixture.stack.apiUrl, burstBody('A slow task TAKES_26S'));
    // The local deadline: 30 min × the time scale (0.01), 18 s; the task takes 26 s.
    const deadline = Date.parse(json.createdAt) + 18_000;
    const timedOut = await vi.waitFor(
      async () => {
        const job = await getWaitingJob(fixture.stack.apiUrl, json.jobId);
        if (job.status !== 'TIMED_OUT') throw new Error(`job still ${job.status}`);
        return job;
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(timedOut).toMatchObject({ error: { code: 'DEADLINE_EXCEEDED' } });
    expect(timedOut.output).toBeUndefined();
    expect(Date.now()).toBeGreaterThanOrEqual(deadline - 2_000);
    const late = await vi.waitFor(
      async () => {
        const job = await getWaitingJob(fixture.stack.apiUrl, json.jobId);
        if (!job.output) throw new Error('no late video stored yet');
        return job;
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(late).toMatchObject({ status: 'TIMED_OUT', error: { code: 'DEADLINE_EXCEEDED' }, lateVideoAt: expect.any(String), downloadUrl: expect.any(String) });
    const video = Buffer.from(await (await fetch(late.downloadUrl!)).arrayBuffer());
    expect(video.length).toBe(late.output!.bytes);
    await fixture.stack.deliveriesIdle();
    const events = fixture.stack.events().filter((event) => (event.detail as { jobId: string }).jobId === json.jobId);
    expect(events.map((event) => event['detail-type'])).toEqual(['Job Timed Out', 'Job Late Video Stored']);
    expect(promptsAtProvider().filter((prompt) => prompt === 'A slow task TAKES_26S')).toHaveLength(1);
  }, 90_000);
});
