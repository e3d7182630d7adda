import { PROVIDER_GENERATIONS_PATH } from '../../contracts/drop-in.js';
import { MethodNotAllowedError, NotFoundError, PipelineError, TaskNotExistError, ValidationError } from '../domain/errors.js';
import { parseWith } from '../domain/request-schema.js';
import { idempotentJobId, json, type HttpRequest, type HttpResponse, type IntakeRouteDeps } from './http-exchange.js';
import { readJsonBody } from './http-body.js';
import { parseJobIdSegment, parseNoQuery, singleHeader } from './intake-query.js';
import { acceptJob } from './job-intake.js';
import { providerCreated, providerTask } from './provider-view.js';

/**
 * The provider's own routes, served by the pipeline (README, "Drop-in provider API"): a program
 * written for the provider changes only its base URL. The body is the provider's request exactly
 * (its own contract, no `metadata` or `priority`), and behind it a job is an ordinary job: the same
 * intake, admission line, idempotency and events. Answers and errors are in the provider's shapes.
 */

const GENERATIONS_PATH = /^\/v1\/video\/generations\/?$/;
const TASK_PATH = /^\/v1\/video\/generations\/([^/]+)\/?$/;

export function isProviderPath(path: string): boolean {
  return path === PROVIDER_GENERATIONS_PATH || path.startsWith(`${PROVIDER_GENERATIONS_PATH}/`);
}

/** The gateway's error `type` for our error's HTTP status. */
function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** The gateway's error shapes: `{ error: { message, type, code } }`, or on a task route `{ code, message, data: null }`. */
function gatewayError(onTask: boolean, status: number, code: string, message: string): HttpResponse {
  return json(status, onTask ? { code, message, data: null } : { error: { message, type: errorType(status), code } });
}

async function createTask(request: HttpRequest, deps: IntakeRouteDeps): Promise<HttpResponse> {
  parseNoQuery(request.query);
  const jobId = idempotentJobId(request.caller, singleHeader(request.headers, 'idempotency-key'));
  const body = readJsonBody({ contentType: singleHeader(request.headers, 'content-type'), body: request.body, maxBytes: deps.maxBodyBytes });
  const providerRequest = parseWith(deps.providerSchema, body);
  const { job } = await acceptJob({ body: providerRequest, trigger: { type: 'http', source: request.caller }, ...(jobId ? { jobId } : {}) }, deps);
  return json(200, providerCreated(job, providerRequest.model));
}

async function getTask(segment: string, request: HttpRequest, deps: IntakeRouteDeps): Promise<HttpResponse> {
  let jobId: string;
  try {
    jobId = parseJobIdSegment(segment);
  } catch (error) {
    if (error instanceof ValidationError) throw new TaskNotExistError(`task ${segment} does not exist: ${error.issues[0]?.message ?? 'not a task id'}`);
    throw error;
  }
  parseNoQuery(request.query);
  const job = await deps.jobs.get(jobId);
  // A token sees the tasks it made, as a provider account sees its own: another's task does not exist for it.
  if (!job || (request.tokenId !== undefined && job.trigger.source !== request.caller)) throw new TaskNotExistError(`task ${jobId} does not exist`);
  const resultUrl = job.output ? await deps.downloadUrlFor(job.output) : undefined;
  return json(200, providerTask(job, resultUrl));
}

async function route(request: HttpRequest, deps: IntakeRouteDeps): Promise<HttpResponse> {
  if (GENERATIONS_PATH.test(request.path)) {
    if (request.method !== 'POST') throw new MethodNotAllowedError(`${request.method} is not allowed on ${PROVIDER_GENERATIONS_PATH}; use POST`);
    return createTask(request, deps);
  }
  const task = TASK_PATH.exec(request.path);
  if (task) {
    if (request.method !== 'GET') throw new MethodNotAllowedError(`${request.method} is not allowed on ${PROVIDER_GENERATIONS_PATH}/{task_id}; use GET`);
    return getTask(task[1]!, request, deps);
  }
  throw new NotFoundError(`no route for ${request.method} ${request.path}`);
}

/** Every answer in the provider's shapes; only a bug on our side is a 500. */
export async function routeProviderRequest(request: HttpRequest, deps: IntakeRouteDeps): Promise<HttpResponse> {
  const onTask = TASK_PATH.test(request.path);
  try {
    return await route(request, deps);
  } catch (error) {
    if (error instanceof PipelineError) return gatewayError(onTask, error.httpStatus, error.code.toLowerCase(), error.message);
    deps.onUnexpectedError(error);
    return gatewayError(onTask, 500, 'internal_error', 'an unexpected error occurred; it has been logged');
  }
}
