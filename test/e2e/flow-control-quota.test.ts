import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SweepReport } from '../../runtime/sweeper/job-sweeper.js';
import { scheduledEvent } from '../../local/emulators/eventbridge/schedules.js';
import { burstJobs, burstOutcome, fireBurst } from '../../testkit/burst.js';
import { localS3Client } from '../../testkit/local-s3.js';
import { startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';

/** A cap set far above the provider's quota: the pipeline learns the quota, and no job pays for it. */

const CAP = 20;
const QUOTA = 3;
let fixture: StackFixture;
let s3: S3Client;

beforeAll(async () => {
  fixture = await startStackFixture({ context: { maxJobsInFlight: CAP }, simulatorMaxActiveTasks: QUOTA });
  s3 = localS3Client(fixture.stack);
});

afterAll(async () => {
  s3?.destroy();
  await fixture?.close();
});

it(`30 jobs from three triggers under a cap of ${CAP} and a provider quota of ${QUOTA}: every one succeeds on one task, the refused creates go back to the line`, async () => {
  const jobs = burstJobs(30, 'over');
  await fireBurst(fixture.stack, s3, jobs, 'over');
  await fixture.stack.deliveriesIdle();
  const ended = await burstOutcome(fixture.stack, jobs, 150_000);
  expect(ended.map((job) => job.status)).toEqual(Array<string>(30).fill('SUCCEEDED'));
  const stats = fixture.stack.simulator.stats();
  // The provider refused creates past its quota, and those jobs were admitted again later, not failed.
  expect(stats.quotaRefusals).toBeGreaterThan(0);
  expect(ended.filter((job) => (job.admissions ?? 1) > 1).length).toBeGreaterThan(0);
  expect(stats.peakActiveTasks).toBeLessThanOrEqual(QUOTA);
  const prompts = fixture.stack.simulator.tasks().map((task) => (task.request.content[0] as { text?: string }).text ?? '');
  const ours = prompts.filter((prompt) => prompt.startsWith('over burst job'));
  expect(ours).toHaveLength(30);
  expect(new Set(ours).size).toBe(30);
  // The learned limit came down from the cap towards the quota, and every slot came back.
  const report = (await fixture.stack.invokeFunction('sweeper', scheduledEvent('arn:aws:events:us-east-1:000000000000:rule/test'))) as SweepReport;
  expect(report.slots?.held).toBe(0);
  expect(report.slots?.allowed).toBeLessThan(CAP);
}, 200_000);
