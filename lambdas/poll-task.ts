import { Logger } from '@aws-lambda-powertools/logger';
import type { PollState } from './core/poll-state.js';
import { pollTask, type PollTaskInput } from './core/poll-task.js';
import { providerClientFromEnv } from './core/provider-env.js';

const logger = new Logger({ serviceName: 'video-pipeline-poll-task' });
const provider = providerClientFromEnv();

export async function handler(input: PollTaskInput): Promise<PollState> {
  logger.appendKeys({ jobId: input.jobId, providerTaskId: input.poll.providerTaskId });
  try {
    const state = await pollTask(input, { provider, now: () => new Date(), random: Math.random });
    logger.info('polled', { providerStatus: state.providerStatus, progress: state.progress, waitSeconds: state.waitSeconds });
    return state;
  } catch (error) {
    logger.warn('poll ended the job or failed', error as Error);
    throw error;
  } finally {
    logger.removeKeys(['jobId', 'providerTaskId']);
  }
}
