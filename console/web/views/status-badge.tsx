import { statusLabel, type Job } from '../jobs.js';

export function StatusBadge({ job }: { job: Pick<Job, 'status' | 'waiting' | 'deferred'> }) {
  const label = statusLabel(job);
  return (
    <span class={`badge status-${job.waiting ? 'WAITING' : job.status}`} data-status={job.status}>
      {label}
    </span>
  );
}
