import type { ProviderCreated, ProviderTaskEnvelope } from '../../runtime/intake/provider-view.js';
import * as z from '../../runtime/domain/zod.js';
import { described } from './job-view-schema.js';

/**
 * The provider's answers as the drop-in routes give them (runtime/intake/provider-view.ts), as
 * schemas for the OpenAPI document (document.ts). The type checks below keep them and the
 * answers the same shape.
 */

const epochSeconds = (description: string) => described(z.number().check(z.int(), z.minimum(0)), description);

export const providerCreatedSchema = described(
  z.object({
    id: described(z.string(), 'the task id: our job id (GET /jobs/{jobId} shows the same job)'),
    task_id: described(z.string(), 'the same as `id`'),
    object: z.literal('video'),
    model: z.string(),
    status: described(z.literal(''), 'empty until the first poll, as the gateway answers'),
    progress: z.literal(0),
    created_at: epochSeconds('when the job was recorded, epoch seconds'),
  }),
  'POST /v1/video/generations: the task was recorded as a job in the admission line (and started at once if a slot was free)',
);

export const providerTaskEnvelopeSchema = described(
  z.object({
    code: z.literal('success'),
    message: z.literal(''),
    data: z.object({
      task_id: z.string(),
      action: z.literal('generate'),
      status: described(
        z.enum(['NOT_START', 'QUEUED', 'IN_PROGRESS', 'SUCCESS', 'FAILURE']),
        'From the job: QUEUED (in the admission line) → NOT_START, SUBMITTED → QUEUED, RUNNING → IN_PROGRESS, SUCCEEDED (or TIMED_OUT with a video stored late) → SUCCESS, FAILED / TIMED_OUT / CANCELLED → FAILURE',
      ),
      progress: described(z.string().check(z.regex(/^\d{1,3}%$/)), 'e.g. "50%": 100% only on SUCCESS, when the video is in our bucket'),
      result_url: described(
        z.string(),
        'SUCCESS: our copy of the MP4 in S3, presigned for 1 hour (it outlives the provider\'s 24 hours; poll again for a fresh one); else ""',
      ),
      fail_reason: described(z.string(), 'FAILURE: `<code>: <message>` of the job\'s error (e.g. `CANCELLED: …`, `DEADLINE_EXCEEDED: …`); else ""'),
      submit_time: epochSeconds('when the job was recorded'),
      start_time: epochSeconds('when it was handed to the provider; 0 before'),
      finish_time: epochSeconds('when it ended (SUCCESS or FAILURE); 0 before'),
    }),
  }),
  "GET /v1/video/generations/{task_id}: the task in the gateway's envelope",
);

/** The gateway's error shape (docs/provider-api.md, Errors). */
export const providerErrorSchema = described(
  z.object({ error: z.object({ message: z.string(), type: z.string(), code: z.string() }) }),
  "The gateway's error: `type` is invalid_request_error, authentication_error, rate_limit_error or server_error; `code` names the error: ours in lower case (validation_error…), API Gateway's own as its response type (invalid_api_key, rate_limit_exceeded, MISSING_AUTHENTICATION_TOKEN…)",
);

/** The gateway's error shape on the task route. */
export const providerTaskErrorSchema = described(
  z.object({ code: z.string(), message: z.string(), data: z.null() }),
  "The gateway's error on the task route: `code` is task_not_exist for an unknown task, or a task another token made",
);

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const _createdMatches: Same<z.output<typeof providerCreatedSchema>, ProviderCreated> = true;
const _taskMatches: Same<z.output<typeof providerTaskEnvelopeSchema>, ProviderTaskEnvelope> = true;
void _createdMatches;
void _taskMatches;
