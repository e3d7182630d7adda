import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import S3rver, { type S3rverEvent } from 's3rver';
import { serveObjectsLikeS3 } from './s3-consistency.js';
import { completeMultipartLikeS3 } from './s3-multipart.js';
import { countS3Request, s3Operation } from './s3-requests.js';

/**
 * The local S3 (s3rver) on a thread of its own, started by startS3 (local/emulators/emulators.ts).
 *
 * Every byte uploaded to s3rver is parsed, MD5-hashed (the part or object ETag) and written by
 * JavaScript, and every 64 KiB the HTTP parser hands over is a fresh buffer that V8 counts toward
 * its next full collection: on the stack's own thread, a 1 GiB upload meant ~150 mark-compacts of the
 * whole stack's heap and an event loop busy for seconds, in the way of every other request. Here it
 * has a small heap of its own and a core the rest of the stack can leave it.
 *
 * What it emits as 'event' reaches the stack's thread before the client gets its answer, as when
 * s3rver ran in-process: each response waits for the stack to acknowledge the events its request
 * caused (a message round trip, well under a millisecond).
 *
 * Requests on one key are kept apart and conditional requests answered as S3 does (s3-consistency.ts).
 */

export interface S3rverThreadOptions {
  directory: string;
  bucket: string;
  port?: number;
  /** Where each request is counted by operation (local/emulators/s3/s3-requests.ts), shared with the stack's thread. */
  requestCounters: SharedArrayBuffer;
  /** Access keys accepted besides s3rver's own (S3RVER), each with the secret S3RVER. */
  accessKeys?: string[];
  /** Post each request's line and the headers that say who sent it and what it asks (S3_REQUEST_HEADERS) to the stack's thread. */
  reportRequests?: boolean;
}

/** What a reported request carries: who signed it, and what changes the permission it needs. */
export const S3_REQUEST_HEADERS = ['authorization', 'x-amz-copy-source', 'x-amz-tagging', 'x-amz-tagging-directive'] as const;
export type S3RequestSeen = { method: string; path: string; querystring: string; headers: Record<string, string> };

/** The part of Koa's context the request counting reads. */
interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  get(name: string): string;
}

/** Messages from the thread: listening, or an event (acknowledge it with its id). */
export type S3rverThreadMessage =
  { type: 'listening'; port: number } | { type: 'event'; id: number; event: S3rverEvent } | { type: 'request'; request: S3RequestSeen };
/** Messages to the thread. */
export type S3rverThreadCommand = { type: 'ack'; id: number } | { type: 'close' };

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

/** What one request caused: the deliveries its answer waits for, and the ETag of the object it copied. */
interface RequestEvents {
  caused: Promise<void>[];
  copiedEtag?: string;
}

/**
 * s3rver's Copy event carries no ETag (lib/models/event.js reads it for Put and Post only), though its
 * store hands the copy's metadata back: kept here for the event. S3 puts the new object's ETag in
 * every Object Created event; asking for it afterwards (HeadObject) could find a later overwrite's.
 */
function keepCopiedEtags(requests: AsyncLocalStorage<RequestEvents>): void {
  type Store = { copyObject: (...args: unknown[]) => Promise<{ etag: string }> };
  const store = (createRequire(import.meta.url)('s3rver/lib/stores/filesystem.js') as { prototype: Store }).prototype;
  const copyObject = store.copyObject;
  store.copyObject = async function (this: Store, ...args) {
    const metadata = await copyObject.apply(this, args);
    const request = requests.getStore();
    if (request) request.copiedEtag = metadata.etag;
    return metadata;
  };
}

async function main(options: S3rverThreadOptions, port: NonNullable<typeof parentPort>): Promise<void> {
  fixCopySourceDecoding();
  completeMultipartLikeS3();
  serveObjectsLikeS3();
  const requests = new AsyncLocalStorage<RequestEvents>();
  keepCopiedEtags(requests);
  // s3rver checks every signature against its registry of accounts; the stack signs as each function.
  const accounts = createRequire(import.meta.url)('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  for (const key of options.accessKeys ?? []) accounts.DUMMY_ACCOUNT.createKeyPair(key, 'S3RVER');
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket }],
  });
  const acknowledged = new Map<number, () => void>();
  let nextId = 1;
  server.on('event', (event: S3rverEvent) => {
    const id = nextId++;
    // s3rver emits inside the request's handling, so the request's events are the current store.
    const request = requests.getStore();
    for (const record of event.Records) {
      if (record.eventName === 'ObjectCreated:Copy' && request?.copiedEtag) record.s3.object.eTag ??= request.copiedEtag.replace(/"/g, '');
    }
    request?.caused.push(new Promise((resolve) => acknowledged.set(id, resolve)));
    port.postMessage({ type: 'event', id, event } satisfies S3rverThreadMessage);
  });
  // Outer middleware (Koa composes app.middleware when run() listens): the answer goes out once the
  // stack has the events this request caused.
  const middleware = (server as unknown as { middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[] }).middleware;
  middleware.unshift(async (_ctx, next) => {
    const request: RequestEvents = { caused: [] };
    await requests.run(request, next);
    await Promise.all(request.caused);
  });
  // Outermost, before anything can answer: the count is in by the time the client has its response.
  middleware.unshift(async (ctx, next) => {
    const request = { method: ctx.method, path: ctx.path, query: new URLSearchParams(ctx.querystring), header: (name: string) => ctx.get(name) || undefined };
    countS3Request(options.requestCounters, s3Operation(request));
    if (options.reportRequests) {
      const headers = Object.fromEntries(S3_REQUEST_HEADERS.flatMap((name) => (ctx.get(name) ? [[name, ctx.get(name)]] : [])));
      port.postMessage({
        type: 'request',
        request: { method: ctx.method, path: ctx.path, querystring: ctx.querystring, headers },
      } satisfies S3rverThreadMessage);
    }
    await next();
  });
  port.on('message', (command: S3rverThreadCommand) => {
    if (command.type === 'ack') {
      acknowledged.get(command.id)?.();
      acknowledged.delete(command.id);
    } else if (command.type === 'close') {
      // Once s3rver has closed, nothing is left to keep the thread alive but this port.
      void server.close().finally(() => port.close());
    }
  });
  const address = await server.run();
  port.postMessage({ type: 'listening', port: address.port } satisfies S3rverThreadMessage);
}

if (!isMainThread && parentPort && (workerData as { s3rverThread?: S3rverThreadOptions } | undefined)?.s3rverThread) {
  await main((workerData as { s3rverThread: S3rverThreadOptions }).s3rverThread, parentPort);
}
