import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { finished, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * What S3 guarantees about one key, given to the local S3 (s3rver 3.7.1), which guarantees none of it:
 *
 * - A reader sees a whole object with its own ETag. s3rver wrote a PUT's bytes straight over the
 *   object file, so a GET racing a PUT of the same key could read torn bytes or another write's ETag,
 *   and a PUT cut off mid-body left a torn object behind. Here every request that touches an object
 *   holds its key, readers shared and writers alone, until its response has been sent; and a PUT
 *   writes a file of its own, renamed over the object once whole.
 * - Conditional requests: s3rver honours only If-None-Match on GET. Here, as S3 does, If-Match on
 *   GET/HEAD and DELETE and x-amz-copy-source-if-match on CopyObject answer 412 PreconditionFailed when
 *   the object has another ETag; a missing object is 404 NoSuchKey (a GET or copy leaves that answer
 *   to s3rver, which gives it already; a DELETE, which s3rver answers 204 for a missing key, gets it here).
 */

type Mode = 'read' | 'write';

interface Waiter {
  mode: Mode;
  granted: boolean;
  turn: Promise<void>;
  grant: () => void;
}

export interface KeyHold {
  /** Resolves once every key is held. */
  ready: Promise<void>;
  /** Gives back what is held and drops what is still awaited; safe to call more than once. */
  release(): void;
}

/** Readers–writer locks by key, first come first served: a writer waiting is not overtaken by later readers. */
export class KeyLocks {
  readonly #queues = new Map<string, Waiter[]>();

  /**
   * Takes the keys one after the other in sorted order, so two requests that need the same two keys
   * (a copy each way between them) never hold one each while waiting for the other.
   */
  hold(claims: ReadonlyMap<string, Mode>): KeyHold {
    const taken: [string, Waiter][] = [];
    let released = false;
    const ready = (async () => {
      for (const key of [...claims.keys()].sort()) {
        if (released) return;
        const waiter = this.#enqueue(key, claims.get(key)!);
        taken.push([key, waiter]);
        await waiter.turn;
      }
    })();
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        for (const [key, waiter] of taken) this.#leave(key, waiter);
      },
    };
  }

  #enqueue(key: string, mode: Mode): Waiter {
    let grant!: () => void;
    const turn = new Promise<void>((resolve) => (grant = resolve));
    const waiter: Waiter = { mode, granted: false, turn, grant };
    const queue = this.#queues.get(key) ?? [];
    queue.push(waiter);
    this.#queues.set(key, queue);
    this.#advance(queue);
    return waiter;
  }

  #leave(key: string, waiter: Waiter): void {
    const queue = this.#queues.get(key)!;
    queue.splice(queue.indexOf(waiter), 1);
    // One dropped while still waiting: end its wait, so the hold's loop sees the release and stops.
    waiter.grant();
    if (queue.length === 0) this.#queues.delete(key);
    else this.#advance(queue);
  }

  /** The first in line always runs; the readers right behind a reader run with it. */
  #advance(queue: Waiter[]): void {
    for (const [index, waiter] of queue.entries()) {
      if (index > 0 && (waiter.mode === 'write' || queue[0]!.mode === 'write')) return;
      if (!waiter.granted) {
        waiter.granted = true;
        waiter.grant();
      }
    }
  }
}

interface ObjectStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
  putMetadata(bucket: string, key: string, metadata: unknown, md5?: string): Promise<void>;
  putObject(object: { bucket: string; key: string; content: Readable | Buffer; metadata: unknown }): Promise<{ size: number; md5: string }>;
}
interface ObjectContext {
  method: string;
  params: { bucket: string; key: string; queryMethod?: string };
  res: ServerResponse;
  store: ObjectStore;
  get(header: string): string;
}
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

/** S3 quotes ETags in headers and compares them without quotes (a weak `W/` prefix is ignored too). */
const unquoted = (etag: string) =>
  etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');

/** An If-Match value (one ETag, a list, or `*`) against the object's ETag. */
function etagMatches(condition: string, etag: string): boolean {
  return condition.split(',').some((candidate) => candidate.trim() === '*' || unquoted(candidate) === unquoted(etag));
}

/** `bucket/key` of an x-amz-copy-source (URL-encoded, optionally `?versionId=`), or undefined when it names none. */
function copySourceOf(header: string): { bucket: string; key: string } | undefined {
  const [path = ''] = header.split('?');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined; // not valid percent-encoding: s3rver refuses the copy
  }
  decoded = decoded.replace(/^\//, '');
  const slash = decoded.indexOf('/');
  return slash > 0 && slash < decoded.length - 1 ? { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) } : undefined;
}

