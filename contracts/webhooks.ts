/**
 * Webhooks (README "Webhooks"): what a job may subscribe to, and how long a delivery is retried.
 * Both sides read these: infrastructure sizes the delivery state machine's timeout by the schedule,
 * checks the `webhookEvents` context against the names, and runtime validates requests by them.
 */

/** `started`: the provider accepted the task; `progress`: the job's recorded progress changed; `completed`: it ended. */
export const WEBHOOK_EVENTS = ['started', 'progress', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ['completed'];
/** The events the workflow itself announces (`Job Started`, `Job Progress`), only for jobs whose webhook takes them. */
export type WorkflowWebhookEvent = Exclude<WebhookEvent, 'completed'>;

/**
 * The wait before each retry of one event's delivery (retry n waits entry n-1): 27 h 35 min in all,
 * so an endpoint down for a day still gets the event. One attempt plus one per entry.
 */
export const WEBHOOK_RETRY_SECONDS = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600] as const;
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_SECONDS.length + 1;

/** A receiver that does not answer within this is a failed attempt (retried). */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** The newest attempts kept on a job (webhook.attempts): a record never grows past DynamoDB's item limit. */
export const MAX_WEBHOOK_ATTEMPTS_KEPT = 50;

/** Template metadata marking the delivery state machine, so the local stack tells it from the generation workflow. */
export const STATE_MACHINE_METADATA_KEY = 'video-pipeline:state-machine';
export const WEBHOOK_DELIVERY_MACHINE = 'webhook-delivery';
