import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Multipart uploads in the local S3 (s3rver 3.7.1), done the way S3 does them.
 *
 * s3rver completed an upload by streaming every part through one MD5 into a new file on its event
 * loop — the thread that answers every other request of the stack: a 1 GiB video was read, hashed
 * and written a second time, which cost more than the upload itself. It also never checked the
 * parts, answered the whole object's MD5 as the ETag, and had no AbortMultipartUpload (405), so
 * every aborted upload left its parts on disk. S3 rehashes nothing: a multipart ETag is the MD5 of
 * the parts' MD5s followed by "-<part count>". Here:
 *
 * - Parts are staged in one file per upload, each at slot (partNumber − 1) × slot size, the slot size
 *   being the Content-Length of the first part of at least 5 MiB (clients send equal parts but the
 *   last). A part that does not fit its slot (larger, no length, or a part number uploaded again)
 *   goes to a file of its own, so a failed re-upload never damages the part already there. Each part is hashed (its ETag) as it is written, in
 *   1 MiB batches with one write in flight.
 * - Complete checks what S3 checks — the upload exists (NoSuchUpload), part numbers ascend
 *   (InvalidPartOrder), each part was uploaded with the ETag given (InvalidPart), all but the last
 *   are ≥ 5 MiB (EntityTooSmall) — and answers S3's multipart ETag. When the parts listed are 1…n,
 *   all in their slots and all but the last exactly one slot long (what every SDK uploader sends),
 *   the staging file already is the object: it is truncated to length and renamed into place, no
 *   byte copied. Any other list is assembled from the slots and files in libuv's pool, into a file
 *   renamed into place. A reader never sees a half-built object either way.
 * - AbortMultipartUpload removes the upload; an unknown one is NoSuchUpload.
 */

const MIB = 1024 * 1024;
/** S3's smallest part (all but the last part of a multipart upload). */
export const MIN_PART_BYTES = 5 * MIB;
const WRITE_BATCH_BYTES = MIB;
const COPY_BUFFER_BYTES = 8 * MIB;

interface PartRecord {
  md5: string;
  size: number;
  /** 'staging': at (number − 1) × slot in the staging file; otherwise the name of the part's own file. */
  at: 'staging' | string;
}

interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5?: string): Promise<void>;
  putPart(bucket: string, uploadId: string, partNumber: number | string, content: IncomingMessage): Promise<{ size: number; md5: string }>;
  putObjectMultipart(bucket: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<{ size: number; md5: string }>;
}
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

/** Writes a body at `position` of an open file in large batches, hashing it (MD5) on the way. */
async function writeHashed(content: AsyncIterable<Buffer>, handle: FileHandle, position: number): Promise<{ size: number; md5: string }> {
  const md5 = createHash('md5');
  let size = 0;
  let batch: Buffer[] = [];
  let batched = 0;
  let writing: Promise<void> = Promise.resolve();
  const write = (buffers: Buffer[], length: number, at: number) => {
    const written = handle.writev(buffers, at).then(({ bytesWritten }) => {
      if (bytesWritten !== length) throw new Error(`short write: ${bytesWritten} of ${length} bytes`);
    });
    written.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    return written;
  };
  try {
    for await (const chunk of content) {
      md5.update(chunk);
      batch.push(chunk);
      batched += chunk.length;
      size += chunk.length;
      if (batched >= WRITE_BATCH_BYTES) {
        await writing;
        writing = write(batch, batched, position + size - batched);
        batch = [];
        batched = 0;
      }
    }
    await writing;
    if (batched > 0) await write(batch, batched, position + size - batched);
  } finally {
    await writing.catch(() => {});
  }
  return { size, md5: md5.digest('hex') };
}

/** Copies `length` bytes from `from` at `offset` to the end of `to`, in large reads and writes. */
async function appendRange(to: FileHandle, toPosition: number, from: FileHandle, offset: number, length: number, buffer: Buffer): Promise<void> {
  for (let done = 0; done < length;) {
    const { bytesRead } = await from.read(buffer, 0, Math.min(buffer.length, length - done), offset + done);
    if (bytesRead === 0) throw new Error(`a part ends ${length - done} bytes early`);
    const { bytesWritten } = await to.write(buffer, 0, bytesRead, toPosition + done);
    if (bytesWritten !== bytesRead) throw new Error('short write while assembling');
    done += bytesRead;
  }
}

