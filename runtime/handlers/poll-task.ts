import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { generationHistoryFromEnv } from '../workflow/polling/generation-history.js';
import { positiveIntegerSetting, readEnv } from '../compose/env.js';
import { createMetrics } from '../aws/metrics.js';
import type { PollState } from '../workflow/polling/poll-state.js';
import { pollTask, type PollTaskInput } from '../workflow/poll-task.js';
import { providerClientFromEnv } from '../compose/provider-env.js';
import * as z from '../domain/zod.js';

const logger = new Logger({ serviceName: 'video-pipeline-poll-task' });
const metrics = createMetrics('video-pipeline-poll-task');
const provider = providerClientFromEnv();
const history = generationHistoryFromEnv();
const { LATE_FOLLOW_SECONDS } = readEnv(z.object({ LATE_FOLLOW_SECONDS: positiveIntegerSetting }));

export async function handler(input: PollTaskInput): Promise<PollState> {
  logger.appendKeys({ jobId: input.jobId, providerTaskId: input.poll.providerTaskId });
  try {
    const state = await pollTask(input, { provider, now: () => new Date(), random: Math.random, lateFollowSeconds: LATE_FOLLOW_SECONDS });
    // A poll the provider failed comes back as one more consecutive failure: the provider error rate.
    const failed = (state.consecutiveFailures ?? 0) > (input.poll.consecutiveFailures ?? 0);
    metrics.addMetric(failed ? 'ProviderPollFailures' : 'ProviderPolls', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    logger.info(failed ? 'the provider failed this poll' : 'polled', {
      providerStatus: state.providerStatus,
      progress: state.progress,
      waitSeconds: state.waitSeconds,
      ...(failed ? { consecutiveFailures: state.consecutiveFailures } : {}),
    });
    if (history && state.generationSeconds !== undefined) {
      // A statistic: a sample that cannot be written must not fail the job it came from.
      await history.record(input.shape, state.generationSeconds).catch((error: unknown) => {
        logger.warn('generation time not recorded', error as Error);
      });
    }
    return state;
  } catch (error) {
    logger.warn('poll ended the job or failed', error as Error);
    throw error;
  } finally {
    logger.removeKeys(['jobId', 'providerTaskId']);
  }
}
