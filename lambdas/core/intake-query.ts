import { z } from 'zod';
import { JOB_STATUSES } from './job.js';
import { ValidationError } from './errors.js';
import { BODY_PATH, toFieldIssues } from './request-schema.js';

/** Query strings of the intake routes: unknown parameters are refused like unknown body fields. */

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** GET /jobs. Exported for the OpenAPI document (openapi.ts). */
export const listQuery = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  trigger: z.enum(['http', 's3', 'schedule']).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  cursor: z.string().min(1).optional(),
});

/** POST /jobs. Exported for the OpenAPI document (openapi.ts). */
export const submitQuery = z.strictObject({
  /** `batch` queues the job for the next batch run instead of starting it now. */
  schedule: z.enum(['now', 'batch']).default('now'),
});

/** Issue paths read `query.status`, so a caller can tell them from body fields. */
function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string | undefined>): z.output<T> {
  const result = schema.safeParse(query);
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
