import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HISTORY_KEY_PREFIX } from '../../../contracts/tables.js';
import type { RequestShape } from '../../domain/job.js';
import type { GenerationEstimate } from './poll-policy.js';

/**
 * How long the provider took to generate recent jobs of each request shape, kept in the Jobs table
 * (one item per shape, beside the job items; it has none of their index keys, so no index or job
 * listing sees it). The poll policy sleeps through what no job of the shape has been quicker than.
 */

/** The newest samples kept per shape: enough for a stable spread, few enough to follow the provider. */
export const HISTORY_SAMPLES = 50;
/** Fewer finished jobs than this say too little; the policy keeps its prior. */
export const MIN_HISTORY_SAMPLES = 10;
/** Near-identical samples must not make the policy certain: the provider's next job may differ. */
const MIN_SIGMA = 0.15;

export function historyKey(shape: RequestShape): string {
  const duration = shape.duration === -1 ? 'auto' : `${shape.duration}s`;
  return `${HISTORY_KEY_PREFIX}${duration}#${shape.resolution}#${shape.generateAudio ? 'audio' : 'silent'}#${shape.media}`;
}

/** The lognormal that fits the samples (mean and spread of their logs), or undefined if too few. */
export function estimateFromSamples(samples: readonly number[]): GenerationEstimate | undefined {
  const logs = samples.filter((seconds) => seconds > 0).map(Math.log);
  if (logs.length < MIN_HISTORY_SAMPLES) return undefined;
  const mean = logs.reduce((sum, value) => sum + value, 0) / logs.length;
  const variance = logs.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (logs.length - 1);
  return { medianSeconds: Math.exp(mean), sigma: Math.max(MIN_SIGMA, Math.sqrt(variance)), samples: logs.length };
}

/** The window the store keeps: the newest HISTORY_SAMPLES. */
export function newestSamples(samples: readonly number[]): number[] {
  return samples.slice(-HISTORY_SAMPLES);
}

export interface GenerationHistory {
  load(shape: RequestShape): Promise<GenerationEstimate | undefined>;
  record(shape: RequestShape, seconds: number): Promise<void>;
}

export function createGenerationHistory(db: DynamoDBDocumentClient, tableName: string): GenerationHistory {
  return {
    async load(shape) {
      const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: { jobId: historyKey(shape) }, ConsistentRead: true }));
      return estimateFromSamples((Item?.samples as number[] | undefined) ?? []);
    },
    async record(shape, seconds) {
      const key = { jobId: historyKey(shape) };
      // An atomic append: jobs of one shape that finish together all land, with no read first.
      const { Attributes } = await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'SET samples = list_append(if_not_exists(samples, :none), :sample), updatedAt = :now',
          ExpressionAttributeValues: { ':none': [], ':sample': [seconds], ':now': new Date().toISOString() },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const samples = (Attributes?.samples as number[] | undefined) ?? [];
      if (samples.length <= HISTORY_SAMPLES) return;
      // Keep the newest, only if the list is still the one we saw: after a concurrent append or trim
      // this one is skipped and the next record trims what is over.
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET samples = :newest',
            ConditionExpression: 'size(samples) = :length',
            ExpressionAttributeValues: { ':newest': newestSamples(samples), ':length': samples.length },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
