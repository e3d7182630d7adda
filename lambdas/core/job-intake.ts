import type { z } from 'zod';
import { StartFailedError } from './errors.js';
import { elideDataUris, requestKeyFor, requestShape, type JobRecord, type TriggerType } from './job.js';
import type { JobRepository } from './job-repository.js';
import type { RequestStore } from './request-store.js';
import { parseWith, requestWarnings, splitJobRequest, type createJobRequestSchema } from './request-schema.js';
import type { WorkflowStarter } from './workflow-starter.js';

export interface IntakeDeps {
  jobs: JobRepository;
  requests: RequestStore;
  workflow: WorkflowStarter;
  schema: ReturnType<typeof createJobRequestSchema>;
  deadlineSeconds: number;
  now: () => Date;
  newJobId: () => string;
}

export interface JobSubmission {
  body: unknown;
  trigger: { type: TriggerType; source: string };
}

/**
 * Validates a job body, records the job QUEUED, then starts its workflow. Invalid input throws a
 * ValidationError before anything is written or started.
 */
export async function acceptJob(submission: JobSubmission, deps: IntakeDeps): Promise<JobRecord> {
  const parsed: z.output<IntakeDeps['schema']> = parseWith(deps.schema, submission.body);
  const { providerRequest, metadata } = splitJobRequest(parsed);
  const jobId = deps.newJobId();
  const createdAt = deps.now();
  const timestamp = createdAt.toISOString();
  const deadlineAt = new Date(createdAt.getTime() + deps.deadlineSeconds * 1000).toISOString();
  const requestKey = requestKeyFor(jobId);
  const warnings = requestWarnings(providerRequest);
  const job: JobRecord = {
    jobId,
    status: 'QUEUED',
    progress: 0,
    request: elideDataUris(providerRequest),
    requestKey,
    trigger: submission.trigger,
    ...(metadata ? { metadata } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    createdAt: timestamp,
    updatedAt: timestamp,
    deadlineAt,
  };
  await deps.requests.save(requestKey, providerRequest);
  await deps.jobs.create(job);
  try {
    const executionArn = await deps.workflow.start({ jobId, requestKey, shape: requestShape(providerRequest), deadlineAt });
    await deps.jobs.recordExecution(jobId, executionArn);
    return { ...job, executionArn };
  } catch (error) {
    const failure = new StartFailedError(`the workflow for job ${jobId} could not be started: ${(error as Error).message}`, {
      cause: error,
    });
    await deps.jobs.recordStartFailure(jobId, failure, deps.now());
    throw failure;
  }
}
