import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, describeViolations, launchChromium } from '../../testkit/browser.js';
import { localS3Client } from '../../testkit/local-s3.js';
import { getJob, postJob, startStackFixture, type StackFixture } from '../../testkit/local-stack-fixture.js';
import { waitForJob } from '../../testkit/wait-for-job.js';
import { solidPng } from '../../testkit/png.js';

/** The console of `npm start`, in Chromium, against the local stack: what a person sees and does. */

// The README's screenshots are taken again only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
const SCREENSHOTS = new URL(
  process.env.UPDATE_SCREENSHOTS === '1' ? '../../docs/screenshots/' : `file://${tmpdir()}/video-pipeline-screenshots/`,
  import.meta.url,
);
const TIME_SCALE = 0.02;
/** Small, so a few slow jobs fill it and the next ones wait in the admission line. */
const MAX_JOBS_IN_FLIGHT = 3;

let fixture: StackFixture;
let s3: S3Client;
let browser: Browser;
let context: BrowserContext;
let apiUrl: string;

beforeAll(async () => {
  [fixture, browser] = await Promise.all([startStackFixture({ timeScale: TIME_SCALE, context: { maxJobsInFlight: MAX_JOBS_IN_FLIGHT } }), launchChromium()]);
  apiUrl = fixture.stack.apiUrl;
  s3 = localS3Client(fixture.stack);
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
  await mkdir(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  s3?.destroy();
  await fixture?.close();
});

const textBody = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'seedance-fast',
  content: [{ type: 'text', text }],
  duration: 4,
  resolution: '480p',
  generate_audio: false,
  ...extra,
});

/** Uncaught errors of every page the tests opened: none is expected. */
const pageErrors: string[] = [];

async function openPage(hash = '#/'): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  await page.goto(`${apiUrl}/${hash}`);
  return page;
}

afterAll(() => {
  expect(pageErrors).toEqual([]);
});

async function expectAccessible(page: Page): Promise<void> {
  expect(describeViolations(await axeViolations(page))).toEqual([]);
}

/** The structural part of an HTMLVideoElement the checks read (the Node-side test has no DOM types). */
interface VideoElement {
  readyState: number;
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  muted: boolean;
  error: { code: number } | null;
  play(): Promise<void>;
  addEventListener(type: string, listener: () => void, options?: { once: boolean }): void;
}

const jobRow = (page: Page, jobId: string) => page.locator(`tr[data-job-id="${jobId}"]`);

