import { resolve } from 'node:path';
import { LOCAL_STACK_PATH, type LocalStackDescription } from './console-routes.js';
import { CHECKOUT, runningStackIn, StackNotRunningError, type RunningStack } from './stack-file.js';

/** `npm start`'s port when PORT is not set. */
export const DEFAULT_PORT = 3000;

/**
 * Asks whatever listens on the port for the stack it is (`GET /_local/stack`). Only a stack of this
 * checkout counts: another clone's stack on the same machine has other code and other data.
 */
async function stackOnPort(port: number): Promise<RunningStack | undefined> {
  let description: LocalStackDescription;
  try {
    const answer = await fetch(`http://127.0.0.1:${port}${LOCAL_STACK_PATH}`, { signal: AbortSignal.timeout(1500) });
    if (!answer.ok) return undefined;
    description = (await answer.json()) as LocalStackDescription;
  } catch {
    return undefined;
  }
  if (description.stack?.checkout !== CHECKOUT) return undefined;
  const stack = await runningStackIn(description.stack.dataDir).catch(() => undefined);
  return stack?.pid === description.stack.pid ? stack : undefined;
}

/**
 * The stack `npm start` runs, for the commands that use it (generate, batch, the CLI): the one of
 * LOCAL_DATA_DIR (default `.local`); when LOCAL_DATA_DIR is not set, also the stack of this checkout
 * listening on PORT (default 3000), whatever its data directory. So a stack started with its own
 * LOCAL_DATA_DIR is found from any terminal without setting it again. Throws StackNotRunningError
 * saying where it looked.
 */
export async function findRunningStack(env: NodeJS.ProcessEnv = process.env): Promise<RunningStack> {
  const dataDir = resolve(env.LOCAL_DATA_DIR || '.local');
  try {
    return await runningStackIn(dataDir);
  } catch (error) {
    if (!(error instanceof StackNotRunningError) || env.LOCAL_DATA_DIR) throw error;
    const port = Number(env.PORT || DEFAULT_PORT);
    const onPort = Number.isInteger(port) && port > 0 ? await stackOnPort(port) : undefined;
    if (onPort) return onPort;
    throw new StackNotRunningError(`${error.message}, and none of this checkout answers on port ${port}`, { cause: error });
  }
}
