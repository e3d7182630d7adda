import { FUNCTION_ENVIRONMENTS, type FunctionEnvironment } from '../../contracts/environment.js';
import type { HandlerFile } from '../../contracts/handlers.js';
import * as z from '../domain/zod.js';

/** Reads a function's environment once, at module load; a missing setting fails the cold start loudly. */
export function readEnv<T extends z.core.$ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.output<T> {
  const result = z.safeParse(schema, env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid function environment: ${problems}`);
  }
  return result.data;
}

/** The environment of the function `handler` runs, through its schema (the one infrastructure sets it by). */
export function functionEnv<H extends HandlerFile>(handler: H, env: NodeJS.ProcessEnv = process.env): FunctionEnvironment<H> {
  // TypeScript cannot follow an indexed schema through z.output: this is the schema's own output type.
  return readEnv(FUNCTION_ENVIRONMENTS[handler], env) as FunctionEnvironment<H>;
}
