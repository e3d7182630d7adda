import { webhookDeliveryFromEnv } from '../compose/webhook-deps.js';
import { deliverWebhook, type DeliveryInput, type DeliveryResult } from '../webhooks/delivery.js';

const deps = webhookDeliveryFromEnv();

/** A task of the delivery state machine: one attempt at one event; the machine waits and retries. */
export async function handler(input: DeliveryInput): Promise<DeliveryResult> {
  return deliverWebhook(input, deps);
}
