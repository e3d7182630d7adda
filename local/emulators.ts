import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import type { CfnTemplate } from './cloud-assembly.js';
import { completeMultipartLikeS3 } from './s3-multipart.js';
import { resolveIntrinsics } from './template-resolver.js';

export interface Emulator {
  url: string;
  close(): Promise<void>;
}

/**
 * dynalite, in memory, or on disk under `directory` (LevelDB) so jobs outlive a restart of the
 * stack like the videos in s3rver do.
 */
export async function startDynamoDb(options: { directory?: string; port?: number } = {}): Promise<Emulator> {
  if (options.directory) await mkdir(options.directory, { recursive: true });
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.directory ? { path: options.directory } : {}),
  });
  const port = options.port ?? 0;
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

/**
 * s3rver 3.7.1 reads the CopyObject source with decodeURI, which leaves %2B, %26, %3D, %2C… encoded,
 * so copying `incoming/a+b.json` (sent URL-encoded, as S3 requires) answers NoSuchKey where S3 copies
 * it. Its object controller is looked up at each request, after the signature check (which covers the
 * header as sent), so rewriting the header there to what decodeURI restores exactly fixes it.
 */
let copySourceFixed = false;
function fixCopySourceDecoding(): void {
  if (copySourceFixed) return;
  copySourceFixed = true;
  type Controller = (ctx: { headers: Record<string, string | string[] | undefined> }) => Promise<void>;
  const objects = createRequire(import.meta.url)('s3rver/lib/controllers/object.js') as { putObjectCopy: Controller };
  const original = objects.putObjectCopy;
  objects.putObjectCopy = (ctx) => {
    const source = ctx.headers['x-amz-copy-source'];
    if (typeof source === 'string') {
      try {
        ctx.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(source));
      } catch {
        // Not valid percent-encoding: leave it to s3rver to refuse.
      }
    }
    return original(ctx);
  };
}

/** s3rver keeps objects on disk under `directory`, so videos outlive a restart of the stack. */
export async function startS3(options: { directory: string; bucket: string; port?: number }): Promise<S3Emulator> {
  fixCopySourceDecoding();
  completeMultipartLikeS3();
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

/**
 * Creates each table of the template (keys, GSIs) in the local DynamoDB, as CloudFormation would;
 * a table kept on disk from an earlier run is left as it is.
 */
export async function createTables(client: DynamoDBClient, template: CfnTemplate): Promise<void> {
  const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::DynamoDB::Table') continue;
    const properties = resolveIntrinsics(template, resource.Properties) as Record<string, unknown>;
    const TableName = String(properties.TableName ?? logicalId);
    if (existing.has(TableName)) continue;
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
