import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VideoCopyError, VideoUnavailableError } from '../../runtime/domain/errors.js';
import { storeVideo } from '../../runtime/workflow/store-video.js';
import { nonPublicReason } from '../../runtime/net/address-ranges.js';
import type { Resolve, ResolvedAddress } from '../../runtime/net/dns.js';
import { createGuardedAgent, guardedLookup } from '../../runtime/net/guarded-agent.js';
import { guardedGet, IdleTimeoutError } from '../../runtime/net/guarded-get.js';
import { checkVideoUrl, refusalIn } from '../../runtime/net/url-guard.js';

/** A resolver from a fixed table: no DNS in these tests. Unknown names fail like NXDOMAIN. */
function resolver(table: Record<string, string[]>): Resolve & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}
/** For IP literals: the guard must decide without resolving anything. */
const noDns: Resolve = async (hostname) => {
  throw new Error(`the resolver was asked about ${hostname}`);
};

async function refusalOf(promise: Promise<unknown>): Promise<VideoUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'expected a refusal').toBeInstanceOf(VideoUnavailableError);
  const refusal = error as VideoUnavailableError;
  // Final: the workflow does not retry VIDEO_UNAVAILABLE (FINAL_COPY_ERRORS).
  expect(refusal.code).toBe('VIDEO_UNAVAILABLE');
  expect(refusal.retryable).toBe(false);
  return refusal;
}

