import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newStoredSecret } from '../../runtime/webhooks/signing.js';

/** Where the local stack keeps its webhook signing secret (the value Secrets Manager holds on AWS). */
export const WEBHOOK_SECRET_FILE = 'webhook-secret';

/** The data directory's secret, made on first start and kept across restarts, as a deployed one is. */
export async function localWebhookSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, WEBHOOK_SECRET_FILE);
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = newStoredSecret();
  await mkdir(dataDir, { recursive: true });
  // Only the first writer's secret counts: `wx` fails if another start made it meanwhile.
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return (await readFile(file, 'utf8')).trim();
}
