import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MAX_WEBHOOK_ATTEMPTS_KEPT } from '../../contracts/webhooks.js';
import type { WebhookAttempt } from '../domain/job.js';

/** Where each delivery attempt is written on its job (`webhook.attempts`), for users to see. */
export interface WebhookAttemptLog {
  /** Appends the attempt (keeping the newest MAX_WEBHOOK_ATTEMPTS_KEPT); `gone` also stops the job's deliveries (410). */
  record(jobId: string, attempt: WebhookAttempt, gone: boolean): Promise<void>;
}

export function createWebhookAttemptLog(documents: DynamoDBDocumentClient, tableName: string, maxKept = MAX_WEBHOOK_ATTEMPTS_KEPT): WebhookAttemptLog {
  return {
    async record(jobId, attempt, gone) {
      const names = { '#webhook': 'webhook', '#attempts': 'attempts' };
      let length: number;
      try {
        const answer = await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { jobId },
            UpdateExpression:
              'SET #webhook.#attempts = list_append(if_not_exists(#webhook.#attempts, :none), :attempt)' +
              (gone ? ', #webhook.goneAt = if_not_exists(#webhook.goneAt, :at)' : ''),
            ConditionExpression: 'attribute_exists(#webhook)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':none': [], ':attempt': [attempt], ...(gone ? { ':at': attempt.at } : {}) },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        length = ((answer.Attributes?.webhook as { attempts?: unknown[] } | undefined)?.attempts ?? []).length;
      } catch (error) {
        // The job has no webhook (any more): nothing to record on.
        if (error instanceof ConditionalCheckFailedException) return;
        throw error;
      }
      if (length <= maxKept) return;
      // Drop the oldest, only if no other attempt was appended meanwhile (that writer trims then).
      const drop = Array.from({ length: length - maxKept }, (_, index) => `#webhook.#attempts[${index}]`).join(', ');
      try {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { jobId },
            UpdateExpression: `REMOVE ${drop}`,
            ConditionExpression: 'size(#webhook.#attempts) = :length',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':length': length },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
