/**
 * Every call the page makes goes to its own origin: the local HTTP API (`npm start`), or the SigV4
 * proxy of `video-pipeline console`, which wants its token on each call (docs/decisions/008-console-front-end.md).
 */

export interface FieldIssue {
  path: string;
  message: string;
}

/** An answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

/** The header the console proxy checks; the local API ignores it. */
export const TOKEN_HEADER = 'x-console-token';
const TOKEN_KEY = 'video-pipeline-console-token';
const TOKEN_IN_ADDRESS = /^#token=([A-Za-z0-9_-]{16,128})$/;

/**
 * The proxy prints its address with `#token=…`: a fragment never leaves the browser (no request line,
 * no Referer, no server log). The token is kept for this origin, which lives as long as the proxy's
 * port, so a job opened in a new tab still works, and the address bar is cleaned.
 */
export function takeTokenFromAddress(): void {
  const match = TOKEN_IN_ADDRESS.exec(location.hash);
  if (!match) return;
  localStorage.setItem(TOKEN_KEY, match[1]!);
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

export interface CallOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function errorFrom(status: number, text: string): ApiError {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; issues?: FieldIssue[] }; message?: string };
    const issues = Array.isArray(parsed.error?.issues) ? parsed.error.issues : [];
    return new ApiError(status, parsed.error?.code, parsed.error?.message ?? parsed.message ?? `HTTP ${status}`, issues);
  } catch {
    return new ApiError(status, undefined, text.trim().slice(0, 200) || `HTTP ${status}`);
  }
}

export async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, options: CallOptions = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(options.query ?? {})) if (value) query.set(name, value);
  const token = localStorage.getItem(TOKEN_KEY);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (token) headers[TOKEN_HEADER] = token;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${path}${query.size > 0 ? `?${query.toString()}` : ''}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      credentials: 'omit',
      cache: 'no-store',
    });
    text = await response.text();
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError(0, 'UNREACHABLE', `cannot reach the API (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!response.ok) throw errorFrom(response.status, text);
  return JSON.parse(text) as T;
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** One line for a person: the API's message, its code and the HTTP status. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    return error.status === 0 ? error.message : `${error.message} (HTTP ${error.status}${error.code ? ` ${error.code}` : ''})`;
  }
  return error instanceof Error ? error.message : String(error);
}
