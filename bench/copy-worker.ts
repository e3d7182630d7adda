/**
 * One copy variant in a fresh process (spawned by bench/copy.ts), so its peak RSS is its own:
 *   ours     — storeVideo (runtime/workflow/store-video.ts): node:http GET → sha256 → our multipart upload
 *   raw      — fetch → fs.createWriteStream (the floor: no S3 at all)
 *   raw-http — http.get → fs.createWriteStream (the same floor with the HTTP client ours uses)
 *   naive    — arrayBuffer() of the whole download, then one PutObject
 *   ceiling  — ours without the download: the same upload code fed from memory (the S3 side's ceiling)
 * Prints one JSON line on stdout. BENCH_COPY_VARIANT=lambda-memory prints the StoreVideo function's
 * MemorySize from the synthesized stack instead (synthesized here, not in the bench's process, whose
 * heap would grow by the CDK's ~15 MB and make the server there collect garbage more slowly).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HeadBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../runtime/compose/aws-clients.js';
import { copyIntoBucket, DEFAULT_QUEUE_SIZE, partSizeFor, storeVideo } from '../runtime/workflow/store-video.js';

export type CopyVariant = 'ours' | 'raw' | 'raw-http' | 'naive' | 'ceiling';

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
/** Overrides of storeVideo's part size and queue (for exploring them; the bench runs the defaults). */
const partSizeBytes = process.env.BENCH_COPY_PART_MIB ? Number(process.env.BENCH_COPY_PART_MIB) * 1024 * 1024 : undefined;
const queueSize = process.env.BENCH_COPY_QUEUE ? Number(process.env.BENCH_COPY_QUEUE) : undefined;

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

if ((variant as string) === 'lambda-memory') {
  const [{ synthesizePipelineTemplate }, { handlerFileOfFunction }, { logicalIdsOfType }] = await Promise.all([
    import('../local/stack/cloud-assembly.js'),
    import('../local/stack/handler-modules.js'),
    import('../local/stack/template-resolver.js'),
  ]);
  const template = synthesizePipelineTemplate({ providerBaseUrl: 'https://www.anyfast.ai' });
  const storeVideoFunction = logicalIdsOfType(template, 'AWS::Lambda::Function').find((logicalId) => {
    try {
      return handlerFileOfFunction(template, logicalId) === 'store-video';
    } catch {
      return false; // CDK's own helper functions carry no handler metadata
    }
  });
  if (!storeVideoFunction) throw new Error('no StoreVideo function in the synthesized stack');
  const memoryMiB = Number((template.Resources[storeVideoFunction]!.Properties as { MemorySize?: number }).MemorySize ?? 128);
  process.stdout.write(`${JSON.stringify({ memoryMiB })}\n`);
  process.exit(0);
}

const s3 = createS3Client(true);
// Load the SDK's lazily imported parts (signing, the HTTP handler) before the baseline, for every variant alike.
await s3.send(new HeadBucketCommand({ Bucket: bucket }));
const head = await fetch(url, { method: 'HEAD' });
await head.arrayBuffer();
const sourceBytes = Number(head.headers.get('content-length'));
// The ceiling's bytes: a 16 MiB random block, repeated (like the served file), made before the baseline.
const block = variant === 'ceiling' ? randomBytes(16 * 1024 * 1024) : undefined;
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
    { s3, bucket, now: () => new Date(), allowInsecureLoopback: true, ...(partSizeBytes ? { partSizeBytes } : {}), ...(queueSize ? { queueSize } : {}) },
  );
  bytes = stored.bytes;
  storedKey = stored.key;
} else if (variant === 'raw') {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`download answered ${response.status}`);
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(rawFile));
  bytes = statSync(rawFile).size;
} else if (variant === 'raw-http') {
  const response = await new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
  if (response.statusCode !== 200) throw new Error(`download answered ${response.statusCode}`);
  await pipeline(response, createWriteStream(rawFile));
  bytes = statSync(rawFile).size;
} else if (variant === 'ceiling') {
  // 64 KiB slices, as the HTTP client hands a download over, of the same length as the source.
  const slices = function* () {
    for (let offset = 0; offset < sourceBytes; offset += 65536) {
      const at = offset % block!.length;
      yield block!.subarray(at, Math.min(at + 65536, at + sourceBytes - offset));
    }
  };
  const ceilingKey = `bench/ceiling-${process.pid}.mp4`;
  const copied = await copyIntoBucket(
    Readable.from(slices(), { objectMode: true }),
    { s3, bucket, key: ceilingKey },
    {
      partSize: partSizeFor(sourceBytes, partSizeBytes),
      queueSize: queueSize ?? DEFAULT_QUEUE_SIZE,
      expectedBytes: sourceBytes,
    },
  );
  const stored = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: ceilingKey }));
  if (stored.ContentLength !== copied.bytes) throw new Error(`ceiling: ${stored.ContentLength} stored of ${copied.bytes}`);
  bytes = copied.bytes;
  storedKey = ceilingKey;
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
