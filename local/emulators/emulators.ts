import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTableCommand, ListTablesCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { CfnTemplate } from '../stack/cloud-assembly.js';
import { readS3Requests, s3RequestCounters, type S3Operation, type S3RequestLine } from './s3/s3-requests.js';
import type { S3rverThreadCommand, S3rverThreadMessage, S3rverThreadOptions } from './s3/s3rver-thread.js';
import { resolveIntrinsics } from '../stack/template-resolver.js';

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
    close: () =>
      new Promise((resolve) => {
        // A request on a kept-alive connection after close would reach a closed database and throw.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface S3Emulator extends Emulator {
  /** Emits s3rver's 'event' for each Put, Copy, CompleteMultipart and Delete, before the client's answer. */
  server: EventEmitter;
  /** Every request served so far, by the operation S3 would bill it as. */
  requests(): Partial<Record<S3Operation, number>>;
}

/**
 * The thread loads TypeScript through tsx, and only that: a thread takes no per-process options (V8
 * heap flags and the like make `new Worker` throw), so it is not handed the stack's own execArgv.
 */
function workerExecArgv(): string[] {
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
}

/**
 * s3rver keeps objects on disk under `directory`, so videos outlive a restart of the stack. It runs on
 * a thread of its own (local/emulators/s3/s3rver-thread.ts says why and how its events keep their order).
 */
export async function startS3(options: {
  directory: string;
  bucket: string;
  port?: number;
  /** Access keys it accepts besides S3RVER (with the secret S3RVER). */
  accessKeys?: string[];
  /** Sees each request (signed, presigned or not) before it is served. */
  onRequest?: (request: S3RequestLine & { authorization: string | undefined }) => void;
}): Promise<S3Emulator> {
  await mkdir(options.directory, { recursive: true });
  const requestCounters = s3RequestCounters();
  const threadOptions: S3rverThreadOptions = {
    directory: options.directory,
    bucket: options.bucket,
    requestCounters,
    reportRequests: options.onRequest !== undefined,
    ...(options.accessKeys ? { accessKeys: options.accessKeys } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  };
  const worker = new Worker(new URL('./s3/s3rver-thread.ts', import.meta.url), {
    workerData: { s3rverThread: threadOptions },
    execArgv: workerExecArgv(),
  });
  const events = new EventEmitter();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const failed = (error: Error) => reject(new Error(`the local S3 thread failed to start: ${error.message}`, { cause: error }));
    const exitedEarly = (code: number) => reject(new Error(`the local S3 thread exited (${code}) before it listened`));
    worker.once('error', failed);
    worker.once('exit', exitedEarly);
    worker.on('message', (message: S3rverThreadMessage) => {
      if (message.type === 'listening') {
        worker.off('error', failed);
        worker.off('exit', exitedEarly);
        resolve(message.port);
      } else if (message.type === 'request') {
        const { method, path, querystring, headers } = message.request;
        options.onRequest?.({ method, path, query: new URLSearchParams(querystring), header: (name) => headers[name], authorization: headers.authorization });
      } else if (message.type === 'event') {
        try {
          events.emit('event', message.event);
        } finally {
          worker.postMessage({ type: 'ack', id: message.id } satisfies S3rverThreadCommand);
        }
      }
    });
  });
  worker.on('error', (error) => console.error(`[s3] the local S3 thread failed: ${error.stack ?? error.message}`));
  return {
    url: `http://127.0.0.1:${port}`,
    server: events,
    requests: () => readS3Requests(requestCounters),
    close: async () => {
      // The thread closes s3rver (its port is free once it has) and then ends; one that ended already is closed.
      worker.postMessage({ type: 'close' } satisfies S3rverThreadCommand);
      await exited;
    },
  };
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
