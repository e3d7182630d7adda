import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction, type Socket } from 'node:net';
import { VideoCopyError, VideoUnavailableError } from '../domain/errors.js';

/**
 * Server-side request forgery guard for the URLs StoreVideo downloads. The provider hands us a URL
 * and our function fetches it from inside AWS: without a guard, a URL naming 169.254.169.254 (the
 * instance metadata and Lambda credentials endpoints are link-local), a VPC address or localhost
 * would make the function read it and store the answer as a "video" users can download.
 *
 * Rules: only `https`, and every address the host resolves to must be public (no loopback, private,
 * link-local, CGNAT, unspecified, multicast, documentation or other special-purpose range). The
 * addresses are checked again when the connection is made (the `lookup` of the agent), so a DNS
 * answer that changes between the check and the connect (rebinding) reaches nothing private, and
 * the address the socket did connect to is checked once more before a byte of the request is
 * written. Redirects are followed by hand, each target checked like the first URL, up to a limit.
 *
 * The transport is Node's own `http`/`https` (no fetch, no undici): the body arrives as a Node
 * `IncomingMessage`, which StoreVideo copies from without web-stream overhead, and the function's
 * bundle carries no HTTP client of its own.
 *
 * The local stack's exception (ALLOW_INSECURE_LOOPBACK_VIDEO_URLS, its simulator serves plain http
 * on 127.0.0.1): http and loopback addresses, for loopback hosts only (`localhost`, 127.0.0.0/8, ::1).
 */

export interface ResolvedAddress {
  address: string;
  /** 4 or 6 */
  family: number;
}

/** Every address a host name resolves to (what the connection may use). Injected in tests. */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

export interface UrlGuardOptions {
  /** The local stack's flag: http and loopback addresses are allowed for loopback hosts. */
  allowInsecureLoopback?: boolean;
  /** Defaults to the system resolver (`dns.lookup` with `all: true`, as connections resolve). */
  resolve?: Resolve;
}

export const resolveWithSystemDns: Resolve = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses: LookupAddress[]) => (error ? reject(error) : resolve(addresses)));
  });

interface Range {
  subnet: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  what: string;
}

const LOOPBACK = 'a loopback address';
const PRIVATE = 'a private address';
const LINK_LOCAL = 'a link-local address (the range of the 169.254.169.254 metadata and credentials endpoints)';

