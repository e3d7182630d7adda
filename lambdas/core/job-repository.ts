import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError, ValidationError, type PipelineError } from './errors.js';
import { JOB_KIND, type JobRecord, type JobStatus, type TriggerType } from './job.js';

/** Index names of the Jobs table (lib/job-store.ts creates them). */
export const STATUS_INDEX = 'byStatus';
export const CREATED_INDEX = 'byCreatedAt';

export interface JobListQuery {
  status?: JobStatus;
  trigger?: TriggerType;
  limit: number;
  /** The opaque `nextCursor` of the previous page. */
  cursor?: string;
}

export interface JobPage {
  jobs: JobRecord[];
  nextCursor?: string;
}

export interface JobRepository {
  /** Creates the job; a second create with the same id is a ConflictError, never an overwrite. */
  create(job: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | undefined>;
  /**
   * The execution of a job has started: record it and its deadline; it is no longer deferred. The
   * execution may already have moved the job on (RecordSubmitted), so this write does not check the status.
   */
  markStarted(jobId: string, executionArn: string, deadlineAt: string): Promise<void>;
  /** Ends a job that never reached its workflow; only a QUEUED job may end this way. Returns it, or undefined if it had moved on. */
  recordStartFailure(jobId: string, error: PipelineError, at: Date): Promise<JobRecord | undefined>;
  /** Newest first, by status and/or trigger type. */
  list(query: JobListQuery): Promise<JobPage>;
  /** Jobs holding the provider: started QUEUED ones, SUBMITTED and RUNNING. */
  countInFlight(): Promise<number>;
  /** Jobs waiting for the batch function, oldest first. */
  listDeferred(limit: number): Promise<JobRecord[]>;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (key && typeof key === 'object' && !Array.isArray(key)) return key as Record<string, unknown>;
  } catch {
    // Reported below as a field issue.
  }
  throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this API returned' }]);
}

export function createJobRepository(documents: DynamoDBDocumentClient, tableName: string): JobRepository {
  async function countWithStatus(status: JobStatus, filter?: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: STATUS_INDEX,
          KeyConditionExpression: '#status = :status',
          ...(filter ? { FilterExpression: filter } : {}),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

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

    async markStarted(jobId, executionArn, deadlineAt) {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { jobId },
          // `deferred` is a DynamoDB reserved word, like `status`: both go through names.
          UpdateExpression: 'SET executionArn = :arn, deadlineAt = :deadline REMOVE #deferred',
          ConditionExpression: 'attribute_exists(jobId)',
          ExpressionAttributeNames: { '#deferred': 'deferred' },
          ExpressionAttributeValues: { ':arn': executionArn, ':deadline': deadlineAt },
        }),
      );
    },

    async recordStartFailure(jobId, error, at) {
      const timestamp = at.toISOString();
      try {
        const answer = await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { jobId },
            UpdateExpression: 'SET #status = :failed, #error = :error, finishedAt = :at, updatedAt = :at REMOVE #deferred',
            ConditionExpression: '#status = :queued',
            ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#deferred': 'deferred' },
            ExpressionAttributeValues: {
              ':failed': 'FAILED',
              ':queued': 'QUEUED',
              ':error': { code: error.code, message: error.message },
              ':at': timestamp,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return answer.Attributes as JobRecord;
      } catch (failure) {
        if (failure instanceof ConditionalCheckFailedException) return undefined;
        throw failure;
      }
    },

    async list(query) {
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      let keyCondition: string;
      let indexName: string;
      if (query.status) {
        indexName = STATUS_INDEX;
        keyCondition = '#status = :status';
        names['#status'] = 'status';
        values[':status'] = query.status;
      } else {
        indexName = CREATED_INDEX;
        keyCondition = '#kind = :kind';
        names['#kind'] = 'kind';
        values[':kind'] = JOB_KIND;
      }
      if (query.trigger) {
        names['#trigger'] = 'trigger';
        names['#type'] = 'type';
        values[':trigger'] = query.trigger;
      }
      const answer = await documents.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: indexName,
          KeyConditionExpression: keyCondition,
          ...(query.trigger ? { FilterExpression: '#trigger.#type = :trigger' } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: query.limit,
          ...(query.cursor ? { ExclusiveStartKey: decodeCursor(query.cursor) } : {}),
        }),
      );
      const nextCursor = encodeCursor(answer.LastEvaluatedKey);
      return { jobs: (answer.Items ?? []) as JobRecord[], ...(nextCursor ? { nextCursor } : {}) };
    },

    async countInFlight() {
      // One query per status, in the order jobs move through them: a job that moves on while we count
      // is met again in a later query (counted twice at worst, which only errs on the safe side). In
      // parallel, or in another order, it could slip between two queries and the cap would be passed.
      let count = await countWithStatus('QUEUED', 'attribute_exists(executionArn)');
      count += await countWithStatus('SUBMITTED');
      count += await countWithStatus('RUNNING');
      return count;
    },

    async listDeferred(limit) {
      const jobs: JobRecord[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: STATUS_INDEX,
            KeyConditionExpression: '#status = :queued',
            FilterExpression: '#deferred = :true',
            ExpressionAttributeNames: { '#status': 'status', '#deferred': 'deferred' },
            ExpressionAttributeValues: { ':queued': 'QUEUED', ':true': true },
            ScanIndexForward: true,
            ExclusiveStartKey: startKey,
          }),
        );
        jobs.push(...((page.Items ?? []) as JobRecord[]));
        startKey = page.LastEvaluatedKey;
      } while (startKey && jobs.length < limit);
      return jobs.slice(0, limit);
    },
  };
}