describe('the job list', () => {
  it('shows jobs of all three triggers, newest first, and new ones without a reload', async () => {
    const posted = (await postJob(apiUrl, textBody('A lighthouse at dusk, posted'))).json.jobId;
    await s3.send(
      new PutObjectCommand({ Bucket: fixture.stack.bucket, Key: 'incoming/console/boat.json', Body: JSON.stringify(textBody('A paper boat, uploaded')) }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: fixture.stack.bucket,
        Key: 'batches/console.jsonl',
        Body: `${JSON.stringify({ id: 'console-line', ...textBody('A city at night, from a manifest line') })}\n`,
      }),
    );
    // The upload rule and the manifest rule run their functions; both jobs exist once they are done.
    await fixture.stack.deliveriesIdle();

    const page = await openPage();
    const rows = page.locator('table.jobs tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    for (const trigger of ['http', 's3', 'schedule']) await expect.poll(() => page.locator(`.trigger-${trigger}`).count()).toBe(1);
    await expect.poll(() => page.locator('td.prompt').first().textContent()).toBe('A city at night, from a manifest line');
    expect(await jobRow(page, posted).locator('.source').textContent()).toMatch(/127\.0\.0\.1/);

    // Live: a job posted now appears at the top, and is announced, with no reload.
    const fresh = (await postJob(apiUrl, textBody('A late arrival'))).json.jobId;
    await expect.poll(() => rows.first().getAttribute('data-job-id')).toBe(fresh);
    await expect.poll(() => page.getByTestId('announcer').textContent()).toMatch(/new job/);

    // The filters ask the API (GET /jobs?trigger=s3).
    await page.getByLabel('Trigger').selectOption('s3');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().locator('.trigger').textContent()).toBe('s3');
    await page.getByLabel('Trigger').selectOption('');
    await expect.poll(() => rows.count()).toBe(4);
    for (const jobId of [posted, fresh]) expect((await waitForJob(apiUrl, jobId)).job.status).toBe('SUCCEEDED');
    await expect.poll(() => jobRow(page, fresh).locator('.badge').textContent()).toBe('SUCCEEDED');
    await expectAccessible(page);
    await page.close();
  });

  it('shows waiting jobs with their place in line, and a waiting job how many are ahead', async () => {
    const page = await openPage();
    const slow: string[] = [];
    for (let index = 0; index < MAX_JOBS_IN_FLIGHT; index += 1) slow.push((await postJob(apiUrl, textBody(`A slow take ${index + 1} TAKES_30S`))).json.jobId);
    const waiting: string[] = [];
    for (const lane of ['normal', 'low']) waiting.push((await postJob(apiUrl, textBody(`Waiting in the ${lane} lane`, { priority: lane }))).json.jobId);
    await expect.poll(() => jobRow(page, waiting[0]!).locator('.place').textContent()).toBe('place 1 in line');
    expect(await jobRow(page, waiting[1]!).locator('.place').textContent()).toBe('place 2 in line');
    expect(await jobRow(page, waiting[1]!).locator('.badge').textContent()).toBe('WAITING');
    await expect.poll(() => jobRow(page, slow[0]!).locator('.badge').textContent()).toMatch(/SUBMITTED|RUNNING/);
    await expectAccessible(page);
    await page.screenshot({ path: new URL('job-list.png', SCREENSHOTS).pathname });

    await page.locator(`a[href="#/jobs/${waiting[1]}"]`).click();
    await expect.poll(() => page.locator('dd', { hasText: 'ahead' }).textContent()).toBe('1 job ahead · lane low');
    // The line is freed for the tests after this one: a cancelled job gives its slot back at once.
    for (const jobId of [...waiting, ...slow]) await fetch(`${apiUrl}/jobs/${jobId}`, { method: 'DELETE' });
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('CANCELLED');
    await page.close();
  });

  it('pages through the API’s cursor', async () => {
    const page = await openPage();
    // Left for a batch run (none comes in this test): enough jobs for a second page, and no load.
    await Promise.all(
      Array.from({ length: 18 }, (_, index) =>
        fetch(`${apiUrl}/jobs?schedule=batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(textBody(`Paging filler ${index}`)),
        }),
      ),
    );
    const rows = page.locator('table.jobs tbody tr');
    await expect.poll(() => rows.count()).toBe(20);
    expect(await page.getByText('QUEUED · for the next batch').count()).toBeGreaterThan(0);
    const firstOfPageOne = await rows.first().getAttribute('data-job-id');
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(() => page.getByText('Page 2').count()).toBe(1);
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    await expect.poll(() => rows.first().getAttribute('data-job-id')).not.toBe(firstOfPageOne);
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(() => rows.first().getAttribute('data-job-id')).toBe(firstOfPageOne);
    await page.close();
  });
});

describe('the new job form', () => {
  it('shows the API’s field-level refusal beside the field it names', async () => {
    const page = await openPage('#/new');
    await page.getByLabel('Prompt').fill('A dancer on a rooftop');
    await page.getByRole('button', { name: 'Add an image by URL' }).click();
    // Focus moves to the new URL field, ready to type.
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.getAttribute("type")')).toBe('url');
    await page.getByLabel('Image 1 URL').fill('http://example.com/frame.png');
    await page.getByLabel('Duration (seconds)').fill('99');
    await page.getByRole('button', { name: 'Create job' }).click();

    const urlField = page.getByLabel('Image 1 URL');
    await expect.poll(() => urlField.getAttribute('aria-invalid')).toBe('true');
    const urlError = page.locator(`#${await urlField.getAttribute('id')}-error`);
    expect(await urlError.textContent()).toMatch(/must be an https:\/\/ URL/);
    expect(await urlField.getAttribute('aria-describedby')).toContain(await urlError.getAttribute('id'));
    expect(await page.locator('#duration-error').textContent()).toMatch(/must be -1 \(the model decides\) or an integer from 4 to 15/);
    expect(await page.getByLabel('Duration (seconds)').getAttribute('aria-invalid')).toBe('true');
    // The summary names the paths the API gave, and takes the focus so it is read at once.
    const summary = page.getByTestId('error-summary');
    expect(await summary.textContent()).toContain('content[1].image_url.url');
    expect(await summary.getAttribute('role')).toBe('alert');
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.dataset.testid')).toBe('error-summary');
    // Nothing was created.
    expect(page.url()).toMatch(/#\/new$/);
    await expectAccessible(page);
    await page.screenshot({ path: new URL('new-job.png', SCREENSHOTS).pathname, fullPage: true });
    await page.close();
  });

  it('submits a job with an image from the file picker; it reaches SUCCEEDED on screen and its video plays', async () => {
    const page = await openPage('#/new');
    await page.getByLabel('Prompt').fill('The painting comes alive');
    await page.getByLabel('Add images from files').setInputFiles({ name: 'frame.png', mimeType: 'image/png', buffer: solidPng(270, 480) });
    await expect.poll(() => page.getByLabel('Image 1 role').inputValue()).toBe('first_frame');
    await page.getByLabel('Ratio', { exact: true }).selectOption('9:16');
    await page.getByLabel('Resolution').selectOption('480p');
    await page.getByLabel('Duration (seconds)').fill('4');
    await page.getByLabel('Audio').check();
    await page.getByRole('button', { name: 'Create job' }).click();

    await page.waitForURL(/#\/jobs\//);
    const jobId = decodeURIComponent(page.url().split('#/jobs/')[1]!);
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 30_000 }).toBe('SUCCEEDED');
    const job = await getJob(apiUrl, jobId);
    expect(job.request.content.map((item) => item.type)).toEqual(['text', 'image_url']);
    expect(job.request.content[1]!.image_url!.url).toMatch(/^data:image\/png;base64,…\(\d+ bytes\)$/);
    expect(await page.locator('dd', { hasText: /^9:16$/ }).count()).toBe(1);
    expect(await page.locator('.timeline li').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('.hash').textContent()).toMatch(/^[0-9a-f]{64}$/);

    const video = page.locator('video.player');
    const loaded = await video.evaluate(
      (element: VideoElement) =>
        new Promise<{ width: number; height: number }>((resolve, reject) => {
          const done = () => resolve({ width: element.videoWidth, height: element.videoHeight });
          if (element.readyState >= 1) return done();
          element.addEventListener('loadedmetadata', done, { once: true });
          element.addEventListener('error', () => reject(new Error(`video error ${element.error?.code}`)), { once: true });
        }),
    );
    // 9:16 at 480p: 480 high, round(480 × 9/16 / 2) × 2 wide (local/simulator/video-spec.ts).
    expect(loaded).toEqual({ width: 270, height: 480 });
    await video.evaluate(async (element: VideoElement) => {
      element.muted = true;
      await element.play();
    });
    await expect.poll(() => video.evaluate((element: VideoElement) => element.currentTime)).toBeGreaterThan(0.5);
    expect(await page.getByRole('link', { name: 'Download MP4' }).getAttribute('href')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    await expectAccessible(page);
    await page.screenshot({ path: new URL('job-page.png', SCREENSHOTS).pathname, fullPage: true });
    await page.close();
  });
});

describe('the job page', () => {
  it('cancels a running job after a confirmation, and keeps it when the dialog is dismissed', async () => {
    const jobId = (await postJob(apiUrl, textBody('A slow sunrise TAKES_60S', { priority: 'high' }))).json.jobId;
    const page = await openPage(`#/jobs/${jobId}`);
    await expect.poll(() => page.getByTestId('job-status').textContent()).toMatch(/SUBMITTED|RUNNING/);
    await page.getByRole('button', { name: 'Cancel job…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this job?' });
    expect(await dialog.isVisible()).toBe(true);
    // The safe choice has the focus: Escape or Enter keeps the job.
    await page.keyboard.press('Escape');
    expect(await dialog.isVisible()).toBe(false);
    expect((await getJob(apiUrl, jobId)).status).not.toBe('CANCELLED');

    await page.getByRole('button', { name: 'Cancel job…' }).click();
    await expectAccessible(page);
    await dialog.getByRole('button', { name: 'Cancel the job' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('CANCELLED');
    expect((await getJob(apiUrl, jobId)).status).toBe('CANCELLED');
    expect(await page.getByTestId('error-code').textContent()).toBe('CANCELLED');
    expect(await page.getByRole('button', { name: 'Cancel job…' }).count()).toBe(0);
    await page.close();
  });

  it('runs a job again: POST /jobs/{jobId}/rerun, then the new job’s page', async () => {
    const original = (await postJob(apiUrl, textBody('A kite over the dunes'))).json.jobId;
    await waitForJob(apiUrl, original);
    const page = await openPage(`#/jobs/${original}`);
    await page.getByRole('button', { name: 'Run again' }).click();
    const rerunError = page.getByTestId('rerun-error');
    await Promise.race([page.waitForURL((url) => !url.hash.includes(original)), rerunError.waitFor()]);
    // An API without the route (404/405) shows its answer here, and this test says so.
    expect(await rerunError.count(), (await rerunError.allTextContents()).join(' ')).toBe(0);
    const rerunId = decodeURIComponent(page.url().split('#/jobs/')[1]!);
    const rerun = (await getJob(apiUrl, rerunId)) as Awaited<ReturnType<typeof getJob>> & { rerunOf?: string };
    expect(rerun.rerunOf).toBe(original);
    await expect.poll(() => page.getByRole('link', { name: original }).count()).toBe(1);
    await page.close();
  });
});

describe('the stack panel', () => {
  it('shows the local S3 endpoint and bucket, ready to paste', async () => {
    const page = await openPage('#/stack');
    await expect.poll(() => page.getByTestId('s3-endpoint').textContent()).toBe(fixture.stack.s3Url);
    expect(await page.getByTestId('s3-bucket').textContent()).toBe(fixture.stack.bucket);
    expect(await page.locator('#snippet-env').textContent()).toContain(`export S3=${fixture.stack.s3Url} BUCKET=${fixture.stack.bucket}`);
    await expectAccessible(page);
    await page.close();
  });
});

describe('keyboard use', () => {
  it('reaches every control of the form with Tab, shows where the focus is, and submits with the keyboard', async () => {
    const page = await openPage('#/new');
    await page.getByLabel('Prompt').waitFor();
    const controls = await page.locator('main button, main input, main select, main textarea, main a[href]').count();
    const reached = new Set<string>();
    for (let press = 0; press < controls + 8; press += 1) {
      await page.keyboard.press('Tab');
      const focused = (await page.evaluate(
        '(() => { const el = document.activeElement; if (!el || el === document.body) return null; const style = getComputedStyle(el); return { key: el.id || el.textContent, inMain: !!el.closest("main"), outline: style.outlineStyle, width: parseFloat(style.outlineWidth) }; })()',
      )) as { key: string; inMain: boolean; outline: string; width: number } | null;
      if (!focused) continue;
      // :focus-visible draws a 3 px outline on whatever the keyboard reaches.
      expect(focused.outline).not.toBe('none');
      expect(focused.width).toBeGreaterThanOrEqual(2);
      if (focused.inMain) reached.add(focused.key);
    }
    expect(reached.size).toBe(controls);

    await page.getByLabel('Prompt').focus();
    await page.keyboard.type('Typed with the keyboard alone');
    await page.getByRole('button', { name: 'Create job' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/jobs\//);
    // After a change of view the focus is on its heading, where a reader starts.
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('job-title');
    await page.close();
  });
});
