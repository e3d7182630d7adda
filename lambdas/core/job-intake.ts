import { createHash } from 'node:crypto';
import { ConflictError, StartFailedError, ValidationError, type PipelineError } from './errors.js';
import { checkS3Media, type MediaReader } from './media-check.js';
import {
  elideDataUris,
  JOB_KIND,
  requestKeyFor,
  requestShape,
  type JobRecord,
  type TriggerType,
} from './job.js';
import { announceOnce } from './announce-outcome.js';
import type { JobAnnouncer } from './job-announcer.js';
import type { JobRepository } from './job-repository.js';
import type { RequestStore } from './request-store.js';
import { parseWith, requestWarnings, splitJobRequest, type createJobRequestSchema } from './request-schema.js';
import type { WorkflowExecutions } from './workflow-executions.js';
import type * as z from './zod.js';

export interface IntakeDeps {
  jobs: JobRepository;
  requests: RequestStore;
  workflow: Pick<WorkflowExecutions, 'start'>;
  announcer: JobAnnouncer;
  schema: ReturnType<typeof createJobRequestSchema>;
  /** Reads the `s3://` media a request names, to check it before anything is written or started. */
  readMedia: MediaReader;
  deadlineSeconds: number;
  now: () => Date;
  newJobId: () => string;
  /** Told of every job whose workflow started (the JobsStarted metric). */
  onStarted?: (job: JobRecord) => void;
}

export interface JobSubmission {
  body: unknown;
  trigger: { type: TriggerType; source: string };
  /** Derived from the event for event-driven sources, so a replayed event finds its job instead of making another. */
  jobId?: string;
  /** Record the job now and leave it for the batch function to start. */
  deferred?: boolean;
}

export interface AcceptedJob {
  job: JobRecord;
  /** True when the job already existed: nothing new was written. */
  replayed: boolean;
}

/** What makes two submissions "the same request": the parsed body (defaults filled) and when it runs. */
function requestHashOf(parsed: unknown, deferred: boolean): string {
  return createHash('sha256').update(JSON.stringify({ parsed, deferred })).digest('hex');
}

/**
 * Validates a job body, records the job QUEUED, then starts its workflow (unless deferred). Invalid
 * input throws a ValidationError before anything is written or started.
 */
