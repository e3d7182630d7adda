import { deliverToTarget, describeError, type DeliveryFailure } from './async-invoke.js';
import type { CfnTemplate } from '../../stack/cloud-assembly.js';
import { compileEventPattern } from './event-pattern.js';
import { rulesOf } from './event-rules.js';
import type { BusEvent } from './eventbridge-events.js';

/**
 * The event buses of the template: an event put on a bus goes to every target of every rule of that
 * bus whose pattern matches, each delivered on its own as Lambda runs an asynchronous invocation.
 * The caller gets no answer from the targets, as with PutEvents.
 *
 * A target's RetryPolicy and DeadLetterConfig are not modelled: on AWS they cover EventBridge failing
 * to hand the event to Lambda (throttling, a missing permission), which cannot happen in-process.
 * A handler that throws is Lambda's business: retried twice, then dropped (logged and kept here).
 */

export interface EventRouterOptions {
  template: CfnTemplate;
  invoke: (handlerFile: string, event: unknown) => Promise<unknown>;
  /** Starts an execution of a state machine target with the event as its input (a fresh name each time, as EventBridge does). */
  startExecution?: (stateMachineArn: string, input: unknown) => Promise<unknown>;
  /** Delay before the first retry of a failed delivery (then doubled); 20 ms by default. */
  retryBaseDelayMs?: number;
  log?: (line: string) => void;
}

export interface EventRouter {
  /** Starts the deliveries the event matches on `busName` (the default bus if none); returns how many. */
  putEvent(event: BusEvent, busName?: string): number;
  /** Resolves once every delivery started so far, and any they started in turn, has settled. */
  idle(): Promise<void>;
  failures(): DeliveryFailure[];
  /** How many deliveries have started so far; lets a caller tell whether waiting led to more work. */
  deliveriesStarted(): number;
}

export function createEventRouter(options: EventRouterOptions): EventRouter {
  const log = options.log ?? ((line: string) => console.error(line));
  const baseDelayMs = options.retryBaseDelayMs ?? 20;
  // Patterns compile now, so one we cannot evaluate fails the start-up.
  const routes = rulesOf(options.template)
    .filter((rule) => rule.eventPattern !== undefined)
    .map((rule) => ({ ...rule, matches: compileEventPattern(rule.eventPattern) }));
  const inFlight = new Set<Promise<void>>();
  const failures: DeliveryFailure[] = [];
  let deliveriesStarted = 0;

  async function deliver(ruleId: string, target: (typeof routes)[number]['targets'][number], event: BusEvent): Promise<void> {
    // Never inside the caller's stack: PutEvents and S3 answer before any target runs.
    await new Promise((resolve) => setImmediate(resolve));
    const invoke = target.stateMachineArn
      ? (_file: string, input: unknown) => {
          if (!options.startExecution) throw new Error(`rule ${ruleId} targets a state machine, and the router was given no way to start one`);
          return options.startExecution(target.stateMachineArn!, input);
        }
      : options.invoke;
    const failure = await deliverToTarget({ ruleId, target, event, invoke, baseDelayMs });
    if (!failure) return;
    failures.push(failure);
    log(
      `[event-router] rule ${ruleId} target ${target.id} (${target.handlerFile}) gave up on event ${event.id} after ${failure.attempts} attempts: ${failure.error}`,
    );
  }

  return {
    putEvent(event, busName = 'default') {
      let started = 0;
      for (const route of routes) {
        if (route.busName !== busName || !route.matches(event)) continue;
        for (const target of route.targets) {
          const delivery = deliver(route.ruleId, target, event).catch((error: unknown) => log(`[event-router] ${describeError(error)}`));
          inFlight.add(delivery);
          void delivery.finally(() => inFlight.delete(delivery));
          started++;
          deliveriesStarted++;
        }
      }
      return started;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    failures: () => [...failures],
    deliveriesStarted: () => deliveriesStarted,
  };
}
