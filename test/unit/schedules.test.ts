import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../../local/stack/cloud-assembly.js';
import { MIN_PERIOD_MS, rateSeconds, startSchedules } from '../../local/emulators/eventbridge/schedules.js';
import { fn, lambdaTarget } from '../../testkit/events-template.js';

const template = (rules: Record<string, string>): CfnTemplate => ({
  Resources: {
    BatchFunction: fn('batch-runner'),
    ...Object.fromEntries(
      Object.entries(rules).map(([ruleId, ScheduleExpression]) => [
        ruleId,
        {
          Type: 'AWS::Events::Rule',
          Properties: { ScheduleExpression, State: 'ENABLED', Targets: [lambdaTarget('BatchFunction', { RetryPolicy: { MaximumRetryAttempts: 0 } })] },
        },
      ]),
    ),
  },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rateSeconds', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(15 minutes)', 900],
    ['rate(2 hours)', 7200],
    ['rate(1 day)', 86_400],
    ['cron(0 2 * * ? *)', undefined],
  ])('%s → %s s', (expression, seconds) => {
    expect(rateSeconds(expression)).toBe(seconds);
  });

  it.each(['rate(1 minutes)', 'rate(5 minute)', 'rate(0 minutes)', 'rate(10 seconds)', 'every 5 minutes'])('refuses %s, as EventBridge does', (expression) => {
    expect(() => rateSeconds(expression)).toThrow(/not a valid schedule expression/);
  });
});

describe('startSchedules', () => {
  it('invokes the target every rate × timeScale with a Scheduled Event for the rule', async () => {
    const events: unknown[] = [];
    // rate(1 minute) × 0.001 = 60 ms.
    const schedules = startSchedules({
      template: template({ BatchSchedule: 'rate(1 minute)' }),
      timeScale: 0.001,
      invoke: async (handlerFile, event) => {
        expect(handlerFile).toBe('batch-runner');
        events.push(event);
      },
    });
    expect(schedules.running).toEqual([{ ruleId: 'BatchSchedule', scheduleExpression: 'rate(1 minute)', periodMs: 60 }]);
    await sleep(230);
    await schedules.stop();
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThanOrEqual(4);
    expect(events[0]).toMatchObject({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/BatchSchedule'],
      detail: {},
    });
    const count = events.length;
    await sleep(100);
    expect(events).toHaveLength(count);
  });

  it('never overlaps two runs of a rule, and stop() waits for the run in progress', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let finished = 0;
    const schedules = startSchedules({
      template: template({ BatchSchedule: 'rate(1 minute)' }),
      timeScale: 0.0001, // 6 ms, raised to the 50 ms floor
      invoke: async () => {
        runs++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(120); // longer than two periods
        running--;
        finished++;
      },
    });
    expect(schedules.running[0]!.periodMs).toBe(MIN_PERIOD_MS);
    await sleep(290);
    await schedules.stop();
    expect(maxRunning).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThanOrEqual(3);
    expect(finished).toBe(runs);
  });

  it('records a run that keeps failing, and skips cron rules with a log line', async () => {
    const logs: string[] = [];
    let attempts = 0;
    const schedules = startSchedules({
      template: template({ BatchSchedule: 'rate(1 minute)', Nightly: 'cron(0 2 * * ? *)' }),
      timeScale: 0.001,
      retryBaseDelayMs: 1,
      log: (line) => logs.push(line),
      invoke: async () => {
        attempts++;
        throw new Error('manifest unreadable');
      },
    });
    expect(schedules.running.map((rule) => rule.ruleId)).toEqual(['BatchSchedule']);
    expect(logs.some((line) => line.includes('Nightly') && line.includes('cron'))).toBe(true);
    await sleep(100);
    await schedules.stop();
    // Lambda retries an asynchronous invocation twice whatever the target's RetryPolicy says.
    const failures = schedules.failures();
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(attempts).toBe(3 * failures.length);
    expect(failures[0]).toEqual(
      expect.objectContaining({ ruleId: 'BatchSchedule', handlerFile: 'batch-runner', attempts: 3, error: 'Error: manifest unreadable' }),
    );
  });
});