const notFound = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

let patched = false;
/** Patches s3rver's file store and router once per process (the store and router are module singletons). */
export function completeMultipartLikeS3(): void {
  if (patched) return;
  patched = true;
  const load = createRequire(import.meta.url);
  const FilesystemStore = load('s3rver/lib/stores/filesystem.js') as { prototype: S3rverStore };
  const S3Error = load('s3rver/lib/models/error.js') as S3ErrorClass;
  const store = FilesystemStore.prototype;
  /** Staged parts being written now, so a second upload of the same part number does not share its slot. */
  const writing = new Set<string>();

  const noSuchUpload = (uploadId: string) =>
    new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
      UploadId: uploadId,
    });
  /** The upload's directory; an ID that is not one plain path segment names no upload. */
  const uploadDirOf = (self: S3rverStore, bucket: string, uploadId: string) => {
    if (!uploadId || /[/\\]/.test(uploadId) || uploadId === '.' || uploadId === '..') throw noSuchUpload(uploadId);
    return join(self.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  };
  const assertUploadExists = async (uploadDir: string, uploadId: string) => {
    await stat(join(uploadDir, 'key')).catch((error: unknown) => {
      throw notFound(error) ? noSuchUpload(uploadId) : error;
    });
  };
  /** The upload's slot size: set once, by the first part of at least 5 MiB with a declared length. */
  const slotOf = async (uploadDir: string, declared: number): Promise<number | undefined> => {
    const path = join(uploadDir, 'slot');
    const read = async () => {
      const slot = Number(await readFile(path, 'utf8').catch(() => ''));
      return slot > 0 ? slot : undefined;
    };
    const existing = await read();
    if (existing !== undefined || !(declared >= MIN_PART_BYTES)) return existing;
    try {
      await writeFile(path, String(declared), { flag: 'wx' });
      return declared;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return read();
      throw error;
    }
  };

  store.putPart = async function putPart(bucket, uploadId, partNumberText, content) {
    const uploadDir = uploadDirOf(this, bucket, uploadId);
    await assertUploadExists(uploadDir, uploadId);
    const partNumber = Number(partNumberText);
    const declared = Number(content.headers?.['content-length'] ?? NaN);
    const slot = await slotOf(uploadDir, declared);
    const stagingKey = `${uploadDir}/${partNumber}`;
    // A part uploaded again keeps its first copy until the new one is whole: the new one gets a file.
    const uploadedBefore = await stat(join(uploadDir, `${partNumber}.json`)).then(
      () => true,
      () => false,
    );
    const staged = slot !== undefined && declared <= slot && !uploadedBefore && !writing.has(stagingKey);
    const at = staged ? 'staging' : `${partNumber}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    if (staged) writing.add(stagingKey);
    try {
      // O_CREAT without O_TRUNC: other parts are being written into the same staging file.
      const handle = await open(join(uploadDir, at), staged ? constants.O_WRONLY | constants.O_CREAT : 'w');
      let written: { size: number; md5: string };
      try {
        written = await writeHashed(content, handle, staged ? (partNumber - 1) * slot! : 0);
      } finally {
        await handle.close();
      }
      const record: PartRecord = { ...written, at };
      await writeFile(join(uploadDir, `${partNumber}.json`), JSON.stringify(record));
      return written;
    } finally {
      if (staged) writing.delete(stagingKey);
    }
  };

  store.putObjectMultipart = async function putObjectMultipart(bucket, uploadId, parts) {
    const uploadDir = uploadDirOf(this, bucket, uploadId);
    let key: string;
    let metadata: unknown;
    try {
      [key, metadata] = await Promise.all([readFile(join(uploadDir, 'key'), 'utf8'), readFile(join(uploadDir, 'metadata'), 'utf8').then(JSON.parse)]);
    } catch (error) {
      if (notFound(error)) throw noSuchUpload(uploadId);
      throw error;
    }
    for (let index = 1; index < parts.length; index++) {
      if (parts[index]!.number <= parts[index - 1]!.number) {
        throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.', {
          UploadId: uploadId,
        });
      }
    }
    const records = await Promise.all(
      parts.map(async (part) => {
        const record = await readFile(join(uploadDir, `${part.number}.json`), 'utf8')
          .then((text) => JSON.parse(text) as PartRecord)
          .catch(() => undefined);
        if (!record || record.md5 !== part.etag) {
          throw new S3Error(
            'InvalidPart',
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            {
              UploadId: uploadId,
              PartNumber: part.number,
              ETag: part.etag,
            },
          );
        }
        return { ...record, number: part.number };
      }),
    );
    records.slice(0, -1).forEach((record) => {
      if (record.size < MIN_PART_BYTES) {
        throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
          ProposedSize: record.size,
          MinSizeAllowed: MIN_PART_BYTES,
          PartNumber: record.number,
        });
      }
    });
    const etag = `${createHash('md5')
      .update(Buffer.concat(records.map((record) => Buffer.from(record.md5, 'hex'))))
      .digest('hex')}-${records.length}`;
    const size = records.reduce((total, record) => total + record.size, 0);

    const staging = join(uploadDir, 'staging');
    const slot = Number(await readFile(join(uploadDir, 'slot'), 'utf8').catch(() => '0'));
    const inPlace = records.every(
      (record, index) => record.number === index + 1 && record.at === 'staging' && (index === records.length - 1 || record.size === slot),
    );
    let object: string;
    if (inPlace && records.length > 0) {
      await truncate(staging, size);
      object = staging;
    } else if (records.length === 1 && records[0]!.at !== 'staging') {
      object = join(uploadDir, records[0]!.at);
    } else {
      object = join(uploadDir, 'assembled');
      const out = await open(object, 'w');
      const buffer = Buffer.allocUnsafeSlow(COPY_BUFFER_BYTES);
      try {
        let position = 0;
        for (const record of records) {
          const input = await open(join(uploadDir, record.at), 'r');
          try {
            await appendRange(out, position, input, record.at === 'staging' ? (record.number - 1) * slot : 0, record.size, buffer);
          } finally {
            await input.close();
          }
          position += record.size;
        }
      } finally {
        await out.close();
      }
    }
    const objectPath = this.getResourcePath(bucket, key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    await rename(object, objectPath);
    await this.putMetadata(bucket, key, metadata, etag);
    await rm(uploadDir, { recursive: true, force: true });
    return { size, md5: etag };
  };

  // AbortMultipartUpload: s3rver answers 405 MethodNotAllowed. A DELETE with ?uploadId removes the
  // upload, placed in s3rver's router just before its own object DELETE route, so after the
  // authentication and the query-method resolution that route relies on.
  type Layer = { path: string; methods: string[] };
  type Context = { params: { bucket: string; queryMethod?: string }; query: { uploadId?: string }; store: S3rverStore; status: number; body: unknown };
  const router = load('s3rver/lib/routes.js') as {
    stack: Layer[];
    delete: (path: string, handler: (ctx: Context, next: () => Promise<void>) => Promise<void>) => void;
  };
  router.delete('/:bucket/:key+', async (ctx, next) => {
    if (ctx.params.queryMethod !== 'uploadId') return next();
    const uploadId = String(ctx.query.uploadId ?? '');
    const uploadDir = uploadDirOf(ctx.store, ctx.params.bucket, uploadId);
    await assertUploadExists(uploadDir, uploadId);
    await rm(uploadDir, { recursive: true, force: true });
    ctx.status = 204;
    ctx.body = '';
  });
  const abortLayer = router.stack.pop()!;
  const objectDelete = router.stack.findIndex((layer) => layer.path === '/:bucket/:key+' && layer.methods.includes('DELETE'));
  if (objectDelete < 0) throw new Error("s3rver's router has no object DELETE route to put AbortMultipartUpload before");
  router.stack.splice(objectDelete, 0, abortLayer);
}
