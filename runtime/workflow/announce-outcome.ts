import type { JobAnnouncer } from '../aws/job-announcer.js';
import type { JobRepository } from '../aws/job-repository.js';
import type { JobRecord } from '../domain/job.js';

export interface AnnounceDeps {
  announcer: JobAnnouncer;
  jobs: Pick<JobRepository, 'get' | 'markAnnounced'>;
  now: () => Date;
}

/**
 * Publishes a job's completion event unless it already was, then marks it announced. A step that
 * crashed after publishing and marking is retried without a second event; only a crash between the
 * two can repeat it, so consumers should still treat (jobId, status) as the event's identity.
 */
export async function announceOnce(job: JobRecord, deps: AnnounceDeps): Promise<void> {
  if (job.announcedAt) return;
  await deps.announcer.announce(job);
  await deps.jobs.markAnnounced(job.jobId, deps.now());
}

/**
 * The state machine's announcements: how the job ended (its last step, which also tells the
 * execution which way to end), or, for a job that ended TIMED_OUT, that its video arrived late.
 */
export async function announceOutcome(input: { jobId: string; lateVideo?: boolean }, deps: AnnounceDeps): Promise<{ job: JobRecord }> {
  const job = await deps.jobs.get(input.jobId);
  if (!job) throw new Error(`job ${input.jobId} is not in the table`);
  if (input.lateVideo) {
    if (!job.lateAnnouncedAt) {
      await deps.announcer.announceLateVideo(job);
      await deps.jobs.markAnnounced(job.jobId, deps.now(), 'lateAnnouncedAt');
    }
  } else {
    await announceOnce(job, deps);
  }
  return { job };
}
