import { request as httpRequest, type Agent as HttpAgent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createGuardedAgent, type GuardedAgent } from './guarded-agent.js';
import { checkVideoUrl, refusalIn, type UrlGuardOptions } from './url-guard.js';

/**
 * A POST to a URL a user gave us (a webhook), through the same guard as StoreVideo's downloads
 * (url-guard.ts, guarded-agent.ts): the URL is checked, every connection re-checks the address it
 * reached, and a redirect is followed only to a target that passes the same checks. A receiver that
 * moved is still sent the same signed body (the method is kept, as 307/308 require: a webhook is
 * never turned into a GET).
 */

export interface GuardedPostOptions extends Pick<UrlGuardOptions, 'allowInsecureLoopback' | 'resolve'> {
  headers: Record<string, string>;
  /** The whole exchange, redirects included, within this. */
  timeoutMs: number;
  maxRedirects?: number;
}

/** What came of one POST: the final status, or why there is none. */
export type PostOutcome = { status: number } | { error: string; refused?: true };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const REFUSING = 'deliver a webhook to';

const agents = new Map<string, GuardedAgent>();
function agentFor(protocol: 'http:' | 'https:', options: GuardedPostOptions): HttpAgent {
  if (options.resolve) return createGuardedAgent(protocol, { ...options, refusing: REFUSING });
  const name = `${protocol}${options.allowInsecureLoopback === true}`;
  let agent = agents.get(name);
  if (!agent) {
    agent = createGuardedAgent(protocol, { allowInsecureLoopback: options.allowInsecureLoopback === true, refusing: REFUSING });
    agents.set(name, agent);
  }
  return agent;
}

function postOnce(url: URL, body: string, options: GuardedPostOptions, signal: AbortSignal): Promise<{ status: number; location?: string }> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, {
      method: 'POST',
      agent: agentFor(url.protocol as 'http:' | 'https:', options),
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...options.headers },
      signal,
    });
    request.once('error', reject);
    request.once('response', (response) => {
      // Only the status matters; the answer's body is read and dropped so the socket can close.
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode ?? 0, ...(response.headers.location ? { location: response.headers.location } : {}) }));
      response.once('error', reject);
    });
    request.end(body);
  });
}

export async function guardedPost(raw: string, body: string, options: GuardedPostOptions): Promise<PostOutcome> {
  const guard = { ...options, refusing: REFUSING };
  const signal = AbortSignal.timeout(options.timeoutMs);
  const maxRedirects = options.maxRedirects ?? 5;
  try {
    let { url } = await checkVideoUrl(raw, guard);
    for (let redirects = 0; ; redirects++) {
      const answer = await postOnce(url, body, options, signal);
      if (!REDIRECTS.has(answer.status)) return { status: answer.status };
      if (!answer.location) return { status: answer.status };
      if (redirects >= maxRedirects) return { error: `more than ${maxRedirects} redirects` };
      ({ url } = await checkVideoUrl(new URL(answer.location, url), guard));
    }
  } catch (error) {
    const refusal = refusalIn(error);
    if (refusal) return { error: refusal.message, refused: true };
    if (signal.aborted) return { error: `no answer within ${options.timeoutMs} ms` };
    const code = (error as NodeJS.ErrnoException).code;
    return { error: code ? `${code}: ${(error as Error).message}` : String((error as Error).message ?? error) };
  }
}
