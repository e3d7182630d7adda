import type { JobRecord } from './job.js';

export interface JobView extends Omit<JobRecord, 'requestKey' | 'kind' | 'requestHash'> {
  links: { self: string };
  downloadUrl?: string;
}

/** The job as the API shows it: internal bookkeeping out, links in. */
export function presentJob(job: JobRecord, selfUrl: string, downloadUrl?: string): JobView {
  const { requestKey: _bodyLocation, kind: _indexPartition, requestHash: _identity, ...visible } = job;
  return { ...visible, links: { self: selfUrl }, ...(downloadUrl ? { downloadUrl } : {}) };
}