/** Special-purpose ranges (IANA registries), most specific first so the reason names the narrowest. */
const NON_PUBLIC: Range[] = [
  { subnet: '0.0.0.0', prefix: 8, family: 'ipv4', what: 'an unspecified ("this network") address' },
  { subnet: '10.0.0.0', prefix: 8, family: 'ipv4', what: PRIVATE },
  { subnet: '100.64.0.0', prefix: 10, family: 'ipv4', what: 'a carrier-grade NAT (shared) address' },
  { subnet: '127.0.0.0', prefix: 8, family: 'ipv4', what: LOOPBACK },
  { subnet: '169.254.0.0', prefix: 16, family: 'ipv4', what: LINK_LOCAL },
  { subnet: '172.16.0.0', prefix: 12, family: 'ipv4', what: PRIVATE },
  { subnet: '192.0.0.0', prefix: 24, family: 'ipv4', what: 'an IETF protocol assignment address' },
  { subnet: '192.0.2.0', prefix: 24, family: 'ipv4', what: 'a documentation address' },
  { subnet: '192.88.99.0', prefix: 24, family: 'ipv4', what: 'a 6to4 relay anycast address' },
  { subnet: '192.168.0.0', prefix: 16, family: 'ipv4', what: PRIVATE },
  { subnet: '198.18.0.0', prefix: 15, family: 'ipv4', what: 'a benchmarking address' },
  { subnet: '198.51.100.0', prefix: 24, family: 'ipv4', what: 'a documentation address' },
  { subnet: '203.0.113.0', prefix: 24, family: 'ipv4', what: 'a documentation address' },
  { subnet: '224.0.0.0', prefix: 4, family: 'ipv4', what: 'a multicast address' },
  { subnet: '240.0.0.0', prefix: 4, family: 'ipv4', what: 'a reserved (or broadcast) address' },
  { subnet: '::', prefix: 128, family: 'ipv6', what: 'the unspecified address' },
  { subnet: '::1', prefix: 128, family: 'ipv6', what: LOOPBACK },
  { subnet: '::', prefix: 96, family: 'ipv6', what: 'an IPv4-compatible (deprecated) address' },
  { subnet: '64:ff9b:1::', prefix: 48, family: 'ipv6', what: 'a local-use NAT64 address' },
  { subnet: '100::', prefix: 64, family: 'ipv6', what: 'a discard-only address' },
  { subnet: '2001::', prefix: 23, family: 'ipv6', what: 'an IETF protocol assignment address (Teredo included)' },
  { subnet: '2001:db8::', prefix: 32, family: 'ipv6', what: 'a documentation address' },
  { subnet: '2002::', prefix: 16, family: 'ipv6', what: 'a 6to4 address (it can tunnel to any IPv4 address)' },
  { subnet: '3fff::', prefix: 20, family: 'ipv6', what: 'a documentation address' },
  { subnet: 'fc00::', prefix: 7, family: 'ipv6', what: 'a unique local (private) address' },
  { subnet: 'fe80::', prefix: 10, family: 'ipv6', what: 'a link-local address' },
  { subnet: 'fec0::', prefix: 10, family: 'ipv6', what: 'a site-local (deprecated) address' },
  { subnet: 'ff00::', prefix: 8, family: 'ipv6', what: 'a multicast address' },
];
const RULES = NON_PUBLIC.map((range) => {
  const list = new BlockList();
  list.addSubnet(range.subnet, range.prefix, range.family);
  return { ...range, list };
});
/** IPv6 unicast outside 2000::/3 has no public use (the ranges above name the common ones). */
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (zone removed), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const plain = address.replace(/%.*$/, '');
  if (isIP(plain) !== 6) return undefined;
  let text = plain;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address an IPv6 address carries in its last 32 bits under a prefix that reaches it. */
