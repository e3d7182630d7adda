import { deliverToTarget, type DeliveryFailure } from './async-invoke.js';
import type { CfnTemplate } from '../../stack/cloud-assembly.js';
import { rulesOf, type LocalRule } from './event-rules.js';
import { busEvent, type BusEvent } from './eventbridge-events.js';

/**
 * The template's scheduled rules, run on timers: `rate(...)` rules every period × timeScale. A tick
 * that comes while the previous run of the same rule is still going is skipped, so a slow run is
 * never doubled (the batch function relies on running alone). cron(...) rules are not run locally.
 */

export interface ScheduleOptions {
  template: CfnTemplate;
  /** Multiplies every period (0.01 turns 15 minutes into 9 s); periods never go below 50 ms. */
  timeScale: number;
  invoke: (handlerFile: string, event: unknown) => Promise<unknown>;
  retryBaseDelayMs?: number;
  log?: (line: string) => void;
}

export interface Schedules {
  /** The rules that run, with their local period. */
  readonly running: { ruleId: string; scheduleExpression: string; periodMs: number }[];
  failures(): DeliveryFailure[];
  /** Stops the timers and waits for a run in progress. */
  stop(): Promise<void>;
}

export const MIN_PERIOD_MS = 50;

const UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3600, day: 86_400 };

/**
 * The period of `rate(value unit)` in seconds; undefined for `cron(...)`. EventBridge wants the
 * singular unit for 1 and the plural otherwise (`rate(1 minute)`, `rate(5 minutes)`) and rejects the
 * rest at deploy time, so we reject it at start-up.
 */
export function rateSeconds(expression: string): number | undefined {
  if (/^cron\(.+\)$/.test(expression)) return undefined;
  const match = /^rate\((\d+) (minute|hour|day)(s?)\)$/.exec(expression);
  const value = Number(match?.[1]);
  if (!match || value < 1 || (value === 1) !== (match[3] === '')) {
    throw new Error(`not a valid schedule expression: ${expression} (e.g. rate(1 minute), rate(15 minutes), cron(...))`);
  }
  return value * UNIT_SECONDS[match[2]!]!;
}

/** What EventBridge hands a scheduled rule's target. */
export function scheduledEvent(ruleArn: string): BusEvent {
  return busEvent({ source: 'aws.events', detailType: 'Scheduled Event', resources: [ruleArn], detail: {} });
}

export function startSchedules(options: ScheduleOptions): Schedules {
  const log = options.log ?? ((line: string) => console.error(line));
  const failures: DeliveryFailure[] = [];
  const timers: NodeJS.Timeout[] = [];
  const runs = new Set<Promise<void>>();
  const running: Schedules['running'] = [];

  for (const rule of rulesOf(options.template)) {
    if (rule.scheduleExpression === undefined) continue;
    const seconds = rateSeconds(rule.scheduleExpression);
    if (seconds === undefined) {
      log(`[schedules] rule ${rule.ruleId} (${rule.scheduleExpression}): cron schedules are not run locally (npm run batch runs the batch function once)`);
      continue;
    }
    const periodMs = Math.max(MIN_PERIOD_MS, seconds * 1000 * options.timeScale);
    let current: Promise<void> | undefined;
    const tick = () => {
      if (current) return;
      current = runRule(rule);
      runs.add(current);
      void current.finally(() => {
        runs.delete(current!);
        current = undefined;
      });
    };
    timers.push(setInterval(tick, periodMs));
    running.push({ ruleId: rule.ruleId, scheduleExpression: rule.scheduleExpression, periodMs });
  }

  async function runRule(rule: LocalRule): Promise<void> {
    const event = scheduledEvent(rule.ruleArn);
    await Promise.all(
      rule.targets.map(async (target) => {
        const failure = await deliverToTarget({
          ruleId: rule.ruleId,
          target,
          event,
          invoke: options.invoke,
          baseDelayMs: options.retryBaseDelayMs ?? 20,
        });
        if (!failure) return;
        failures.push(failure);
        log(`[schedules] rule ${rule.ruleId} target ${target.id} (${target.handlerFile}) failed after ${failure.attempts} attempts: ${failure.error}`);
      }),
    );
  }

  return {
    running,
    failures: () => [...failures],
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.all([...runs]);
    },
  };
}
