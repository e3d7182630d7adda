import { defineConfig } from 'vitest/config';

/** `npm run test:browser`: the console in Debian's Chromium (/usr/bin/chromium), driven by playwright-core. */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    // One Chromium and one local stack at a time: the machine has two cores.
    fileParallelism: false,
    testTimeout: 90_000,
    // What the page shows changes with its 2 s polls and the jobs' own pace: wait for it, within bounds.
    expect: { poll: { timeout: 15_000, interval: 100 } },
    hookTimeout: 120_000,
  },
});
