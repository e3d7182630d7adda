import { COMPLETION_DETAIL_TYPES, JOB_PROGRESS_DETAIL_TYPE, JOB_STARTED_DETAIL_TYPE } from '../contracts/events.js';
import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_SECONDS } from '../contracts/webhooks.js';
import type { JobWebhook } from '../runtime/domain/job.js';
import { webhookEventOf, webhookIdOf, type JobBusEvent } from '../runtime/webhooks/delivery.js';
import { getJob, postJob, startStackFixture } from './local-stack-fixture.js';
import { seededRandom } from './seeded-random.js';
import { startWebhookReceiver, type ReceivedDelivery } from './webhook-receiver.js';

/**
 * The webhook chaos case (README "Webhooks", docs/reliability.md): jobs subscribed to every event,
 * delivered to a real receiver that answers 500 or hangs for 30 % of deliveries and is down (its
 * port closed) for a while, on the local stack at a time scale that fits the 27 h retry schedule in
 * about 20 s. Every event the pipeline published must arrive (be handled by the receiver: answered
 * 2xx, or taken and left hanging, which the sender sees as a timeout), each duplicate with the same
 * webhook-id, every delivery verified by the standardwebhooks package.
 *
 * The 500/hang draws never fail one event more than CHAOS_FAILURES_PER_EVENT times (the outage
 * fails up to 4 more): an event failed on all 8 attempts goes to the dead-letter queue by design,
 * which test/e2e/webhooks.test.ts shows; here the question is whether anything is lost on the way.
 */

export interface WebhookChaosOptions {
  jobs: number;
  seed: number;
  /** Share of deliveries answered 500 or left hanging (half each). */
  failureRate: number;
  /** The receiver's outage: from this long after its first delivery (so it meets events in flight), for this long (real time). */
  downAfterMs: number;
  downForMs: number;
  timeScale: number;
  log?: (line: string) => void;
}

export interface WebhookChaosFigures {
  jobs: number;
  seed: number;
  timeScale: number;
  /** Distinct events the pipeline published for the jobs' webhooks (distinct webhook-ids). */
  events: number;
  /** Requests the receiver got (the outage's refused connections never reach it). */
  deliveries: number;
  /** Attempts past the first, of any event (from the jobs' attempt records, outage included). */
  retries: number;
  answered500: number;
  hung: number;
  /** Attempts that met the closed port (ECONNREFUSED), from the jobs' attempt records. */
  refusedWhileDown: number;
  /** Events the receiver handled more than once (an ack lost to a hang), and the extra deliveries. */
  duplicatedEvents: number;
  duplicateDeliveries: number;
  /** Duplicates whose webhook-id differs from the first delivery of the same event: must be 0. */
  duplicatesWithAnotherId: number;
  /** Published events the receiver never handled: must be 0. */
  lost: number;
  /** Deliveries standardwebhooks did not verify: must be 0. */
  unverified: number;
  deadLetters: number;
  seconds: number;
}

export const CHAOS_FAILURES_PER_EVENT = 3;

const WEBHOOK_TYPES = new Set<string>([...Object.values(COMPLETION_DETAIL_TYPES), JOB_STARTED_DETAIL_TYPE, JOB_PROGRESS_DETAIL_TYPE]);

