import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file runs in its own process: a local stack binds handlers to process.env at import.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
