import { JOB_STATUSES } from './job.js';
import { ValidationError } from './errors.js';
import { BODY_PATH, toFieldIssues } from './request-schema.js';
import * as z from './zod.js';

/** Query strings of the intake routes: unknown parameters are refused like unknown body fields. */

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** GET /jobs. Exported for the OpenAPI document (openapi.ts). */
export const listQuery = z.strictObject({
  status: z.optional(z.enum(JOB_STATUSES)),
  trigger: z.optional(z.enum(['http', 's3', 'schedule'])),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_PAGE_SIZE)), DEFAULT_PAGE_SIZE),
  cursor: z.optional(z.string().check(z.minLength(1))),
});

/** POST /jobs. Exported for the OpenAPI document (openapi.ts). */
export const submitQuery = z.strictObject({
  /** `batch` queues the job for the next batch run instead of starting it now. */
  schedule: z._default(z.enum(['now', 'batch']), 'now'),
});

/** Issue paths read `query.status`, so a caller can tell them from body fields. */
function parseQuery<T extends z.core.$ZodType>(schema: T, query: Record<string, string | undefined>): z.output<T> {
  const result = z.safeParse(schema, query);
  if (result.success) return result.data;
  throw new ValidationError(
    toFieldIssues(result.error).map((issue) => ({ ...issue, path: issue.path === BODY_PATH ? 'query' : `query.${issue.path}` })),
  );
}

export function parseListQuery(query: Record<string, string | undefined>) {
  return parseQuery(listQuery, query);
}

export function parseSubmitQuery(query: Record<string, string | undefined>) {
  return parseQuery(submitQuery, query);
}
