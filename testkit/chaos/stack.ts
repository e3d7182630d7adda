/** The chaos run's stack: the embedded local stack with the run's faults and crashes on from the start, and an S3 client to it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { startLocalStack, type LocalStack } from '../../local/stack/local-stack.js';
import { seededRandom } from '../seeded-random.js';
import type { ChaosConfig } from './config.js';

/** What every step of the run works with. */
export interface ChaosStack {
  config: ChaosConfig;
  log: (line: string) => void;
  /** Date.now() when the run started. */
  started: number;
  /** Seconds since the run started, as the progress lines print them. */
  since(): string;
  stack: LocalStack;
  s3: S3Client;
  deadlineSeconds: number;
}

/** Starts the stack, hands it to `run`, and stops it and removes its data, whatever `run` did. */
export async function withChaosStack<T>(config: ChaosConfig, run: (chaos: ChaosStack) => Promise<T>): Promise<T> {
  const log = config.log ?? (() => {});
  const started = Date.now();
  const since = () => ((Date.now() - started) / 1000).toFixed(1);

  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const dataDir = await mkdtemp(join(tmpdir(), 'video-pipeline-chaos-'));
  const chaosRandom = seededRandom(config.seed ^ 0x5eed);
  let stack: LocalStack | undefined;
  let s3: S3Client | undefined;
  try {
    stack = await startLocalStack({
      dataDir,
      port: 0,
      timeScale: config.timeScale,
      context: { maxJobsInFlight: config.maxJobsInFlight, lateFollowMinutes: config.lateFollowMinutes },
      simulatorFaults: config.faults,
      chaos: { ...config.chaos, random: chaosRandom },
      checkAccess: true,
    });
    s3 = new S3Client({
      endpoint: stack.s3Url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const deadlineSeconds = Number(stack.environment.JOB_DEADLINE_SECONDS);
    log(`[${since()} s] stack up: API ${stack.apiUrl}, deadline ${deadlineSeconds} s, maxJobsInFlight ${config.maxJobsInFlight}`);
    return await run({ config, log, started, since, stack, s3, deadlineSeconds });
  } finally {
    s3?.destroy();
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
