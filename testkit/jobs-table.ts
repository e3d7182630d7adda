import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createSlots, type Slots } from '../runtime/admission/admission-slots.js';
import { JOBS_TABLE } from '../contracts/tables.js';
import { startDynamoDb } from '../local/emulators/emulators.js';

/**
 * A Jobs table with the stack's key and indexes, and the admission table beside it, in a fresh
 * in-memory dynalite. `sortKey` replaces the status and creation indexes' sort key (createdAt), to
 * meet cursors made before an index changed.
 */
export async function startJobsTable(tableName = 'Jobs', options: { sortKey?: string } = {}) {
  const sortKey = options.sortKey ?? 'createdAt';
  const dynamo = await startDynamoDb();
  const client = new DynamoDBClient({
    endpoint: dynamo.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const index = (name: string, hash: string, range = sortKey) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: hash, KeyType: 'HASH' as const },
      { AttributeName: range, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      AttributeDefinitions: ['jobId', 'status', 'kind', sortKey, 'inLine', 'lineKey'].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
      GlobalSecondaryIndexes: [
        index(JOBS_TABLE.indexes.byStatus.name, 'status'),
        index(JOBS_TABLE.indexes.byCreatedAt.name, 'kind'),
        index(JOBS_TABLE.indexes.byLine.name, 'inLine', 'lineKey'),
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const admissionTableName = `${tableName}Admission`;
  await client.send(
    new CreateTableCommand({
      TableName: admissionTableName,
      KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const documents = DynamoDBDocumentClient.from(client);
  return {
    tableName,
    admissionTableName,
    documents,
    /** The admission slots of this table's jobs, under a cap. */
    slots(maxJobsInFlight = 20): Slots {
      return createSlots(documents, admissionTableName, maxJobsInFlight);
    },
    async close() {
      documents.destroy();
      await dynamo.close();
    },
  };
}