function embeddedIpv4(groups: number[]): { ipv4: string; how: string } | undefined {
  const last = `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  // ::ffff:a.b.c.d is a.b.c.d itself to a dual-stack socket.
  if (zeros(0, 5) && groups[5] === 0xffff) return { ipv4: last, how: 'IPv4-mapped' };
  // 64:ff9b::a.b.c.d is translated to a.b.c.d by a NAT64 gateway.
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return { ipv4: last, how: 'NAT64' };
  return undefined;
}

/**
 * Why an IP address is not a public one (`"a private address (10.0.0.0/8)"`), or undefined when it is.
 * Anything that is not an IP address at all is refused too.
 */
export function nonPublicReason(address: string): string | undefined {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(plain);
  if (version === 0) return 'not an IP address';
  if (version === 6) {
    const groups = ipv6Groups(plain)!;
    const embedded = embeddedIpv4(groups);
    if (embedded) {
      const reason = nonPublicReason(embedded.ipv4);
      return reason ? `${embedded.how} ${embedded.ipv4}: ${reason}` : undefined;
    }
  }
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const rule = RULES.find((candidate) => candidate.family === family && candidate.list.check(plain, family));
  if (rule) return `${rule.what} (${rule.subnet}/${rule.prefix})`;
  if (family === 'ipv6' && !GLOBAL_UNICAST.check(plain, 'ipv6')) return 'not a global unicast address (outside 2000::/3)';
  return undefined;
}

const LOOPBACK_RANGES = new BlockList();
LOOPBACK_RANGES.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK_RANGES.addAddress('::1', 'ipv6');

export function isLoopbackAddress(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(plain);
  if (version === 0) return false;
  if (version === 6) {
    const embedded = embeddedIpv4(ipv6Groups(plain)!);
    if (embedded?.how === 'IPv4-mapped') return isLoopbackAddress(embedded.ipv4);
  }
  return LOOPBACK_RANGES.check(plain, version === 4 ? 'ipv4' : 'ipv6');
}

/** A host the local stack's exception applies to: `localhost` or a loopback IP literal. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || isLoopbackAddress(host);
}

const refuse = (host: string, why: string) => new VideoUnavailableError(`refusing to fetch the video from ${host}: ${why}`);

/** Throws when an address the host resolved to (or is) may not be connected to under these options. */
function assertAddressAllowed(hostname: string, address: string, options: UrlGuardOptions): void {
  const plainHost = hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(plainHost) !== 0;
  if (options.allowInsecureLoopback && isLoopbackHost(hostname)) {
    if (isLoopbackAddress(address)) return;
    throw refuse(hostname, `${literal ? '' : `it resolves to ${address}, `}which is not a loopback address (the local exception covers loopback only)`);
  }
  const reason = nonPublicReason(address);
  if (reason) throw refuse(hostname, literal ? `${address} is ${reason}` : `it resolves to ${address}, ${reason}`);
}

/** Resolves a host name and checks every address; an IP literal is checked as it is. */
async function checkedAddresses(hostname: string, options: UrlGuardOptions): Promise<ResolvedAddress[]> {
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
  if (addresses.length === 0) throw refuse(hostname, 'it resolves to no address');
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
    );
  }
  if (!url.hostname) throw refuse(raw.toString().slice(0, 200), 'the URL names no host');
  return { url, addresses: await checkedAddresses(url.hostname, options) };
}

/**
 * A `net.connect` lookup that resolves like the system one and refuses, as the connection's error,
 * any address the guard would refuse. Used by the agent, so the address connected to is the
 * address checked, whatever DNS answered a moment before.
 */
export function guardedLookup(options: UrlGuardOptions = {}): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    checkedAddresses(hostname, options).then(
      (addresses) => {
        const family = lookupOptions.family === 4 || lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 6 || lookupOptions.family === 'IPv6' ? 6 : 0;
        const usable = family ? addresses.filter((address) => address.family === family) : addresses;
        if (usable.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`${hostname} has no IPv${family} address`);
          error.code = 'ENOTFOUND';
          callback(error, '', 0);
        } else if (lookupOptions.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

type GuardedAgent = HttpAgent & { readonly guarded: true };

/**
 * An `http` or `https` agent whose every connection resolves through the guarded lookup and whose
 * socket, once connected, has its peer address checked before anything is written to it (this also
 * covers IP-literal hosts, which `net.connect` does not look up). No keep-alive: StoreVideo makes one
 * long download per invocation, and a pooled socket frozen with the Lambda environment is a liability.
 */
export function createGuardedAgent(protocol: 'http:' | 'https:', options: UrlGuardOptions = {}): GuardedAgent {
  const lookup = guardedLookup(options);
  const agent = protocol === 'https:' ? new HttpsAgent({ keepAlive: false, lookup }) : new HttpAgent({ keepAlive: false, lookup });
  // Agent#createConnection is net/tls.createConnection(options, callback); wrap it so the check is the
  // socket's first 'connect' listener, ahead of the request's own pending write.
  type CreateConnection = (connectOptions: { host?: string; lookup?: LookupFunction }, ...rest: unknown[]) => Socket;
  const connectable = agent as unknown as { createConnection: CreateConnection };
  const base = connectable.createConnection.bind(agent);
  connectable.createConnection = (connectOptions, ...rest) => {
    const socket = base({ ...connectOptions, lookup }, ...rest);
    const host = connectOptions.host ?? '';
    socket.once('connect', () => {
      try {
        assertAddressAllowed(host, socket.remoteAddress ?? '', options);
      } catch (refusal) {
        socket.destroy(refusal as Error);
      }
    });
    return socket;
  };
  return Object.assign(agent, { guarded: true as const });
}

const sharedAgents = new Map<string, GuardedAgent>();
/** One agent per scheme and setting for the life of the process (the system resolver). */
function sharedAgent(protocol: 'http:' | 'https:', allowInsecureLoopback: boolean): GuardedAgent {
  const name = `${protocol}${allowInsecureLoopback}`;
  let agent = sharedAgents.get(name);
  if (!agent) {
    agent = createGuardedAgent(protocol, { allowInsecureLoopback });
    sharedAgents.set(name, agent);
  }
  return agent;
}

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

/** The guard's refusal inside an error chain (a transport may wrap it as the `cause` of its own error). */
export function refusalIn(error: unknown): VideoUnavailableError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof VideoUnavailableError) return current;
  }
  return undefined;
}
