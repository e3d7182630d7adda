import { PRIORITIES } from '../../runtime/admission/admission-line.js';
import { JOB_STATUSES } from '../../runtime/domain/job.js';
import { createProviderRequestSchema } from '../../runtime/domain/request-schema.js';
import type { JobView } from '../../runtime/intake/job-view.js';
import * as z from '../../runtime/domain/zod.js';
import { MAX_WEBHOOK_ATTEMPTS_KEPT, WEBHOOK_EVENTS } from '../../contracts/webhooks.js';

/** Classic zod's `schema.describe(text)`: the description the OpenAPI document shows for a schema. */
export function described<T extends z.ZodMiniType>(schema: T, description: string): T {
  return schema.check(z.describe(description));
}

const timestamp = (description: string) => described(z.iso.datetime(), description);
const count = () => z.number().check(z.int(), z.minimum(0));

/**
 * JobView (runtime/intake/job-view.ts) as a schema, for the OpenAPI document (document.ts): what
 * GET/DELETE /jobs/{jobId} and the items of GET /jobs answer. The type check below keeps it and
 * JobView the same shape.
 */
export const jobViewSchema = described(
  z.object({
    jobId: z.string(),
    status: described(z.enum(JOB_STATUSES), 'QUEUED → SUBMITTED → RUNNING → SUCCEEDED | FAILED | TIMED_OUT | CANCELLED; the last four are final'),
    progress: described(z.number().check(z.minimum(0), z.maximum(100)), '0–100, never goes backwards'),
    request: described(
      z.optional(createProviderRequestSchema()),
      'The request as the provider receives it (defaults filled), data: URIs elided as `data:<type>;base64,…(<n> bytes)`. Absent only on a job refused for VALIDATION_ERROR',
    ),
    trigger: z.object({
      type: z.enum(['http', 's3', 'schedule']),
      source: described(
        z.string(),
        'the caller (http: its IAM principal, or `token:<token id>` for an API token on the provider routes), `s3://bucket/key` (s3), `s3://bucket/manifest#L<line>` (schedule)',
      ),
    }),
    metadata: z.optional(z.record(z.string(), z.string())),
    webhook: described(
      z.optional(
        z.object({
          url: z.string(),
          events: z.array(z.enum(WEBHOOK_EVENTS)),
          attempts: described(
            z.optional(
              z.array(
                z.object({
                  event: z.enum(WEBHOOK_EVENTS),
                  webhookId: described(z.string(), 'the `webhook-id` header: the same for every attempt at one event'),
                  attempt: described(z.number().check(z.int(), z.minimum(1)), '1 for the first try'),
                  at: timestamp('when the attempt was sent'),
                  status: described(z.optional(z.number().check(z.int())), "the receiver's HTTP status"),
                  error: described(z.optional(z.string()), 'why there is no status: a refused address, a timeout, a connection error'),
                }),
              ),
            ),
            `the newest ${MAX_WEBHOOK_ATTEMPTS_KEPT} delivery attempts, oldest first`,
          ),
          goneAt: z.optional(timestamp('the receiver answered 410 Gone: no more deliveries for this job')),
        }),
      ),
      "where the job's events are delivered (its own webhook, or the stack's default), and how each attempt went",
    ),
    warnings: z.optional(z.array(z.string())),
    deferred: described(z.optional(z.boolean()), 'waiting for the next batch run to join the admission line (POST /jobs?schedule=batch)'),
    priority: described(
      z.optional(z.enum(PRIORITIES)),
      'its lane in the admission line: high, normal (HTTP and uploads by default) or low (manifest lines by default)',
    ),
    queuedAt: z.optional(timestamp('when it joined the admission line')),
    waiting: described(z.boolean(), 'true while it waits in the admission line for a slot under the in-flight cap'),
    ahead: described(z.optional(count()), 'GET /jobs/{jobId} of a waiting job: how many jobs will start before it (counted up to 1000)'),
    admissions: described(z.optional(count()), 'how many times it took a slot (more than once when the provider sent it back to the line)'),
    admittedAt: z.optional(timestamp('when it last took a slot; its deadline counts from here')),
    providerTaskId: z.optional(z.string()),
    createdAt: timestamp('when the job was recorded'),
    updatedAt: timestamp('the last write'),
    submittedAt: z.optional(timestamp('when the provider accepted the task')),
    estimatedFinishAt: z.optional(
      timestamp(
        'SUBMITTED or RUNNING only: when the provider task will most likely end (the poll policy’s estimate from the shape’s history, the provider’s start_time and progress), updated with the progress',
      ),
    ),
    finishedAt: z.optional(timestamp('when the job ended')),
    deadlineAt: timestamp('past it the job ends TIMED_OUT'),
    polls: z.optional(count()),
    resumes: described(z.optional(count()), 'how many times the sweeper resumed the job after its execution was lost'),
    output: described(
      z.optional(z.object({ bucket: z.string(), key: z.string(), bytes: count(), contentType: z.string(), sha256: z.string() })),
      'the MP4 in our bucket, once SUCCEEDED (or on a TIMED_OUT job whose video came late: lateVideoAt)',
    ),
    error: described(
      z.optional(
        z.object({
          code: described(z.string(), 'e.g. PROVIDER_TASK_FAILED, SUBMISSION_UNCERTAIN, DEADLINE_EXCEEDED, CANCELLED (README: the job record)'),
          message: z.string(),
          issues: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
        }),
      ),
      'why the job ended FAILED, TIMED_OUT or CANCELLED',
    ),
    executionArn: z.optional(z.string()),
    announcedAt: z.optional(timestamp('when its completion event was published')),
    rerunOf: described(z.optional(z.string()), 'the job this one runs again (POST /jobs/{jobId}/rerun)'),
    reruns: described(z.optional(z.array(z.string())), 'the jobs that run this one again, oldest first (up to 100 listed)'),
    lateVideoAt: z.optional(
      timestamp('a TIMED_OUT job only: when the video of its provider task, followed past the deadline, was stored after all (see output)'),
    ),
    lateAnnouncedAt: z.optional(timestamp('when its late video was announced (Job Late Video Stored)')),
    links: z.object({ self: z.url() }),
    downloadUrl: described(z.optional(z.url()), 'GET /jobs/{jobId} of a job with an output (SUCCEEDED, or a late video) only: the MP4, presigned for 1 hour'),
  }),
  'A job: its request, where it is, and its outcome',
);

/** True only for identical types (optional fields included), unlike mutual assignability. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Fails to compile when JobView (or JobRecord) gains, loses or changes a field the schema does not. */
export type JobViewSchemaMatches = Same<z.output<typeof jobViewSchema>, JobView> extends true ? true : never;
const _jobViewSchemaMatches: JobViewSchemaMatches = true;
void _jobViewSchemaMatches;
