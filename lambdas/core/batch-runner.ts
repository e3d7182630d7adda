import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { StartFailedError, ValidationError } from './errors.js';
import { acceptJob, rejectJob, startJob, type IntakeDeps } from './job-intake.js';
import { MAX_REPORTED_REJECTIONS, type ManifestProgress, type ManifestRepository } from './manifest-repository.js';

export const MANIFEST_PREFIX = 'batches/';
const MANIFEST_SUFFIX = /\.jsonl$/i;

export interface BatchDeps extends IntakeDeps {
  s3: S3Client;
  bucket: string;
  manifests: ManifestRepository;
  maxJobsInFlight: number;
}

export interface ManifestReport {
  key: string;
  nextLine: number;
  totalLines: number;
  startedNow: number;
  rejectedNow: number;
  done: boolean;
}

export interface BatchReport {
  inFlightBefore: number;
  capacity: number;
  startedDeferred: number;
  startedFromManifests: number;
  rejected: number;
  manifests: ManifestReport[];
}

/**
 * One scheduled run: starts deferred jobs (oldest first), then manifest lines (manifests by key, lines
 * in order), while the jobs in flight stay under the cap. What does not fit waits for the next run.
 * Job ids derive from the manifest and the line (or its `id`), so a rerun never starts a line twice.
 */
export async function runBatch(deps: BatchDeps): Promise<BatchReport> {
  const inFlightBefore = await deps.jobs.countInFlight();
  const capacity = Math.max(0, deps.maxJobsInFlight - inFlightBefore);
  let room = capacity;
  let startedDeferred = 0;
  for (const job of room > 0 ? await deps.jobs.listDeferred(room) : []) {
    try {
      await startJob(job, deps);
      startedDeferred += 1;
    } catch (error) {
      // A job that could not start is recorded FAILED by startJob; the others still get their turn.
      if (!(error instanceof StartFailedError)) throw error;
    }
    room -= 1;
  }
  const reports: ManifestReport[] = [];
  for (const manifest of await listManifests(deps)) {
    const report = await runManifest(manifest, room, deps);
    if (!report) continue;
    reports.push(report);
    room -= report.startedNow;
  }
  return {
    inFlightBefore,
    capacity,
    startedDeferred,
    startedFromManifests: reports.reduce((sum, report) => sum + report.startedNow, 0),
    rejected: reports.reduce((sum, report) => sum + report.rejectedNow, 0),
    manifests: reports,
  };
}

async function listManifests(deps: BatchDeps): Promise<{ key: string; etag: string }[]> {
  const manifests: { key: string; etag: string }[] = [];
  let token: string | undefined;
  do {
    const page = await deps.s3.send(
      new ListObjectsV2Command({ Bucket: deps.bucket, Prefix: MANIFEST_PREFIX, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key && MANIFEST_SUFFIX.test(object.Key)) {
        manifests.push({ key: object.Key, etag: (object.ETag ?? '').replaceAll('"', '') });
      }
    }
    token = page.NextContinuationToken;
  } while (token);
  return manifests.sort((a, b) => a.key.localeCompare(b.key));
}

function lineJobId(bucket: string, manifest: { key: string; etag: string }, lineNumber: number, id: unknown): string {
  // With an `id`, a line keeps its job across new versions of the manifest; without, its place does.
  const identity = typeof id === 'string' && id.length > 0 ? `id:${id}` : `${manifest.etag}#line:${lineNumber}`;
  return `batch-${createHash('sha256').update(`${bucket}/${manifest.key}#${identity}`).digest('hex').slice(0, 40)}`;
}

function parseLine(text: string): { id?: unknown; body: unknown } | ValidationError {
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

async function runManifest(
  manifest: { key: string; etag: string },
  room: number,
  deps: BatchDeps,
): Promise<ManifestReport | undefined> {
  const manifestId = `${manifest.key}#${manifest.etag}`;
  const saved = await deps.manifests.get(manifestId);
  if (saved?.status === 'DONE') return undefined;
  const answer = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: manifest.key }));
  const lines = ((await answer.Body?.transformToString('utf8')) ?? '').split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  const progress: ManifestProgress = saved ?? {
    manifestId,
    key: manifest.key,
    etag: manifest.etag,
    nextLine: 0,
    totalLines: lines.length,
    started: 0,
    rejected: 0,
    rejectedLines: [],
    status: 'PENDING',
    updatedAt: deps.now().toISOString(),
  };
  let expectedNextLine = saved?.nextLine;
  let startedNow = 0;
  let rejectedNow = 0;
  while (progress.nextLine < lines.length) {
    const lineNumber = progress.nextLine + 1;
    const text = lines[progress.nextLine]!.trim();
    if (text.length > 0) {
      const line = parseLine(text);
      const jobId = lineJobId(deps.bucket, manifest, lineNumber, line instanceof ValidationError ? undefined : line.id);
      const trigger = { type: 'schedule' as const, source: `s3://${deps.bucket}/${manifest.key}#L${lineNumber}` };
      const refusal = line instanceof ValidationError ? line : undefined;
      if (!refusal && room - startedNow <= 0) break;
      try {
        if (refusal) throw refusal;
        const { replayed } = await acceptJob({ body: (line as { body: unknown }).body, trigger, jobId }, deps);
        if (!replayed) {
          startedNow += 1;
          progress.started += 1;
        }
      } catch (error) {
        if (error instanceof StartFailedError) {
          // Recorded FAILED and announced by startJob: the line is handled.
        } else if (error instanceof ValidationError) {
          await rejectJob({ jobId, trigger }, error, deps);
          rejectedNow += 1;
          progress.rejected += 1;
          if (progress.rejectedLines.length < MAX_REPORTED_REJECTIONS) progress.rejectedLines.push({ line: lineNumber, jobId });
        } else {
          throw error;
        }
      }
    }
    progress.nextLine += 1;
    progress.status = progress.nextLine >= lines.length ? 'DONE' : 'PENDING';
    progress.updatedAt = deps.now().toISOString();
    await deps.manifests.save(progress, expectedNextLine);
    expectedNextLine = progress.nextLine;
  }
  if (lines.length === 0 && progress.status !== 'DONE') {
    progress.status = 'DONE';
    await deps.manifests.save(progress, expectedNextLine);
  }
  return {
    key: manifest.key,
    nextLine: progress.nextLine,
    totalLines: lines.length,
    startedNow,
    rejectedNow,
    done: progress.status === 'DONE',
  };
}
