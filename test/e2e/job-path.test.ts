import { jobPathSuite } from '../../testkit/job-path-suite.js';

// The handler sources, imported in-process (test/e2e/job-path-bundled.test.ts runs the same on the bundles).
jobPathSuite({});
