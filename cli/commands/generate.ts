import { parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import { checkOutGoesWithWait, followAccepted } from '../follow.js';
import type { SubmitAnswer } from '../job-view.js';
import { buildRequestBody } from '../request-body.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';

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
  checkOutGoesWithWait(values);
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
  return followAccepted(target, { status, answer, wait: values.wait, out: values.out, started });
}
