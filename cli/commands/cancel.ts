import { onePositional, parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { EXIT, type ExitCode } from '../errors.js';
import type { JobView } from '../job-view.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';

/** `cancel <jobId>`: DELETE /jobs/{jobId}; a job that already ended is the API's 409 (exit 2). */
export async function cancel(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, TARGET_OPTIONS, USAGE.cancel);
  if (values.help) {
    console.log(USAGE.cancel);
    return EXIT.OK;
  }
  const jobId = onePositional(positionals, 'jobId', USAGE.cancel);
  const target = await resolveTarget({ api: values.api });
  const { body: job } = await target.api.request<JobView>({ method: 'DELETE', path: `/jobs/${encodeURIComponent(jobId)}` });
  console.log(`Job ${job.jobId} ${job.status}`);
  return EXIT.OK;
}
