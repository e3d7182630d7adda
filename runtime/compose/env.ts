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

export const booleanFlag = z.pipe(
  z.optional(z.enum(['true', 'false', '1', '0'])),
  z.transform((value) => value === 'true' || value === '1'),
);

/** A setting that must be there and not empty: a table, a bucket, an ARN. */
export const requiredSetting = z.string().check(z.minLength(1));

/** A count or a number of seconds; the environment holds strings, so it is coerced. */
export const positiveIntegerSetting = z.coerce.number().check(z.int(), z.positive());
