import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import { announceOutcome } from './core/announce-outcome.js';
import { createDocumentClient } from './core/aws-clients.js';
import { readEnv } from './core/env.js';
import { createJobAnnouncer } from './core/job-announcer.js';
import { createJobRepository } from './core/job-repository.js';

const env = readEnv(z.object({ JOBS_TABLE: z.string().min(1), EVENT_BUS_NAME: z.string().min(1) }));
const jobs = createJobRepository(createDocumentClient(), env.JOBS_TABLE);
const announcer = createJobAnnouncer(new EventBridgeClient({}), env.EVENT_BUS_NAME);

export async function handler(input: { jobId: string }) {
  return announceOutcome(input, { jobs, announcer, now: () => new Date() });
}
