import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ConflictError, LineFailedError, LineIdConflictError, PayloadTooLargeError, PipelineError, ValidationError } from '../domain/errors.js';
import { MANIFEST_PREFIX } from '../../contracts/bucket.js';
import { lineKeyFor } from '../admission/admission-line.js';
import { admitWaiting, type DispatchReport } from '../admission/dispatch.js';
import { acceptJob, rejectJob, type IntakeDeps } from '../intake/job-intake.js';
import { MAX_LINE_ATTEMPTS, MAX_REPORTED_REJECTIONS, type ManifestProgress, type ManifestRepository } from './manifest-repository.js';
import { MAX_BODY_BYTES } from '../domain/request-schema.js';

const MANIFEST_SUFFIX = /\.jsonl$/i;

export interface BatchDeps extends IntakeDeps {
  s3: S3Client;
  bucket: string;
  manifests: ManifestRepository;
  /** When this run stops taking manifest lines (before the function's timeout); the next run goes on from there. */
  stopAt: Date;
}

export interface ManifestReport {
  key: string;
  nextLine: number;
  totalLines: number;
  /** Lines that joined the admission line in this run. */
  queuedNow: number;
  rejectedNow: number;
  done: boolean;
  /** This run stopped on the manifest for this reason; the next run tries again (see MAX_LINE_ATTEMPTS). */
  error?: string;
}

export interface BatchReport {
  /** Deferred jobs (POST /jobs?schedule=batch) that joined the admission line. */
  queuedDeferred: number;
  queuedFromManifests: number;
  rejected: number;
  manifests: ManifestReport[];
  /** What the dispatch at the end of the run started. */
  dispatch: DispatchReport;
}

/**
 * One run (on schedule, or when a manifest is uploaded): deferred jobs join the admission line, then
 * manifest lines (manifests by key, lines in order), each as a job of its own, low priority unless
 * the line says otherwise; then one dispatch starts what the slots allow. The line is the only
 * place jobs wait and the only thing that counts jobs in flight. Job ids derive from the manifest
 * and the line (or its `id`), so a rerun never makes a line's job twice.
 */
export async function runBatch(deps: BatchDeps): Promise<BatchReport> {
  let queuedDeferred = 0;
  for (const job of await deps.jobs.listDeferred()) {
    const queuedAt = deps.now();
    if (await deps.jobs.joinLine(job.jobId, { queuedAt, lineKey: lineKeyFor(queuedAt, job.priority ?? 'normal', job.jobId) })) queuedDeferred += 1;
  }
  const reports: ManifestReport[] = [];
  for (const manifest of await listManifests(deps)) {
    if (deps.now() >= deps.stopAt) break;
    let report: ManifestReport | undefined;
    try {
      report = await runManifest(manifest, deps);
    } catch (error) {
      // One manifest this run cannot read or record is no reason to hold the others.
      report = { key: manifest.key, nextLine: 0, totalLines: 0, queuedNow: 0, rejectedNow: 0, done: false, error: (error as Error).message };
    }
    if (report) reports.push(report);
  }
  return {
    queuedDeferred,
    queuedFromManifests: reports.reduce((sum, report) => sum + report.queuedNow, 0),
    rejected: reports.reduce((sum, report) => sum + report.rejectedNow, 0),
    manifests: reports,
    dispatch: await admitWaiting(deps),
  };
}

