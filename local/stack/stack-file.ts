import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `<dataDir>/stack.json`: what `npm start` tells other local commands about the running stack. It is
 * written once the stack is up and removed when it stops, so its presence means "a stack is running"
 * (unless the process was killed hard, in which case the URLs in it no longer answer).
 */

export const STACK_FILE = 'stack.json';

export interface StackFile {
  apiUrl: string;
  s3Url: string;
  bucket: string;
  /** The handlers' environment: SDK endpoints, credentials, table and bucket names. */
  environment: Record<string, string>;
}

export class StackNotRunningError extends Error {
  override readonly name = 'StackNotRunningError';
}

export async function readStackFile(dataDir: string): Promise<StackFile> {
  const file = join(dataDir, STACK_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new StackNotRunningError(`no local stack is running (${file} is missing): start it with npm start`);
  }
  return JSON.parse(text) as StackFile;
}

/** Tells other local commands (the CLI, npm run batch) about a running stack; returns the file's path. */
export function writeStackFile(dataDir: string, description: StackFile): string {
  const file = join(dataDir, STACK_FILE);
  writeFileSync(file, `${JSON.stringify(description, null, 2)}\n`);
  return file;
}