describe('IP literal hosts: every non-public range is refused, without any DNS lookup', () => {
  const blocked: Array<[url: string, reason: RegExp]> = [
    ['https://127.0.0.1/v.mp4', /loopback.*127\.0\.0\.0\/8/],
    ['https://127.8.9.10/v.mp4', /loopback/],
    ['https://10.0.0.1/v.mp4', /private.*10\.0\.0\.0\/8/],
    ['https://10.255.255.255/v.mp4', /private/],
    ['https://172.16.0.1/v.mp4', /private.*172\.16\.0\.0\/12/],
    ['https://172.31.255.254/v.mp4', /private/],
    ['https://192.168.1.20/v.mp4', /private.*192\.168\.0\.0\/16/],
    ['https://169.254.169.254/latest/meta-data/', /link-local.*metadata.*169\.254\.0\.0\/16/],
    ['https://169.254.1.1/v.mp4', /link-local/],
    ['https://100.64.0.1/v.mp4', /carrier-grade NAT.*100\.64\.0\.0\/10/],
    ['https://100.127.255.254/v.mp4', /carrier-grade NAT/],
    ['https://0.0.0.0/v.mp4', /unspecified/],
    ['https://0.1.2.3/v.mp4', /unspecified/],
    ['https://224.0.0.1/v.mp4', /multicast/],
    ['https://239.255.255.250/v.mp4', /multicast/],
    ['https://240.0.0.1/v.mp4', /reserved/],
    ['https://255.255.255.255/v.mp4', /reserved \(or broadcast\)/],
    ['https://192.0.0.8/v.mp4', /IETF protocol assignment/],
    ['https://192.0.2.10/v.mp4', /documentation/],
    ['https://198.51.100.10/v.mp4', /documentation/],
    ['https://203.0.113.10/v.mp4', /documentation/],
    ['https://198.18.0.1/v.mp4', /benchmarking/],
    ['https://[::1]/v.mp4', /loopback.*::1\/128/],
    ['https://[::]/v.mp4', /unspecified/],
    ['https://[fc00::1]/v.mp4', /unique local.*fc00::\/7/],
    ['https://[fd12:3456:789a::1]/v.mp4', /unique local/],
    ['https://[fe80::1]/v.mp4', /link-local.*fe80::\/10/],
    ['https://[febf:ffff::1]/v.mp4', /link-local/],
    ['https://[fec0::1]/v.mp4', /site-local/],
    ['https://[ff02::1]/v.mp4', /multicast/],
    ['https://[2001:db8::1]/v.mp4', /documentation/],
    ['https://[2001::1]/v.mp4', /Teredo/],
    ['https://[2002:a00:1::1]/v.mp4', /6to4/],
    ['https://[100::1]/v.mp4', /discard-only/],
    ['https://[64:ff9b:1::1]/v.mp4', /local-use NAT64/],
    ['https://[::a00:1]/v.mp4', /IPv4-compatible/],
    ['https://[4000::1]/v.mp4', /not a global unicast address/],
    // IPv4-mapped IPv6: the embedded IPv4 address is what a dual-stack socket reaches.
    ['https://[::ffff:10.0.0.1]/v.mp4', /IPv4-mapped 10\.0\.0\.1: a private address/],
    ['https://[::ffff:169.254.169.254]/v.mp4', /IPv4-mapped 169\.254\.169\.254: a link-local/],
    ['https://[::ffff:127.0.0.1]/v.mp4', /IPv4-mapped 127\.0\.0\.1: a loopback/],
    ['https://[::ffff:a00:1]/v.mp4', /IPv4-mapped 10\.0\.0\.1/],
    // NAT64 (64:ff9b::/96) carries the IPv4 address a gateway translates it to.
    ['https://[64:ff9b::a9fe:a9fe]/v.mp4', /NAT64 169\.254\.169\.254: a link-local/],
    // Other spellings of an IPv4 address, which the URL parser normalizes before the guard sees them.
    ['https://2130706433/v.mp4', /127\.0\.0\.1 is a loopback/],
    ['https://0x7f.1/v.mp4', /127\.0\.0\.1 is a loopback/],
    ['https://0251.0376.0251.0376/v.mp4', /169\.254\.169\.254 is a link-local/],
  ];

  it.each(blocked)('%s is refused', async (url, reason) => {
    const refusal = await refusalOf(checkVideoUrl(url, { resolve: noDns }));
    expect(refusal.message).toMatch(/^refusing to fetch the video from \S+: /);
    expect(refusal.message).toMatch(reason);
  });

  it('the refusal names the host and why', async () => {
    const refusal = await refusalOf(checkVideoUrl('https://169.254.169.254/latest/api/token', { resolve: noDns }));
    expect(refusal.message).toBe(
      'refusing to fetch the video from 169.254.169.254: 169.254.169.254 is a link-local address ' +
        '(the range of the 169.254.169.254 metadata and credentials endpoints) (169.254.0.0/16)',
    );
  });

  const allowed = [
    'https://93.184.216.34/v.mp4',
    'https://8.8.8.8/v.mp4',
    'https://11.0.0.1/v.mp4',
    'https://172.15.255.255/v.mp4',
    'https://172.32.0.1/v.mp4',
    'https://100.63.255.255/v.mp4',
    'https://100.128.0.1/v.mp4',
    'https://169.253.255.255/v.mp4',
    'https://192.169.0.1/v.mp4',
    'https://223.255.255.254/v.mp4',
    'https://[2606:4700:4700::1111]/v.mp4',
    'https://[2a00:1450:4001:80b::200e]/v.mp4',
    'https://[::ffff:8.8.8.8]/v.mp4',
    'https://[64:ff9b::808:808]/v.mp4',
  ];
  it.each(allowed)('%s (public) is allowed', async (url) => {
    const checked = await checkVideoUrl(url, { resolve: noDns });
    expect(checked.url.href).toBe(new URL(url).href);
    expect(checked.addresses).toHaveLength(1);
  });

  it('nonPublicReason answers undefined for public addresses and refuses what is not an address', () => {
    expect(nonPublicReason('93.184.216.34')).toBeUndefined();
    expect(nonPublicReason('2606:4700:4700::1111')).toBeUndefined();
    expect(nonPublicReason('fe80::1%eth0')).toMatch(/link-local/);
    expect(nonPublicReason('[::1]')).toMatch(/loopback/);
    expect(nonPublicReason('example.com')).toBe('not an IP address');
  });
});

