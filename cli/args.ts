import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

/** Options every command takes: where the API is, and help. */
export const TARGET_OPTIONS = {
  api: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** node:util parseArgs, strict, its errors turned into usage errors (exit 2) that show the command's usage. */
export function parseCommandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage}`, { cause: error });
  }
}

/** Exactly one positional, e.g. the jobId of `status <jobId>`. */
export function onePositional(positionals: string[], name: string, usage: string): string {
  if (positionals.length !== 1 || !positionals[0]) {
    throw new UsageError(`expected one ${name}${positionals.length > 1 ? `, got ${positionals.length}` : ''}\n${usage}`);
  }
  return positionals[0];
}

/** A whole number within bounds, e.g. `--limit`. */
export function integerOption(value: string | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${name} ${value}: must be a whole number of at least ${min}`);
  return Number(value);
}
