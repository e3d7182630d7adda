import { downloadVideo, outputPath } from './download.js';
import { EXIT, UsageError, type ExitCode } from './errors.js';
import type { JobView, SubmitAnswer } from './job-view.js';
import { progressView } from './progress.js';
import type { Target } from './target.js';
import { watchJob } from './watch.js';

export interface Accepted {
  /** 202 for a new job, 200 for one an Idempotency-Key already made. */
  status: number;
  answer: SubmitAnswer;
  /** --wait: follow the job to its end and download the video. */
  wait: boolean;
  out: string | undefined;
  /** When the command began: the elapsed time it reports counts from here. */
  started: number;
}

/** `--out` names where `--wait` writes the video: alone it would do nothing. */
export function checkOutGoesWithWait(values: { out?: string | undefined; wait: boolean }): void {
  if (values.out !== undefined && !values.wait) throw new UsageError(`--out goes with --wait (or use \`download <jobId> --out\`)`);
}

/** What `generate` and `rerun` do with a job the API accepted: say so, and with --wait follow it to its video. */
export async function followAccepted(target: Target, accepted: Accepted): Promise<ExitCode> {
  const { status, answer, started } = accepted;
  const replayed = status === 200 ? ' (already submitted with this Idempotency-Key)' : '';
  console.log(`Job ${answer.jobId} accepted: ${answer.status}${replayed}`);
  console.log(`  status: ${answer.links.self}`);
  for (const warning of answer.warnings ?? []) console.error(`  warning: ${warning}`);
  if (!accepted.wait) {
    console.log(`  follow it with: video-pipeline status ${answer.jobId}`);
    return EXIT.OK;
  }

  const file = await outputPath(answer.jobId, accepted.out);
  const view = progressView(process.stderr, started);
  // Ctrl-C stops the watching, not the job.
  const interrupted = () => {
    view.stop();
    console.error(`\nStopped waiting; job ${answer.jobId} goes on: video-pipeline status ${answer.jobId}`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  let job: JobView;
  try {
    job = await watchJob(target.api, answer.jobId, {
      intervalMs: target.pollIntervalMs,
      // While it waits in the admission line, its place: `WAITING (3 ahead)`.
      onUpdate: (update) =>
        view.update({
          status: update.waiting ? `WAITING (${update.ahead ?? '?'} ahead)` : update.status,
          progress: update.progress,
          ...(update.estimatedFinishAt ? { estimatedFinishAt: update.estimatedFinishAt } : {}),
        }),
    });
  } finally {
    view.stop();
    process.off('SIGINT', interrupted);
  }
  const elapsed = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (job.status !== 'SUCCEEDED') {
    console.error(`Job ${job.jobId} ended ${job.status} after ${elapsed}${job.error ? `: ${job.error.code}: ${job.error.message}` : ''}`);
    return EXIT.JOB_ENDED_UNSUCCESSFULLY;
  }
  const video = await downloadVideo(job, file);
  console.log(`Job ${job.jobId} SUCCEEDED in ${elapsed}`);
  console.log(`Video written to ${video.file} (${video.bytes} bytes, sha256 ${video.sha256})`);
  return EXIT.OK;
}
