import { isIP } from 'node:net';
import { VideoCopyError, VideoUnavailableError } from '../domain/errors.js';
import { nonPublicReason } from './address-ranges.js';
import { resolveWithSystemDns, type Resolve, type ResolvedAddress } from './dns.js';
import { isLoopbackAddress, isLoopbackHost } from './loopback.js';

/**
 * Server-side request forgery guard for the URLs StoreVideo downloads. The provider hands us a URL
 * and our function fetches it from inside AWS: without a guard, a URL naming 169.254.169.254 (the
 * instance metadata and Lambda credentials endpoints are link-local), a VPC address or localhost
 * would make the function read it and store the answer as a "video" users can download.
 *
 * Rules: only `https`, and every address the host resolves to must be public (no loopback, private,
 * link-local, CGNAT, unspecified, multicast, documentation or other special-purpose range:
 * address-ranges.ts). The addresses are checked again when the connection is made (guarded-agent.ts),
 * so a DNS answer that changes between the check and the connect (rebinding) reaches nothing private,
 * and the address the socket did connect to is checked once more before a byte of the request is
 * written. Redirects are followed by hand, each target checked like the first URL (guarded-get.ts).
 *
 * The local stack's exception (ALLOW_INSECURE_LOOPBACK_VIDEO_URLS, its simulator serves plain http
 * on 127.0.0.1): http and loopback addresses, for loopback hosts only (loopback.ts).
 */

export interface UrlGuardOptions {
  /** The local stack's flag: http and loopback addresses are allowed for loopback hosts. */
  allowInsecureLoopback?: boolean;
  /** Defaults to the system resolver (`dns.lookup` with `all: true`, as connections resolve). */
  resolve?: Resolve;
  /** What a refusal says is refused (default `fetch the video from`; webhooks: `deliver a webhook to`). */
  refusing?: string;
}

const refuse = (host: string, why: string, options: UrlGuardOptions = {}) =>
  new VideoUnavailableError(`refusing to ${options.refusing ?? 'fetch the video from'} ${host}: ${why}`);

/** Throws when an address the host resolved to (or is) may not be connected to under these options. */
export function assertAddressAllowed(hostname: string, address: string, options: UrlGuardOptions): void {
  const plainHost = hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(plainHost) !== 0;
  if (options.allowInsecureLoopback && isLoopbackHost(hostname)) {
    if (isLoopbackAddress(address)) return;
    throw refuse(
      hostname,
      `${literal ? '' : `it resolves to ${address}, `}which is not a loopback address (the local exception covers loopback only)`,
      options,
    );
  }
  const reason = nonPublicReason(address);
  if (reason) throw refuse(hostname, literal ? `${address} is ${reason}` : `it resolves to ${address}, ${reason}`, options);
}

/** Resolves a host name and checks every address; an IP literal is checked as it is. */
export async function checkedAddresses(hostname: string, options: UrlGuardOptions): Promise<ResolvedAddress[]> {
  const plainHost = hostname.replace(/^\[|\]$/g, '');
  const version = isIP(plainHost);
  if (version !== 0) {
    assertAddressAllowed(hostname, plainHost, options);
    return [{ address: plainHost, family: version }];
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await (options.resolve ?? resolveWithSystemDns)(plainHost);
  } catch (error) {
    // A resolver failure may pass (SERVFAIL, a timeout): a copy error, which the workflow retries.
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new VideoCopyError(`could not resolve ${hostname}: ${code}`, { cause: error });
  }
  if (addresses.length === 0) throw refuse(hostname, 'it resolves to no address', options);
  // Every address, not just the first: a connection may use any of them (happy eyeballs, retries).
  for (const { address } of addresses) assertAddressAllowed(hostname, address, options);
  return addresses;
}

export interface CheckedUrl {
  url: URL;
  /** The addresses checked (the literal itself for an IP host). */
  addresses: ResolvedAddress[];
}

/**
 * Checks a URL before it is fetched: https (or, under the local exception, http to a loopback
 * host), and a host whose every address is public. Refusals are VideoUnavailableError (final).
 */
export async function checkVideoUrl(raw: string | URL, options: UrlGuardOptions = {}): Promise<CheckedUrl> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new VideoUnavailableError(`the provider's video URL is not a URL: ${String(raw).slice(0, 200)}`);
  }
  const loopbackException = options.allowInsecureLoopback === true && isLoopbackHost(url.hostname);
  const schemeAllowed = url.protocol === 'https:' || (loopbackException && url.protocol === 'http:');
  if (!schemeAllowed) {
    throw refuse(
      url.host || raw.toString().slice(0, 200),
      `only https URLs are fetched, not ${url.protocol.replace(/:$/, '')}` +
        (url.protocol === 'http:' && options.allowInsecureLoopback ? ' (plain http only for loopback hosts)' : ''),
      options,
    );
  }
  if (!url.hostname) throw refuse(raw.toString().slice(0, 200), 'the URL names no host', options);
  return { url, addresses: await checkedAddresses(url.hostname, options) };
}

/** The guard's refusal inside an error chain (a transport may wrap it as the `cause` of its own error). */
export function refusalIn(error: unknown): VideoUnavailableError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof VideoUnavailableError) return current;
  }
  return undefined;
}
