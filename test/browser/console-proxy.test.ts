import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_HEADER } from '../../cli/console-proxy.js';
import { launchChromium } from '../../testkit/browser.js';
import { hasValidSignature, startFakeApi, type FakeApi } from '../../testkit/fake-api.js';

/**
 * `video-pipeline console --api <url>` as a user runs it, against a fake deployed API: its page works
 * through the SigV4 proxy, and no other page can use the proxy, whatever it tries from the browser.
 */

const CREDENTIALS = { accessKeyId: 'AKIDBROWSERTEST', secretAccessKey: 'browser-test-secret' };
const REGION = 'eu-west-1';
const OPENAPI = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as unknown;
const NOW = new Date().toISOString();
const FAKE_JOB = {
  jobId: 'deployed-job-1',
  status: 'RUNNING',
  progress: 40,
  waiting: false,
  trigger: { type: 'http', source: 'arn:aws:iam::123456789012:user/alice' },
  request: {
    model: 'seedance-fast',
    content: [{ type: 'text', text: 'A job of the deployed stack' }],
    generate_audio: true,
    resolution: '720p',
    ratio: '16:9',
    duration: 5,
    watermark: false,
  },
  createdAt: NOW,
  updatedAt: NOW,
  deadlineAt: NOW,
  polls: 3,
  links: { self: 'https://example.invalid/v1/jobs/deployed-job-1' },
};

let api: FakeApi;
let cli: ChildProcess;
let pageUrl: string;
let origin: string;
let browser: Browser;
let foreignSite: Server;
let foreignOrigin: string;

/** Starts the real command and reads the address it prints. */
function startConsoleCommand(apiUrl: string): Promise<{ child: ChildProcess; pageUrl: string }> {
  const child = spawn(process.execPath, ['cli/bin.mjs', 'console', '--api', apiUrl], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH,
      // Credentials from the standard chain: here its first link, the environment; no profile files.
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: REGION,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no address printed in 60 s: ${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const address = / at (http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(output)?.[1];
      if (address) {
        clearTimeout(timer);
        resolve({ child, pageUrl: address });
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`console exited with ${code}: ${output}`)));
  });
}

/** Another site on this machine that would like to use the user's AWS credentials. */
async function startForeignSite(): Promise<Server> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>elsewhere</title><p>another site</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  api = await startFakeApi((request) => {
    const path = request.target.split('?')[0];
    if (path === '/v1/openapi.json') return { status: 200, body: OPENAPI };
    if (path === '/v1/jobs') return { status: 200, body: { jobs: [FAKE_JOB] } };
    if (path === `/v1/jobs/${FAKE_JOB.jobId}`) return { status: 200, body: FAKE_JOB };
    return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${path}` } } };
  });
  foreignSite = await startForeignSite();
  foreignOrigin = `http://127.0.0.1:${(foreignSite.address() as AddressInfo).port}`;
  [{ child: cli, pageUrl }, browser] = await Promise.all([startConsoleCommand(api.url), launchChromium(['--host-resolver-rules=MAP evil.test 127.0.0.1'])]);
  origin = new URL(pageUrl).origin;
});

afterAll(async () => {
  if (cli && cli.exitCode === null) {
    const exited = new Promise((resolve) => cli.once('exit', resolve));
    cli.kill('SIGINT');
    await exited;
  }
  await browser?.close();
  await api?.close();
  await new Promise((resolve) => foreignSite?.close(resolve));
});

async function newPage(): Promise<Page> {
  return (await browser.newContext()).newPage();
}

describe('video-pipeline console --api <url>', () => {
  it('serves the console on 127.0.0.1, and its page reaches the API signed with SigV4', async () => {
    const page = await newPage();
    await page.goto(pageUrl);
    await expect.poll(() => page.locator(`tr[data-job-id="${FAKE_JOB.jobId}"]`).count(), { timeout: 15_000 }).toBe(1);
    // The token left the address bar (it stays in the page's storage).
    expect(page.url()).toBe(`${origin}/#/`);
    await page.locator(`a[href="#/jobs/${FAKE_JOB.jobId}"]`).click();
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('RUNNING');

    const calls = api.received.filter((request) => request.target.startsWith('/v1/jobs'));
    expect(calls.length).toBeGreaterThan(1);
    for (const request of api.received) {
      expect(await hasValidSignature(request, new URL(api.url).origin, REGION, CREDENTIALS)).toBe(true);
      expect(request.headers.authorization).toContain(`Credential=${CREDENTIALS.accessKeyId}/`);
      expect(request.headers[TOKEN_HEADER]).toBeUndefined();
    }
    await page.context().close();
  });

  it('refuses a call of its own page that lacks the token', async () => {
    const page = await newPage();
    // The page without its #token: nothing to send.
    await page.goto(`${origin}/#/`);
    const before = api.received.length;
    const answer = (await page.evaluate("fetch('/jobs').then(async (response) => ({ status: response.status, body: await response.json() }))")) as {
      status: number;
      body: { error: { code: string } };
    };
    expect(answer).toEqual({ status: 403, body: { error: { code: 'CONSOLE_TOKEN', message: expect.stringMatching(/console token/) } } });
    await expect.poll(() => page.locator('.error').first().textContent()).toMatch(/missing or wrong console token.*HTTP 403/);
    expect(api.received.length).toBe(before);
    await page.context().close();
  });

  it('is of no use to a page of another origin, even one that knows the token', async () => {
    const page = await newPage();
    await page.goto(`${foreignOrigin}/`);
    const before = api.received.length;
    const token = new URL(pageUrl).hash.replace('#token=', '');
    const outcomes = (await page.evaluate(`(async () => {
      const attempt = (init) => fetch('${origin}/jobs', init).then((response) => 'answered ' + response.status, (error) => 'blocked: ' + error.name);
      return {
        plain: await attempt({}),
        noCors: await attempt({ mode: 'no-cors' }),
        withToken: await attempt({ headers: { '${TOKEN_HEADER}': '${token}' } }),
        post: await attempt({ method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"model":"seedance-fast"}' }),
      };
    })()`)) as Record<string, string>;
    // A simple request reaches the proxy but is refused there (no token, foreign Origin); the one with the
    // token needs a preflight, which gets no CORS permission, so the browser never sends it.
    expect(outcomes).toEqual({ plain: 'blocked: TypeError', noCors: 'answered 0', withToken: 'blocked: TypeError', post: 'answered 0' });
    expect(api.received.length).toBe(before);
    await page.context().close();
  });

  it('refuses a DNS-rebound name pointing at it: the page does not even load', async () => {
    const page = await newPage();
    const { port } = new URL(origin);
    const response = await page.goto(`http://evil.test:${port}/`);
    expect(response?.status()).toBe(403);
    expect(await page.content()).toContain('FOREIGN_HOST');
    const before = api.received.length;
    const status = await page.evaluate("fetch('/jobs', { headers: { 'x-console-token': 'guessed' } }).then((response) => response.status)");
    expect(status).toBe(403);
    expect(api.received.length).toBe(before);
    await page.context().close();
  });

  it('stops on Ctrl-C with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => cli.once('exit', resolve));
    cli.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
