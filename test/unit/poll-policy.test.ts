import { describe, expect, test } from 'vitest';
import type { RequestShape } from '../../lambdas/core/job.js';
import {
  expectedGenerationSeconds,
  MAX_POLL_SECONDS,
  nextPollSeconds,
  STEADY_POLL_SECONDS,
  type PollContext,
} from '../../lambdas/core/poll-policy.js';

/** The quickest kind of job: a 5 s, 480p, silent, text-only clip (expected about 100 s). */
const BASE: RequestShape = { duration: 5, resolution: '480p', generateAudio: false, media: 'text' };
const FAR = 3600;

function context(overrides: Partial<PollContext> = {}): PollContext {
  return { shape: BASE, elapsedSeconds: 0, remainingSeconds: FAR, random: 0.5, ...overrides };
}

describe('nextPollSeconds bounds', () => {
  test('is always an integer in [1, MAX_POLL_SECONDS], and never past a whole-second deadline', () => {
    const violations: string[] = [];
    for (const duration of [-1, 4, 5, 10, 15])
      for (const resolution of ['480p', '720p'] as const)
        for (const generateAudio of [false, true])
          for (const media of ['text', 'image', 'video'] as const)
            for (const elapsedSeconds of [0, 10, 45, 100, 300, 1000, 5000])
              for (const remainingSeconds of [-30, 0, 1, 2, 7, 45, 100, FAR])
                  for (const random of [0, 0.5, 0.9999]) {
                    const input: PollContext = {
                      shape: { duration, resolution, generateAudio, media },
                      elapsedSeconds,
                      remainingSeconds,
                      random,
                    };
                    const wait = nextPollSeconds(input);
                    if (!Number.isInteger(wait) || wait < 1 || wait > MAX_POLL_SECONDS || wait > Math.max(1, remainingSeconds)) {
                      violations.push(`${JSON.stringify(input)} -> ${wait}`);
                    }
                  }
    expect(violations.slice(0, 5)).toEqual([]);
  });

  test.each([1, 2, 5, 7, 20])('with %d s left it waits at most that long', (remainingSeconds) => {
    const wait = nextPollSeconds(context({ remainingSeconds }));
    expect(wait).toBeLessThanOrEqual(remainingSeconds);
    expect(wait).toBeGreaterThanOrEqual(1);
  });

  // remainingSeconds comes from millisecond clocks, so it is rarely whole.
  test.each([0.6, 2.5, 20.7])('with %d s left (a fraction) it still does not sleep past the deadline', (remainingSeconds) => {
    const wait = nextPollSeconds(context({ remainingSeconds }));
    expect(wait).toBeLessThanOrEqual(Math.max(1, remainingSeconds));
  });

  test.each([0, -5, 0.2])('with %d s left (deadline reached) it waits the 1 s minimum', (remainingSeconds) => {
    expect(nextPollSeconds(context({ remainingSeconds }))).toBe(1);
  });

  test('a very long job never waits more than MAX_POLL_SECONDS', () => {
    const slowest: RequestShape = { duration: 15, resolution: '720p', generateAudio: true, media: 'video' };
    expect(nextPollSeconds(context({ shape: slowest, random: 0.9999 }))).toBe(MAX_POLL_SECONDS);
  });
});

describe('the first wait', () => {
  test('for a 5 s clip it skips the early window instead of polling every 15 s', () => {
    for (const random of [0, 0.5, 0.9999]) {
      expect(nextPollSeconds(context({ random }))).toBeGreaterThanOrEqual(30);
    }
  });

  test.each<[string, Partial<RequestShape>]>([
    ['a longer clip', { duration: 10 }],
    ['720p', { resolution: '720p' }],
    ['audio', { generateAudio: true }],
    ['a reference video', { media: 'video' }],
  ])('%s waits longer than the quickest kind of job', (_name, change) => {
    const base = nextPollSeconds(context());
    expect(nextPollSeconds(context({ shape: { ...BASE, ...change } }))).toBeGreaterThan(base);
    expect(expectedGenerationSeconds({ ...BASE, ...change })).toBeGreaterThan(expectedGenerationSeconds(BASE));
  });

  test('duration -1 (model decides) is planned like a 5 s clip', () => {
    expect(expectedGenerationSeconds({ ...BASE, duration: -1 })).toBe(expectedGenerationSeconds(BASE));
  });

  test('later in the early window the wait shrinks toward the earliest finish', () => {
    const atStart = nextPollSeconds(context({ elapsedSeconds: 0 }));
    const later = nextPollSeconds(context({ elapsedSeconds: 30 }));
    expect(later).toBeLessThan(atStart);
  });
});

describe('after the early window', () => {
  const late = (overrides: Partial<PollContext>) => context({ elapsedSeconds: 200, ...overrides });

  test('it polls far more often than at first', () => {
    expect(nextPollSeconds(late({}))).toBeLessThan(nextPollSeconds(context()) / 2);
  });

  test('past the early window it polls at a steady gap (p95 lag under the 15 s poller), however long the task runs', () => {
    for (const elapsedSeconds of [100, 200, 600, 1500]) {
      const wait = nextPollSeconds(late({ elapsedSeconds, random: 0.5 }));
      expect(wait, `after ${elapsedSeconds} s`).toBe(Math.round(STEADY_POLL_SECONDS));
    }
  });
});

describe('jitter', () => {
  test('stays within ±10 % of the nominal wait', () => {
    const nominal = nextPollSeconds(context({ random: 0.5 }));
    const waits = Array.from({ length: 21 }, (_, index) => nextPollSeconds(context({ random: Math.min(0.9999, index / 20) })));
    for (const wait of waits) {
      expect(wait).toBeGreaterThanOrEqual(Math.floor(nominal * 0.9));
      expect(wait).toBeLessThanOrEqual(Math.ceil(nominal * 1.1));
    }
    // And it does spread the polls of jobs started together.
    expect(new Set(waits).size).toBeGreaterThan(5);
    expect(Math.min(...waits)).toBeLessThan(nominal);
    expect(Math.max(...waits)).toBeGreaterThan(nominal);
  });

  test('the same random gives the same wait', () => {
    expect(nextPollSeconds(context({ random: 0.37 }))).toBe(nextPollSeconds(context({ random: 0.37 })));
  });
});
