import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { slotsFromEnv } from '../compose/admission-env.js';
import { createMetrics } from '../aws/metrics.js';
import { createS3Client } from '../compose/aws-clients.js';
import { booleanFlag, readEnv, requiredSetting } from '../compose/env.js';
import { generationHistoryFromEnv } from '../workflow/polling/generation-history.js';
import type { WorkflowInput } from '../workflow/workflow-input.js';
import type { PollState } from '../workflow/polling/poll-state.js';
import { providerClientFromEnv } from '../compose/provider-env.js';
import { createRequestStore } from '../aws/request-store.js';
import { MEDIA_URL_TTL_SECONDS } from '../aws/s3-media.js';
import { submitTask } from '../workflow/submit-task.js';
import * as z from '../domain/zod.js';

const env = readEnv(z.object({ VIDEO_BUCKET: requiredSetting, S3_FORCE_PATH_STYLE: booleanFlag }));
const logger = new Logger({ serviceName: 'video-pipeline-submit-task' });
const metrics = createMetrics('video-pipeline-submit-task');
const provider = providerClientFromEnv();
const s3 = createS3Client(env.S3_FORCE_PATH_STYLE);
const requests = createRequestStore(s3, env.VIDEO_BUCKET);
const history = generationHistoryFromEnv();
const slots = slotsFromEnv();

export async function handler(input: WorkflowInput): Promise<PollState> {
  logger.appendKeys({ jobId: input.jobId });
  try {
    const state = await submitTask(input, {
      provider,
      loadRequest: requests.load,
      loadHistory: async (shape) => history?.load(shape),
      presign: ({ bucket, key }) =>
        getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: MEDIA_URL_TTL_SECONDS }),
      slots,
      now: () => new Date(),
      random: Math.random,
      onSlotsError: (error) => logger.error('the admission slots could not record the created task', error as Error),
    });
    logger.info('provider task created', { providerTaskId: state.providerTaskId, waitSeconds: state.waitSeconds });
    metrics.addMetric('ProviderTasksCreated', MetricUnit.Count, 1);
    return state;
  } catch (error) {
    logger.error('submit failed', error as Error);
    const outcome = metrics.singleMetric();
    outcome.addDimension('code', (error as Error).name);
    outcome.addMetric('ProviderCreateFailures', MetricUnit.Count, 1);
    throw error;
  } finally {
    metrics.publishStoredMetrics();
    logger.removeKeys(['jobId']);
  }
}
