import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError, type PipelineError } from './errors.js';
import type { JobRecord } from './job.js';

export interface JobRepository {
  /** Creates the job; a second create with the same id is a ConflictError, never an overwrite. */
  create(job: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | undefined>;
  recordExecution(jobId: string, executionArn: string): Promise<void>;
  /** Ends a job that never reached its workflow; only a QUEUED job may end this way. */
  recordStartFailure(jobId: string, error: PipelineError, at: Date): Promise<void>;
}

export function createJobRepository(documents: DynamoDBDocumentClient, tableName: string): JobRepository {
  return {
    async create(job) {
      try {
        await documents.send(
          new PutCommand({ TableName: tableName, Item: job, ConditionExpression: 'attribute_not_exists(jobId)' }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) throw new ConflictError(`job ${job.jobId} already exists`);
        throw error;
      }
    },

    async get(jobId) {
      const answer = await documents.send(new GetCommand({ TableName: tableName, Key: { jobId }, ConsistentRead: true }));
      return answer.Item as JobRecord | undefined;
    },

    async recordExecution(jobId, executionArn) {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { jobId },
          UpdateExpression: 'SET executionArn = :arn',
          ConditionExpression: 'attribute_exists(jobId)',
          ExpressionAttributeValues: { ':arn': executionArn },
        }),
      );
    },

    async recordStartFailure(jobId, error, at) {
      const timestamp = at.toISOString();
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { jobId },
          UpdateExpression: 'SET #status = :failed, #error = :error, finishedAt = :at, updatedAt = :at',
          ConditionExpression: '#status = :queued',
          ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
          ExpressionAttributeValues: {
            ':failed': 'FAILED',
            ':queued': 'QUEUED',
            ':error': { code: error.code, message: error.message },
            ':at': timestamp,
          },
        }),
      );
    },
  };
}
