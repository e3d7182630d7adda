import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDb, type Emulator } from '../../local/emulators/emulators.js';
import { indexWriteUnits, itemSize, startDynamoDbMeter, type DynamoDbMeter, type TableLayout } from '../../local/emulators/dynamodb/dynamodb-meter.js';

describe('itemSize, as DynamoDB sizes items', () => {
  it('counts names and values in UTF-8 bytes, numbers by significant digits, 3 bytes per list or map and 1 per element', () => {
    expect(itemSize({ jobId: { S: 'abc' } })).toBe(5 + 3);
    expect(itemSize({ é: { S: 'é' } })).toBe(2 + 2);
    expect(itemSize({ n: { N: '-0012.3400' } })).toBe(1 + (Math.ceil(4 / 2) + 1));
    expect(itemSize({ ok: { BOOL: true }, no: { NULL: true } })).toBe(3 + 3);
    expect(itemSize({ l: { L: [{ S: 'ab' }, { N: '7' }] } })).toBe(1 + 3 + (1 + 2) + (1 + 2));
    expect(itemSize({ m: { M: { a: { S: 'xy' } } } })).toBe(1 + 3 + 1 + (1 + 2));
  });
});

describe('indexWriteUnits', () => {
  const layout: TableLayout = { keys: ['id'], indexes: [{ name: 'byStatus', keys: ['status'], projection: { type: 'KEYS_ONLY', attributes: [] } }] };
  const item = (status?: string, note = 'n') => ({ id: { S: 'a' }, note: { S: note }, ...(status ? { status: { S: status } } : {}) });

  it('puts, removes, moves and leaves index entries as DynamoDB bills them', () => {
    expect(indexWriteUnits(layout, undefined, item('QUEUED'))).toBe(1);
    expect(indexWriteUnits(layout, item('QUEUED'), undefined)).toBe(1);
    expect(indexWriteUnits(layout, item('QUEUED'), item('RUNNING'))).toBe(2);
    expect(indexWriteUnits(layout, item(), item())).toBe(0);
    // KEYS_ONLY: a change to an attribute the index does not hold leaves its entry alone.
    expect(indexWriteUnits(layout, item('QUEUED', 'n'), item('QUEUED', 'm'))).toBe(0);
  });
});