/** A manifest is read whole at each run; past this it is refused (split it) rather than running the function out of memory. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

interface ListedManifest {
  key: string;
  etag: string;
  bytes: number;
}

async function listManifests(deps: BatchDeps): Promise<ListedManifest[]> {
  const manifests: ListedManifest[] = [];
  let token: string | undefined;
  do {
    const page = await deps.s3.send(new ListObjectsV2Command({ Bucket: deps.bucket, Prefix: MANIFEST_PREFIX, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key && MANIFEST_SUFFIX.test(object.Key)) {
        manifests.push({ key: object.Key, etag: (object.ETag ?? '').replaceAll('"', ''), bytes: object.Size ?? 0 });
      }
    }
    token = page.NextContinuationToken;
  } while (token);
  return manifests.sort((a, b) => a.key.localeCompare(b.key));
}

/** The job of a manifest line (1-based), as the batch function makes it; the CLI's `batch` prints them. */
export function lineJobId(bucket: string, manifest: Pick<ListedManifest, 'key' | 'etag'>, lineNumber: number, id: unknown): string {
  // With an `id`, a line keeps its job across new versions of the manifest; without, its place does.
  const identity = typeof id === 'string' && id.length > 0 ? `id:${id}` : `${manifest.etag}#line:${lineNumber}`;
  return `batch-${createHash('sha256').update(`${bucket}/${manifest.key}#${identity}`).digest('hex').slice(0, 40)}`;
}

