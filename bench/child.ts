import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Log } from './report.js';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Runs a TypeScript file of bench/ in a fresh Node process (the same node binary, tsx as loader) and
 * answers the JSON of the last line it prints on stdout. stderr goes to the log, line by line.
 */
export function runTsChild<T>(file: string, env: Record<string, string>, log: Log, options: { nodeArgs?: string[]; timeoutMs?: number } = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', fileURLToPath(new URL(file, import.meta.url))], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const lines = stderr.split('\n');
      stderr = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) log(`  [${file}] ${line}`);
    });
    const timer = options.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${file} took longer than ${options.timeoutMs} ms`));
        }, options.timeoutMs)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (stderr.trim()) log(`  [${file}] ${stderr}`);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${file} exited with ${code}: ${stdout.slice(-500)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${file} printed no JSON result: ${stdout.slice(-500)}`));
      }
    });
  });
}
