import type { ApiClient } from './api-client.js';
import { ApiError } from './errors.js';
import type { JobView } from './job-view.js';
import { getJob } from './watch.js';

/**
 * Waits until the pipeline has recorded a job an upload makes (the upload trigger or the batch
 * function makes it, a moment after S3 took the object): undefined when it has not by `deadline`.
 */
export async function recordedJob(api: ApiClient, jobId: string, options: { deadline: number; intervalMs: number }): Promise<JobView | undefined> {
  for (;;) {
    try {
      return await getJob(api, jobId);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    if (Date.now() >= options.deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

/** `Job <id> QUEUED`, and for a job refused at the door its error and each issue on lines of their own. */
export function recordedJobLines(job: JobView, suffix = ''): string[] {
  return [
    `Job ${job.jobId} ${job.status}${suffix}`,
    ...(job.error ? [`  ${job.error.code}: ${job.error.message}`, ...(job.error.issues ?? []).map((issue) => `    ${issue.path}: ${issue.message}`)] : []),
  ];
}

/** Refused at the door (its spec or line broke a rule): it FAILED without ever taking a slot. */
export function isRefused(job: JobView): boolean {
  return job.status === 'FAILED' && job.admissions === undefined;
}
