import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../domain/errors.js';

/** How far the batch function got through one version of one manifest. */
export interface ManifestProgress {
  /** `<key>#<etag>`: a manifest uploaded again with other content is a new manifest. */
  manifestId: string;
  key: string;
  etag: string;
  /** Lines handled so far (started, found already started, or refused); the next run resumes here. */
  nextLine: number;
  totalLines: number;
  started: number;
  rejected: number;
  /** Refused lines, for the user: line number (1-based), the FAILED job that holds the reason, and its code. */
  rejectedLines: { line: number; jobId: string; code?: string }[];
  /** Runs that failed on line `nextLine` so far; past MAX_LINE_ATTEMPTS the line is refused. */
  lineAttempts?: number;
  /** DONE: every line handled. REFUSED: the manifest as a whole was refused (see `error`). */
  status: 'PENDING' | 'DONE' | 'REFUSED';
  error?: { code: string; message: string };
  updatedAt: string;
}

export const MAX_REPORTED_REJECTIONS = 100;
/** Runs that may fail on one line before the line is refused, so no line holds its manifest forever. */
export const MAX_LINE_ATTEMPTS = 3;

export interface ManifestRepository {
  get(manifestId: string): Promise<ManifestProgress | undefined>;
  /** Saves progress only if nobody else moved it since `expectedNextLine` (else ConflictError). */
  save(progress: ManifestProgress, expectedNextLine: number | undefined): Promise<void>;
}

export function createManifestRepository(documents: DynamoDBDocumentClient, tableName: string): ManifestRepository {
  return {
    async get(manifestId) {
      const answer = await documents.send(new GetCommand({ TableName: tableName, Key: { manifestId }, ConsistentRead: true }));
      return answer.Item as ManifestProgress | undefined;
    },
    async save(progress, expectedNextLine) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: progress,
            ...(expectedNextLine === undefined
              ? { ConditionExpression: 'attribute_not_exists(manifestId)' }
              : { ConditionExpression: 'nextLine = :expected', ExpressionAttributeValues: { ':expected': expectedNextLine } }),
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new ConflictError(`manifest ${progress.key} was advanced by another run`);
        }
        throw error;
      }
    },
  };
}
