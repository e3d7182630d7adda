import { Logger } from '@aws-lambda-powertools/logger';
import { createDocumentClient } from './core/aws-clients.js';
import { runBatch, type BatchDeps, type BatchReport } from './core/batch-runner.js';
import { positiveIntegerSetting, readEnv, requiredSetting } from './core/env.js';
import { intakeFromEnv } from './core/intake-deps.js';
import { createManifestRepository } from './core/manifest-repository.js';
import * as z from './core/zod.js';

const logger = new Logger({ serviceName: 'video-pipeline-batch-runner' });
const batchEnv = readEnv(z.object({ MANIFESTS_TABLE: requiredSetting, MAX_JOBS_IN_FLIGHT: positiveIntegerSetting }));
const { env, s3, deps: intakeDeps } = intakeFromEnv('video-pipeline-batch-runner');
const deps: BatchDeps = {
  ...intakeDeps,
  s3,
  bucket: env.VIDEO_BUCKET,
  manifests: createManifestRepository(createDocumentClient(), batchEnv.MANIFESTS_TABLE),
  maxJobsInFlight: batchEnv.MAX_JOBS_IN_FLIGHT,
};

/** Run by the EventBridge schedule (and `npm run batch` locally); the event itself carries nothing we need. */
export async function handler(): Promise<BatchReport> {
  const report = await runBatch(deps);
  logger.info('batch run', { ...report });
  const stopped = report.manifests.filter((manifest) => manifest.error);
  if (stopped.length > 0) logger.error('batch run stopped on manifests; the next run tries again', { manifests: stopped });
  return report;
}
