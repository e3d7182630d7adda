import { request as httpRequest, type Agent as HttpAgent, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { VideoUnavailableError } from '../domain/errors.js';
import { createGuardedAgent, sharedAgent } from './guarded-agent.js';
import { checkVideoUrl, type UrlGuardOptions } from './url-guard.js';

/**
 * The transport is Node's own `http`/`https` (no fetch, no undici): the body arrives as a Node
 * `IncomingMessage`, which StoreVideo copies from without web-stream overhead, and the function's
 * bundle carries no HTTP client of its own.
 */

/** `http.request` / `https.request` in their (url, options) form; injected in tests. */
export type RequestFunction = (url: URL, options: RequestOptions) => ClientRequest;

export interface GuardedGetOptions extends UrlGuardOptions {
  /** Redirects followed, each target checked first (default 5). */
  maxRedirects?: number;
  /** Ends the whole exchange, the body included (an overall deadline). */
  signal?: AbortSignal;
  /** The connection, the answer or the body idle this long is an error (default 30 s). */
  idleTimeoutMs?: number;
  headers?: Record<string, string>;
  /** Defaults to node:http / node:https `request`. */
  request?: RequestFunction;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** An error that says the transfer stalled: retryable (a VideoCopyError at StoreVideo's level). */
export class IdleTimeoutError extends Error {
  override readonly name = 'IdleTimeoutError';
}

function requestOnce(url: URL, options: GuardedGetOptions, agent: HttpAgent): Promise<IncomingMessage> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const send: RequestFunction = options.request ?? (url.protocol === 'https:' ? httpsRequest : httpRequest);
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const request = send(url, {
      method: 'GET',
      agent,
      headers: { 'accept-encoding': 'identity', ...options.headers },
      timeout: idleTimeoutMs,
    });
    let response: IncomingMessage | undefined;
    // The body's reader sees this error itself (not Node's generic "aborted"), before or after the answer.
    const fail = (error: Error) => {
      if (response && !response.destroyed) response.destroy(error);
      request.destroy(error);
    };
    const onAbort = () => fail(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    // The socket timeout covers connect, the wait for the answer and every pause in the body.
    request.on('timeout', () => fail(new IdleTimeoutError(`no data from ${url.host} for ${idleTimeoutMs} ms`)));
    request.once('error', (error) => {
      done();
      reject(error);
    });
    request.once('response', (answer: IncomingMessage) => {
      response = answer;
      answer.once('close', done);
      resolve(answer);
    });
    request.end();
  });
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as Error | undefined;
  return Object.assign(new Error(`the download was aborted${reason?.message ? `: ${reason.message}` : ''}`, { cause: reason }), { name: 'AbortError' });
}

/**
 * A GET of a URL the provider gave us: the URL is checked, the connection re-checks the address
 * it uses, and each redirect is checked before it is followed. Answers the final response (a Node
 * readable, not yet consumed) and its URL; redirect answers are discarded. Refusals are
 * VideoUnavailableError (also when the refusal happens at connect time); other failures are the
 * transport's errors, for the caller to classify.
 */
export async function guardedGet(raw: string | URL, options: GuardedGetOptions = {}): Promise<{ response: IncomingMessage; url: URL }> {
  const maxRedirects = options.maxRedirects ?? 5;
  const agentFor = (protocol: 'http:' | 'https:') =>
    options.resolve ? createGuardedAgent(protocol, options) : sharedAgent(protocol, options.allowInsecureLoopback === true);
  let { url } = await checkVideoUrl(raw, options);
  for (let redirects = 0; ; redirects++) {
    const response = await requestOnce(url, options, agentFor(url.protocol as 'http:' | 'https:'));
    const status = response.statusCode ?? 0;
    if (!REDIRECTS.has(status)) return { response, url };
    response.destroy();
    const location = response.headers.location;
    if (!location) throw new VideoUnavailableError(`${url.host}${url.pathname} answered HTTP ${status} without a Location`);
    if (redirects >= maxRedirects) throw new VideoUnavailableError(`${url.host}${url.pathname}: more than ${maxRedirects} redirects`);
    ({ url } = await checkVideoUrl(new URL(location, url), options));
  }
}