/**
 * The keys a request on `/:bucket/:key+` touches, and how. Multipart steps other than Complete work on
 * the upload, not the object (so the parts of one upload still go up in parallel).
 */
function claimsOf(ctx: ObjectContext): Map<string, Mode> {
  const claims = new Map<string, Mode>();
  const { bucket, key, queryMethod } = ctx.params;
  if (queryMethod === 'uploads' || (queryMethod === 'uploadId' && ctx.method !== 'POST')) return claims;
  const source = ctx.method === 'PUT' && queryMethod === undefined && ctx.get('x-amz-copy-source') ? copySourceOf(ctx.get('x-amz-copy-source')) : undefined;
  if (source) claims.set(`${source.bucket}/${source.key}`, 'read');
  // A copy onto itself (new metadata) writes the key it reads.
  claims.set(`${bucket}/${key}`, ctx.method === 'GET' || ctx.method === 'HEAD' ? 'read' : 'write');
  return claims;
}

async function etagOf(store: ObjectStore, bucket: string, key: string): Promise<string | undefined> {
  try {
    return (await store.getMetadata(bucket, key)).etag;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function checkPreconditions(ctx: ObjectContext, S3Error: S3ErrorClass): Promise<void> {
  if (ctx.params.queryMethod !== undefined) return;
  const failed = (condition: string) =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
  const { bucket, key } = ctx.params;
  const ifMatch = ctx.get('if-match');
  if ((ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'DELETE') && ifMatch) {
    const etag = await etagOf(ctx.store, bucket, key);
    if (etag === undefined) {
      if (ctx.method === 'DELETE') throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
      return;
    }
    if (!etagMatches(ifMatch, etag)) throw failed('If-Match');
  }
  const copyIfMatch = ctx.get('x-amz-copy-source-if-match');
  const source = ctx.method === 'PUT' && copyIfMatch ? copySourceOf(ctx.get('x-amz-copy-source')) : undefined;
  if (source) {
    const etag = await etagOf(ctx.store, source.bucket, source.key);
    if (etag !== undefined && !etagMatches(copyIfMatch, etag)) throw failed('x-amz-copy-source-If-Match');
  }
}

/** A PUT's body goes to a file of its own, renamed over the object once whole and on disk. */
function putObjectsWhole(store: ObjectStore): void {
  store.putObject = async function putObject(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    const staging = join(this.getResourcePath(object.bucket, undefined, 'uploads'), `put-${randomUUID()}`);
    await Promise.all([mkdir(dirname(staging), { recursive: true }), mkdir(dirname(objectPath), { recursive: true })]);
    const md5 = createHash('md5');
    let size = 0;
    try {
      await pipeline(
        Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content,
        async function* hash(chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            md5.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(staging),
      );
      await rename(staging, objectPath);
    } catch (error) {
      await rm(staging, { force: true });
      throw error;
    }
    const etag = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, etag);
    return { size, md5: etag };
  };
}

let installed = false;
/** Installs the locks, the preconditions and whole-object PUTs in s3rver's router and store (module singletons: once per thread). */
export function serveObjectsLikeS3(): void {
  if (installed) return;
  installed = true;
  const locks = new KeyLocks();
  const load = createRequire(import.meta.url);
  const S3Error = load('s3rver/lib/models/error.js') as S3ErrorClass;
  putObjectsWhole((load('s3rver/lib/stores/filesystem.js') as { prototype: ObjectStore }).prototype);

  type Layer = { path: string; methods: string[] };
  const router = load('s3rver/lib/routes.js') as {
    stack: Layer[];
    use: (path: string, middleware: (ctx: ObjectContext, next: () => Promise<void>) => Promise<void>) => void;
  };
  router.use('/:bucket/:key+', async (ctx, next) => {
    const claims = claimsOf(ctx);
    if (claims.size === 0) return next();
    const hold = locks.hold(claims);
    // Koa writes the body after the middleware chain has returned: the keys stay held until the
    // response is out (or the client went away), not merely until next() resolves.
    finished(ctx.res, () => hold.release());
    await hold.ready;
    await checkPreconditions(ctx, S3Error);
    await next();
  });
  // Placed before s3rver's object routes (and the AbortMultipartUpload route of s3-multipart.ts), so
  // after the authentication and the query-method resolution they rely on.
  const layer = router.stack.pop()!;
  const firstObjectRoute = router.stack.findIndex((candidate) => candidate.path === '/:bucket/:key+' && candidate.methods.length > 0);
  if (firstObjectRoute < 0) throw new Error("s3rver's router has no object route to put the object locks before");
  router.stack.splice(firstObjectRoute, 0, layer);
}
