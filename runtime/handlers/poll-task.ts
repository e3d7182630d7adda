import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { HANDLER } from '../../contracts/handlers.js';
import { METRIC, SERVICE_NAMES } from '../../contracts/telemetry.js';
import { functionEnv } from '../compose/env.js';
import { generationHistoryFrom } from '../compose/history-env.js';
import { createMetrics } from '../aws/metrics.js';
import type { PollState } from '../workflow/polling/poll-state.js';
import { pollTask, type PollTaskInput } from '../workflow/poll-task.js';
import { providerClientFrom } from '../compose/provider-env.js';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createProgressAnnouncer } from '../aws/progress-announcer.js';

const env = functionEnv(HANDLER.pollTask);
const logger = new Logger({ serviceName: SERVICE_NAMES[HANDLER.pollTask] });
const metrics = createMetrics(SERVICE_NAMES[HANDLER.pollTask]);
const provider = providerClientFrom(env);
const history = generationHistoryFrom(env);
const progress = createProgressAnnouncer(new EventBridgeClient({}), env.EVENT_BUS_NAME);

export async function handler(input: PollTaskInput): Promise<PollState> {
  logger.appendKeys({ jobId: input.jobId, providerTaskId: input.poll.providerTaskId });
  try {
    const state = await pollTask(input, {
      provider,
      now: () => new Date(),
      random: Math.random,
      lateFollowSeconds: env.LATE_FOLLOW_SECONDS,
      timeScale: env.LOCAL_TIME_SCALE,
    });
    // A poll the provider failed comes back as one more consecutive failure: the provider error rate.
    const failed = (state.consecutiveFailures ?? 0) > (input.poll.consecutiveFailures ?? 0);
    metrics.addMetric(failed ? METRIC.ProviderPollFailures : METRIC.ProviderPolls, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    logger.info(failed ? 'the provider failed this poll' : 'polled', {
      providerStatus: state.providerStatus,
      progress: state.progress,
      waitSeconds: state.waitSeconds,
      ...(failed ? { consecutiveFailures: state.consecutiveFailures } : {}),
    });
    // `progress` webhooks: a live job whose status or progress changed (RecordProgress writes it
    // next; SUCCEEDED is announced as the job's completion instead). Best effort, like the history.
    if (state.notify?.includes('progress') && state.changed && !state.late && !state.overdue && state.jobStatus !== 'SUCCEEDED') {
      await progress.progressed(input.jobId, state.jobStatus, state.progress).catch((error: unknown) => {
        logger.warn('Job Progress not published', error as Error);
      });
    }
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
