import { createServer } from 'node:net';
import { LOCAL_STACK_PATH, type LocalStackDescription } from './console-routes.js';

/** A port a local stack needs is taken; the message says by whom and what to set instead. */
export class PortBusyError extends Error {
  override readonly name = 'PortBusyError';
}

/** A stack of ours answers on the port: which one (another data directory, another checkout). */
async function localStackOn(port: number): Promise<string | undefined> {
  try {
    const answer = await fetch(`http://127.0.0.1:${port}${LOCAL_STACK_PATH}`, { signal: AbortSignal.timeout(1500) });
    const { stack } = (await answer.json()) as LocalStackDescription;
    return `the local stack on ${stack.dataDir} (pid ${stack.pid})`;
  } catch {
    return undefined;
  }
}

/**
 * Binds the port for a moment to learn whether it is free, before the stack starts anything: a busy
 * port is then one line naming the variable to change, not an EADDRINUSE trace from deep inside.
 * `variable` is the setting that chose the port (PORT, S3_PORT). Port 0 is always free.
 */
export async function assertPortFree(port: number, variable: string): Promise<void> {
  if (port === 0) return;
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(undefined)));
  });
  if (!failure) return;
  if (failure.code === 'EADDRINUSE') {
    const holder = (await localStackOn(port)) ?? 'another program';
    throw new PortBusyError(`${variable} ${port} is in use by ${holder}: stop it, or set ${variable} to a free port (${variable}=0 takes any)`);
  }
  throw new PortBusyError(`${variable} ${port} cannot be used (${failure.code ?? failure.message}): set ${variable} to another port`);
}
