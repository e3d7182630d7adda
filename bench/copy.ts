/**
 * Copy: a synthetic MP4-sized file (BENCH_COPY_MB MiB, default 1024: the 1 GiB of the README's bench table) served by the provider
 * simulator's own CDN route handler (local/simulator/serve-video.ts) on a local HTTP server, copied
 * into a local s3rver bucket (local/emulators/emulators.ts startS3, as the local stack starts it) three ways,
 * each in a fresh child process (bench/copy-worker.ts) so one does not pollute the other's RSS:
 *   OURS  = storeVideo, RAW = fetch → fs.createWriteStream, NAIVE = arrayBuffer() then PutObject.
 * Informative beside them: RAW over node:http (the client ours uses), the S3 side's CEILING (our
 * upload code fed from memory, no download) and OURS/NAIVE into a null S3 sink.
 * The server runs in this (parent) process, s3rver on its own thread of it (startS3); their CPU is
 * reported beside the child's. Each child runs with the V8 heap flags the Lambda Node.js runtime
 * derives from the StoreVideo function's memory size (read from the synthesized stack).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3 } from '../local/emulators/emulators.js';
import { serveVideo } from '../local/simulator/serve-video.js';
import { runTsChild } from './child.js';
import { startNullS3, type NullS3 } from './null-s3.js';
import type { CopyVariant, CopyWorkerResult } from './copy-worker.js';
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE } from '../runtime/workflow/store-video.js';
import { formatTable } from '../testkit/table.js';
import { integerEnv, median, round, type Log, type SectionReport, type SummaryRow } from './report.js';

const MIB = 1024 * 1024;
const BUCKET = 'bench-copy';
const RSS_TARGET_MIB = 64;
const THROUGHPUT_TARGET = 0.8;
type Sink = 's3rver' | 'null';
type RunName = 'ours' | 'raw' | 'naive' | 'raw over node:http' | 'S3 ceiling (no download)' | 'ours→null S3' | 'naive→null S3';
const PLAN: { name: RunName; variant: CopyVariant; sink: Sink }[] = [
  { name: 'ours', variant: 'ours', sink: 's3rver' },
  { name: 'raw', variant: 'raw', sink: 's3rver' },
  { name: 'naive', variant: 'naive', sink: 's3rver' },
  { name: 'raw over node:http', variant: 'raw-http', sink: 's3rver' },
  { name: 'S3 ceiling (no download)', variant: 'ceiling', sink: 's3rver' },
  { name: 'ours→null S3', variant: 'ours', sink: 'null' },
  { name: 'naive→null S3', variant: 'naive', sink: 'null' },
];

/**
 * The V8 heap flags the Lambda Node.js runtime's bootstrap sets from the function's memory: a tenth
 * of it for the young generation (half of that per semi-space), the rest for the old generation.
 */
