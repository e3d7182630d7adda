import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { createProviderRequestSchema, RATIOS } from '../../runtime/domain/request-schema.js';
import { FAULT_NAMES } from './faults.js';

/**
 * `<dataDir>/tasks.json`: the simulator's tasks, kept across restarts like the real provider keeps
 * them. The pipeline stores the provider's task ids, so a simulator that forgot its tasks on restart
 * would answer 404 to every job that was in flight.
 *
 * The file holds every task with what its future depends on: the request, the absolute (epoch ms)
 * creation time and planned generation time, the outcome once known, the fault draws that shape
 * it later (a drawn failure is an outcome from the start; `neverFinish` is kept as a flag), the
 * planned video (with the names of the copies of its frame images, in the same folder) and, once
 * rendered, the file name, size and hash of the MP4 in the same folder.
 * Per-task counters (fault hits, full downloads, whether the create was answered) are kept as of
 * the last write; a crash may lose their latest increments.
 *
 * It is rewritten whole and atomically (a temporary file, then a rename) when a task is created,
 * when its video is planned or rendered, and on stop. A file that cannot be read (bad JSON, a shape
 * or version this code does not know) is moved aside as `tasks.json.corrupt-<time>` and the
 * simulator starts with no tasks.
 */

export const TASK_FILE_NAME = 'tasks.json';
export const TASK_FILE_VERSION = 1;

const epochMs = z.number().int().nonnegative();
/** Only a plain file name inside dataDir, never a path. */
const videoFileName = z.string().regex(/^[\w.-]+\.mp4$/);
const imageFileName = z.string().regex(/^[\w.-]+\.(png|jpg|webp)$/);
const fixedRatio = z.enum(RATIOS.filter((ratio) => ratio !== 'adaptive') as [Exclude<(typeof RATIOS)[number], 'adaptive'>]);
const faultCounts = z.partialRecord(z.enum(FAULT_NAMES), z.number().int().nonnegative());

const persistedTaskSchema = z.strictObject({
  id: z.string().regex(/^[\w-]+$/),
  // Loopback http media are accepted here whatever the running simulator allows: the task was
  // accepted when it was made.
  request: createProviderRequestSchema({ allowLoopbackHttp: true }),
  createdAt: epochMs,
  startsAfterMs: epochMs.optional(),
  plannedMs: epochMs,
  outcome: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('succeeded'), at: epochMs }),
      z.strictObject({ kind: z.literal('failed'), at: epochMs, reason: z.string() }),
    ])
    .optional(),
  neverFinish: z.boolean().optional(),
  spec: z
    .strictObject({
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      durationSeconds: z.number().positive(),
      ratio: fixedRatio,
      audio: z.boolean(),
      watermark: z.boolean(),
      prompt: z.string(),
      firstFrame: imageFileName.optional(),
      lastFrame: imageFileName.optional(),
      imageNotes: z.array(z.string()).optional(),
    })
    .optional(),
  video: z.strictObject({ file: videoFileName, bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  createAnswered: z.boolean(),
  fullDownloads: z.number().int().nonnegative(),
  faults: faultCounts,
});

const taskFileSchema = z.strictObject({
  version: z.literal(TASK_FILE_VERSION),
  tasks: z.array(persistedTaskSchema),
});

export type PersistedTask = z.output<typeof persistedTaskSchema>;
export type TaskFileContent = z.output<typeof taskFileSchema>;

export type LogLine = (line: string) => void;

const fileStamp = (now: number) => new Date(now).toISOString().replace(/[:.]/g, '-');

function describe(error: unknown): string {
  if (error instanceof z.ZodError) {
    const [first] = error.issues;
    const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : '';
    return first ? `${first.path.join('.') || 'file'}: ${first.message}${more}` : 'invalid content';
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The tasks in `<dataDir>/tasks.json`; none when there is no file. A file that cannot be used is
 * renamed to `tasks.json.corrupt-<time>` (kept for inspection), with one line to `log`.
 */
export async function loadTaskFile(dataDir: string, log: LogLine, now = Date.now()): Promise<PersistedTask[]> {
  const path = join(dataDir, TASK_FILE_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    return setAside(path, error, log, now);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && 'version' in value && value.version !== TASK_FILE_VERSION) {
      throw new Error(`unknown version ${JSON.stringify(value.version)} (this simulator writes ${TASK_FILE_VERSION})`);
    }
    return taskFileSchema.parse(value).tasks;
  } catch (error) {
    return setAside(path, error, log, now);
  }
}

async function setAside(path: string, error: unknown, log: LogLine, now: number): Promise<[]> {
  const kept = `${path}.corrupt-${fileStamp(now)}`;
  let where = `kept as ${kept}`;
  try {
    await rename(path, kept);
  } catch (renameError) {
    where = `could not be moved aside (${describe(renameError)})`;
  }
  log(`provider simulator: ignoring ${path}: ${describe(error)}; starting with no tasks, the file ${where}`);
  return [];
}

/**
 * Writes `tasks.json` from `snapshot()`, one write at a time. Calls made while a write is in flight
 * share one follow-up write, so a burst of creates costs two writes, not one per create. A failed
 * write is logged, never thrown: the simulator keeps serving from memory.
 */
export class TaskFileWriter {
  readonly #path: string;
  readonly #temporary: string;
  readonly #snapshot: () => TaskFileContent;
  readonly #log: LogLine;
  #tail: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #closed = false;

  constructor(dataDir: string, snapshot: () => TaskFileContent, log: LogLine) {
    this.#path = join(dataDir, TASK_FILE_NAME);
    this.#temporary = `${this.#path}.${process.pid}.tmp`;
    this.#snapshot = snapshot;
    this.#log = log;
  }

  /** Resolves once a write that read the state after this call is on disk (or failed and was logged). */
  save(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (!this.#queued) {
      const write = this.#tail.then(() => {
        this.#queued = undefined;
        return this.#write();
      });
      this.#queued = write;
      this.#tail = write;
    }
    return this.#queued;
  }

  /** A last write; later saves do nothing. */
  async close(): Promise<void> {
    const last = this.save();
    this.#closed = true;
    await last;
  }

  async #write(): Promise<void> {
    try {
      const text = JSON.stringify(this.#snapshot());
      await writeFile(this.#temporary, text, 'utf8');
      await rename(this.#temporary, this.#path);
    } catch (error) {
      this.#log(`provider simulator: could not write ${this.#path}: ${describe(error)}`);
    }
  }
}
