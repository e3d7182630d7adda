import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import type { CfnTemplate } from './cloud-assembly.js';
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

const MIB = 1024 * 1024;
/** S3's smallest part (all but the last part of a multipart upload). */
const MIN_PART_BYTES = 5 * MIB;
/** Body bytes gathered before one `writev`; one write is in flight while the next batch is hashed. */
const WRITE_BATCH_BYTES = MIB;
/** The buffer parts are appended to the assembled object with. */
const ASSEMBLY_BUFFER_BYTES = 8 * MIB;

/** Writes a request body to `filePath` in large batches, hashing it (MD5, the part's ETag) on the way. */
async function writeHashed(content: AsyncIterable<Buffer>, filePath: string): Promise<{ size: number; md5: string }> {
  const handle = await open(filePath, 'w');
  const md5 = createHash('md5');
  let size = 0;
  let batch: Buffer[] = [];
  let batched = 0;
  let writing: Promise<void> = Promise.resolve();
  const write = (buffers: Buffer[], length: number) => {
    const written = handle.writev(buffers).then(({ bytesWritten }) => {
      if (bytesWritten !== length) throw new Error(`short write to ${filePath}: ${bytesWritten} of ${length} bytes`);
    });
    written.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    return written;
  };
  try {
    for await (const chunk of content) {
      md5.update(chunk);
      size += chunk.length;
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH_BYTES) {
        await writing;
        writing = write(batch, batched);
        batch = [];
        batched = 0;
      }
    }
    await writing;
    if (batched > 0) await write(batch, batched);
  } finally {
    await writing.catch(() => {});
    await handle.close();
  }
  return { size, md5: md5.digest('hex') };
}

interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5?: string): Promise<void>;
  putPart(bucket: string, uploadId: string, partNumber: number | string, content: AsyncIterable<Buffer>): Promise<{ size: number; md5: string }>;
  putObjectMultipart(bucket: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<{ size: number; md5: string }>;
}
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

/**
 * s3rver 3.7.1 completes a multipart upload by streaming every part through one MD5 and a new file on
 * its event loop: a 1 GiB video is read, hashed and written a second time, on the thread that also
 * answers every other request of the stack (about half of the CPU time a streamed upload costs it).
 * S3 itself does not hash the object again: a multipart object's ETag is the MD5 of the parts' MD5s
 * followed by "-<part count>". This completes the way S3 does:
 *  - checks what S3 checks: the upload exists (NoSuchUpload), part numbers ascend (InvalidPartOrder),
 *    each part was uploaded with the ETag given (InvalidPart), all but the last are ≥ 5 MiB
 *    (EntityTooSmall), none of which s3rver checked;
 *  - answers S3's multipart ETag, `"<md5 of the part MD5s>-<n>"` (s3rver answered the whole object's MD5);
 *  - assembles the parts with large reads and writes off the event loop (libuv's pool) into a file of
 *    the upload, renamed into place, so a reader never sees a half-assembled object.
 * Parts are written the same way (the MD5 they need, large batched writes, one write in flight), and
 * AbortMultipartUpload, which s3rver lacks (405), removes an upload's parts.
 */
