import { vi } from 'vitest';
import { getJob } from './local-stack-fixture.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);

/** Polls the API every 20 ms until the job ends; returns every status seen, in order, and the final record. */
export async function waitForJob(apiUrl: string, jobId: string, timeoutMs = 30_000) {
  const seen: { status: string; progress: number }[] = [];
  const job = await vi.waitFor(
    async () => {
      const job = await getJob(apiUrl, jobId);
      const last = seen.at(-1);
      if (!last || last.status !== job.status || last.progress !== job.progress) seen.push({ status: job.status, progress: job.progress });
      if (!TERMINAL.has(job.status)) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
      return job;
    },
    { timeout: timeoutMs, interval: 20 },
  );
  return { job, seen };
}
