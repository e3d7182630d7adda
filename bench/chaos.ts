/**
 * `npm run chaos`: CHAOS_JOBS (500) jobs through the embedded local stack while the provider
 * misbehaves and the functions crash (see testkit/chaos/run.ts for what is injected and checked).
 *
 * Prints a table of outcomes, injected faults and timings, writes bench/chaos-results.json, and exits
 * 1 if a pass condition fails (a lost or doubled job, a job left non-terminal, two provider tasks for
 * one job, a SUCCEEDED video that is not byte-for-byte the provider's, a job announced other than
 * once, a hostile submission of testkit/chaos/hostile-cases.ts let through), after listing the offending jobs.
 *
 * Settings: CHAOS_JOBS (500), CHAOS_SEED (random; replays the trigger mix and the crash draws, not the
 * timing), CHAOS_CONCURRENCY (20), CHAOS_MAX_IN_FLIGHT (60),
 * CHAOS_MAX_ACTIVE (60; 0 sends every submission as fast as CHAOS_CONCURRENCY allows), LOCAL_TIME_SCALE (0.01).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chaosConfig } from '../testkit/chaos/config.js';
import { formatReport } from '../testkit/chaos/format-report.js';
import { runChaos } from '../testkit/chaos/run.js';

const integer = (name: string, fallback: number) => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
  return parsed;
};

const config = chaosConfig({
  jobs: integer('CHAOS_JOBS', 500),
  seed: integer('CHAOS_SEED', 1 + Math.floor(Math.random() * 2 ** 31)),
  concurrency: integer('CHAOS_CONCURRENCY', 20),
  maxJobsInFlight: integer('CHAOS_MAX_IN_FLIGHT', 60),
  maxActive: process.env.CHAOS_MAX_ACTIVE === '0' ? 0 : integer('CHAOS_MAX_ACTIVE', 60),
  timeScale: Number(process.env.LOCAL_TIME_SCALE ?? 0.01),
  log: (line) => console.error(line),
});

console.error(`chaos run: ${config.jobs} jobs, seed ${config.seed} (CHAOS_SEED=${config.seed} replays the mix), maxJobsInFlight ${config.maxJobsInFlight}`);
const report = await runChaos(config);
console.log(formatReport(report));
const resultsFile = fileURLToPath(new URL('./chaos-results.json', import.meta.url));
writeFileSync(resultsFile, `${JSON.stringify({ at: new Date().toISOString(), ...report }, null, 2)}\n`);
console.log(`\nresults written to ${resultsFile}`);
process.exit(report.ok ? 0 : 1);
