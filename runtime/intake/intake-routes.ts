import { MethodNotAllowedError, NotFoundError, PipelineError, toErrorBody, ValidationError } from '../domain/errors.js';
import { readJsonBody } from './http-body.js';
import { parseJobIdSegment, parseListQuery, parseNoQuery, parseSubmitQuery, singleHeader } from './intake-query.js';
import { cancelJob } from './job-cancel.js';
import { acceptJob, type AcceptedJob } from './job-intake.js';
import { rerunJob } from './job-rerun.js';
import { presentJob } from './job-view.js';
import { OPENAPI_DOCUMENT, OPENAPI_PATH } from './openapi.js';
import { idempotentJobId, json, type HttpRequest, type HttpResponse, type IntakeRouteDeps } from './http-exchange.js';
import { isProviderPath, routeProviderRequest } from './provider-routes.js';

const JOB_PATH = /^\/jobs\/([^/]+)\/?$/;
const RERUN_PATH = /^\/jobs\/([^/]+)\/rerun\/?$/;
const JOBS_PATH = /^\/jobs\/?$/;

async function route(request: HttpRequest, deps: IntakeRouteDeps): Promise<HttpResponse> {
  const jobsUrl = `${request.baseUrl}/jobs`;
  const selfUrl = (jobId: string) => `${jobsUrl}/${encodeURIComponent(jobId)}`;
  // A token opens the provider's routes only (the drop-in API routes nothing else to us; this holds even if it did).
  if (request.tokenId !== undefined) throw new NotFoundError(`no route for ${request.method} ${request.path} with an API token`);
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
  // The provider's routes answer in the provider's shapes, errors included.
  if (isProviderPath(request.path)) return routeProviderRequest(request, deps);
  try {
    return await route(request, deps);
  } catch (error) {
    if (error instanceof PipelineError) return json(error.httpStatus, toErrorBody(error));
    deps.onUnexpectedError(error);
    return json(500, { error: { code: 'INTERNAL_ERROR', message: 'an unexpected error occurred; it has been logged' } });
  }
}
