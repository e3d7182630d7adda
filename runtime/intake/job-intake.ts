import { createHash } from 'node:crypto';
import { lineKeyFor, WAITING, type Priority } from '../admission/admission-line.js';
import { admitWaiting, type DispatchDeps } from '../admission/dispatch.js';
import { ConflictError, ValidationError, type PipelineError } from '../domain/errors.js';
import { checkS3Media, type MediaReader } from '../domain/media-check.js';
import { requestKeyFor } from '../../contracts/bucket.js';
import { elideDataUris, JOB_KIND, type JobRecord, type TriggerType } from '../domain/job.js';
import { announceOnce } from '../workflow/announce-outcome.js';
import type { JobAnnouncer } from '../aws/job-announcer.js';
import type { RequestStore } from '../aws/request-store.js';
import { parseWith, requestWarnings, splitJobRequest, type createJobRequestSchema } from '../domain/request-schema.js';
import type * as z from '../domain/zod.js';
import type { WebhookRequest } from '../domain/request-schema.js';
import { webhookTargetIssues, type WebhookTargetOptions } from '../webhooks/webhook-target.js';

export interface IntakeDeps extends DispatchDeps {
  requests: RequestStore;
  announcer: JobAnnouncer;
  schema: ReturnType<typeof createJobRequestSchema>;
  /** Reads the `s3://` media a request names, to check it before anything is written or started. */
  readMedia: MediaReader;
  /** The longest a job waits in the admission line before it ends TIMED_OUT (QUEUE_TIMEOUT). */
  maxQueueSeconds: number;
  newJobId: () => string;
  /** Told when the dispatch after a new job failed: the job waits in the line for the next one. */
  onDispatchError?: (error: unknown) => void;
  /** How webhook URLs are checked at submission, and the stack's default webhook for jobs that name none. */
  webhooks?: WebhookTargetOptions & { default?: WebhookRequest };
}

export interface JobSubmission {
  body: unknown;
  trigger: { type: TriggerType; source: string };
  /** Derived from the event for event-driven sources, so a replayed event finds its job instead of making another. */
  jobId?: string;
  /** Record the job now and leave it for the next batch run to put in the line. */
  deferred?: boolean;
  /** The lane when the body names none: normal for HTTP and uploads, low for manifest lines. */
  defaultPriority?: Priority;
  /** False when the caller dispatches once for many jobs (a batch run) instead of after each. */
  dispatch?: boolean;
  /** The job this one runs again (POST /jobs/{jobId}/rerun). */
  rerunOf?: string;
}

export interface AcceptedJob {
  job: JobRecord;
  /** True when the job already existed: nothing new was written. */
  replayed: boolean;
}

/** What makes two submissions "the same request": the parsed body (defaults filled), when it runs, and what it runs again. */
function requestHashOf(parsed: unknown, deferred: boolean, rerunOf: string | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify({ parsed, deferred, ...(rerunOf ? { rerunOf } : {}) }))
    .digest('hex');
}

/**
 * Validates a job body and records the job QUEUED in the admission line (or deferred for the batch
 * run), then dispatches: below the cap the job starts at once, as if there were no line. Invalid
 * input throws a ValidationError before anything is written or started.
 */
export async function acceptJob(submission: JobSubmission, deps: IntakeDeps): Promise<AcceptedJob> {
  const parsed: z.output<IntakeDeps['schema']> = parseWith(deps.schema, submission.body);
  const mediaIssues = [
    ...(await checkS3Media(parsed, deps.readMedia)),
    ...(parsed.webhook ? await webhookTargetIssues(parsed.webhook.url, 'webhook.url', deps.webhooks ?? { allowLoopback: false }) : []),
  ];
  if (mediaIssues.length > 0) throw new ValidationError(mediaIssues);
  const requestHash = requestHashOf(parsed, submission.deferred ?? false, submission.rerunOf);
  if (submission.jobId) {
    const existing = await deps.jobs.get(submission.jobId);
    if (existing) return replay(existing, requestHash);
  }
  const { providerRequest, metadata, priority = submission.defaultPriority ?? 'normal', webhook = deps.webhooks?.default } = splitJobRequest(parsed);
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
    ...(submission.rerunOf ? { rerunOf: submission.rerunOf } : {}),
    ...(metadata ? { metadata } : {}),
    ...(webhook ? { webhook: { url: webhook.url, events: [...webhook.events] } } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    priority,
    ...(submission.deferred ? { deferred: true } : { queuedAt: timestamp, inLine: WAITING, lineKey: lineKeyFor(createdAt, priority, jobId) }),
    requestHash,
    createdAt: timestamp,
    updatedAt: timestamp,
    // The latest it can end: its wait in the line, then its own deadline, which counts from its admission.
    deadlineAt: new Date(createdAt.getTime() + (deps.maxQueueSeconds + deps.deadlineSeconds) * 1000).toISOString(),
  };
  await deps.requests.save(requestKey, providerRequest);
  try {
    await deps.jobs.create(job);
  } catch (error) {
    // Two deliveries of the same event racing: the other one created it.
    const winner = error instanceof ConflictError && submission.jobId ? await deps.jobs.get(submission.jobId) : undefined;
    if (winner) return replay(winner, requestHash);
    throw error;
  }
  if (submission.deferred || submission.dispatch === false) return { job, replayed: false };
  try {
    const { started } = await admitWaiting(deps);
    if (started.includes(jobId)) {
      const { inLine: _admitted, ...admitted } = job;
      return { job: admitted, replayed: false };
    }
    // Another intake's dispatch may have started it meanwhile: answer what the record says now.
    return { job: (await deps.jobs.get(jobId)) ?? job, replayed: false };
  } catch (error) {
    deps.onDispatchError?.(error);
  }
  return { job, replayed: false };
}

/**
 * The same job id again (an Idempotency-Key, a replayed S3 event, a batch rerun): the same request
 * finds its job; another request under the same id is a conflict.
 */
function replay(existing: JobRecord, requestHash: string): AcceptedJob {
  if (existing.requestHash !== undefined && existing.requestHash !== requestHash) {
    throw new ConflictError(`job ${existing.jobId} was created from another request; an idempotency key names one request`);
  }
  return { job: existing, replayed: true };
}

/**
 * Records input that will not run: FAILED with the refusal's code (VALIDATION_ERROR with every issue,
 * a conflicting manifest line, an oversized upload...) and announced, so input from S3 or a batch
 * never vanishes. A replay finds the job already there.
 */
export async function rejectJob(
  submission: Required<Pick<JobSubmission, 'jobId' | 'trigger'>>,
  error: PipelineError & { issues?: ValidationError['issues'] },
  deps: Pick<IntakeDeps, 'jobs' | 'announcer' | 'now' | 'webhooks'>,
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
    // Its body was refused, so only the stack's default webhook can tell anyone.
    ...(deps.webhooks?.default ? { webhook: { url: deps.webhooks.default.url, events: [...deps.webhooks.default.events] } } : {}),
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
