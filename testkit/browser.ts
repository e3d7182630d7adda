import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AxeResults } from 'axe-core';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/**
 * Debian's Chromium, driven by playwright-core (Playwright's own browser download cannot work here;
 * .ci/run installs the Debian package when it is missing).
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Without the networking flags Chromium keeps trying to reach hosts this machine cannot. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A browser with a fresh profile: playwright's launch() gives each one its own temporary user-data dir.
 * `extraArgs` e.g. `--host-resolver-rules=MAP evil.test 127.0.0.1`, a DNS-rebinding attacker's name.
 */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install -y chromium), or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

let axeSource: Promise<string> | undefined;

/**
 * axe-core's WCAG 2.x A/AA rules on the page as it is now (labels, names, contrast, landmarks, ARIA).
 * Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not apply to.
 */
export async function axeViolations(page: Page): Promise<AxeResults['violations']> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(await axeSource);
  const results = (await page.evaluate(
    "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] }, resultTypes: ['violations'] })",
  )) as AxeResults;
  return results.violations;
}

/** One line per violation and element, readable in a failed expectation. */
export function describeViolations(violations: AxeResults['violations']): string[] {
  return violations.flatMap((violation) =>
    violation.nodes.map((node) => `${violation.id}: ${node.target.join(' ')} — ${node.failureSummary ?? violation.help}`),
  );
}
