import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MANIFEST_PREFIX } from '../../contracts/bucket.js';
import { lineJobId } from '../../runtime/triggers/batch-runner.js';
import { onePositional, parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import type { JobView } from '../job-view.js';
import { uploadFailure } from '../media.js';
import { isRefused, recordedJob, recordedJobLines } from '../recorded-jobs.js';
import { resolveTarget } from '../target.js';
import { USAGE } from '../usage.js';

const OPTIONS = { ...TARGET_OPTIONS, bucket: { type: 'string' } } as const;

/** How long the batch function may take to reach every line: it runs on the manifest's upload event. */
const RECORD_TIMEOUT_MS = 60_000;

/** A non-empty line's `id`, if it names one (the batch function keys the line's job by it). */
function lineId(text: string): unknown {
  try {
    return (JSON.parse(text) as { id?: unknown } | null)?.id;
  } catch {
    return undefined;
  }
}

/**
 * `batch <manifest.jsonl>`: puts the manifest under batches/, where its upload runs the batch function
 * (the manifest rule, as on AWS), and prints each line's job once the function has recorded it, by the
 * job id the function derives from the manifest's ETag and the line's `id` or place.
 */
export async function batch(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.batch);
  if (values.help) {
    console.log(USAGE.batch);
    return EXIT.OK;
  }
  const file = onePositional(positionals, 'manifest', USAGE.batch);
  if (extname(file).toLowerCase() !== '.jsonl') throw new UsageError(`${file}: a manifest is a .jsonl file, one job spec per line\n${USAGE.batch}`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const target = await resolveTarget({ api: values.api, bucket: values.bucket });
  const store = target.mediaStore();
  if (!store) throw new UsageError('batch needs the bucket of a deployed API: --bucket or VIDEO_PIPELINE_BUCKET (the VideoBucketName output)');
  const key = `${MANIFEST_PREFIX}${basename(file)}`;
  let etag: string;
  try {
    const answer = await store.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: text, ContentType: 'application/x-ndjson' }));
    etag = (answer.ETag ?? '').replaceAll('"', '');
  } catch (error) {
    throw uploadFailure(store, key, error);
  }
  console.log(`Uploaded ${file} to s3://${store.bucket}/${key}`);

  // Lines as the batch function splits them (runtime/triggers/batch-runner.ts): blank ones make no job.
  const lines = text.split('\n').map((line) => line.replace(/\r$/, '').trim());
  const manifest = { key, etag };
  const deadline = Date.now() + RECORD_TIMEOUT_MS;
  let refused = 0;
  let pending = 0;
  for (const [index, line] of lines.entries()) {
    if (line.length === 0) continue;
    const lineNumber = index + 1;
    const source = `s3://${store.bucket}/${key}#L${lineNumber}`;
    const positional = lineJobId(store.bucket, manifest, lineNumber, undefined);
    const byId = lineJobId(store.bucket, manifest, lineNumber, lineId(line));
    const options = { deadline, intervalMs: target.pollIntervalMs };
    let job: JobView | undefined = await recordedJob(target.api, byId, options);
    // The id's job came from another line: this line was refused (its own job is by its place), or it
    // repeats that line's body in a new upload of the manifest and keeps its job.
    if (job && byId !== positional && job.trigger.source !== source) {
      job = (await recordedJob(target.api, positional, { ...options, deadline: Date.now() })) ?? job;
    }
    if (!job) {
      pending += 1;
      console.log(`Job ${byId} not recorded yet (line ${lineNumber})`);
      continue;
    }
    if (isRefused(job)) refused += 1;
    for (const output of recordedJobLines(job, ` (line ${lineNumber})`)) console.log(output);
  }
  if (pending > 0) console.log(`The batch function goes on with the lines not recorded yet in its next run: video-pipeline list --trigger schedule`);
  return refused > 0 ? EXIT.USAGE_OR_REFUSED : EXIT.OK;
}