export async function acceptJob(submission: JobSubmission, deps: IntakeDeps): Promise<AcceptedJob> {
  const parsed: z.output<IntakeDeps['schema']> = parseWith(deps.schema, submission.body);
  const mediaIssues = await checkS3Media(parsed, deps.readMedia);
  if (mediaIssues.length > 0) throw new ValidationError(mediaIssues);
  const requestHash = requestHashOf(parsed, submission.deferred ?? false);
  if (submission.jobId) {
    const existing = await deps.jobs.get(submission.jobId);
    if (existing) return replay(existing, requestHash, deps);
  }
  const { providerRequest, metadata } = splitJobRequest(parsed);
  const jobId = submission.jobId ?? deps.newJobId();
  const createdAt = deps.now();
  const timestamp = createdAt.toISOString();
  const requestKey = requestKeyFor(jobId, requestHash);
  const warnings = requestWarnings(providerRequest);
  const job: JobRecord = {
    jobId,
    kind: JOB_KIND,
    status: 'QUEUED',
    progress: 0,
    request: elideDataUris(providerRequest),
    requestKey,
    trigger: submission.trigger,
    ...(metadata ? { metadata } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(submission.deferred ? { deferred: true } : {}),
    requestHash,
    createdAt: timestamp,
    updatedAt: timestamp,
    deadlineAt: deadlineFrom(createdAt, deps),
  };
  await deps.requests.save(requestKey, providerRequest);
  try {
    await deps.jobs.create(job);
  } catch (error) {
    // Two deliveries of the same event racing: the other one created it.
    const winner = error instanceof ConflictError && submission.jobId ? await deps.jobs.get(submission.jobId) : undefined;
    if (winner) return replay(winner, requestHash, deps);
    throw error;
  }
  if (submission.deferred) return { job, replayed: false };
  return { job: await startJob(job, deps), replayed: false };
}

/**
 * The same job id again (an Idempotency-Key, a replayed S3 event, a batch rerun): the same request
 * finds its job; another request under the same id is a conflict. A job recorded but never started
 * (the process died between the two writes) is started now, so nothing stays QUEUED forever.
 */
async function replay(existing: JobRecord, requestHash: string, deps: IntakeDeps): Promise<AcceptedJob> {
  if (existing.requestHash !== undefined && existing.requestHash !== requestHash) {
    throw new ConflictError(`job ${existing.jobId} was created from another request; an idempotency key names one request`);
  }
  const neverStarted = existing.status === 'QUEUED' && !existing.deferred && !existing.executionArn;
  return { job: neverStarted ? await startJob(existing, deps) : existing, replayed: true };
}

function deadlineFrom(start: Date, deps: Pick<IntakeDeps, 'deadlineSeconds'>): string {
  return new Date(start.getTime() + deps.deadlineSeconds * 1000).toISOString();
}

/**
 * Starts the workflow of a recorded QUEUED job. A deferred job's deadline counts from now, not from
 * when it was queued. If the start fails the job ends FAILED (START_FAILED) and is announced.
 */
export async function startJob(job: JobRecord, deps: IntakeDeps): Promise<JobRecord> {
  const { request, requestKey } = job;
  if (!request || !requestKey) throw new Error(`job ${job.jobId} has no request to start`);
  const deadlineAt = job.deferred ? deadlineFrom(deps.now(), deps) : job.deadlineAt;
  let executionArn: string;
  try {
    executionArn = await deps.workflow.start({ jobId: job.jobId, requestKey, shape: requestShape(request), deadlineAt });
  } catch (error) {
    const failure = new StartFailedError(`the workflow for job ${job.jobId} could not be started: ${(error as Error).message}`, {
      cause: error,
    });
    const failed = await deps.jobs.endJob(job.jobId, {
      status: 'FAILED',
      error: { code: failure.code, message: failure.message },
      at: deps.now(),
      from: ['QUEUED'],
    });
    if (failed) await announceOnce(failed, deps);
    throw failure;
  }
  // The execution runs from here on, whatever happens to this bookkeeping write.
  await deps.jobs.markStarted(job.jobId, executionArn, deadlineAt);
  const { deferred: _started, ...started } = job;
  const running = { ...started, executionArn, deadlineAt };
  deps.onStarted?.(running);
  return running;
}

/**
 * Records input that will not run: FAILED with the refusal's code (VALIDATION_ERROR with every issue,
 * a conflicting manifest line, an oversized upload...) and announced, so input from S3 or a batch
 * never vanishes. A replay finds the job already there.
 */
export async function rejectJob(
  submission: Required<Pick<JobSubmission, 'jobId' | 'trigger'>>,
  error: PipelineError & { issues?: ValidationError['issues'] },
  deps: Pick<IntakeDeps, 'jobs' | 'announcer' | 'now'>,
): Promise<AcceptedJob> {
  const existing = await deps.jobs.get(submission.jobId);
  if (existing) return { job: existing, replayed: true };
  const timestamp = deps.now().toISOString();
  const job: JobRecord = {
    jobId: submission.jobId,
    kind: JOB_KIND,
    status: 'FAILED',
    progress: 0,
    trigger: submission.trigger,
    error: { code: error.code, message: error.message, ...(error.issues ? { issues: error.issues } : {}) },
    createdAt: timestamp,
    updatedAt: timestamp,
    finishedAt: timestamp,
    deadlineAt: timestamp,
  };
  try {
    await deps.jobs.create(job);
  } catch (failure) {
    // Two deliveries of the same event racing: the other one recorded the job.
    const winner = failure instanceof ConflictError ? await deps.jobs.get(submission.jobId) : undefined;
    if (winner) return { job: winner, replayed: true };
    throw failure;
  }
  await announceOnce(job, deps);
  return { job, replayed: false };
}
