import type { PipelineError } from '../domain/errors.js';
import {
  ProviderAuthError,
  ProviderBadResponseError,
  ProviderBusyError,
  ProviderRejectedError,
  ProviderTaskNotFoundError,
  ProviderUnavailableError,
  SubmissionUncertainError,
} from '../domain/errors.js';
import type { ProviderRequest } from '../domain/request-schema.js';
import { readCreatedTaskId, readGatewayError, readTaskSnapshot } from './anyfast/provider-task.js';
import type { ProviderTaskSnapshot } from './task-snapshot.js';

/** The only way our code reaches the provider. */
export interface ProviderClient {
  createTask(request: ProviderRequest): Promise<{ taskId: string }>;
  getTask(taskId: string): Promise<ProviderTaskSnapshot>;
}

export interface ProviderClientOptions {
  baseUrl: string;
  apiKey: () => Promise<string>;
  /** The gateway may hold a create open for over a minute while it relays upstream. */
  createTimeoutMs?: number;
  getTimeoutMs?: number;
  fetch?: typeof fetch;
}

export const CREATE_TIMEOUT_MS = 300_000;
export const GET_TIMEOUT_MS = 30_000;
const GENERATIONS_PATH = '/v1/video/generations';

/** Socket errors raised before a byte of the request could reach the provider. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

function socketErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

function describe(error: unknown): string {
  const code = socketErrorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${message} (${code})` : message;
}

async function readJson(response: Response): Promise<{ text: string; json: unknown }> {
  const text = await response.text();
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    return { text, json: undefined };
  }
}

function failureMessage(action: string, response: Response, json: unknown, text: string): string {
  const { code, message } = readGatewayError(json);
  const detail = message ?? (text.trim().slice(0, 200) || response.statusText);
  return `${action}: HTTP ${response.status}${code ? ` ${code}` : ''}: ${detail}`;
}

export function createProviderClient(options: ProviderClientOptions): ProviderClient {
  const fetchImpl = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');

  /** The key is read before anything is sent: failing to read it never makes a submission uncertain. */
  async function apiKey(action: string): Promise<string> {
    try {
      return await options.apiKey();
    } catch (error) {
      throw new ProviderUnavailableError(`${action}: the provider key could not be read: ${describe(error)}`, { cause: error });
    }
  }

  function send(path: string, init: RequestInit, key: string, timeoutMs: number): Promise<Response> {
    return fetchImpl(`${base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, accept: 'application/json', ...init.headers },
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  async function createTask(request: ProviderRequest): Promise<{ taskId: string }> {
    const key = await apiKey('create task');
    let response: Response;
    try {
      response = await send(
        GENERATIONS_PATH,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) },
        key,
        options.createTimeoutMs ?? CREATE_TIMEOUT_MS,
      );
    } catch (error) {
      if (NOT_SENT_CODES.has(socketErrorCode(error) ?? '')) {
        throw new ProviderUnavailableError(`create task: the provider could not be reached: ${describe(error)}`, { cause: error });
      }
      throw new SubmissionUncertainError(
        `create task: the request was sent but no answer came back (${describe(error)}); the provider may have created a billed task, so it was not retried`,
        { cause: error },
      );
    }
    const { text, json } = await readJson(response).catch((error: unknown) => {
      throw new SubmissionUncertainError(`create task: the answer was cut off (${describe(error)})`, { cause: error });
    });
    if (response.ok) {
      const taskId = readCreatedTaskId(json);
      if (taskId) return { taskId };
      throw new SubmissionUncertainError(
        `create task: HTTP ${response.status} without a task id (${text.slice(0, 200)}); the provider may have created a task`,
      );
    }
    throw classifyCreateFailure(response, json, text);
  }

  async function getTask(taskId: string): Promise<ProviderTaskSnapshot> {
    const key = await apiKey(`get task ${taskId}`);
    let response: Response;
    let body: { text: string; json: unknown };
    try {
      response = await send(`${GENERATIONS_PATH}/${encodeURIComponent(taskId)}`, { method: 'GET' }, key, options.getTimeoutMs ?? GET_TIMEOUT_MS);
      body = await readJson(response);
    } catch (error) {
      throw new ProviderUnavailableError(`get task ${taskId}: ${describe(error)}`, { cause: error });
    }
    if (!response.ok) throw classifyGetFailure(taskId, response, body.json, body.text);
    const snapshot = readTaskSnapshot(body.json, taskId);
    if (!snapshot) {
      throw new ProviderBadResponseError(`get task ${taskId}: unreadable answer: ${body.text.slice(0, 200)}`);
    }
    return snapshot;
  }

  return { createTask, getTask };
}

function classifyCreateFailure(response: Response, json: unknown, text: string): PipelineError {
  const message = failureMessage('create task', response, json, text);
  const status = response.status;
  if (status === 429 || isConcurrencyLimit(json)) return new ProviderBusyError(message);
  if (status === 401 || status === 403) return new ProviderAuthError(message);
  // A 503 with no body comes from the gateway refusing work; one with a body may have been relayed.
  if (status === 503 && text.trim().length === 0) return new ProviderUnavailableError(message);
  if (status >= 500) {
    return new SubmissionUncertainError(`${message}; the provider may have created a billed task, so it was not retried`);
  }
  return new ProviderRejectedError(message);
}

/**
 * A gateway may say "too many unfinished tasks" with a status other than 429; its error code or type
 * says so (`{ error: { type, code } }`). Such a create made no task, like a 429.
 */
function isConcurrencyLimit(json: unknown): boolean {
  const error = (json as { error?: { type?: unknown; code?: unknown } } | null)?.error;
  return [error?.type, error?.code].some((value) => typeof value === 'string' && /concurren|rate.?limit|too.?many/i.test(value));
}

function classifyGetFailure(taskId: string, response: Response, json: unknown, text: string): PipelineError {
  const message = failureMessage(`get task ${taskId}`, response, json, text);
  const status = response.status;
  if (status === 401 || status === 403) return new ProviderAuthError(message);
  if (status === 429 || status >= 500) return new ProviderUnavailableError(message);
  // The task routes answer 400 or 404 (code task_not_exist) for a task they do not know.
  if (status === 400 || status === 404) return new ProviderTaskNotFoundError(message);
  return new ProviderRejectedError(message);
}
