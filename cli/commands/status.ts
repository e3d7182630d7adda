import { onePositional, parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { EXIT, type ExitCode } from '../errors.js';
import { jobSummary } from '../format.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';
import { getJob } from '../watch.js';

const OPTIONS = { ...TARGET_OPTIONS, json: { type: 'boolean', default: false } } as const;

/** `status <jobId>`: a readable summary, or with --json the record as the API answers it. */
export async function status(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.status);
  if (values.help) {
    console.log(USAGE.status);
    return EXIT.OK;
  }
  const jobId = onePositional(positionals, 'jobId', USAGE.status);
  const target = await resolveTarget({ api: values.api });
  const job = await getJob(target.api, jobId);
  if (values.json) {
    console.log(JSON.stringify(job, null, 2));
    return EXIT.OK;
  }
  console.log(jobSummary(job));
  if (job.status === 'SUCCEEDED') console.log(`\nDownload it with: video-pipeline download ${job.jobId}`);
  return EXIT.OK;
}