describe('schemes', () => {
  const publicHost = resolver({ 'cdn.example.com': ['93.184.216.34'] });

  it('https to a public host is allowed', async () => {
    const checked = await checkVideoUrl('https://cdn.example.com/v.mp4', { resolve: publicHost });
    expect(checked.addresses).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it.each(['http://cdn.example.com/v.mp4', 'ftp://cdn.example.com/v.mp4', 'file:///etc/passwd', 'data:video/mp4;base64,AAAA', 'ws://cdn.example.com/v'])(
    '%s is refused: only https',
    async (url) => {
      const refusal = await refusalOf(checkVideoUrl(url, { resolve: publicHost }));
      expect(refusal.message).toMatch(/only https URLs are fetched, not (http|ftp|file|data|ws)$/);
    },
  );

  it('http stays refused for a public host under the local exception, which covers loopback hosts only', async () => {
    const refusal = await refusalOf(checkVideoUrl('http://cdn.example.com/v.mp4', { resolve: publicHost, allowInsecureLoopback: true }));
    expect(refusal.message).toBe(
      'refusing to fetch the video from cdn.example.com: only https URLs are fetched, not http (plain http only for loopback hosts)',
    );
  });

  it('a URL that does not parse is refused', async () => {
    const refusal = await refusalOf(checkVideoUrl('not a url', { resolve: noDns }));
    expect(refusal.message).toMatch(/not a URL/);
  });
});

describe('the local stack exception (ALLOW_INSECURE_LOOPBACK_VIDEO_URLS)', () => {
  const local = resolver({ localhost: ['127.0.0.1', '::1'], 'rebound.example': ['127.0.0.1'], 'odd-hosts-file': ['10.0.0.5'] });

  it.each(['http://127.0.0.1:4010/videos/t.mp4', 'http://localhost:4010/videos/t.mp4', 'http://[::1]:4010/videos/t.mp4', 'https://127.0.0.1/v.mp4'])(
    '%s is allowed with the flag',
    async (url) => {
      await expect(checkVideoUrl(url, { resolve: local, allowInsecureLoopback: true })).resolves.toMatchObject({ url: new URL(url) });
    },
  );

  it.each(['http://127.0.0.1:4010/videos/t.mp4', 'http://localhost:4010/videos/t.mp4', 'https://127.0.0.1/v.mp4', 'https://localhost/v.mp4'])(
    '%s is refused without it',
    async (url) => {
      await refusalOf(checkVideoUrl(url, { resolve: local }));
    },
  );

  it('covers loopback hosts, not other hosts that resolve to loopback', async () => {
    const refusal = await refusalOf(checkVideoUrl('https://rebound.example/v.mp4', { resolve: local, allowInsecureLoopback: true }));
    expect(refusal.message).toBe('refusing to fetch the video from rebound.example: it resolves to 127.0.0.1, a loopback address (127.0.0.0/8)');
    await refusalOf(checkVideoUrl('http://rebound.example/v.mp4', { resolve: local, allowInsecureLoopback: true }));
  });

  it('opens no other private range', async () => {
    for (const url of ['http://10.0.0.1/v.mp4', 'https://10.0.0.1/v.mp4', 'https://169.254.169.254/', 'http://[fd00::1]/v.mp4']) {
      await refusalOf(checkVideoUrl(url, { resolve: noDns, allowInsecureLoopback: true }));
    }
  });

  it('a localhost that resolves elsewhere is refused', async () => {
    const odd = resolver({ localhost: ['10.0.0.5'] });
    const refusal = await refusalOf(checkVideoUrl('http://localhost:4010/v.mp4', { resolve: odd, allowInsecureLoopback: true }));
    expect(refusal.message).toMatch(/it resolves to 10\.0\.0\.5, which is not a loopback address/);
  });
});

describe('host names: every address they resolve to must be public', () => {
  it('a host resolving to a private address is refused, naming the host and the address', async () => {
    const resolve = resolver({ 'videos.internal.example': ['10.1.2.3'] });
    const refusal = await refusalOf(checkVideoUrl('https://videos.internal.example/v.mp4', { resolve }));
    expect(refusal.message).toBe('refusing to fetch the video from videos.internal.example: it resolves to 10.1.2.3, a private address (10.0.0.0/8)');
    expect(resolve.calls).toEqual(['videos.internal.example']);
  });

  it('one non-public address among public ones is enough to refuse', async () => {
    const resolve = resolver({ 'mixed.example': ['93.184.216.34', '2606:4700::6810:84e5', '169.254.169.254'] });
    const refusal = await refusalOf(checkVideoUrl('https://mixed.example/v.mp4', { resolve }));
    expect(refusal.message).toMatch(/it resolves to 169\.254\.169\.254, a link-local/);
  });

  it('a host resolving to an IPv4-mapped private address is refused', async () => {
    const resolve = resolver({ 'mapped.example': ['::ffff:10.0.0.1'] });
    const refusal = await refusalOf(checkVideoUrl('https://mapped.example/v.mp4', { resolve }));
    expect(refusal.message).toMatch(/it resolves to ::ffff:10\.0\.0\.1, IPv4-mapped 10\.0\.0\.1: a private address/);
  });

  it('a host resolving to public addresses only is allowed, with every address checked', async () => {
    const resolve = resolver({ 'cdn.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] });
    const checked = await checkVideoUrl('https://cdn.example.com/v.mp4', { resolve });
    expect(checked.addresses.map((address) => address.address)).toEqual(['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']);
  });

  it('a resolver failure is a copy error the workflow retries, not a refusal', async () => {
    const error = await checkVideoUrl('https://nowhere.example/v.mp4', { resolve: resolver({}) }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VideoCopyError);
    expect((error as VideoCopyError).retryable).toBe(true);
    expect((error as Error).message).toBe('could not resolve nowhere.example: ENOTFOUND');
  });
});

describe('connect time: the address connected to is the address checked', () => {
  /** A name that answers public first, then loopback: the DNS rebinding pattern. */
  function rebinding(): Resolve & { calls: string[] } {
    const calls: string[] = [];
    const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
      calls.push(hostname);
      return [{ address: calls.length === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    };
    return Object.assign(resolve, { calls });
  }

  it('the guarded lookup refuses a host that now resolves to loopback', async () => {
    const resolve = rebinding();
    await checkVideoUrl('https://rebind.example/v.mp4', { resolve });
    const lookup = guardedLookup({ resolve });
    const error = await new Promise<unknown>((done) => lookup('rebind.example', { all: true }, (caught) => done(caught)));
    expect(error).toBeInstanceOf(VideoUnavailableError);
    expect((error as Error).message).toBe('refusing to fetch the video from rebind.example: it resolves to 127.0.0.1, a loopback address (127.0.0.0/8)');
  });

  it('the guarded lookup answers in both of net.connect’s forms', async () => {
    const lookup = guardedLookup({ resolve: resolver({ 'cdn.example.com': ['93.184.216.34', '2606:4700::1'] }) });
    const all = await new Promise((done) => lookup('cdn.example.com', { all: true }, (error, addresses) => done([error, addresses])));
    expect(all).toEqual([
      null,
      [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:4700::1', family: 6 },
      ],
    ]);
    const one = await new Promise((done) => lookup('cdn.example.com', { family: 6 }, (error, address, family) => done([error, address, family])));
    expect(one).toEqual([null, '2606:4700::1', 6]);
  });

  it('guardedGet: a name rebound between the check and the connect is refused by the agent', async () => {
    const resolve = rebinding();
    const error = await guardedGet('https://rebind.example/v.mp4', { resolve }).catch((caught: unknown) => caught);
    expect(refusalIn(error)?.message).toMatch(/rebind\.example: it resolves to 127\.0\.0\.1/);
    expect(resolve.calls).toEqual(['rebind.example', 'rebind.example']);
  });
});

describe('guardedGet against a local server (the local exception, loopback only)', () => {
  let server: Server;
  let base: string;
  const served: string[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      served.push(request.url ?? '');
      const redirects: Record<string, string> = {
        '/to-metadata': 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        '/to-ok': '/ok',
        '/to-localhost': `http://localhost:${(server.address() as AddressInfo).port}/ok`,
        '/loop': '/loop',
      };
      const location = redirects[request.url ?? ''];
      if (location) response.writeHead(302, { location }).end();
      else response.writeHead(200, { 'content-type': 'video/mp4' }).end('ok');
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((closed) => server.close(() => closed())));

  const local = { allowInsecureLoopback: true, resolve: resolver({ localhost: ['127.0.0.1'] }) };
  const text = async (response: IncomingMessage) => {
    let body = '';
    for await (const chunk of response) body += String(chunk);
    return body;
  };

  it('fetches from the loopback simulator with the flag', async () => {
    const { response, url } = await guardedGet(`${base}/video.mp4`, local);
    expect(response.statusCode).toBe(200);
    expect(await text(response)).toBe('ok');
    expect(url.pathname).toBe('/video.mp4');
  });

  it('follows a redirect after checking its target', async () => {
    const { response, url } = await guardedGet(`${base}/to-ok`, local);
    expect([response.statusCode, url.pathname]).toEqual([200, '/ok']);
    response.resume();
    const viaName = await guardedGet(`${base}/to-localhost`, local);
    expect([viaName.response.statusCode, viaName.url.host]).toEqual([200, `localhost:${new URL(base).port}`]);
    viaName.response.resume();
  });

  it('refuses a redirect to the metadata address without requesting it', async () => {
    const refusal = await refusalOf(guardedGet(`${base}/to-metadata`, local));
    expect(refusal.message).toMatch(/^refusing to fetch the video from 169\.254\.169\.254: only https URLs are fetched/);
    expect(served).not.toContain('/latest/meta-data/iam/security-credentials/');
  });

  it('follows no redirect beyond maxRedirects', async () => {
    const refusal = await refusalOf(guardedGet(`${base}/to-ok`, { ...local, maxRedirects: 0 }));
    expect(refusal.message).toMatch(/127\.0\.0\.1:\d+\/to-ok: more than 0 redirects/);
  });

  it('stops a redirect loop', async () => {
    const refusal = await refusalOf(guardedGet(`${base}/loop`, local));
    expect(refusal.message).toMatch(/more than 5 redirects/);
    expect(served.filter((path) => path === '/loop')).toHaveLength(6);
  });

  it('refuses the same server without the flag, before any request', async () => {
    const before = served.length;
    await refusalOf(guardedGet(`${base}/video.mp4`, { resolve: noDns }));
    expect(served.length).toBe(before);
  });

  it('the agent checks the address it connected to, before writing the request (IP literals are never looked up)', async () => {
    // Straight through the agent, past checkVideoUrl: the connect-time check alone must refuse.
    const before = served.length;
    const agent = createGuardedAgent('http:', { resolve: noDns });
    const error = await new Promise<unknown>((done) => {
      const request = httpRequest(`${base}/video.mp4`, { agent }, () => done(new Error('answered')));
      request.on('error', done);
      request.end();
    });
    expect(refusalIn(error)?.message).toBe('refusing to fetch the video from 127.0.0.1: 127.0.0.1 is a loopback address (127.0.0.0/8)');
    await new Promise((settle) => setTimeout(settle, 50));
    expect(served.length).toBe(before);
  });
});

describe('guardedGet timeouts', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/stall-headers') return; // never answers
      response.writeHead(200, { 'content-length': 10 });
      response.write('12345'); // then stalls
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((closed) => server.close(() => closed()));
  });
  const local = { allowInsecureLoopback: true, resolve: noDns, idleTimeoutMs: 200 };

  it('a server that never answers is given up on after the idle timeout', async () => {
    const error = await guardedGet(`${base}/stall-headers`, local).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdleTimeoutError);
    expect((error as Error).message).toMatch(/no data from 127\.0\.0\.1:\d+ for 200 ms/);
  });

  it('a body that stalls midway ends in an error, not a hang', async () => {
    const { response } = await guardedGet(`${base}/stall-body`, local);
    const error = await (async () => {
      for await (const _chunk of response) {
        // the first five bytes, then nothing
      }
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdleTimeoutError);
  });

  it('the overall deadline (signal) ends a download in progress', async () => {
    const { response } = await guardedGet(`${base}/stall-body`, { ...local, idleTimeoutMs: 10_000, signal: AbortSignal.timeout(150) });
    const error = await (async () => {
      for await (const _chunk of response) {
        // stalls until the deadline
      }
    })().catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('AbortError');
  });
});

describe('StoreVideo uses the guard', () => {
  const s3 = { send: vi.fn() } as unknown as S3Client;
  const deps = (overrides: Partial<Parameters<typeof storeVideo>[1]> = {}) => ({
    s3,
    bucket: 'videos',
    now: () => new Date('2026-03-12T23:20:00Z'),
    allowInsecureLoopback: false,
    request: vi.fn(() => {
      throw new Error('no request may be made');
    }),
    ...overrides,
  });
  const input = (videoUrl: string) => ({ jobId: 'job-1', videoUrl, submittedAt: '2026-03-12T23:11:30Z' });

  it('a provider URL naming the metadata address ends the job VIDEO_UNAVAILABLE, nothing fetched or stored', async () => {
    const d = deps();
    const refusal = await refusalOf(storeVideo(input('https://169.254.169.254/latest/meta-data/'), d));
    expect(refusal.message).toMatch(/169\.254\.169\.254/);
    expect(d.request).not.toHaveBeenCalled();
    expect(s3.send).not.toHaveBeenCalled();
  });

  it('a provider host resolving to a private address is refused', async () => {
    const d = deps({ resolve: resolver({ 'cdn.provider.example': ['192.168.0.10'] }) });
    const refusal = await refusalOf(storeVideo(input('https://cdn.provider.example/v.mp4'), d));
    expect(refusal.message).toBe('refusing to fetch the video from cdn.provider.example: it resolves to 192.168.0.10, a private address (192.168.0.0/16)');
    expect(d.request).not.toHaveBeenCalled();
  });

  it('a refusal at connect time stays a refusal (not a retried copy error)', async () => {
    let calls = 0;
    const resolve: Resolve = async () => [{ address: calls++ === 0 ? '93.184.216.34' : '10.0.0.7', family: 4 }];
    const refusal = await refusalOf(storeVideo(input('https://cdn.provider.example/v.mp4'), deps({ resolve, request: undefined })));
    expect(refusal.message).toMatch(/it resolves to 10\.0\.0\.7/);
  });

  it('http is refused outside the local exception', async () => {
    const refusal = await refusalOf(storeVideo(input('http://cdn.provider.example/v.mp4'), deps({ resolve: noDns })));
    expect(refusal.message).toMatch(/only https/);
  });
});
