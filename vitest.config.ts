import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Browser tests need Chromium: `npm run test:browser` (vitest.browser.config.ts), not `npm test`.
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    // Each file runs in its own process: a local stack binds handlers to process.env at import.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
