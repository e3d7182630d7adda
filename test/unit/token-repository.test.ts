import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS_TABLE } from '../../contracts/tables.js';
import { startDynamoDb, type Emulator } from '../../local/emulators/emulators.js';
import { issueToken } from '../../runtime/auth/api-token.js';
import { createTokenRepository, type TokenRepository } from '../../runtime/aws/token-repository.js';

/** The Tokens table's repository (runtime/aws/token-repository.ts) on a local DynamoDB. */

let dynamo: Emulator;
let documents: DynamoDBDocumentClient;
let tokens: TokenRepository;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  const client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await client.send(
    new CreateTableCommand({
      TableName: 'Tokens',
      KeySchema: [{ AttributeName: TOKENS_TABLE.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: TOKENS_TABLE.partitionKey, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: 'Tokens' });
  documents = DynamoDBDocumentClient.from(client);
  tokens = createTokenRepository(documents, 'Tokens');
});

afterAll(async () => {
  documents?.destroy();
  await dynamo?.close();
});

describe('token repository', () => {
  it('creates, reads and lists tokens oldest first, and never overwrites an id', async () => {
    const first = issueToken('first', new Date('2026-11-24T12:00:00Z')).record;
    const second = issueToken('second', new Date('2026-11-24T13:00:00Z')).record;
    await tokens.create(second);
    await tokens.create(first);
    expect(await tokens.get(first.tokenId)).toEqual(first);
    expect(await tokens.get('0000000000000000')).toBeUndefined();
    expect((await tokens.list()).map((record) => record.name)).toEqual(['first', 'second']);
    await expect(tokens.create({ ...first, name: 'impostor' })).rejects.toThrow();
    expect((await tokens.get(first.tokenId))?.name).toBe('first');
  });

  it('revokes once: a second revoke keeps the first time; an unknown id is undefined and creates nothing', async () => {
    const record = issueToken('doomed', new Date('2026-11-24T12:00:00Z')).record;
    await tokens.create(record);
    const revoked = await tokens.revoke(record.tokenId, new Date('2026-11-25T00:00:00Z'));
    expect(revoked).toEqual({ ...record, revokedAt: '2026-11-25T00:00:00.000Z' });
    expect((await tokens.revoke(record.tokenId, new Date('2026-11-26T00:00:00Z')))?.revokedAt).toBe('2026-11-25T00:00:00.000Z');
    expect(await tokens.revoke('ffffffffffffffff', new Date())).toBeUndefined();
    expect(await tokens.get('ffffffffffffffff')).toBeUndefined();
  });
});
