import type { JobAnnouncer } from './job-announcer.js';
import type { JobRecord, JobStatus } from './job.js';

/** The state machine's last step: announce how the job ended, and tell the execution which way to end. */
export async function announceOutcome(
  input: { jobId: string },
  deps: { getJob: (jobId: string) => Promise<JobRecord | undefined>; announcer: JobAnnouncer },
): Promise<{ status: JobStatus }> {
  const job = await deps.getJob(input.jobId);
  if (!job) throw new Error(`job ${input.jobId} is not in the table`);
  await deps.announcer.announce(job);
  return { status: job.status };
}
