import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CliError, EXIT, UnreachableError, UsageError } from './errors.js';
import type { JobView } from './job-view.js';

/** Where the video goes: `--out` (a file, or a directory: `<dir>/<jobId>.mp4`), else `./out/<jobId>.mp4`. */
export async function outputPath(jobId: string, out: string | undefined): Promise<string> {
  if (out === undefined) return resolve('out', `${jobId}.mp4`);
  const isDirectory =
    /[\\/]$/.test(out) ||
    (await stat(out).then(
      (info) => info.isDirectory(),
      () => false,
    ));
  return resolve(isDirectory ? join(out, `${jobId}.mp4`) : out);
}

/** The presigned URL without its signature: safe to print. */
function printable(url: string): string {
  const { origin, pathname } = new URL(url);
  return `${origin}${pathname}`;
}

export interface Downloaded {
  file: string;
  bytes: number;
  sha256: string;
}

/**
 * Streams the job's video to `file` (through `<file>.part`, renamed once complete) and checks its size
 * and sha256 against the job record, so a cut or corrupt download never looks like a video.
 */
export async function downloadVideo(job: JobView, file: string): Promise<Downloaded> {
  if (job.status !== 'SUCCEEDED' || !job.downloadUrl) {
    throw new UsageError(`job ${job.jobId} is ${job.status}: there is no video to download${job.status === 'SUCCEEDED' ? ' (no downloadUrl)' : ''}`);
  }
  let response: Response;
  try {
    response = await fetch(job.downloadUrl);
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new UnreachableError(`cannot download ${printable(job.downloadUrl)} (${reason})`, { cause: error });
  }
  if (!response.ok || !response.body) {
    throw new CliError(`download of ${printable(job.downloadUrl)} failed: HTTP ${response.status}`, EXIT.UNEXPECTED);
  }
  const partial = `${file}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await mkdir(dirname(file), { recursive: true });
    await pipeline(Readable.fromWeb(response.body as WebReadableStream), count, createWriteStream(partial));
  } catch (error) {
    await rm(partial, { force: true });
    // A file system call failed (the --out path), or the connection did.
    if ((error as NodeJS.ErrnoException).syscall) {
      throw new UsageError(`cannot write ${file}: ${(error as Error).message}`, { cause: error });
    }
    throw new UnreachableError(`download of ${printable(job.downloadUrl)} was cut: ${(error as Error).message}`, { cause: error });
  }
  const sha256 = hash.digest('hex');
  if (job.output && (job.output.bytes !== bytes || job.output.sha256 !== sha256)) {
    await rm(partial, { force: true });
    throw new CliError(
      `the downloaded video does not match the job record: ${bytes} bytes sha256 ${sha256}, expected ${job.output.bytes} bytes sha256 ${job.output.sha256}`,
      EXIT.UNEXPECTED,
    );
  }
  await rename(partial, file);
  return { file, bytes, sha256 };
}
