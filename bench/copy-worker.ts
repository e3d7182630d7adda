/**
 * One copy variant in a fresh process (spawned by bench/copy.ts), so its peak RSS is its own:
 *   ours  — storeVideo (lambdas/core/store-video.ts): fetch → sha256 → lib-storage multipart upload
 *   raw   — fetch → fs.createWriteStream (the floor: no S3 at all)
 *   naive — arrayBuffer() of the whole download, then one PutObject
 * Prints one JSON line on stdout.
 */
import { createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../lambdas/core/aws-clients.js';
import { storeVideo } from '../lambdas/core/store-video.js';

export type CopyVariant = 'ours' | 'raw' | 'naive';

export interface CopyWorkerResult {
  variant: CopyVariant;
  bytes: number;
  seconds: number;
  baselineRssBytes: number;
  peakRssSampledBytes: number;
  /** VmHWM after resetting it just before the copy (Linux), when the reset worked. */
  peakRssKernelBytes?: number;
  samples: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  key?: string;
}

const variant = process.env.BENCH_COPY_VARIANT as CopyVariant;
const url = process.env.BENCH_COPY_URL!;
const bucket = process.env.BENCH_COPY_BUCKET!;
const rawFile = process.env.BENCH_COPY_RAW_FILE!;
const key = `bench/naive-${process.pid}.mp4`;

function kernelPeakRss(): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0). */
function resetKernelPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const s3 = createS3Client(true);
// Load the SDK's lazily imported parts (signing, the HTTP handler) before the baseline, for every variant alike.
await s3.send(new HeadBucketCommand({ Bucket: bucket }));
await (await fetch(url, { method: 'HEAD' })).arrayBuffer();
(globalThis as { gc?: () => void }).gc?.();
await new Promise((resolve) => setTimeout(resolve, 100));

const baseline = process.memoryUsage.rss();
const kernelReset = resetKernelPeak();
let peak = baseline;
let samples = 0;
const sampler = setInterval(() => {
  samples += 1;
  peak = Math.max(peak, process.memoryUsage.rss());
}, 20);
const cpuBefore = process.cpuUsage();
const started = performance.now();
let bytes = 0;
let storedKey: string | undefined;

if (variant === 'ours') {
  const stored = await storeVideo(
    { jobId: `bench-${process.pid}`, videoUrl: url, submittedAt: new Date().toISOString() },
    { s3, bucket, now: () => new Date(), allowInsecureLoopback: true },
  );
  bytes = stored.bytes;
  storedKey = stored.key;
} else if (variant === 'raw') {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`download answered ${response.status}`);
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(rawFile));
  bytes = statSync(rawFile).size;
} else if (variant === 'naive') {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`download answered ${response.status}`);
  const buffer = Buffer.from(await response.arrayBuffer());
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: buffer, ContentType: 'video/mp4' }));
  bytes = buffer.length;
  storedKey = key;
} else {
  throw new Error(`unknown BENCH_COPY_VARIANT ${variant}`);
}

const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss());
const kernelPeak = kernelReset ? kernelPeakRss() : undefined;
const result: CopyWorkerResult = {
  variant,
  bytes,
  seconds,
  baselineRssBytes: baseline,
  peakRssSampledBytes: peak,
  ...(kernelPeak !== undefined ? { peakRssKernelBytes: kernelPeak } : {}),
  samples,
  cpuUserSeconds: cpu.user / 1e6,
  cpuSystemSeconds: cpu.system / 1e6,
  ...(storedKey ? { key: storedKey } : {}),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
s3.destroy();
process.exit(0);
