import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, paginateScan, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TOKENS_TABLE } from '../../contracts/tables.js';
import type { TokenRecord } from '../auth/api-token.js';

/** The Tokens table: the authorizer reads one token; the operator's CLI issues, lists and revokes them. */
export interface TokenRepository {
  get(tokenId: string): Promise<TokenRecord | undefined>;
  /** A new token; an id already taken is an error, never an overwrite. */
  create(record: TokenRecord): Promise<void>;
  /** Every token, revoked ones included, oldest first: the operator's list, a few items. */
  list(): Promise<TokenRecord[]>;
  /** Marks the token revoked (once: a second revoke keeps the first time); undefined when there is no such token. */
  revoke(tokenId: string, at: Date): Promise<TokenRecord | undefined>;
}

export function createTokenRepository(documents: DynamoDBDocumentClient, tableName: string): TokenRepository {
  const key = (tokenId: string) => ({ [TOKENS_TABLE.partitionKey]: tokenId });
  return {
    async get(tokenId) {
      // Strongly consistent: a token revoked a moment ago is refused at once.
      const answer = await documents.send(new GetCommand({ TableName: tableName, Key: key(tokenId), ConsistentRead: true }));
      return answer.Item as TokenRecord | undefined;
    },
    async create(record) {
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: record,
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': TOKENS_TABLE.partitionKey },
        }),
      );
    },
    async list() {
      const records: TokenRecord[] = [];
      for await (const page of paginateScan({ client: documents }, { TableName: tableName })) records.push(...((page.Items ?? []) as TokenRecord[]));
      return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.tokenId.localeCompare(b.tokenId));
    },
    async revoke(tokenId, at) {
      try {
        const answer = await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(tokenId),
            UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
            ConditionExpression: 'attribute_exists(#id)',
            ExpressionAttributeNames: { '#id': TOKENS_TABLE.partitionKey },
            ExpressionAttributeValues: { ':at': at.toISOString() },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return answer.Attributes as TokenRecord;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        throw error;
      }
    },
  };
}
