import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { announceOutcome } from '../workflow/announce-outcome.js';
import { createDocumentClient } from '../compose/aws-clients.js';
import { readEnv, requiredSetting } from '../compose/env.js';
import { createJobAnnouncer } from '../aws/job-announcer.js';
import { createJobRepository } from '../aws/job-repository.js';
import { createMetrics, recordOutcome } from '../aws/metrics.js';
import * as z from '../domain/zod.js';

const env = readEnv(z.object({ JOBS_TABLE: requiredSetting, EVENT_BUS_NAME: requiredSetting }));
const jobs = createJobRepository(createDocumentClient(), env.JOBS_TABLE);
const announcer = createJobAnnouncer(new EventBridgeClient({}), env.EVENT_BUS_NAME);
const metrics = createMetrics('video-pipeline-announce-outcome');

export async function handler(input: { jobId: string; lateVideo?: boolean }) {
  const outcome = await announceOutcome(input, { jobs, announcer, now: () => new Date() });
  // Published with the announcement, which runs once per job that ended in its workflow.
  if (!input.lateVideo) recordOutcome(metrics, outcome.job);
  metrics.publishStoredMetrics();
  return { status: outcome.job.status };
}
