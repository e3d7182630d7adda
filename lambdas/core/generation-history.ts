import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RequestShape } from './job.js';
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
const WRITE_ATTEMPTS = 3;
export const HISTORY_KEY_PREFIX = 'generation-history#';

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

/** The samples after one more job finished: the newest HISTORY_SAMPLES. */
export function withSample(samples: readonly number[], seconds: number): number[] {
  return [...samples, seconds].slice(-HISTORY_SAMPLES);
}

export interface GenerationHistory {
  load(shape: RequestShape): Promise<GenerationEstimate | undefined>;
  record(shape: RequestShape, seconds: number): Promise<void>;
}

interface HistoryItem {
  samples?: number[];
  revision?: number;
}

export function createGenerationHistory(db: DynamoDBDocumentClient, tableName: string): GenerationHistory {
  const read = async (shape: RequestShape): Promise<HistoryItem> => {
    const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: { jobId: historyKey(shape) }, ConsistentRead: true }));
    return (Item ?? {}) as HistoryItem;
  };
  return {
    async load(shape) {
      return estimateFromSamples((await read(shape)).samples ?? []);
    },
    async record(shape, seconds) {
      // Read, add, write back only if nobody wrote in between; a sample lost to a busy shape is
      // one of many, so after a few tries it is dropped rather than retried forever.
      for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt += 1) {
        const item = await read(shape);
        const revision = item.revision ?? 0;
        try {
          await db.send(
            new PutCommand({
              TableName: tableName,
              Item: { jobId: historyKey(shape), samples: withSample(item.samples ?? [], seconds), revision: revision + 1, updatedAt: new Date().toISOString() },
              ConditionExpression: 'attribute_not_exists(jobId) OR revision = :revision',
              ExpressionAttributeValues: { ':revision': revision },
            }),
          );
          return;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException) || attempt === WRITE_ATTEMPTS) throw error;
        }
      }
    },
  };
}
