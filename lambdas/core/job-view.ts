import { z } from 'zod';
import { JOB_STATUSES, type JobRecord } from './job.js';
import { createProviderRequestSchema } from './request-schema.js';

export interface JobView extends Omit<JobRecord, 'requestKey' | 'kind' | 'requestHash'> {
  links: { self: string };
  downloadUrl?: string;
}

/** The job as the API shows it: internal bookkeeping out, links in. */
export function presentJob(job: JobRecord, selfUrl: string, downloadUrl?: string): JobView {
  const { requestKey: _bodyLocation, kind: _indexPartition, requestHash: _identity, ...visible } = job;
  return { ...visible, links: { self: selfUrl }, ...(downloadUrl ? { downloadUrl } : {}) };
}

const timestamp = (description: string) => z.iso.datetime().describe(description);

/**
 * JobView as a schema, for the OpenAPI document (openapi.ts): what GET/DELETE /jobs/{jobId} and the
 * items of GET /jobs answer. The type check below keeps it and JobView the same shape.
 */
export const jobViewSchema = z
  .object({
    jobId: z.string(),
    status: z.enum(JOB_STATUSES).describe('QUEUED → SUBMITTED → RUNNING → SUCCEEDED | FAILED | TIMED_OUT | CANCELLED; the last four are final'),
    progress: z.number().min(0).max(100).describe('0–100, never goes backwards'),
    request: createProviderRequestSchema()
      .optional()
      .describe('The request as the provider receives it (defaults filled), data: URIs elided as `data:<type>;base64,…(<n> bytes)`. Absent only on a job refused for VALIDATION_ERROR'),
    trigger: z.object({
      type: z.enum(['http', 's3', 'schedule']),
      source: z.string().describe('the caller (http: its IAM principal), `s3://bucket/key` (s3), `s3://bucket/manifest#L<line>` (schedule)'),
    }),
    metadata: z.record(z.string(), z.string()).optional(),
    warnings: z.array(z.string()).optional(),
    deferred: z.boolean().optional().describe('waiting for the next batch run (POST /jobs?schedule=batch); cleared when it starts'),
    providerTaskId: z.string().optional(),
    createdAt: timestamp('when the job was recorded'),
    updatedAt: timestamp('the last write'),
    submittedAt: timestamp('when the provider accepted the task').optional(),
    finishedAt: timestamp('when the job ended').optional(),
    deadlineAt: timestamp('past it the job ends TIMED_OUT'),
    polls: z.number().int().min(0).optional(),
    resumes: z.number().int().min(0).optional().describe('how many times the sweeper resumed the job after its execution was lost'),
    output: z
      .object({ bucket: z.string(), key: z.string(), bytes: z.number().int().min(0), contentType: z.string(), sha256: z.string() })
      .optional()
      .describe('the MP4 in our bucket, once SUCCEEDED'),
    error: z
      .object({
        code: z.string().describe('e.g. PROVIDER_TASK_FAILED, SUBMISSION_UNCERTAIN, DEADLINE_EXCEEDED, CANCELLED (README: the job record)'),
        message: z.string(),
        issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
      })
      .optional()
      .describe('why the job ended FAILED, TIMED_OUT or CANCELLED'),
    executionArn: z.string().optional(),
    announcedAt: timestamp('when its completion event was published').optional(),
    links: z.object({ self: z.url() }),
    downloadUrl: z.url().optional().describe('GET /jobs/{jobId} of a SUCCEEDED job only: the MP4, presigned for 1 hour'),
  })
  .describe('A job: its request, where it is, and its outcome');

/** True only for identical types (optional fields included), unlike mutual assignability. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
/** Fails to compile when JobView (or JobRecord) gains, loses or changes a field the schema does not. */
export type JobViewSchemaMatches = Same<z.output<typeof jobViewSchema>, JobView> extends true ? true : never;
const _jobViewSchemaMatches: JobViewSchemaMatches = true;
void _jobViewSchemaMatches;
