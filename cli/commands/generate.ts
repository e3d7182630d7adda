import { parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { downloadVideo, outputPath } from '../download.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import type { JobView, SubmitAnswer } from '../job-view.js';
import { progressView } from '../progress.js';
import { buildRequestBody } from '../request-body.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';
import { watchJob } from '../watch.js';

const OPTIONS = {
  ...TARGET_OPTIONS,
  bucket: { type: 'string' },
  image: { type: 'string', multiple: true },
  video: { type: 'string', multiple: true },
  audio: { type: 'string', multiple: true },
  ratio: { type: 'string' },
  resolution: { type: 'string' },
  duration: { type: 'string' },
  model: { type: 'string', default: 'seedance-fast' },
  'no-audio': { type: 'boolean', default: false },
  watermark: { type: 'boolean', default: false },
  'web-search': { type: 'boolean', default: false },
  'idempotency-key': { type: 'string' },
  wait: { type: 'boolean', default: false },
  out: { type: 'string' },
} as const;

/** `generate <prompt>`: submit; with --wait, follow the job to its end and download the video. */
export async function generate(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.generate);
  if (values.help) {
    console.log(USAGE.generate);
    return EXIT.OK;
  }
  const prompt = positionals.join(' ').trim();
  const images = values.image ?? [];
  const videos = values.video ?? [];
  const audios = values.audio ?? [];
  if (!prompt && images.length + videos.length + audios.length === 0) {
    throw new UsageError(`a prompt or some media is needed\n${USAGE.generate}`);
  }
  if (values.out !== undefined && !values.wait) throw new UsageError(`--out goes with --wait (or use \`download <jobId> --out\`)`);
  const target = await resolveTarget({ api: values.api, bucket: values.bucket });
  const body = await buildRequestBody(
    {
      prompt,
      model: values.model,
      images,
      videos,
      audios,
      ratio: values.ratio,
      resolution: values.resolution,
      duration: values.duration,
      noAudio: values['no-audio'],
      watermark: values.watermark,
      webSearch: values['web-search'],
    },
    target.mediaStore,
  );
  const started = Date.now();
  const key = values['idempotency-key'];
  const { status, body: answer } = await target.api.request<SubmitAnswer>({
    method: 'POST',
    path: '/jobs',
    body,
    ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}),
  });
  const replayed = status === 200 ? ' (already submitted with this Idempotency-Key)' : '';
  console.log(`Job ${answer.jobId} accepted: ${answer.status}${replayed}`);
  console.log(`  status: ${answer.links.self}`);
  for (const warning of answer.warnings ?? []) console.error(`  warning: ${warning}`);
  if (!values.wait) {
    console.log(`  follow it with: video-pipeline status ${answer.jobId}`);
    return EXIT.OK;
  }

  const file = await outputPath(answer.jobId, values.out);
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
