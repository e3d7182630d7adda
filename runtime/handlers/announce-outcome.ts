import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { HANDLER } from '../../contracts/handlers.js';
import { SERVICE_NAMES } from '../../contracts/telemetry.js';
import { announceOutcome } from '../workflow/announce-outcome.js';
import { createDocumentClient } from '../compose/aws-clients.js';
import { functionEnv } from '../compose/env.js';
import { createJobAnnouncer } from '../aws/job-announcer.js';
import { createJobRepository } from '../aws/job-repository.js';
import { createMetrics, recordOutcome } from '../aws/metrics.js';

const env = functionEnv(HANDLER.announceOutcome);
const jobs = createJobRepository(createDocumentClient(), env.JOBS_TABLE);
const announcer = createJobAnnouncer(new EventBridgeClient({}), env.EVENT_BUS_NAME);
const metrics = createMetrics(SERVICE_NAMES[HANDLER.announceOutcome]);

export async function handler(input: { jobId: string; lateVideo?: boolean }) {
  const outcome = await announceOutcome(input, { jobs, announcer, now: () => new Date() });
  // Published with the announcement, which runs once per job that ended in its workflow.
  if (!input.lateVideo) recordOutcome(metrics, outcome.job);
  metrics.publishStoredMetrics();
  return { status: outcome.job.status };
}