export async function runWebhookChaos(options: WebhookChaosOptions): Promise<WebhookChaosFigures> {
  const log = options.log ?? (() => {});
  const random = seededRandom(options.seed);
  const failuresOf = new Map<string, number>();
  let secret = '';
  const receiver = await startWebhookReceiver(() => secret);
  receiver.answerWith((delivery) => {
    const failures = failuresOf.get(delivery.webhookId) ?? 0;
    const draw = random();
    if (failures >= CHAOS_FAILURES_PER_EVENT || draw >= options.failureRate) return 200;
    failuresOf.set(delivery.webhookId, failures + 1);
    return draw < options.failureRate / 2 ? 500 : 'hang';
  });
  const fixture = await startStackFixture({ timeScale: options.timeScale });
  secret = fixture.stack.webhookSecret;
  const started = Date.now();
  try {
    const apiUrl = fixture.stack.apiUrl;
    const outage = (async () => {
      while (receiver.deliveries.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, options.downAfterMs));
      log(`receiver down for ${options.downForMs} ms`);
      await receiver.down();
      await new Promise((resolve) => setTimeout(resolve, options.downForMs));
      await receiver.up();
      log('receiver up');
    })();
    const jobIds = await Promise.all(
      Array.from({ length: options.jobs }, async (_, index) => {
        const { response, json } = await postJob(apiUrl, {
          model: 'seedance-fast',
          content: [{ type: 'text', text: `Webhook chaos ${index}` }],
          duration: 4,
          webhook: { url: `${receiver.url}/chaos`, events: ['started', 'progress', 'completed'] },
        });
        if (response.status !== 202) throw new Error(`POST /jobs answered ${response.status}: ${JSON.stringify(json)}`);
        return json.jobId;
      }),
    );
    await outage;
    // Every job ends, then every delivery execution ends (the last waits are the longest).
    const terminal = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);
    for (;;) {
      const jobs = await Promise.all(jobIds.map((jobId) => getJob(apiUrl, jobId)));
      if (jobs.every((job) => terminal.has(job.status))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await fixture.stack.deliveriesIdle();
    await fixture.stack.webhookEngine.idle();
    log(`jobs ended and deliveries settled after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const ours = new Set(jobIds);
    const expected = new Set(
      fixture.stack
        .events()
        .filter((event) => WEBHOOK_TYPES.has(event['detail-type']) && ours.has((event.detail as JobBusEvent['detail']).jobId))
        .map((event) => webhookIdOf(webhookEventOf(event['detail-type'])!, event.detail as JobBusEvent['detail'])),
    );
    const received = receiver.deliveries.filter((delivery) => delivery.path === '/chaos');
    const handled = new Map<string, ReceivedDelivery[]>();
    for (const delivery of received) {
      if (!delivery.verified || delivery.answer === 500) continue;
      handled.set(delivery.webhookId, [...(handled.get(delivery.webhookId) ?? []), delivery]);
    }
    const duplicated = [...handled.values()].filter((deliveries) => deliveries.length > 1);
    const attempts = (
      await Promise.all(jobIds.map(async (jobId) => ((await getJob(apiUrl, jobId)) as unknown as { webhook: JobWebhook }).webhook.attempts ?? []))
    ).flat();
    return {
      jobs: options.jobs,
      seed: options.seed,
      timeScale: options.timeScale,
      events: expected.size,
      deliveries: received.length,
      retries: attempts.filter((attempt) => attempt.attempt > 1).length,
      answered500: received.filter((delivery) => delivery.answer === 500).length,
      hung: received.filter((delivery) => delivery.answer === 'hang').length,
      refusedWhileDown: attempts.filter((attempt) => attempt.error?.includes('ECONNREFUSED')).length,
      duplicatedEvents: duplicated.length,
      duplicateDeliveries: duplicated.reduce((sum, deliveries) => sum + deliveries.length - 1, 0),
      duplicatesWithAnotherId: duplicated.filter((deliveries) => new Set(deliveries.map((delivery) => `${delivery.webhookId} ${delivery.event}`)).size > 1)
        .length,
      lost: [...expected].filter((webhookId) => !handled.has(webhookId)).length,
      unverified: received.filter((delivery) => !delivery.verified).length,
      deadLetters: fixture.stack.webhookDeadLetters().length,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await fixture.close();
    await receiver.close();
  }
}

export function formatWebhookChaos(figures: WebhookChaosFigures): string {
  const rows: [string, string | number][] = [
    ['jobs (events: started, progress, completed)', figures.jobs],
    ['events published (distinct webhook-ids)', figures.events],
    ['deliveries the receiver got', figures.deliveries],
    ['  answered 500', figures.answered500],
    ['  left hanging (the sender timed out)', figures.hung],
    ['attempts refused while the receiver was down', figures.refusedWhileDown],
    ['retries (attempts past the first)', figures.retries],
    ['events handled twice or more (duplicates)', `${figures.duplicatedEvents} (${figures.duplicateDeliveries} extra deliveries)`],
    ['duplicates with another webhook-id', figures.duplicatesWithAnotherId],
    ['lost', figures.lost],
    ['deliveries standardwebhooks did not verify', figures.unverified],
    ['dead letters', figures.deadLetters],
    ['wall time (s)', figures.seconds],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `webhook chaos: seed ${figures.seed}, time scale ${figures.timeScale} (the ${WEBHOOK_MAX_ATTEMPTS}-attempt, 27 h schedule in about ${Math.round(WEBHOOK_RETRY_SECONDS.reduce((sum, seconds) => sum + seconds, 0) * figures.timeScale)} s)`,
    ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`),
  ].join('\n');
}
