import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CREATED_INDEX, STATUS_INDEX } from '../../lambdas/core/job-repository.js';
import { startDynamoDb } from '../../local/emulators.js';

/**
 * A Jobs table with the stack's key and indexes, in a fresh in-memory dynalite. `sortKey` replaces the
 * indexes' sort key (createdAt), to meet cursors made before an index changed.
 */
export async function startJobsTable(tableName = 'Jobs', options: { sortKey?: string } = {}) {
  const sortKey = options.sortKey ?? 'createdAt';
  const dynamo = await startDynamoDb();
  const client = new DynamoDBClient({
    endpoint: dynamo.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const index = (name: string, hash: string) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: hash, KeyType: 'HASH' as const },
      { AttributeName: sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      AttributeDefinitions: ['jobId', 'status', 'kind', sortKey].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
      GlobalSecondaryIndexes: [index(STATUS_INDEX, 'status'), index(CREATED_INDEX, 'kind')],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const documents = DynamoDBDocumentClient.from(client);
  return {
    tableName,
    documents,
    async close() {
      documents.destroy();
      await dynamo.close();
    },
  };
}
