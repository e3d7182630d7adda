import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { pipelineConfigFrom } from '../../infra/config.js';

/**
 * The CDK context of `npm start` and `npm run generate`, read as `cdk synth` reads it: cdk.json's
 * `context`, overridden per run by `-c key=value` / `--context key=value`. The local stack then
 * synthesizes the stack from it, so its functions get the settings a deployment with the same
 * context would get.
 */

/** `-c` / `--context`, repeatable, for node:util parseArgs. */
export const CONTEXT_OPTION = { context: { type: 'string', short: 'c', multiple: true } } as const;

/** A context the stack could not be synthesized from, in one line for the terminal. */
export class CdkContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CdkContextError';
  }
}

/**
 * `-c key=value` as the pinned CDK CLI reads it (node_modules/aws-cdk/lib/cli/user-configuration.js,
 * parseStringContextListToObject): split at the first `=`, the value kept as the text typed, never
 * parsed as JSON (`cdk synth -c maxJobsInFlight=8` hands the app the string "8"; the app's schema
 * coerces it), and `aws:` keys refused. The CLI only warns about an argument without `=` and drops it;
 * here it is an error, so a mistyped override cannot go unnoticed.
 */
export function contextFromAssignments(assignments: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const assignment of assignments) {
    const [key, value] = assignment.split(/=(.*)/, 2);
    if (value === undefined || key === '') throw new CdkContextError(`-c ${assignment}: expected key=value`);
    if (key!.startsWith('aws:')) {
      throw new CdkContextError(`-c ${assignment}: context keys prefixed with 'aws:' are reserved for the CDK`);
    }
    context[key!] = value;
  }
  return context;
}

// cdk.json holds more than context (app, watch, ...): only `context` is read, with its JSON types.
const cdkJsonSchema = z.object({ context: z.record(z.string(), z.unknown()).optional() });

/** cdk.json's `context` in `projectDir`; none when there is no cdk.json, as with `cdk synth`. */
export function projectContext(projectDir: string): Record<string, unknown> {
  const file = join(projectDir, 'cdk.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CdkContextError(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = cdkJsonSchema.safeParse(json);
  if (!parsed.success) throw new CdkContextError(`${file}: "context" must be an object`);
  return parsed.data.context ?? {};
}

/**
 * cdk.json's context under the `-c` assignments, checked as the stack checks it when it is
 * synthesized (pipelineConfigFrom), so a bad value stops the command before anything starts.
 */
export function cdkContext(assignments: readonly string[], projectDir = process.cwd()): Record<string, unknown> {
  const overrides = contextFromAssignments(assignments);
  const context = { ...projectContext(projectDir), ...overrides };
  try {
    pipelineConfigFrom((key) => context[key]);
  } catch (error) {
    // The core class: infra/config.ts parses with zod/mini, whose errors are no classic ZodError.
    if (!(error instanceof z.core.$ZodError)) throw error;
    const problems = error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const source = key in overrides ? '-c' : 'cdk.json';
      return `${issue.path.join('.')} (from ${source}, ${JSON.stringify(context[key])}): ${issue.message}`;
    });
    throw new CdkContextError(`invalid CDK context: ${problems.join('; ')}`);
  }
  return context;
}

/** The arguments of `npm start`: only `-c` / `--context`. Throws CdkContextError on anything else. */
export function startContextFromArgs(args: readonly string[], projectDir = process.cwd()): Record<string, unknown> {
  let assignments: string[];
  try {
    assignments = parseArgs({ args: [...args], options: CONTEXT_OPTION, strict: true, allowPositionals: false }).values.context ?? [];
  } catch (error) {
    throw new CdkContextError(`${error instanceof Error ? error.message : String(error)} (usage: npm start -- [-c key=value]...)`);
  }
  return cdkContext(assignments, projectDir);
}