function parseLine(text: string): { id?: string; body: unknown } | PipelineError {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    return new PayloadTooLargeError(`the line is ${bytes} bytes; a line, like a POST /jobs body, may be at most ${MAX_BODY_BYTES}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return new ValidationError([{ path: 'body', message: `the line is not valid JSON: ${(error as Error).message}` }]);
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'id' in parsed) {
    const { id, ...body } = parsed as Record<string, unknown>;
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) {
      return new ValidationError([{ path: 'id', message: 'must be a string of 1 to 128 characters' }]);
    }
    return { id, body };
  }
  return { body: parsed };
}

/** The listed version of a manifest, exactly: undefined when it was replaced or deleted since the listing. */
async function readManifest(deps: BatchDeps, manifest: ListedManifest): Promise<string | undefined> {
  try {
    const answer = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: manifest.key, IfMatch: `"${manifest.etag}"` }));
    return (await answer.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (name === 'NoSuchKey' || name === 'PreconditionFailed' || $metadata?.httpStatusCode === 412) return undefined;
    throw error;
  }
}

type LineOutcome = 'queued' | 'handled' | 'rejected';

async function runManifest(manifest: ListedManifest, deps: BatchDeps): Promise<ManifestReport | undefined> {
  const manifestId = `${manifest.key}#${manifest.etag}`;
  const saved = await deps.manifests.get(manifestId);
  if (saved && saved.status !== 'PENDING') return undefined;
  const progress: ManifestProgress = saved ?? {
    manifestId,
    key: manifest.key,
    etag: manifest.etag,
    nextLine: 0,
    totalLines: 0,
    started: 0,
    rejected: 0,
    rejectedLines: [],
    status: 'PENDING',
    updatedAt: deps.now().toISOString(),
  };
  let expectedNextLine = saved?.nextLine;
  let queuedNow = 0;
  let rejectedNow = 0;
  const report = (): ManifestReport => ({
    key: manifest.key,
    nextLine: progress.nextLine,
    totalLines: progress.totalLines,
    queuedNow,
    rejectedNow,
    done: progress.status !== 'PENDING',
  });
  /** False when another run moved this manifest meanwhile: it carries on from there, this run leaves it. */
  const save = async (): Promise<boolean> => {
    progress.updatedAt = deps.now().toISOString();
    try {
      await deps.manifests.save(progress, expectedNextLine);
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
    expectedNextLine = progress.nextLine;
    return true;
  };

  if (manifest.bytes > MAX_MANIFEST_BYTES) {
    progress.status = 'REFUSED';
    progress.error = {
      code: 'PAYLOAD_TOO_LARGE',
      message: `the manifest is ${manifest.bytes} bytes; at most ${MAX_MANIFEST_BYTES} are read: split it into several manifests`,
    };
    await save();
    return report();
  }
  const text = await readManifest(deps, manifest);
  if (text === undefined) return undefined;
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  progress.totalLines = lines.length;

  while (progress.nextLine < lines.length && deps.now() < deps.stopAt) {
    const lineNumber = progress.nextLine + 1;
    let outcome: LineOutcome;
    try {
      outcome = await runLine(manifest, lineNumber, lines[progress.nextLine]!.trim(), deps, progress);
    } catch (error) {
      // A line that keeps failing (not a refusal: a fault we did not foresee) must not hold the
      // manifest, and with it every later line, forever: after a few runs it is refused too.
      progress.lineAttempts = (progress.lineAttempts ?? 0) + 1;
      if (progress.lineAttempts < MAX_LINE_ATTEMPTS) {
        await save();
        return { ...report(), error: `line ${lineNumber}: ${(error as Error).message}` };
      }
      const refusal = new LineFailedError(`line ${lineNumber} failed in ${progress.lineAttempts} batch runs, so it was refused: ${(error as Error).message}`);
      await refuseLine(manifest, lineNumber, positionalLineJob(manifest, lineNumber, deps), refusal, deps, progress);
      outcome = 'rejected';
    }
    if (outcome === 'queued') queuedNow += 1;
    if (outcome === 'rejected') rejectedNow += 1;
    delete progress.lineAttempts;
    progress.nextLine += 1;
    progress.status = progress.nextLine >= lines.length ? 'DONE' : 'PENDING';
    if (!(await save())) return report();
  }
  if (lines.length === 0 && progress.status !== 'DONE') {
    progress.status = 'DONE';
    await save();
  }
  return report();
}

function positionalLineJob(manifest: ListedManifest, lineNumber: number, deps: BatchDeps): string {
  return lineJobId(deps.bucket, manifest, lineNumber, undefined);
}

function lineTrigger(manifest: ListedManifest, lineNumber: number, deps: BatchDeps) {
  return { type: 'schedule' as const, source: `s3://${deps.bucket}/${manifest.key}#L${lineNumber}` };
}

/** One line: queued as a job, found already handled, or refused (recorded as a FAILED job). */
async function runLine(manifest: ListedManifest, lineNumber: number, text: string, deps: BatchDeps, progress: ManifestProgress): Promise<LineOutcome> {
  if (text.length === 0) return 'handled';
  const line = parseLine(text);
  if (line instanceof PipelineError) {
    await refuseLine(manifest, lineNumber, positionalLineJob(manifest, lineNumber, deps), line, deps, progress);
    return 'rejected';
  }
  const jobId = lineJobId(deps.bucket, manifest, lineNumber, line.id);
  try {
    const { replayed } = await acceptJob(
      { body: line.body, trigger: lineTrigger(manifest, lineNumber, deps), jobId, defaultPriority: 'low', dispatch: false },
      deps,
    );
    if (replayed) return 'handled';
    progress.started += 1;
    return 'queued';
  } catch (error) {
    if (error instanceof ValidationError) {
      await refuseLine(manifest, lineNumber, jobId, error, deps, progress);
      return 'rejected';
    }
    if (error instanceof ConflictError) {
      // The id names a job made from another body. That job stands; this line gets a job of its own
      // (by its place in this version of the manifest) that says why it did not run.
      const conflict = new LineIdConflictError(
        `line ${lineNumber}: id "${line.id}" already names job ${jobId}, made from another body (an earlier line, or an earlier version of ${manifest.key}); give this line its own id`,
      );
      await refuseLine(manifest, lineNumber, positionalLineJob(manifest, lineNumber, deps), conflict, deps, progress);
      return 'rejected';
    }
    throw error;
  }
}

async function refuseLine(
  manifest: ListedManifest,
  lineNumber: number,
  jobId: string,
  refusal: PipelineError & { issues?: ValidationError['issues'] },
  deps: BatchDeps,
  progress: ManifestProgress,
): Promise<void> {
  await rejectJob({ jobId, trigger: lineTrigger(manifest, lineNumber, deps) }, refusal, deps);
  progress.rejected += 1;
  if (progress.rejectedLines.length < MAX_REPORTED_REJECTIONS) progress.rejectedLines.push({ line: lineNumber, jobId, code: refusal.code });
}
