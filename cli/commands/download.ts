import { onePositional, parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { downloadVideo, outputPath } from '../download.js';
import { EXIT, type ExitCode } from '../errors.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';
import { getJob } from '../watch.js';

const OPTIONS = { ...TARGET_OPTIONS, out: { type: 'string' } } as const;

/** `download <jobId>`: the video of a SUCCEEDED job, through its fresh presigned downloadUrl. */
export async function download(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.download);
  if (values.help) {
    console.log(USAGE.download);
    return EXIT.OK;
  }
  const jobId = onePositional(positionals, 'jobId', USAGE.download);
  const target = await resolveTarget({ api: values.api });
  const job = await getJob(target.api, jobId);
  const video = await downloadVideo(job, await outputPath(job.jobId, values.out));
  console.log(`Video written to ${video.file} (${video.bytes} bytes, sha256 ${video.sha256})`);
  return EXIT.OK;
}
