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
