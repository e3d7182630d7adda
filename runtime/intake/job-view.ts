import type { JobRecord } from '../domain/job.js';

export interface JobView extends Omit<JobRecord, 'requestKey' | 'kind' | 'requestHash' | 'inLine' | 'lineKey'> {
  /** True while it waits in the admission line for a slot. */
  waiting: boolean;
  /** Jobs ahead of it in the line, on GET /jobs/{jobId} of a waiting job (counted up to a bound). */
  ahead?: number;
  links: { self: string };
  downloadUrl?: string;
}

/** The job as the API shows it: internal bookkeeping out, links in. */
export function presentJob(job: JobRecord, selfUrl: string, extra: { downloadUrl?: string; ahead?: number } = {}): JobView {
  const { requestKey: _bodyLocation, kind: _indexPartition, requestHash: _identity, inLine, lineKey: _place, estimatedFinishAt, ...visible } = job;
  return {
    ...visible,
    // An estimate of a job that has ended is noise: it is kept on the record, shown only while the task runs.
    ...(estimatedFinishAt && (job.status === 'SUBMITTED' || job.status === 'RUNNING') ? { estimatedFinishAt } : {}),
    waiting: inLine !== undefined,
    ...(extra.ahead !== undefined ? { ahead: extra.ahead } : {}),
    links: { self: selfUrl },
    ...(extra.downloadUrl ? { downloadUrl: extra.downloadUrl } : {}),
  };
}
