import { createHash } from 'node:crypto';
import { COMPLETION_DETAIL_TYPES, JOB_PROGRESS_DETAIL_TYPE, JOB_STARTED_DETAIL_TYPE } from '../../contracts/events.js';
import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_SECONDS, type WebhookEvent } from '../../contracts/webhooks.js';
import type { JobRecord, WebhookAttempt } from '../domain/job.js';
import type { WebhookAttemptLog } from '../aws/webhook-attempts.js';
import type { PostOutcome } from '../net/guarded-post.js';
import { signedHeaders } from './signing.js';

/**
 * One attempt at delivering one event of a job to its webhook (README "Webhooks"). The delivery
 * state machine (infra/constructs/webhook-delivery.ts) runs it, waits what it answers, and runs it
 * again: the schedule lives here, the waiting in Step Functions, so no process of ours waits.
 */

/** The event from the stack's bus as the delivery rule hands it over (only what is read of it). */
export interface JobBusEvent {
  'detail-type': string;
  detail: { jobId: string; status?: string; progress?: number };
}

export interface DeliveryInput {
  event: JobBusEvent;
  /** Attempts made so far (0 for the first). */
  attempt: number;
}

export type DeliveryOutcome =
  /** The receiver answered 2xx. */
  | 'delivered'
  /** The receiver answered 410: this job's deliveries stop. */
  | 'gone'
  /** Nothing to send: no such job, no webhook, an event it does not take, or an endpoint gone. */
  | 'skipped'
  /** Failed; the state machine waits `waitSeconds` and tries again. */
  | 'retry'
  /** Failed for the last time: the state machine puts it in the dead-letter queue. */
  | 'exhausted';

export interface DeliveryResult {
  outcome: DeliveryOutcome;
  attempt: number;
  webhookId?: string;
  /** Only with `retry`: the wait before the next attempt (the local engine scales it). */
  waitSeconds?: number;
  /** Why it was skipped or what the last attempt met. */
  reason?: string;
}

export interface DeliveryDeps {
  jobs: { get(jobId: string): Promise<JobRecord | undefined> };
  attempts: WebhookAttemptLog;
  /** The job's public view, as GET /jobs/{jobId} answers it. */
  view(job: JobRecord): Promise<unknown>;
  /** The secret as receivers hold it (`whsec_…`). */
  secret(): Promise<string>;
  post(url: string, body: string, headers: Record<string, string>): Promise<PostOutcome>;
  now(): Date;
}

const COMPLETED_TYPES: readonly string[] = Object.values(COMPLETION_DETAIL_TYPES);

/** Which webhook event a bus event is, if any. */
export function webhookEventOf(detailType: string): WebhookEvent | undefined {
  if (COMPLETED_TYPES.includes(detailType)) return 'completed';
  if (detailType === JOB_STARTED_DETAIL_TYPE) return 'started';
  if (detailType === JOB_PROGRESS_DETAIL_TYPE) return 'progress';
  return undefined;
}

/**
 * `webhook-id`: the same for every attempt at one event, and for the same event published twice
 * (EventBridge delivers at least once), so receivers can drop duplicates by it. A job completes
 * once and starts once; a progress event is named by the status and progress it reports.
 */
export function webhookIdOf(event: WebhookEvent, detail: JobBusEvent['detail']): string {
  const which = event === 'progress' ? `${detail.status ?? ''}:${detail.progress ?? ''}` : '';
  return `msg_${createHash('sha256').update(`${detail.jobId}\n${event}\n${which}`).digest('hex').slice(0, 32)}`;
}

/** The wait after failed attempt `attempt` (1-based), or undefined when it was the last. */
export function retryDelaySeconds(attempt: number): number | undefined {
  return attempt < WEBHOOK_MAX_ATTEMPTS ? WEBHOOK_RETRY_SECONDS[attempt - 1] : undefined;
}

const describe = (outcome: PostOutcome) => ('status' in outcome ? `HTTP ${outcome.status}` : outcome.error);

export async function deliverWebhook(input: DeliveryInput, deps: DeliveryDeps): Promise<DeliveryResult> {
  const attempt = input.attempt + 1;
  const event = webhookEventOf(input.event['detail-type']);
  const { jobId } = input.event.detail;
  if (!event) return { outcome: 'skipped', attempt, reason: `${input.event['detail-type']} is no webhook event` };
  const job = await deps.jobs.get(jobId);
  const webhook = job?.webhook;
  if (!job || !webhook) return { outcome: 'skipped', attempt, reason: job ? 'the job has no webhook' : `no job ${jobId}` };
  if (!webhook.events.includes(event)) return { outcome: 'skipped', attempt, reason: `the webhook does not take ${event} events` };
  const webhookId = webhookIdOf(event, input.event.detail);
  if (webhook.goneAt) return { outcome: 'skipped', attempt, webhookId, reason: `the receiver answered 410 Gone at ${webhook.goneAt}` };

  const body = JSON.stringify(await deps.view(job));
  const sentAt = deps.now();
  const headers = { ...signedHeaders({ id: webhookId, timestamp: sentAt, body }, await deps.secret()), 'webhook-event': event };
  const outcome = await deps.post(webhook.url, body, headers);
  const status = 'status' in outcome ? outcome.status : undefined;
  const record: WebhookAttempt = {
    event,
    webhookId,
    attempt,
    at: sentAt.toISOString(),
    ...(status !== undefined ? { status } : { error: describe(outcome).slice(0, 300) }),
  };
  const gone = status === 410;
  await deps.attempts.record(jobId, record, gone);
  if (status !== undefined && status >= 200 && status < 300) return { outcome: 'delivered', attempt, webhookId };
  if (gone) return { outcome: 'gone', attempt, webhookId, reason: 'HTTP 410' };
  const waitSeconds = retryDelaySeconds(attempt);
  return waitSeconds === undefined
    ? { outcome: 'exhausted', attempt, webhookId, reason: describe(outcome) }
    : { outcome: 'retry', attempt, webhookId, waitSeconds, reason: describe(outcome) };
}
