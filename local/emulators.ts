import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import type { CfnTemplate } from './cloud-assembly.js';
import { resolveIntrinsics } from './template-resolver.js';

export interface Emulator {
  url: string;
  close(): Promise<void>;
}

/** dynalite in memory: a fresh DynamoDB for every run of the stack. */
export async function startDynamoDb(port = 0): Promise<Emulator> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface S3Emulator extends Emulator {
  server: S3rver;
}

/** s3rver keeps objects on disk under `directory`, so videos outlive a restart of the stack. */
export async function startS3(options: { directory: string; bucket: string; port?: number }): Promise<S3Emulator> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket }],
  });
  const address = await server.run();
  return { url: `http://127.0.0.1:${address.port}`, server, close: () => server.close() };
}

/** Creates each table of the template (keys, GSIs) in the local DynamoDB, as CloudFormation would. */
export async function createTables(client: DynamoDBClient, template: CfnTemplate): Promise<void> {
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::DynamoDB::Table') continue;
    const properties = resolveIntrinsics(template, resource.Properties) as Record<string, unknown>;
    const TableName = String(properties.TableName ?? logicalId);
    await client.send(
      new CreateTableCommand({
        TableName,
        KeySchema: properties.KeySchema as never,
        AttributeDefinitions: properties.AttributeDefinitions as never,
        GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes as never,
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.5 }, { TableName });
  }
}