describe('the DynamoDB meter in front of dynalite', () => {
  const TABLE = 'Jobs';
  let dynalite: Emulator;
  let meter: DynamoDbMeter;
  let client: DynamoDBClient;
  // 2,500 bytes of item: 3 write units, 1 read unit (half eventually consistent).
  const padding = 'x'.repeat(
    2500 - itemSize({ jobId: { S: 'job-1' }, status: { S: 'QUEUED' }, kind: { S: 'job' }, createdAt: { S: '2026-01-01' }, pad: { S: '' } }),
  );
  const job = (status: string) => ({ jobId: { S: 'job-1' }, status: { S: status }, kind: { S: 'job' }, createdAt: { S: '2026-01-01' }, pad: { S: padding } });
  const queryByStatus = (status: string) =>
    client.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'byStatus',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: status } },
      }),
    );
  const delta = async <T>(work: () => Promise<T>) => {
    const before = meter.usage();
    const result = await work();
    const after = meter.usage();
    return {
      result,
      readUnits: after.readUnits - before.readUnits,
      writeUnits: after.writeUnits - before.writeUnits,
      indexWriteUnits: after.indexWriteUnits - before.indexWriteUnits,
      failures: after.conditionalCheckFailures - before.conditionalCheckFailures,
    };
  };

  beforeAll(async () => {
    dynalite = await startDynamoDb();
    meter = await startDynamoDbMeter(dynalite.url);
    client = new DynamoDBClient({ endpoint: meter.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'jobId', AttributeType: 'S' },
          { AttributeName: 'status', AttributeType: 'S' },
          { AttributeName: 'kind', AttributeType: 'S' },
          { AttributeName: 'createdAt', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byStatus',
            KeySchema: [
              { AttributeName: 'status', KeyType: 'HASH' },
              { AttributeName: 'createdAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'byCreatedAt',
            KeySchema: [
              { AttributeName: 'kind', KeyType: 'HASH' },
              { AttributeName: 'createdAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.5 }, { TableName: TABLE });
  });

  afterAll(async () => {
    client?.destroy();
    await meter?.close();
    await dynalite?.close();
  });

  it('bills a new item in the table and in each index that holds it', async () => {
    const put = await delta(() =>
      client.send(new PutItemCommand({ TableName: TABLE, Item: job('QUEUED'), ConditionExpression: 'attribute_not_exists(jobId)' })),
    );
    expect(put).toMatchObject({ writeUnits: 3 + 3 + 3, indexWriteUnits: 6, failures: 0 });
    expect(put.result.ConsumedCapacity).toBeUndefined();
  });

  it('bills a failed condition at the size of the item that stands, and answers the failure unchanged', async () => {
    const failed = await delta(() =>
      client
        .send(new PutItemCommand({ TableName: TABLE, Item: { jobId: { S: 'job-1' } }, ConditionExpression: 'attribute_not_exists(jobId)' }))
        .catch((error: Error) => error.name),
    );
    expect(failed).toMatchObject({ result: 'ConditionalCheckFailedException', writeUnits: 3, indexWriteUnits: 0, failures: 1 });
  });

  it('bills reads in 4 KB units, half when eventually consistent, and hides the capacity nobody asked for', async () => {
    const eventual = await delta(() => client.send(new GetItemCommand({ TableName: TABLE, Key: { jobId: { S: 'job-1' } } })));
    expect(eventual.readUnits).toBe(0.5);
    expect(eventual.result.Item?.status?.S).toBe('QUEUED');
    expect(eventual.result.ConsumedCapacity).toBeUndefined();
    const strong = await delta(() =>
      client.send(new GetItemCommand({ TableName: TABLE, Key: { jobId: { S: 'job-1' } }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' })),
    );
    expect(strong.readUnits).toBe(1);
    expect(strong.result.ConsumedCapacity?.CapacityUnits).toBe(1);
    const query = await delta(() => queryByStatus('QUEUED'));
    expect(query.result.Count).toBe(1);
    expect(query.readUnits).toBe(0.5);
    const empty = await delta(() => queryByStatus('FAILED'));
    expect(empty.result.Count).toBe(0);
    expect(empty.readUnits).toBe(0.5);
  });

  it('bills an update that moves an index key as a delete and a put in that index', async () => {
    const update = await delta(() =>
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { jobId: { S: 'job-1' } },
          UpdateExpression: 'SET #s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': { S: 'RUNNING' } },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    expect(update.result.Attributes?.status?.S).toBe('RUNNING');
    // Table 3; byStatus: delete 3 + put 3; byCreatedAt: projection rewritten 3.
    expect(update).toMatchObject({ writeUnits: 3 + 6 + 3, indexWriteUnits: 9 });
  });

  it('bills a delete in the table and in each index that held the item', async () => {
    const deleted = await delta(() => client.send(new DeleteItemCommand({ TableName: TABLE, Key: { jobId: { S: 'job-1' } } })));
    expect(deleted).toMatchObject({ writeUnits: 3 + 3 + 3, indexWriteUnits: 6 });
    expect(meter.usage().byOperation).toMatchObject({
      PutItem: { requests: 2, writeUnits: 9 + 3 },
      GetItem: { requests: 2, readUnits: 1.5 },
      Query: { requests: 2, readUnits: 1 },
      UpdateItem: { requests: 1, writeUnits: 12 },
      DeleteItem: { requests: 1, writeUnits: 9 },
      CreateTable: { requests: 1, readUnits: 0, writeUnits: 0 },
    });
  });

  it('bills writes queued on one key by the item each one finds, and answers an update no item the caller did not ask for', async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...job('QUEUED'), jobId: { S: 'hot' }, pad: { S: '' } } }));
    // Twenty updates at once, each growing the item by 1,000 bytes: the n-th finds n-1 of them done.
    const grown = await delta(() =>
      Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          client.send(
            new UpdateItemCommand({
              TableName: TABLE,
              Key: { jobId: { S: 'hot' } },
              UpdateExpression: 'SET #part = :part',
              ExpressionAttributeNames: { '#part': `p${String(index).padStart(2, '0')}` },
              ExpressionAttributeValues: { ':part': { S: 'y'.repeat(1000 - 3) } },
            }),
          ),
        ),
      ),
    );
    expect(grown.result.every((answer) => answer.Attributes === undefined)).toBe(true);
    // The n-th write is billed at the larger item, after it: about n KB (the first, 1 KB over a small item).
    const base = itemSize({ ...job('QUEUED'), jobId: { S: 'hot' }, pad: { S: '' } });
    const expected = Array.from({ length: 20 }, (_, index) => Math.ceil((base + (index + 1) * 1000) / 1024)).reduce((a, b) => a + b, 0);
    expect(grown.writeUnits - grown.indexWriteUnits).toBe(expected);
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { jobId: { S: 'hot' } } }));
  });
});
