import type { LocalRuleTarget } from './event-rules.js';
import type { BusEvent } from './eventbridge-events.js';

/**
 * Lambda's asynchronous invocation, which is how EventBridge (patterns and schedules alike) runs a
 * function: the caller never sees the result; a failed attempt is retried (twice by default, after
 * 1 and 2 minutes on AWS; a short doubling delay here), and then the event is given up on.
 */

export interface AsyncInvokeOptions {
  retries: number;
  /** Delay before the first retry; each later retry waits twice as long. */
  baseDelayMs: number;
}

export type AsyncInvokeOutcome = { ok: true; attempts: number } | { ok: false; attempts: number; error: unknown };

export async function invokeAsync(call: () => Promise<unknown>, options: AsyncInvokeOptions): Promise<AsyncInvokeOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      await call();
      return { ok: true, attempts: attempt };
    } catch (error) {
      if (attempt > options.retries) return { ok: false, attempts: attempt, error };
      await new Promise((resolve) => setTimeout(resolve, options.baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

/** A failure the way a log line and a test want it: the rule, the target, what was thrown. */
export interface DeliveryFailure {
  ruleId: string;
  targetId: string;
  handlerFile: string;
  eventId: string;
  attempts: number;
  error: string;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Hands one event to one rule target as EventBridge would (an async invocation, a fresh copy of the
 * event for each target); answers the failure once Lambda's retries are spent, else undefined.
 */
export async function deliverToTarget(delivery: {
  ruleId: string;
  target: LocalRuleTarget;
  event: BusEvent;
  invoke: (handlerFile: string, event: unknown) => Promise<unknown>;
  baseDelayMs: number;
}): Promise<DeliveryFailure | undefined> {
  const { ruleId, target, event } = delivery;
  const outcome = await invokeAsync(() => delivery.invoke(target.handlerFile, target.inputFor(structuredClone(event))), {
    retries: target.retries,
    baseDelayMs: delivery.baseDelayMs,
  });
  if (outcome.ok) return undefined;
  return {
    ruleId,
    targetId: target.id,
    handlerFile: target.handlerFile,
    eventId: event.id,
    attempts: outcome.attempts,
    error: describeError(outcome.error),
  };
}
