import { ConflictError, NotFoundError } from '../domain/errors.js';
import { acceptJob, type AcceptedJob, type IntakeDeps } from './job-intake.js';

/**
 * Runs a job again: a new job from the request it stored (the copy in S3, with its `data:` media,
 * not the record, which elides them), its metadata, its lane and its webhook, linked both ways (`rerunOf` on the
 * new job, `reruns` on the old). It goes through the same intake as any request: the contract, the
 * `s3://` media check, the admission line, and its Idempotency-Key.
 */
export async function rerunJob(jobId: string, submission: { caller: string; jobId?: string }, deps: IntakeDeps): Promise<AcceptedJob> {
  const original = await deps.jobs.get(jobId);
  if (!original) throw new NotFoundError(`no job ${jobId}`);
  if (!original.requestKey) {
    throw new ConflictError(`job ${jobId} was refused before it had a request (${original.error?.code ?? 'no request'}): there is nothing to run again`);
  }
  const request = await deps.requests.load(original.requestKey);
  const body = {
    ...request,
    ...(original.metadata ? { metadata: original.metadata } : {}),
    ...(original.priority ? { priority: original.priority } : {}),
    ...(original.webhook ? { webhook: { url: original.webhook.url, events: original.webhook.events } } : {}),
  };
  const accepted = await acceptJob(
    { body, trigger: { type: 'http', source: submission.caller }, rerunOf: jobId, ...(submission.jobId ? { jobId: submission.jobId } : {}) },
    deps,
  );
  if (!accepted.replayed) await deps.jobs.recordRerun(jobId, accepted.job.jobId);
  return accepted;
}
