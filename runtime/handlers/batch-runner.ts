import { Logger } from '@aws-lambda-powertools/logger';
import { HANDLER } from '../../contracts/handlers.js';
import { SERVICE_NAMES } from '../../contracts/telemetry.js';
import type { Context } from 'aws-lambda';
import { createDocumentClient } from '../compose/aws-clients.js';
import { runBatch, type BatchDeps, type BatchReport } from '../triggers/batch-runner.js';
import { intakeFromEnv } from '../compose/intake-deps.js';
import { createManifestRepository } from '../triggers/manifest-repository.js';

const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.batchRunner] });
const { env, s3, deps: intakeDeps } = intakeFromEnv(HANDLER.batchRunner);
const deps: Omit<BatchDeps, 'stopAt'> = {
  ...intakeDeps,
  s3,
  bucket: env.VIDEO_BUCKET,
  manifests: createManifestRepository(createDocumentClient(), env.MANIFESTS_TABLE),
};
/** Time the run keeps for the dispatch and its last writes after it stops taking lines. */
const RESERVE_MS = 60_000;
/** Without a Lambda context (a local run), the run takes lines this long. */
const LOCAL_RUN_MS = 4 * 60_000;

/** Run by the EventBridge schedule, by a manifest upload (and `npm run batch` locally). */
export async function handler(_event: unknown, context?: Context): Promise<BatchReport> {
  const budgetMs = context ? context.getRemainingTimeInMillis() - RESERVE_MS : LOCAL_RUN_MS;
  const report = await runBatch({ ...deps, stopAt: new Date(Date.now() + budgetMs) });
  logger.info('batch run', { ...report });
  const stopped = report.manifests.filter((manifest) => manifest.error);
  if (stopped.length > 0) logger.error('batch run stopped on manifests; the next run tries again', { manifests: stopped });
  return report;
}
