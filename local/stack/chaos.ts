import type { HandlerLoader } from './handler-modules.js';

/** Failures the local stack can inject around the functions, for the chaos run. */
export interface ChaosOptions {
  /** Share of workflow task invocations that crash: half before doing anything, half after their work. */
  taskCrashRate: number;
  /** Deliver every S3 Object Created event twice, as S3's at-least-once delivery may. */
  duplicateS3Deliveries: boolean;
  random?: () => number;
}

export interface ChaosStats {
  taskInvocations: number;
  crashedBeforeWork: number;
  crashedAfterWork: number;
}

/**
 * Wraps a handler loader so invocations sometimes die like a Lambda does: an uncaught exception
 * before any work, or a timeout after the work was done (the side effects happened, the answer is
 * lost). The state machine's Retry and Catch, and the idempotent steps, must absorb both.
 */
export function crashingLoader(load: HandlerLoader, options: ChaosOptions, stats: ChaosStats): HandlerLoader {
  const random = options.random ?? Math.random;
  return async (handlerFile) => {
    const handler = await load(handlerFile);
    return async (event) => {
      stats.taskInvocations += 1;
      const draw = random();
      if (draw < options.taskCrashRate / 2) {
        stats.crashedBeforeWork += 1;
        throw new Error(`chaos: ${handlerFile} crashed before doing anything`);
      }
      const result = await handler(event);
      if (draw < options.taskCrashRate) {
        stats.crashedAfterWork += 1;
        const timeout = new Error(`chaos: ${handlerFile} timed out after its work`);
        timeout.name = 'Sandbox.Timedout';
        throw timeout;
      }
      return result;
    };
  };
}
