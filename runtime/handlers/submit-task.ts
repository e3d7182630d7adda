import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { HANDLER } from '../../contracts/handlers.js';
import { ProviderBusyError } from '../domain/errors.js';
import { DIMENSION, METRIC, SERVICE_NAMES } from '../../contracts/telemetry.js';
import { slotsFrom } from '../compose/admission-env.js';
import { createMetrics } from '../aws/metrics.js';
import { createS3Client } from '../compose/aws-clients.js';
import { functionEnv } from '../compose/env.js';
import { generationHistoryFrom } from '../compose/history-env.js';
import type { WorkflowInput } from '../workflow/workflow-input.js';
import type { PollState } from '../workflow/polling/poll-state.js';
import { providerClientFrom } from '../compose/provider-env.js';
import { createRequestStore } from '../aws/request-store.js';
import { MEDIA_URL_TTL_SECONDS } from '../aws/s3-media.js';
import { submitTask } from '../workflow/submit-task.js';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createProgressAnnouncer } from '../aws/progress-announcer.js';

const env = functionEnv(HANDLER.submitTask);
const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.submitTask] });
const metrics = createMetrics(SERVICE_NAMES[HANDLER.submitTask]);
const provider = providerClientFrom(env);
const s3 = createS3Client(env.S3_FORCE_PATH_STYLE);
const requests = createRequestStore(s3, env.VIDEO_BUCKET);
const history = generationHistoryFrom(env);
const slots = slotsFrom(env);
const progress = createProgressAnnouncer(new EventBridgeClient({}), env.EVENT_BUS_NAME);

export async function handler(input: WorkflowInput): Promise<PollState> {
  logger.appendKeys({ jobId: input.jobId });
  try {
    const state = await submitTask(input, {
      provider,
      loadRequest: requests.load,
      loadHistory: async (shape) => history?.load(shape),
      presign: ({ bucket, key }) => getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: MEDIA_URL_TTL_SECONDS }),
      slots,
      now: () => new Date(),
      random: Math.random,
      timeScale: env.LOCAL_TIME_SCALE,
      onSlotsError: (error) => logger.error('the admission slots could not record the created task', error as Error),
    });
    logger.info('provider task created', { providerTaskId: state.providerTaskId, waitSeconds: state.waitSeconds });
    metrics.addMetric(METRIC.ProviderTasksCreated, MetricUnit.Count, 1);
    // `started` webhooks. The task exists and is billed: an event that cannot be published must not fail the job.
    if (input.notify?.includes('started')) {
      await progress.started(input.jobId).catch((error: unknown) => logger.warn('Job Started not published', error as Error));
    }
    return state;
  } catch (error) {
    // The provider's limit is flow control at work, not a fault: the job goes back to the front of the line, unbilled.
    if (error instanceof ProviderBusyError) logger.info('the provider is at its limit: the job goes back to the line', { reason: error.message });
    else logger.error('submit failed', error as Error);
    const outcome = metrics.singleMetric();
    outcome.addDimension(DIMENSION.code, (error as Error).name);
    outcome.addMetric(METRIC.ProviderCreateFailures, MetricUnit.Count, 1);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
    logger.removeKeys(['jobId']);
  }
}
