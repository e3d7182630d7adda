import { ValidationError, type FieldIssue } from '../domain/errors.js';
import { JOB_ID_PATTERN, JOB_ID_RULE, JOB_STATUSES } from '../domain/job.js';
import { BODY_PATH, toFieldIssues } from '../domain/request-schema.js';
import * as z from '../domain/zod.js';

/**
 * What the intake reads from a request besides its body: the job id in the path, the query string
 * and the headers. Unknown query parameters are refused like unknown body fields, and so is a
 * parameter or header sent more than once: which of two values wins differs from one server or
 * proxy to the next (API Gateway's single-value maps keep one), so the answer would too.
 */

/** Every value of each query parameter or header, in the order sent. */
export type MultiValues = Readonly<Record<string, readonly string[] | undefined>>;

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Decimal digits only: Number() alone also reads `0x10`, `1e1`, ` 10`, `+10` and `10.0`. */
const DECIMAL_INTEGER = /^[0-9]+$/;

const pageSize = z.pipe(
  z.string().check(z.regex(DECIMAL_INTEGER, 'must be a decimal integer')),
  z.pipe(z.transform(Number), z.number().check(z.int(), z.minimum(1), z.maximum(MAX_PAGE_SIZE))),
);

/** GET /jobs. Exported for the OpenAPI document (scripts/openapi/document.ts). */
export const listQuery = z.strictObject({
  status: z.optional(z.enum(JOB_STATUSES)),
  trigger: z.optional(z.enum(['http', 's3', 'schedule'])),
  limit: z._default(pageSize, DEFAULT_PAGE_SIZE),
  cursor: z.optional(z.string().check(z.minLength(1))),
});

/** POST /jobs. Exported for the OpenAPI document (scripts/openapi/document.ts). */
export const submitQuery = z.strictObject({
  /** `batch` queues the job for the next batch run instead of starting it now. */
  schedule: z._default(z.enum(['now', 'batch']), 'now'),
});

/** GET and DELETE /jobs/{jobId}, GET /openapi.json: no parameter at all. */
const noQuery = z.strictObject({});

/** A job id as the API accepts it. Exported for the OpenAPI document (scripts/openapi/document.ts). */
export const jobIdSchema = z.string().check(z.regex(JOB_ID_PATTERN, `must be ${JOB_ID_RULE}`));

/** The `{jobId}` segment of the path, still percent-encoded: API Gateway passes REST paths on as sent. */
const jobIdSegment = z.pipe(
  z.pipe(
    z.string(),
    z.transform((segment: string, context) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        // A lone `%`, `%ZZ`, a cut or overlong UTF-8 sequence, an encoded surrogate: URIError.
        context.issues.push({ code: 'custom', message: 'is not valid percent-encoded UTF-8', input: segment });
        return z.NEVER;
      }
    }),
  ),
  jobIdSchema,
);

/** Issues at `<where>.<name>` (`query.limit`, `path.jobId`), so a caller can tell them from body fields. */
function prefixed(where: string, error: z.core.$ZodError): FieldIssue[] {
  return toFieldIssues(error).map((issue) => ({ ...issue, path: issue.path === BODY_PATH ? where : `${where}.${issue.path}` }));
}

function parseQuery<T extends z.core.$ZodType>(schema: T, query: MultiValues): z.output<T> {
  const issues: FieldIssue[] = [];
  const single: [string, string][] = [];
  for (const [name, values = []] of Object.entries(query)) {
    if (values.length > 1) issues.push({ path: `query.${name}`, message: `is given ${values.length} times; give it once` });
    else if (values.length === 1) single.push([name, values[0]!]);
  }
  // fromEntries makes own properties, so a parameter named `__proto__` is a key like any other.
  const result = z.safeParse(schema, Object.fromEntries(single));
  if (!result.success) issues.push(...prefixed('query', result.error));
  if (issues.length > 0 || !result.success) throw new ValidationError(issues);
  return result.data;
}

export function parseListQuery(query: MultiValues) {
  return parseQuery(listQuery, query);
}

export function parseSubmitQuery(query: MultiValues) {
  return parseQuery(submitQuery, query);
}

export function parseNoQuery(query: MultiValues): void {
  parseQuery(noQuery, query);
}

const jobPath = z.strictObject({ jobId: jobIdSegment });

/** The job id of `/jobs/{jobId}`, from the raw path segment. */
export function parseJobIdSegment(segment: string): string {
  const result = z.safeParse(jobPath, { jobId: segment });
  if (!result.success) throw new ValidationError(prefixed('path', result.error));
  return result.data.jobId;
}

/** The value of a header sent at most once; undefined when it was not sent. */
export function singleHeader(headers: MultiValues, name: string): string | undefined {
  const values = headers[name];
  if (values && values.length > 1) {
    throw new ValidationError([{ path: `headers.${name}`, message: `is sent ${values.length} times; send it once` }]);
  }
  return values?.[0];
}
