import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { UPLOAD_PREFIX } from '../../contracts/bucket.js';
import { uploadJobId } from '../../runtime/triggers/upload-intake.js';
import { onePositional, parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import { uploadFailure } from '../media.js';
import { isRefused, recordedJob, recordedJobLines } from '../recorded-jobs.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';

const OPTIONS = {
  ...TARGET_OPTIONS,
  bucket: { type: 'string' },
  prompt: { type: 'string' },
  ratio: { type: 'string' },
  duration: { type: 'string' },
  resolution: { type: 'string' },
} as const;

/** The image types the upload trigger makes a job of (runtime/triggers/upload-intake.ts), with their Content-Type. */
const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };
/** How long the trigger may take to record the job: on AWS, S3's event goes through EventBridge first. */
const RECORD_TIMEOUT_MS = 60_000;

/**
 * `upload <file>`: puts a job spec (`.json`) or an image with `--prompt` under incoming/, as the README's
 * aws CLI examples do, and prints the job the upload trigger made of it. Refused (a spec the contract
 * rejects): its error and issues, exit 2.
 */
export async function upload(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.upload);
  if (values.help) {
    console.log(USAGE.upload);
    return EXIT.OK;
  }
  const file = onePositional(positionals, 'file', USAGE.upload);
  const extension = extname(file).toLowerCase();
  const imageType = IMAGE_TYPES[extension];
  const metadata = Object.fromEntries(
    (['prompt', 'ratio', 'duration', 'resolution'] as const).flatMap((name) => (values[name] !== undefined ? [[name, values[name]]] : [])),
  );
  if (extension === '.json') {
    if (Object.keys(metadata).length > 0)
      throw new UsageError(`--${Object.keys(metadata)[0]} goes with an image: a spec carries its own fields\n${USAGE.upload}`);
  } else if (imageType) {
    if (!values.prompt) throw new UsageError(`an image needs --prompt: without one the pipeline takes it for media, not a job\n${USAGE.upload}`);
    // The prompt travels as S3 object metadata, which S3 takes in US-ASCII only.
    const nonAscii = Object.entries(metadata).find(([, value]) => /[^\x20-\x7e]/.test(value));
    if (nonAscii) throw new UsageError(`--${nonAscii[0]}: S3 object metadata is US-ASCII only; put the request in a spec (.json) and upload that`);
  } else {
    throw new UsageError(`${file}: upload a job spec (.json) or an image (${Object.keys(IMAGE_TYPES).join(', ')}) with --prompt\n${USAGE.upload}`);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const target = await resolveTarget({ api: values.api, bucket: values.bucket });
  const store = target.mediaStore();
  if (!store) throw new UsageError('upload needs the bucket of a deployed API: --bucket or VIDEO_PIPELINE_BUCKET (the VideoBucketName output)');
  const key = `${UPLOAD_PREFIX}${basename(file)}`;
  let etag: string;
  try {
    const answer = await store.s3.send(
      new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: bytes, ContentType: imageType ?? 'application/json', Metadata: metadata }),
    );
    etag = (answer.ETag ?? '').replaceAll('"', '');
  } catch (error) {
    throw uploadFailure(store, key, error);
  }
  console.log(`Uploaded ${file} to s3://${store.bucket}/${key}`);
  const jobId = uploadJobId({ bucket: store.bucket, key, etag });
  const job = await recordedJob(target.api, jobId, { deadline: Date.now() + RECORD_TIMEOUT_MS, intervalMs: target.pollIntervalMs });
  if (!job) {
    console.log(`Job ${jobId} not recorded yet: the upload trigger has not run; follow it with: video-pipeline status ${jobId}`);
    return EXIT.OK;
  }
  for (const line of recordedJobLines(job)) console.log(line);
  console.log(`  status: ${job.links.self}`);
  return isRefused(job) ? EXIT.USAGE_OR_REFUSED : EXIT.OK;
}
