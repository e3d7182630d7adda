/**
 * `npm run chaos:webhooks`: the webhook chaos case (testkit/webhook-chaos.ts) with WEBHOOK_CHAOS_JOBS
 * (24) jobs, printing its figures: events, deliveries, retries, duplicates, lost. Exits 1 if an event
 * was lost, a delivery did not verify, a duplicate carried another webhook-id, or one went to the
 * dead-letter queue. Settings: WEBHOOK_CHAOS_JOBS (24), CHAOS_SEED (random: replays the 500/hang
 * draws, not the timing), LOCAL_TIME_SCALE (0.0002).
 */
import { formatWebhookChaos, runWebhookChaos } from '../testkit/webhook-chaos.js';

const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
};

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const seed = positive('CHAOS_SEED', 1 + Math.floor(Math.random() * 2 ** 31));
const figures = await runWebhookChaos({
  jobs: positive('WEBHOOK_CHAOS_JOBS', 24),
  seed,
  failureRate: 0.3,
  downAfterMs: 200,
  downForMs: 1500,
  timeScale: positive('LOCAL_TIME_SCALE', 0.0002),
  log: (line) => console.error(line),
});
console.log(formatWebhookChaos(figures));
const failed = figures.lost > 0 || figures.unverified > 0 || figures.duplicatesWithAnotherId > 0 || figures.deadLetters > 0;
if (failed) console.error(`FAILED (CHAOS_SEED=${seed} replays the draws)`);
process.exitCode = failed ? 1 : 0;