let multipartPatched = false;
function completeMultipartLikeS3(): void {
  if (multipartPatched) return;
  multipartPatched = true;
  const load = createRequire(import.meta.url);
  const FilesystemStore = load('s3rver/lib/stores/filesystem.js') as { prototype: S3rverStore };
  const S3Error = load('s3rver/lib/models/error.js') as S3ErrorClass;
  const store = FilesystemStore.prototype;
  const noSuchUpload = (uploadId: string) =>
    new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });
  /** The upload's directory; an ID that is not one plain path segment names no upload. */
  const uploadDirOf = (self: S3rverStore, bucket: string, uploadId: string) => {
    if (!uploadId || /[/\\]/.test(uploadId) || uploadId === '.' || uploadId === '..') throw noSuchUpload(uploadId);
    return join(self.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  };

  store.putPart = async function putPart(bucket, uploadId, partNumber, content) {
    const uploadDir = uploadDirOf(this, bucket, uploadId);
    const exists = await stat(join(uploadDir, 'key')).then(
      () => true,
      () => false,
    );
    if (!exists) throw noSuchUpload(uploadId);
    const partPath = join(uploadDir, String(partNumber));
    const written = await writeHashed(content, partPath);
    await writeFile(`${partPath}.md5`, written.md5);
    return written;
  };

  store.putObjectMultipart = async function putObjectMultipart(bucket, uploadId, parts) {
    const uploadDir = uploadDirOf(this, bucket, uploadId);
    let key: string;
    let metadata: unknown;
    try {
      [key, metadata] = await Promise.all([readFile(join(uploadDir, 'key'), 'utf8'), readFile(join(uploadDir, 'metadata'), 'utf8').then(JSON.parse)]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId);
      throw error;
    }
    for (let index = 1; index < parts.length; index++) {
      if (parts[index]!.number <= parts[index - 1]!.number) {
        throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.', { UploadId: uploadId });
      }
    }
    const found = await Promise.all(
      parts.map(async (part) => {
        const path = join(uploadDir, String(part.number));
        const [md5, size] = await Promise.all([readFile(`${path}.md5`, 'utf8'), stat(path).then((stats) => stats.size)]).catch(() => [undefined, undefined]);
        if (md5 === undefined || md5 !== part.etag) {
          throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.', {
            UploadId: uploadId,
            PartNumber: part.number,
            ETag: part.etag,
          });
        }
        return { path, md5, size: size! };
      }),
    );
    found.slice(0, -1).forEach((part, index) => {
      if (part.size < MIN_PART_BYTES) {
        throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
          ProposedSize: part.size,
          MinSizeAllowed: MIN_PART_BYTES,
          PartNumber: parts[index]!.number,
        });
      }
    });
    const etag = `${createHash('md5')
      .update(Buffer.concat(found.map((part) => Buffer.from(part.md5, 'hex'))))
      .digest('hex')}-${found.length}`;

    const assembled = join(uploadDir, 'assembled');
    let size = 0;
    if (found.length > 0) {
      await copyFile(found[0]!.path, assembled); // in-kernel copy
      size = found[0]!.size;
    }
    const out = await open(assembled, 'a');
    try {
      const buffer = Buffer.allocUnsafeSlow(ASSEMBLY_BUFFER_BYTES);
      for (const part of found.slice(1)) {
        const input = await open(part.path, 'r');
        try {
          for (;;) {
            const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
            if (bytesRead === 0) break;
            const { bytesWritten } = await out.write(buffer, 0, bytesRead);
            if (bytesWritten !== bytesRead) throw new Error(`short write to ${assembled}`);
            size += bytesRead;
          }
        } finally {
          await input.close();
        }
      }
    } finally {
      await out.close();
    }
    const objectPath = this.getResourcePath(bucket, key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    await rename(assembled, objectPath);
    await this.putMetadata(bucket, key, metadata, etag);
    await rm(uploadDir, { recursive: true, force: true });
    return { size, md5: etag };
  };

  // AbortMultipartUpload: s3rver answers 405 MethodNotAllowed, so every aborted upload (a cut download,
  // a failed part) leaves its parts on disk. A DELETE with ?uploadId removes them, as S3 does, or
  // answers NoSuchUpload. Placed in s3rver's router just before its own object DELETE route, after the
  // authentication and the query-method resolution that route relies on.
  type Layer = { path: string; methods: string[] };
  type Context = { params: { bucket: string; queryMethod?: string }; query: { uploadId?: string }; store: S3rverStore; status: number; body: unknown };
  const router = load('s3rver/lib/routes.js') as { stack: Layer[]; delete: (path: string, handler: (ctx: Context, next: () => Promise<void>) => Promise<void>) => void };
  router.delete('/:bucket/:key+', async (ctx, next) => {
    if (ctx.params.queryMethod !== 'uploadId') return next();
    const uploadId = String(ctx.query.uploadId ?? '');
    const uploadDir = uploadDirOf(ctx.store, ctx.params.bucket, uploadId);
    const exists = await stat(join(uploadDir, 'key')).then(
      () => true,
      () => false,
    );
    if (!exists) throw noSuchUpload(uploadId);
    await rm(uploadDir, { recursive: true, force: true });
    ctx.status = 204;
    ctx.body = '';
  });
  const abortLayer = router.stack.pop()!;
  const objectDelete = router.stack.findIndex((layer) => layer.path === '/:bucket/:key+' && layer.methods.includes('DELETE'));
  if (objectDelete < 0) throw new Error("s3rver's router has no object DELETE route to put AbortMultipartUpload before");
  router.stack.splice(objectDelete, 0, abortLayer);
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
