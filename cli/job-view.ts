import type { JobView as ApiJobView } from '../runtime/intake/job-view.js';

/** A job as GET /jobs/{jobId} answers it (JSON: dates are strings, as in the record). */
export type JobView = ApiJobView;

export interface JobPage {
  jobs: JobView[];
  nextCursor?: string;
}

export interface SubmitAnswer {
  jobId: string;
  status: string;
  createdAt: string;
  links: { self: string };
  deferred?: boolean;
  warnings?: string[];
}