function lambdaHeapFlags(memoryMiB: number): string[] {
  const newSpace = Math.floor(memoryMiB / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMiB - newSpace}`];
}

async function writeSourceFile(path: string, mib: number): Promise<void> {
  // A 16 MiB random block, repeated: incompressible, and cheap to make at 1 GiB.
  const block = randomBytes(16 * MIB);
  const handle = await open(path, 'w');
  try {
    let written = 0;
    while (written < mib * MIB) {
      const length = Math.min(block.length, mib * MIB - written);
      await handle.write(block, 0, length);
      written += length;
    }
  } finally {
    await handle.close();
  }
}

async function readThrough(path: string): Promise<void> {
  for await (const _chunk of createReadStream(path, { highWaterMark: 4 * MIB })) {
    // warm the page cache, so every variant reads the source from memory alike
  }
}

/** A variant over its runs: medians, and the largest RSS growth. */
interface VariantSummary {
  mibPerSecond: number;
  seconds: number;
  rssGrowthMiB: number;
  childCpuSeconds: number;
  parentCpuSeconds: number;
}

interface VariantRun extends CopyWorkerResult {
  name: RunName;
  sink: Sink;
  mibPerSecond: number;
  rssGrowthMiB: number;
  kernelRssGrowthMiB?: number;
  parentCpuSeconds: number;
  verifiedBytes: number;
}

export async function runCopyBench(log: Log): Promise<SectionReport> {
  const mib = integerEnv('BENCH_COPY_MB', 1024);
  const runs = integerEnv('BENCH_COPY_RUNS', 1);
  const memoryMiB = process.env.BENCH_COPY_LAMBDA_MB
    ? Number(process.env.BENCH_COPY_LAMBDA_MB)
    : (await runTsChild<{ memoryMiB: number }>('./copy-worker.ts', { BENCH_COPY_VARIANT: 'lambda-memory' }, log)).memoryMiB;
  const heapFlags = memoryMiB > 0 ? lambdaHeapFlags(memoryMiB) : [];
  const dir = await mkdtemp(join(tmpdir(), 'video-pipeline-bench-copy-'));
  const source = join(dir, 'source.mp4');
  const rawFile = join(dir, 'raw-copy.mp4');
  let server: ReturnType<typeof createServer> | undefined;
  let s3Emulator: Awaited<ReturnType<typeof startS3>> | undefined;
  let nullS3: NullS3 | undefined;
  const client = (endpoint: string) =>
    new S3Client({
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  try {
    log(`copy: writing a ${mib} MiB source file`);
    await writeSourceFile(source, mib);
    const bytes = (await stat(source)).size;
    server = createServer((request, response) => {
      serveVideo(request, response, { path: source, bytes }).catch(() => response.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/videos/bench.mp4`;
    s3Emulator = await startS3({ directory: join(dir, 's3'), bucket: BUCKET });
    nullS3 = await startNullS3();
    const clients = { s3rver: client(s3Emulator.url), null: client(nullS3.url) };
    const endpoints = { s3rver: s3Emulator.url, null: nullS3.url };
    const plan = process.env.BENCH_COPY_NULL_S3 === '0' ? PLAN.filter((entry) => entry.sink === 's3rver') : PLAN;
    log(`copy: children run with ${heapFlags.join(' ') || 'no heap flags'} (StoreVideo memory ${memoryMiB} MiB)`);
    await readThrough(source);

    const results: VariantRun[] = [];
    for (let run = 1; run <= runs; run += 1) {
      for (const { name, variant, sink } of plan) {
        log(`copy: ${name}, run ${run}/${runs}`);
        const s3 = clients[sink];
        const parentBefore = process.cpuUsage();
        const result = await runTsChild<CopyWorkerResult>(
          './copy-worker.ts',
          {
            BENCH_COPY_VARIANT: variant,
            BENCH_COPY_URL: url,
            BENCH_COPY_BUCKET: BUCKET,
            BENCH_COPY_RAW_FILE: rawFile,
            AWS_ENDPOINT_URL_S3: endpoints[sink],
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'S3RVER',
            AWS_SECRET_ACCESS_KEY: 'S3RVER',
          },
          log,
          { nodeArgs: ['--expose-gc', ...heapFlags], timeoutMs: 30 * 60 * 1000 },
        );
        const parentCpu = process.cpuUsage(parentBefore);
        let verifiedBytes: number;
        if (result.key) {
          verifiedBytes = (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: result.key }))).ContentLength ?? -1;
          await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: result.key }));
        } else {
          verifiedBytes = (await stat(rawFile)).size;
          await rm(rawFile, { force: true });
        }
        if (verifiedBytes !== bytes || result.bytes !== bytes) {
          throw new Error(`copy ${variant}: ${result.bytes} bytes copied, ${verifiedBytes} stored, ${bytes} served`);
        }
        const entry: VariantRun = {
          ...result,
          name,
          sink,
          mibPerSecond: bytes / MIB / result.seconds,
          rssGrowthMiB: (result.peakRssSampledBytes - result.baselineRssBytes) / MIB,
          ...(result.peakRssKernelBytes !== undefined ? { kernelRssGrowthMiB: (result.peakRssKernelBytes - result.baselineRssBytes) / MIB } : {}),
          parentCpuSeconds: (parentCpu.user + parentCpu.system) / 1e6,
          verifiedBytes,
        };
        log(
          `copy: ${name}: ${entry.mibPerSecond.toFixed(1)} MiB/s, RSS +${entry.rssGrowthMiB.toFixed(1)} MiB (kernel peak +${entry.kernelRssGrowthMiB?.toFixed(1) ?? '?'} MiB)`,
        );
        results.push(entry);
      }
    }
    clients.s3rver.destroy();
    clients.null.destroy();

    const summary = Object.fromEntries(
      plan.map(({ name }) => {
        const list = results.filter((r) => r.name === name);
        const growth = list.map((r) => Math.max(r.rssGrowthMiB, r.kernelRssGrowthMiB ?? -Infinity));
        return [
          name,
          {
            mibPerSecond: median(list.map((r) => r.mibPerSecond)),
            seconds: median(list.map((r) => r.seconds)),
            rssGrowthMiB: Math.max(...growth),
            childCpuSeconds: median(list.map((r) => r.cpuUserSeconds + r.cpuSystemSeconds)),
            parentCpuSeconds: median(list.map((r) => r.parentCpuSeconds)),
          },
        ];
      }),
    ) as Record<RunName, VariantSummary>;

    const { ours, raw, naive } = summary;
    const rows: SummaryRow[] = [
      {
        section: 'copy',
        metric: `throughput MiB/s, ${mib} MiB (vs RAW)`,
        ours: round(ours.mibPerSecond, 1),
        baseline: round(raw.mibPerSecond, 1),
        ratio: ours.mibPerSecond / raw.mibPerSecond,
        target: `≥ ${THROUGHPUT_TARGET}×`,
        met: ours.mibPerSecond / raw.mibPerSecond >= THROUGHPUT_TARGET,
      },
      {
        section: 'copy',
        metric: `throughput MiB/s (vs NAIVE)`,
        ours: round(ours.mibPerSecond, 1),
        baseline: round(naive.mibPerSecond, 1),
        ratio: ours.mibPerSecond / naive.mibPerSecond,
        target: '',
      },
      {
        section: 'copy',
        metric: 'peak RSS growth MiB (vs NAIVE)',
        ours: round(ours.rssGrowthMiB, 1),
        baseline: round(naive.rssGrowthMiB, 1),
        ratio: ours.rssGrowthMiB / naive.rssGrowthMiB,
        target: `≤ ${RSS_TARGET_MIB} MiB`,
        met: ours.rssGrowthMiB <= RSS_TARGET_MIB,
      },
      {
        section: 'copy',
        metric: 'peak RSS growth MiB (vs RAW)',
        ours: round(ours.rssGrowthMiB, 1),
        baseline: round(raw.rssGrowthMiB, 1),
        ratio: ours.rssGrowthMiB / raw.rssGrowthMiB,
        target: '',
      },
    ];
    /** An informative row: one more variant's throughput against RAW. */
    const throughputVsRaw = (variant: VariantSummary | undefined, metric: string, target: string) => {
      if (!variant) return;
      rows.push({
        section: 'copy',
        metric: `throughput MiB/s, ${metric} (vs RAW)`,
        ours: round(variant.mibPerSecond, 1),
        baseline: round(raw.mibPerSecond, 1),
        ratio: variant.mibPerSecond / raw.mibPerSecond,
        target,
      });
    };
    throughputVsRaw(summary['raw over node:http'], 'raw over node:http', '(informative)');
    throughputVsRaw(summary['S3 ceiling (no download)'], 'the S3 side alone: our upload fed from memory', '(informative)');
    throughputVsRaw(summary['ours→null S3'], 'ours→null S3 sink', `(≥ ${THROUGHPUT_TARGET}×, informative)`);
    const table = plan.map(({ name }) => {
      const s = summary[name];
      return [name, round(s.mibPerSecond, 1), round(s.seconds, 2), round(s.rssGrowthMiB, 1), round(s.childCpuSeconds, 2), round(s.parentCpuSeconds, 2)];
    });
    const notes = [
      `copy: per variant (median of ${runs} run(s); RSS growth = max over runs of (peak − RSS just before the copy), peak = the higher of 20 ms sampling and the kernel's VmHWM reset before the copy)\n${formatTable(
        ['variant', 'MiB/s', 'seconds', 'RSS growth MiB', 'copier CPU s', 'server+s3rver CPU s'],
        table,
      )}`,
      `copy: ${mib} MiB (BENCH_COPY_MB; MiB = 2^20 bytes) of incompressible bytes served with Content-Length by the simulator's serveVideo over loopback HTTP; every copy verified by size (HeadObject / stat). OURS and NAIVE write through s3rver (Koa, on disk), started by startS3 as the local stack starts it (its own thread of the parent process); RAW writes straight to a file with fetch, so it is the ceiling, not a like-for-like S3 client ("raw over node:http" is the same with the HTTP client ours uses). OURS = storeVideo defaults: ${DEFAULT_PART_SIZE / MIB} MiB parts (more when 10,000 would not hold the video), ${DEFAULT_QUEUE_SIZE} in flight, sha256 of the stream, CRC32 per part. "S3 ceiling" = the same upload code fed ${mib} MiB from memory: what s3rver ingests at most beside nothing else. Children run with ${heapFlags.join(' ') || 'default heap flags'} (the Lambda runtime's for ${memoryMiB} MiB; BENCH_COPY_LAMBDA_MB=0 for Node's defaults). The "→null S3" runs copy into a stub S3 endpoint (bench/null-s3.ts) that counts and discards the bytes: our client's own cost without s3rver's (BENCH_COPY_NULL_S3=0 skips them).`,
    ];
    return {
      section: 'copy',
      rows,
      notes,
      details: { mib, repeats: runs, bytes, memoryMiB, heapFlags, variants: summary, runs: results },
    };
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await s3Emulator?.close();
    await nullS3?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
