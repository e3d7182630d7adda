import { ApiError, CliError, EXIT, UnreachableError, type ApiIssue } from './errors.js';
import type { OutgoingRequest, RequestSigner } from './sigv4.js';

/** What a request of the API answers, once it is a 2xx. */
export interface ApiAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiClientOptions {
  /** The API's base, e.g. `http://127.0.0.1:3000` or `https://<id>.execute-api.<region>.amazonaws.com/v1`. */
  apiUrl: string;
  /** Signs every request (IAM auth of the deployed API); absent for the local stack. */
  sign?: RequestSigner;
  /** Said after "cannot reach …" when nothing answers, e.g. how to start the local stack. */
  unreachableHint?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Below the base: `/jobs`, `/jobs/<id>`. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** The error body is `{ error: { code, message, issues } }`; API Gateway's own answers are `{ message }`. */
function apiError(status: number, text: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new ApiError(status, undefined, text.trim() || '(empty answer)', []);
  }
  const record = (parsed ?? {}) as { error?: { code?: string; message?: string; issues?: ApiIssue[] }; message?: string; Message?: string };
  const message = record.error?.message ?? record.message ?? record.Message ?? text.trim();
  return new ApiError(status, record.error?.code, message, Array.isArray(record.error?.issues) ? record.error.issues : []);
}

export class ApiClient {
  readonly apiUrl: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ApiClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  jobUrl(jobId: string): string {
    return `${this.apiUrl}/jobs/${encodeURIComponent(jobId)}`;
  }

  async request<T>(request: ApiRequest): Promise<ApiAnswer<T>> {
    const url = new URL(`${this.apiUrl}${request.path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(name, value);
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    let outgoing: OutgoingRequest = {
      method: request.method,
      url,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...request.headers,
      },
      ...(body !== undefined ? { body } : {}),
    };
    if (this.options.sign) outgoing = await this.options.sign(outgoing);
    // fetch sets Host itself, to the value that was signed.
    const { host: _host, ...headers } = outgoing.headers;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, {
        method: request.method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      const hint = this.options.unreachableHint ? `\n${this.options.unreachableHint}` : '';
      throw new UnreachableError(`cannot reach the API: ${request.method} ${url.href} failed (${networkReason(error)})${hint}`, {
        cause: error,
      });
    }
    if (!response.ok) throw apiError(response.status, text);
    let parsed: T;
    try {
      parsed = JSON.parse(text) as T;
    } catch {
      throw new CliError(`the answer to ${request.method} ${url.href} is not JSON: ${text.slice(0, 200)}`, EXIT.UNEXPECTED);
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }
}
