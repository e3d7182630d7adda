import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `<dataDir>/stack.json`: which process holds a data directory, and, once its stack is up, where that
 * stack answers. `npm start` (and `npm run generate` when it runs a stack of its own) claims the
 * directory by creating this file exclusively before anything starts, so a second stack on the same
 * directory stops before it touches the LevelDB or the s3rver files the first one has open. Other
 * commands find the running stack here. A file whose process no longer runs (killed hard) is stale:
 * the next claim replaces it and readers ignore it.
 */

export const STACK_FILE = 'stack.json';

/** The checkout this code runs from: a stack is only ever used by commands of its own checkout. */
export const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

interface StackOwner {
  pid: number;
  /** What runs it, for messages: `npm start`, `npm run generate`. */
  command: string;
  checkout: string;
}

/** The claim, before the stack listens. */
export interface StartingStack extends StackOwner {
  state: 'starting';
}

export interface RunningStack extends StackOwner {
  state: 'ready';
  dataDir: string;
  apiUrl: string;
  s3Url: string;
  bucket: string;
  /** The handlers' environment: SDK endpoints, credentials, table and bucket names. */
  environment: Record<string, string>;
}

export type StackFile = StartingStack | RunningStack;

export class StackNotRunningError extends Error {
  override readonly name = 'StackNotRunningError';
}

/** The data directory is another live process's. */
export class DataDirBusyError extends Error {
  override readonly name = 'DataDirBusyError';
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a live stack file says, for messages: `npm start (pid 123) at http://127.0.0.1:3000`. */
export function describeStack(stack: StackFile): string {
  return `${stack.command} (pid ${stack.pid}) ${stack.state === 'ready' ? `at ${stack.apiUrl}` : 'still starting'}`;
}

async function readOnce(file: string): Promise<StackFile | 'unreadable' | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StackFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SyntaxError) return 'unreadable';
    throw error;
  }
}

/**
 * The stack file of `dataDir` with whether its process still runs. A claim being written can be read
 * half-written: it is read again after a moment, and a file still unreadable then is stale.
 */
export async function readStackFile(dataDir: string): Promise<{ stack: StackFile; live: boolean } | undefined> {
  const file = join(dataDir, STACK_FILE);
  let stack = await readOnce(file);
  if (stack === 'unreadable') {
    await new Promise((resolve) => setTimeout(resolve, 100));
    stack = await readOnce(file);
  }
  if (stack === 'unreadable') return { stack: { state: 'starting', pid: 0, command: 'an unreadable stack.json', checkout: '' }, live: false };
  return stack && { stack, live: isAlive(stack.pid) };
}

/** The ready stack of `dataDir`, or a StackNotRunningError that says why there is none. */
export async function runningStackIn(dataDir: string): Promise<RunningStack> {
  const file = join(dataDir, STACK_FILE);
  const found = await readStackFile(dataDir);
  if (!found) throw new StackNotRunningError(`no local stack is running on ${dataDir} (no ${file})`);
  if (!found.live) {
    throw new StackNotRunningError(
      `no local stack is running on ${dataDir} (${file} is left from ${found.stack.command}, pid ${found.stack.pid}, which no longer runs)`,
    );
  }
  if (found.stack.state !== 'ready') throw new StackNotRunningError(`the local stack on ${dataDir} is ${describeStack(found.stack)}: try again in a moment`);
  return found.stack;
}

export interface DataDirClaim {
  /** Records where the stack answers, once it does. */
  ready(stack: Omit<RunningStack, keyof StackOwner | 'state' | 'dataDir'>): Promise<void>;
  /** Gives the directory back (removes the file if it is still this process's). */
  release(): Promise<void>;
}

/** Claims `dataDir` for this process, or throws DataDirBusyError naming the process that has it. */
export async function claimDataDir(dataDir: string, command: string): Promise<DataDirClaim> {
  const file = join(dataDir, STACK_FILE);
  const owner: StackOwner = { pid: process.pid, command, checkout: CHECKOUT };
  await mkdir(dataDir, { recursive: true });
  for (;;) {
    try {
      await writeFile(file, `${JSON.stringify({ ...owner, state: 'starting' } satisfies StartingStack, null, 2)}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const found = await readStackFile(dataDir);
    if (found?.live) {
      const port = found.stack.state === 'ready' ? `, API on port ${new URL(found.stack.apiUrl).port}` : '';
      throw new DataDirBusyError(
        `a local stack already runs on ${dataDir}: ${found.stack.command}, pid ${found.stack.pid}${port}. Stop it first, or set LOCAL_DATA_DIR to another folder`,
      );
    }
    // Left by a process that no longer runs: take it over.
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  return {
    async ready(stack) {
      // Written aside and renamed, so a reader never sees it half-written.
      const partial = `${file}.${process.pid}`;
      await writeFile(partial, `${JSON.stringify({ ...owner, state: 'ready', dataDir, ...stack } satisfies RunningStack, null, 2)}\n`);
      await rename(partial, file);
    },
    async release() {
      const current = await readOnce(file);
      if (typeof current === 'object' && current.pid === process.pid) await unlink(file).catch(() => undefined);
    },
  };
}
