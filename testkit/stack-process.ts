import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface StackProcess {
  apiUrl: string;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM, as Ctrl-C or a service manager would stop `npm start`; resolves when it exited. */
  stop(): Promise<number | null>;
}

/** `npm start -- <args>` as a user runs it: its own process, configured by the environment and `args` (-c key=value). */
export async function startStackProcess(env: Record<string, string>, args: string[] = []): Promise<StackProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'local/commands/start.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready:\n${printed}`)), 60_000);
    const look = () => {
      const match = /API ready at (http:\/\/\S+)/.exec(printed);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => reject(new Error(`npm start exited with ${code}:\n${printed}`)));
  });
  return {
    apiUrl,
    output: () => printed,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
