import type { ApiClient } from './api-client.js';
import { ApiError, UnreachableError } from './errors.js';
import { isTerminal } from '../runtime/domain/job.js';
import type { JobView } from './job-view.js';

export async function getJob(api: ApiClient, jobId: string): Promise<JobView> {
  return (await api.request<JobView>({ method: 'GET', path: `/jobs/${encodeURIComponent(jobId)}` })).body;
}

/** A blip while we wait (a dropped connection, a 5xx, throttling) is retried this many times in a row. */
const TOLERATED_FAILURES = 5;

function isTransient(error: unknown): boolean {
  return error instanceof UnreachableError || (error instanceof ApiError && (error.status >= 500 || error.status === 429));
}

/** Polls the job until it ends; `onUpdate` sees every answer. Resolves with the final record. */
export async function watchJob(api: ApiClient, jobId: string, options: { intervalMs: number; onUpdate: (job: JobView) => void }): Promise<JobView> {
  let failures = 0;
  for (;;) {
    try {
      const job = await getJob(api, jobId);
      failures = 0;
      options.onUpdate(job);
      if (isTerminal(job.status)) return job;
    } catch (error) {
      failures += 1;
      if (!isTransient(error) || failures > TOLERATED_FAILURES) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
