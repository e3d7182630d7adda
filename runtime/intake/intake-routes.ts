import { createHash } from 'node:crypto';
import { MethodNotAllowedError, NotFoundError, PipelineError, toErrorBody, ValidationError } from '../domain/errors.js';
import { readJsonBody } from './http-body.js';
import { parseJobIdSegment, parseListQuery, parseNoQuery, parseSubmitQuery, singleHeader, type MultiValues } from './intake-query.js';
import type { JobOutput } from '../domain/job.js';
import { cancelJob } from './job-cancel.js';
import { acceptJob, type AcceptedJob, type IntakeDeps } from './job-intake.js';
import { rerunJob } from './job-rerun.js';
import { presentJob } from './job-view.js';
import { OPENAPI_DOCUMENT, OPENAPI_PATH } from './openapi.js';
import type { WorkflowExecutions } from '../aws/workflow-executions.js';

export interface HttpRequest {
  method: string;
  /** The path below the API's base, e.g. `/jobs/123`, percent-encoded as sent (API Gateway REST does not decode it). */
  path: string;
  /** Header names in lower case, each with every value it was sent with. */
  headers: MultiValues;
  /** Each query parameter, decoded, with every value it was given. */
  query: MultiValues;
  /** Text, or the bytes when the gateway passed them base64-encoded. */
  body: string | Uint8Array | undefined;
  /** Where the API is reached from outside, e.g. `https://abc.execute-api.../prod`; links are built on it. */
  baseUrl: string;
  /** Who called: the IAM principal on AWS, else the source address. Recorded as the job's trigger source. */
  caller: string;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface IntakeRouteDeps extends IntakeDeps {
  workflow: WorkflowExecutions;
  maxBodyBytes: number;
  downloadUrlFor: (output: JobOutput) => Promise<string>;
  onUnexpectedError: (error: unknown) => void;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

const JOB_PATH = /^\/jobs\/([^/]+)\/?$/;
const RERUN_PATH = /^\/jobs\/([^/]+)\/rerun\/?$/;
const JOBS_PATH = /^\/jobs\/?$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * An Idempotency-Key names one request of one caller: the job id derives from both, so a retried
 * POST finds the job its first attempt made, whichever instance answers it.
 */
function idempotentJobId(caller: string, key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ValidationError([{ path: 'headers.idempotency-key', message: 'must be 1 to 128 visible ASCII characters' }]);
  }
  return `idem-${createHash('sha256').update(`${caller}\n${key}`).digest('hex').slice(0, 40)}`;
}

async function route(request: HttpRequest, deps: IntakeRouteDeps): Promise<HttpResponse> {
  const jobsUrl = `${request.baseUrl}/jobs`;
  const selfUrl = (jobId: string) => `${jobsUrl}/${encodeURIComponent(jobId)}`;
  if (request.path === OPENAPI_PATH) {
    if (request.method !== 'GET') throw new MethodNotAllowedError(`${request.method} is not allowed on ${OPENAPI_PATH}; use GET`);
    parseNoQuery(request.query);
    return json(200, OPENAPI_DOCUMENT);
  }
  if (JOBS_PATH.test(request.path)) {
    if (request.method === 'GET') {
      const query = parseListQuery(request.query);
      const page = await deps.jobs.list(query);
      const next = page.nextCursor
        ? `${jobsUrl}?${new URLSearchParams({
            ...(query.status ? { status: query.status } : {}),
            ...(query.trigger ? { trigger: query.trigger } : {}),
            limit: String(query.limit),
            cursor: page.nextCursor,
          }).toString()}`
        : undefined;
      return json(200, {
        jobs: page.jobs.map((job) => presentJob(job, selfUrl(job.jobId))),
        ...(page.nextCursor ? { nextCursor: page.nextCursor, links: { next } } : {}),
      });
    }
    if (request.method !== 'POST') throw new MethodNotAllowedError(`${request.method} is not allowed on /jobs; use GET or POST`);
    const { schedule } = parseSubmitQuery(request.query);
    const jobId = idempotentJobId(request.caller, singleHeader(request.headers, 'idempotency-key'));
    const body = readJsonBody({ contentType: singleHeader(request.headers, 'content-type'), body: request.body, maxBytes: deps.maxBodyBytes });
    const accepted = await acceptJob(
      { body, trigger: { type: 'http', source: request.caller }, deferred: schedule === 'batch', ...(jobId ? { jobId } : {}) },
      deps,
    );
    return jobCreated(accepted, selfUrl);
  }
  const rerunMatch = RERUN_PATH.exec(request.path);
  if (rerunMatch) {
    if (request.method !== 'POST') throw new MethodNotAllowedError(`${request.method} is not allowed on /jobs/{jobId}/rerun; use POST`);
    const originalId = parseJobIdSegment(rerunMatch[1]!);
    parseNoQuery(request.query);
    if (request.body !== undefined && request.body.length > 0) {
      throw new ValidationError([{ path: 'body', message: 'POST /jobs/{jobId}/rerun takes no body: the new job runs the stored request' }]);
    }
    const jobId = idempotentJobId(request.caller, singleHeader(request.headers, 'idempotency-key'));
    return jobCreated(await rerunJob(originalId, { caller: request.caller, ...(jobId ? { jobId } : {}) }, deps), selfUrl);
  }
  const jobMatch = JOB_PATH.exec(request.path);
  if (jobMatch) {
    if (request.method !== 'GET' && request.method !== 'DELETE') {
      throw new MethodNotAllowedError(`${request.method} is not allowed on /jobs/{jobId}; use GET or DELETE`);
    }
    const jobId = parseJobIdSegment(jobMatch[1]!);
    parseNoQuery(request.query);
    if (request.method === 'DELETE') {
      return json(200, presentJob(await cancelJob(jobId, request.caller, deps), selfUrl(jobId)));
    }
    const job = await deps.jobs.get(jobId);
    if (!job) throw new NotFoundError(`no job ${jobId}`);
    // A TIMED_OUT job may carry a video too: its task, followed past the deadline, made it late.
    const downloadUrl = job.output ? await deps.downloadUrlFor(job.output) : undefined;
    const ahead = job.inLine && job.lineKey ? await deps.jobs.countAhead(job.lineKey) : undefined;
    return json(200, presentJob(job, selfUrl(jobId), { ...(downloadUrl ? { downloadUrl } : {}), ...(ahead !== undefined ? { ahead } : {}) }));
  }
  throw new NotFoundError(`no route for ${request.method} ${request.path}`);
}

/** 202 for a new job (200 when an Idempotency-Key found it), with where to follow it. */
function jobCreated({ job, replayed }: AcceptedJob, selfUrl: (jobId: string) => string): HttpResponse {
  const self = selfUrl(job.jobId);
  return json(
    replayed ? 200 : 202,
    {
      jobId: job.jobId,
      status: job.status,
      createdAt: job.createdAt,
      links: { self },
      waiting: job.inLine !== undefined,
      ...(job.rerunOf ? { rerunOf: job.rerunOf } : {}),
      ...(job.deferred ? { deferred: true } : {}),
      ...(job.warnings ? { warnings: job.warnings } : {}),
    },
    { location: self },
  );
}

/** Every answer, error or not, is JSON; only a bug in our code is a 500. */
export async function handleIntakeRequest(request: HttpRequest, deps: IntakeRouteDeps): Promise<HttpResponse> {
  try {
    return await route(request, deps);
  } catch (error) {
    if (error instanceof PipelineError) return json(error.httpStatus, toErrorBody(error));
    deps.onUnexpectedError(error);
    return json(500, { error: { code: 'INTERNAL_ERROR', message: 'an unexpected error occurred; it has been logged' } });
  }
}
