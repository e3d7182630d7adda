/**
 * `npm run burst`: 1,000 jobs fired at once against a provider quota of 40, once with maxJobsInFlight
 * 30 and once with 200 (bench/burst-run.ts says what is measured, how, and what passes). Prints every
 * run's figures and the AWS cost per 1,000 videos, writes bench/burst-results.json, and exits 1 if a
 * pass condition fails in either run.
 *
 * Settings: BURST_JOBS (1000), BURST_QUOTA (40), BURST_MAX_IN_FLIGHT (30,200: one run each),
 * BURST_TIME_SCALE (0.1), BURST_TIMEOUT_SECONDS (600: a run still draining then is cut off).
 * The results file holds the figures and, under `raw`, what each run measured (records, tasks,
 * executions, usage), so a run can be looked at again without running it again.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runBurstBench } from './burst-run.js';

const started = Date.now();
const report = await runBurstBench((line) => console.error(line));
for (const note of report.notes) console.log(`\n${note}`);
console.log(`\n${Math.round((Date.now() - started) / 1000)} s in all`);
const resultsFile = fileURLToPath(new URL('./burst-results.json', import.meta.url));
writeFileSync(resultsFile, `${JSON.stringify({ at: new Date().toISOString(), ...(report.details as object), raw: report.raw })}\n`);
console.log(`results written to ${resultsFile}`);
process.exit(report.passed ? 0 : 1);
