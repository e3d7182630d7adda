import { expect, it } from 'vitest';
import { formatWebhookChaos, runWebhookChaos } from '../../testkit/webhook-chaos.js';

/**
 * The webhook chaos case (testkit/webhook-chaos.ts): a receiver that answers 500 or hangs for 30 %
 * of deliveries and is down for 1.5 s (about 2 h of pipeline time at this scale), yet every event
 * arrives, none is lost, and duplicates carry the webhook-id of their event. `npm run chaos:webhooks`
 * runs the same with more jobs and prints the figures.
 */
it('every event arrives through 500s, hangs and an outage; duplicates share their webhook-id; nothing is lost', async () => {
  const figures = await runWebhookChaos({ jobs: 12, seed: 14, failureRate: 0.3, downAfterMs: 200, downForMs: 1500, timeScale: 0.0002 });
  console.log(formatWebhookChaos(figures));
  // started and completed for each job, and progress for those the poll saw move.
  expect(figures.events).toBeGreaterThanOrEqual(12 * 2);
  expect(figures.lost).toBe(0);
  expect(figures.unverified).toBe(0);
  expect(figures.duplicatesWithAnotherId).toBe(0);
  expect(figures.deadLetters).toBe(0);
  // The chaos did happen: failures of both kinds, the outage, and the retries they caused.
  expect(figures.answered500).toBeGreaterThan(0);
  expect(figures.hung).toBeGreaterThan(0);
  expect(figures.refusedWhileDown).toBeGreaterThan(0);
  expect(figures.retries).toBeGreaterThanOrEqual(figures.answered500 + figures.hung + figures.refusedWhileDown);
  expect(figures.seconds).toBeLessThan(60);
}, 90_000);
