import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { RequestShape } from '../../runtime/domain/job.js';
import {
  estimatedEndSeconds,
  MAX_POLL_SECONDS,
  MIN_POLL_SECONDS,
  nextPollSeconds,
  pollContext,
  priorGenerationEstimate,
  rememberAnswer,
  startMemory,
  STEADY_POLL_SECONDS,
  type GenerationEstimate,
  type PolicyMemory,
  type PollContext,
} from '../../runtime/workflow/polling/poll-policy.js';

/** The quickest kind of job: a 5 s, 480p, silent, text-only clip (prior median 90 s). */
const BASE: RequestShape = { duration: 5, resolution: '480p', generateAudio: false, media: 'text' };
const SLOWEST: RequestShape = { duration: 15, resolution: '720p', generateAudio: true, media: 'video' };
const FAR = 3600;
const PRIOR = priorGenerationEstimate(BASE);

/**
 * The quantiles the policy is documented to use: it sleeps through the 5th percentile of the
 * generation time (z 1.645) and polls at the steady gap up to the 97.5th (z 1.96).
 */
const earlyEnd = (estimate: GenerationEstimate) => estimate.medianSeconds * Math.exp(-1.645 * estimate.sigma);
const lateEnd = (estimate: GenerationEstimate) => estimate.medianSeconds * Math.exp(1.96 * estimate.sigma);

/** A task that started at once (no queue), nothing reported by the provider yet, no history: the prior. */
function context(overrides: Partial<PollContext> = {}): PollContext {
  return { shape: BASE, elapsedSeconds: 0, startedNotBeforeSeconds: 0, startReported: false, remainingSeconds: FAR, random: 0.5, ...overrides };
}

// random 0.5 is the middle of the jitter: the nominal wait, only rounded.
const nominal = (seconds: number) => Math.round(Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, seconds)));

const shapeArb: fc.Arbitrary<RequestShape> = fc.record({
  duration: fc.constantFrom(-1, 4, 5, 8, 10, 12, 15),
  resolution: fc.constantFrom('480p' as const, '720p' as const),
  generateAudio: fc.boolean(),
  media: fc.constantFrom('text' as const, 'image' as const, 'video' as const),
});
const historyArb: fc.Arbitrary<GenerationEstimate> = fc.record({
  medianSeconds: fc.double({ min: 5, max: 900, noNaN: true }),
  sigma: fc.double({ min: 0.15, max: 1.5, noNaN: true }),
  samples: fc.integer({ min: 10, max: 50 }),
});
/** Any context the workflow can build: with or without a start, a bound from the progress, and history. */
const contextArb: fc.Arbitrary<PollContext> = fc
  .record({
    shape: shapeArb,
    elapsedSeconds: fc.double({ min: 0, max: 7200, noNaN: true }),
    startShare: fc.double({ min: 0, max: 1.2, noNaN: true }),
    startReported: fc.boolean(),
    // 0.55 and 1 are what the gateway's adapter says; the policy must cope with any share.
    shareDoneAtMost: fc.option(fc.oneof(fc.constantFrom(0.55, 1), fc.double({ min: 0.05, max: 1, noNaN: true })), { nil: undefined }),
    history: fc.option(historyArb, { nil: undefined }),
    remainingSeconds: fc.oneof(fc.double({ min: -60, max: 20, noNaN: true }), fc.double({ min: 20, max: 7200, noNaN: true })),
    random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  })
  .map(({ startShare, shareDoneAtMost, history, ...rest }) => ({
    ...rest,
    // startedNotBefore may even lie after now (a clock we do not trust): the policy must cope.
    startedNotBeforeSeconds: rest.elapsedSeconds * startShare,
    ...(shareDoneAtMost !== undefined ? { shareDoneAtMost } : {}),
    ...(history ? { history } : {}),
  }));

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
                  const input = context({ shape: { duration, resolution, generateAudio, media }, elapsedSeconds, remainingSeconds, random });
                  const wait = nextPollSeconds(input);
                  if (!Number.isInteger(wait) || wait < 1 || wait > MAX_POLL_SECONDS || wait > Math.max(1, remainingSeconds)) {
                    violations.push(`${JSON.stringify(input)} -> ${wait}`);
                  }
                }
    expect(violations.slice(0, 5)).toEqual([]);
  });

  test('whatever the provider said and the history holds: a whole number of seconds in [MIN, MAX], never past the deadline (fast-check)', () => {
    fc.assert(
      fc.property(contextArb, (input) => {
        const wait = nextPollSeconds(input);
        expect(Number.isInteger(wait)).toBe(true);
        expect(wait).toBeGreaterThanOrEqual(1);
        expect(wait).toBeLessThanOrEqual(MAX_POLL_SECONDS);
        expect(wait).toBeLessThanOrEqual(Math.max(1, Math.floor(input.remainingSeconds)));
        // While that much time is left, never a burst of polls.
        if (input.remainingSeconds >= MIN_POLL_SECONDS) expect(wait).toBeGreaterThanOrEqual(MIN_POLL_SECONDS);
      }),
      { numRuns: 2000 },
    );
  });

  test('jitter only stretches or shrinks the wait by ±5 %, and more random never means a shorter wait (fast-check)', () => {
    fc.assert(
      fc.property(
        contextArb.map((input) => ({ ...input, remainingSeconds: FAR })),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (input, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const shorter = nextPollSeconds({ ...input, random: low });
          const longer = nextPollSeconds({ ...input, random: high });
          const middle = nextPollSeconds({ ...input, random: 0.5 });
          expect(shorter).toBeLessThanOrEqual(longer);
          // Rounding adds at most half a second on either side.
          expect(longer).toBeLessThanOrEqual(Math.ceil(middle * 1.05 + 1));
          expect(shorter).toBeGreaterThanOrEqual(Math.floor(middle * 0.95 - 1));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('between the start and the late end it never polls closer than the steady gap (fast-check)', () => {
    fc.assert(
      fc.property(contextArb, (input) => {
        fc.pre(input.remainingSeconds >= MAX_POLL_SECONDS);
        const estimate = input.history ?? priorGenerationEstimate(input.shape);
        const start = Math.min(input.startedNotBeforeSeconds, input.elapsedSeconds);
        fc.pre(input.elapsedSeconds < start + lateEnd(estimate));
        expect(nextPollSeconds(input)).toBeGreaterThanOrEqual(Math.round(STEADY_POLL_SECONDS * 0.95));
      }),
      { numRuns: 1000 },
    );
  });

  test('it never lands a poll before the earliest plausible end by more than the jitter, unless the cap stops it (fast-check)', () => {
    fc.assert(
      fc.property(contextArb, (input) => {
        fc.pre(input.remainingSeconds >= MAX_POLL_SECONDS);
        const estimate = input.history ?? priorGenerationEstimate(input.shape);
        const start = Math.min(input.startedNotBeforeSeconds, input.elapsedSeconds);
        const earliest = start + earlyEnd(estimate);
        const wait = nextPollSeconds(input);
        const target = Math.min(earliest - input.elapsedSeconds, MAX_POLL_SECONDS / 0.95);
        expect(wait).toBeGreaterThanOrEqual(Math.floor(target * 0.95 - 0.5));
      }),
      { numRuns: 1000 },
    );
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

  test('a queued task near the deadline still does not sleep past it', () => {
    expect(nextPollSeconds(context({ elapsedSeconds: 1790, startedNotBeforeSeconds: 1790, remainingSeconds: 10 }))).toBe(10);
  });

  test('a very long job never waits more than MAX_POLL_SECONDS', () => {
    expect(nextPollSeconds(context({ shape: SLOWEST, random: 0.9999 }))).toBe(MAX_POLL_SECONDS);
    expect(nextPollSeconds(context({ elapsedSeconds: 50_000, random: 0.9999 }))).toBe(MAX_POLL_SECONDS);
  });
});

describe('the prior', () => {
  test.each<[string, Partial<RequestShape>]>([
    ['a longer clip', { duration: 10 }],
    ['720p', { resolution: '720p' }],
    ['audio', { generateAudio: true }],
    ['a reference video', { media: 'video' }],
  ])('%s is expected to take longer than the quickest kind of job, and waits longer first', (_name, change) => {
    const shape = { ...BASE, ...change };
    expect(priorGenerationEstimate(shape).medianSeconds).toBeGreaterThan(PRIOR.medianSeconds);
    expect(nextPollSeconds(context({ shape }))).toBeGreaterThan(nextPollSeconds(context()));
  });

  test('duration -1 (model decides) is planned like a 5 s clip', () => {
    expect(priorGenerationEstimate({ ...BASE, duration: -1 })).toEqual(PRIOR);
  });

  test('is a wide guess learned from nothing', () => {
    expect(PRIOR.samples).toBe(0);
    // Wider than the spread the history is likely to learn for one shape (the simulator draws 0.5).
    expect(PRIOR.sigma).toBeGreaterThan(0.5);
    // The provider: "1 to 5 minutes" for a 5 s clip.
    expect(PRIOR.medianSeconds).toBeGreaterThanOrEqual(60);
    expect(PRIOR.medianSeconds).toBeLessThanOrEqual(300);
  });
});

describe('the first wait', () => {
  test('from the prior: it sleeps until the earliest plausible end (the 5th percentile)', () => {
    expect(nextPollSeconds(context())).toBe(nominal(earlyEnd(PRIOR)));
    // …which, for the quickest clip, skips the half minute in which no clip is done.
    for (const random of [0, 0.5, 0.9999]) expect(nextPollSeconds(context({ random }))).toBeGreaterThanOrEqual(30);
  });

  test('from a history: the 5th percentile of what past jobs of the shape took', () => {
    const history: GenerationEstimate = { medianSeconds: 60, sigma: 0.2, samples: 30 };
    expect(nextPollSeconds(context({ history }))).toBe(nominal(earlyEnd(history)));
    expect(nextPollSeconds(context({ history }))).not.toBe(nextPollSeconds(context()));
    // The history replaces the prior, whatever the shape says.
    expect(nextPollSeconds(context({ history, shape: SLOWEST }))).toBe(nominal(earlyEnd(history)));
  });

  test('a history slower than the cap waits the cap', () => {
    expect(nextPollSeconds(context({ history: { medianSeconds: 600, sigma: 0.3, samples: 50 } }))).toBe(MAX_POLL_SECONDS);
  });

  test('later, without news from the provider, the wait shrinks toward the earliest end, down to the steady gap', () => {
    const atStart = nextPollSeconds(context({ elapsedSeconds: 0 }));
    const later = nextPollSeconds(context({ elapsedSeconds: 20 }));
    expect(later).toBe(nominal(earlyEnd(PRIOR) - 20));
    expect(later).toBeLessThan(atStart);
    expect(nextPollSeconds(context({ elapsedSeconds: 30 }))).toBe(STEADY_POLL_SECONDS);
  });
});

describe('what the provider says about the start', () => {
  test('a queued task waits at least the earliest end after now', () => {
    for (const elapsedSeconds of [15, 40, 120, 600]) {
      const queued = nextPollSeconds(context({ elapsedSeconds, startedNotBeforeSeconds: elapsedSeconds }));
      // It has not started: the whole early window is still ahead, as at submit.
      expect(queued, `queued at ${elapsedSeconds} s`).toBe(nextPollSeconds(context()));
      expect(queued).toBeGreaterThanOrEqual(nominal(earlyEnd(PRIOR)));
    }
    // Without the queued news the same moment would be in the steady (or late) phase.
    expect(nextPollSeconds(context({ elapsedSeconds: 40 }))).toBe(STEADY_POLL_SECONDS);
  });

  test('a queued bound later than the last answer is read as now', () => {
    expect(nextPollSeconds(context({ elapsedSeconds: 40, startedNotBeforeSeconds: 500 }))).toBe(nextPollSeconds(context()));
  });

  test('with a reported start the first poll lands at start + the early quantile', () => {
    for (const [start, elapsedSeconds] of [
      [5, 10],
      [20, 25],
      [12, 30],
    ] as const) {
      const wait = nextPollSeconds(context({ elapsedSeconds, startedNotBeforeSeconds: start, startReported: true }));
      expect(Math.abs(elapsedSeconds + wait - (start + earlyEnd(PRIOR))), `started at ${start}, polled at ${elapsedSeconds}`).toBeLessThanOrEqual(0.5);
    }
  });

  test('a start bound that is ours, not the provider start_time, counts the same for the history quantiles', () => {
    const reported = nextPollSeconds(context({ elapsedSeconds: 25, startedNotBeforeSeconds: 20, startReported: true }));
    const bound = nextPollSeconds(context({ elapsedSeconds: 25, startedNotBeforeSeconds: 20, startReported: false }));
    expect(bound).toBe(reported);
  });
});

describe('what the provider says about the progress (the share of the run done at most)', () => {
  // Started at 10 s, 50 s of running, at most 55 % done (the gateway's "30%"): at least as long again to go.
  const running = (overrides: Partial<PollContext>) =>
    context({ elapsedSeconds: 60, startedNotBeforeSeconds: 10, startReported: true, shareDoneAtMost: 0.55, ...overrides });
  const fromProgress = (start: number, elapsedSeconds: number, share = 0.55) => start + (elapsedSeconds - start) / share;

  test('at most 55 % done with a reported start pushes the next poll to start + r/0.55', () => {
    const wait = nextPollSeconds(running({}));
    expect(wait).toBe(nominal(fromProgress(10, 60) - 60));
    // Without the progress it would be the steady gap: the early end (10 + 33.5 s) is behind us.
    expect(nextPollSeconds(running({ shareDoneAtMost: undefined }))).toBe(STEADY_POLL_SECONDS);
    expect(wait).toBeGreaterThan(STEADY_POLL_SECONDS);
  });

  test.each([0.3, 0.55, 0.7])('at most %s of the run done pushes the next poll to start + r/share', (share) => {
    expect(nextPollSeconds(running({ shareDoneAtMost: share }))).toBe(nominal(fromProgress(10, 60, share) - 60));
  });

  test('a share of 1 (the answer bounds nothing) pushes nothing', () => {
    expect(nextPollSeconds(running({ shareDoneAtMost: 1 }))).toBe(STEADY_POLL_SECONDS);
  });

  test('progress without a reported start is ignored: our own start bound is no run time', () => {
    expect(nextPollSeconds(running({ startReported: false }))).toBe(STEADY_POLL_SECONDS);
    expect(nextPollSeconds(running({ startReported: false, startedNotBeforeSeconds: 0 }))).toBe(STEADY_POLL_SECONDS);
  });

  test('the progress bound never pulls the poll before the history early end', () => {
    // Started at 10 s, polled at 15 s: r/0.55 ends at 19 s, the prior early end at 43.5 s.
    const wait = nextPollSeconds(running({ elapsedSeconds: 15 }));
    expect(wait).toBe(nominal(10 + earlyEnd(PRIOR) - 15));
  });

  test('a long run still under half way is capped at MAX_POLL_SECONDS', () => {
    expect(nextPollSeconds(running({ elapsedSeconds: 200 }))).toBe(MAX_POLL_SECONDS);
  });
});

describe('after the early window', () => {
  test('it polls far more often than at first', () => {
    expect(nextPollSeconds(context({ elapsedSeconds: 200 }))).toBeLessThan(nextPollSeconds(context()) / 2);
  });

  test('between the early and the late end it polls at the steady gap (p95 lag under the 15 s poller)', () => {
    for (let elapsedSeconds = Math.ceil(earlyEnd(PRIOR)); elapsedSeconds < lateEnd(PRIOR); elapsedSeconds += 10) {
      expect(nextPollSeconds(context({ elapsedSeconds })), `after ${elapsedSeconds} s`).toBe(STEADY_POLL_SECONDS);
    }
    expect(STEADY_POLL_SECONDS * 1.05).toBeLessThan(15);
  });

  test('after the late end the gap grows with the run time, up to the cap', () => {
    const late = lateEnd(PRIOR);
    const gaps = [1, 1.3, 1.6, 2, 3, 4, 6].map((factor) => nextPollSeconds(context({ elapsedSeconds: late * factor })));
    for (let index = 1; index < gaps.length; index += 1) expect(gaps[index]!).toBeGreaterThanOrEqual(gaps[index - 1]!);
    expect(gaps[0]).toBe(STEADY_POLL_SECONDS);
    // The lag stays the same share of the run time the steady gap was of the late end.
    expect(gaps[3]).toBe(nominal(2 * STEADY_POLL_SECONDS));
    expect(gaps.at(-1)).toBe(MAX_POLL_SECONDS);
  });

  test('the late end is counted from the start: a task that queued long is not in its tail yet', () => {
    const late = lateEnd(PRIOR);
    expect(nextPollSeconds(context({ elapsedSeconds: late * 2 }))).toBeGreaterThan(STEADY_POLL_SECONDS);
    expect(nextPollSeconds(context({ elapsedSeconds: late * 2, startedNotBeforeSeconds: late, startReported: true }))).toBe(STEADY_POLL_SECONDS);
  });
});

describe('a learned history', () => {
  /** Polls a task that ends at `endsAt` (started at 0) until a poll sees it done. */
  function schedule(endsAt: number, history?: GenerationEstimate) {
    let now = 0;
    let polls = 0;
    for (;;) {
      now += nextPollSeconds(context({ elapsedSeconds: now, ...(history ? { history } : {}) }));
      polls += 1;
      if (now >= endsAt) return { polls, lag: now - endsAt };
    }
  }

  test('with a tighter sigma it skips further than the prior', () => {
    const tight: GenerationEstimate = { medianSeconds: PRIOR.medianSeconds, sigma: 0.2, samples: 50 };
    expect(earlyEnd(tight)).toBeGreaterThan(earlyEnd(PRIOR));
    expect(nextPollSeconds(context({ history: tight }))).toBeGreaterThan(nextPollSeconds(context()));
    // After a reported start: the prior is already in its steady phase, the history still sleeps.
    const after = { elapsedSeconds: 40, startedNotBeforeSeconds: 0, startReported: true };
    expect(nextPollSeconds(context({ ...after }))).toBe(STEADY_POLL_SECONDS);
    expect(nextPollSeconds(context({ ...after, history: tight }))).toBe(nominal(earlyEnd(tight) - 40));
  });

  test('a tight history catches a typical task with fewer polls than the prior, at no more lag than the steady gap', () => {
    const tight: GenerationEstimate = { medianSeconds: PRIOR.medianSeconds, sigma: 0.2, samples: 50 };
    for (const endsAt of [earlyEnd(tight) + 1, PRIOR.medianSeconds, 110]) {
      const prior = schedule(endsAt);
      const learned = schedule(endsAt, tight);
      expect(learned.polls, `ends at ${endsAt} s`).toBeLessThan(prior.polls);
      // Both are in their steady phase when the task ends: the lag is at most one (jittered) steady gap.
      expect(learned.lag).toBeLessThanOrEqual(STEADY_POLL_SECONDS * 1.05 + 0.5);
      expect(prior.lag).toBeLessThanOrEqual(STEADY_POLL_SECONDS * 1.05 + 0.5);
    }
  });

  test('a history that has the shape slower than the prior does not poll in what the prior thought was the window', () => {
    const slower: GenerationEstimate = { medianSeconds: 300, sigma: 0.25, samples: 50 };
    const { polls } = schedule(300, slower);
    // ≥ 198 s of sleep in a few capped waits, then steady polls: far fewer than the prior's.
    expect(polls).toBeLessThan(schedule(300).polls);
  });
});

describe('jitter', () => {
  // A nominal wait of about 50 s, so the ±5 % spreads over several whole seconds.
  const history: GenerationEstimate = { medianSeconds: 82, sigma: 0.3, samples: 20 };

  test('stays within ±5 % of the nominal wait, and spreads the polls of jobs started together', () => {
    const middle = nextPollSeconds(context({ history, random: 0.5 }));
    expect(middle).toBe(50);
    const waits = Array.from({ length: 21 }, (_, index) => nextPollSeconds(context({ history, random: Math.min(0.9999, index / 20) })));
    for (const wait of waits) {
      expect(wait).toBeGreaterThanOrEqual(Math.floor(middle * 0.95));
      expect(wait).toBeLessThanOrEqual(Math.ceil(middle * 1.05));
    }
    expect(new Set(waits).size).toBeGreaterThan(4);
    expect(Math.min(...waits)).toBeLessThan(middle);
    expect(Math.max(...waits)).toBeGreaterThan(middle);
  });

  test('the same random gives the same wait', () => {
    expect(nextPollSeconds(context({ random: 0.37 }))).toBe(nextPollSeconds(context({ random: 0.37 })));
  });
});

describe('the estimated end (the job’s estimatedFinishAt)', () => {
  test('at submission it is the median of the shape: the prior, or the history once learned', () => {
    expect(estimatedEndSeconds(context())).toBe(PRIOR.medianSeconds);
    expect(estimatedEndSeconds(context({ shape: SLOWEST }))).toBe(priorGenerationEstimate(SLOWEST).medianSeconds);
    expect(estimatedEndSeconds(context({ history: { medianSeconds: 200, sigma: 0.2, samples: 20 } }))).toBe(200);
  });

  test('a task that waited at the provider before it began ends that much later', () => {
    expect(estimatedEndSeconds(context({ elapsedSeconds: 40, startedNotBeforeSeconds: 30, startReported: true }))).toBe(30 + PRIOR.medianSeconds);
  });

  test('a progress that says it has further to go moves it later: start + run / share done at most', () => {
    // Started at 10 s, at most 30 % done after 60 s of running: 10 + 60 / 0.3 = 210 s, past the median (100 s).
    expect(estimatedEndSeconds(context({ elapsedSeconds: 70, startedNotBeforeSeconds: 10, startReported: true, shareDoneAtMost: 0.3 }))).toBeCloseTo(210);
  });

  test('a task past its median is never shown as due already: at least one steady poll from now', () => {
    expect(estimatedEndSeconds(context({ elapsedSeconds: 500 }))).toBe(500 + STEADY_POLL_SECONDS);
  });

  test('for any context it is a finite time after now', () => {
    fc.assert(
      fc.property(contextArb, (input) => {
        const end = estimatedEndSeconds(input);
        expect(end).toBeGreaterThan(input.elapsedSeconds);
        expect(Number.isFinite(end)).toBe(true);
      }),
    );
  });
});

describe('the policy memory ($.poll.policy)', () => {
  const SUBMITTED_AT = '2026-01-01T00:00:00.000Z';
  const told = (memory: PolicyMemory | undefined) => pollContext(memory, BASE, 0, FAR, 0.5);
  const history: GenerationEstimate = { medianSeconds: 82, sigma: 0.3, samples: 20 };

  test('starts with the history read at submit, and keeps it through every answer', () => {
    expect(told(startMemory(history)).history).toEqual(history);
    expect(told(startMemory(undefined))).not.toHaveProperty('history');
    const after = rememberAnswer(
      rememberAnswer(startMemory(history), { phase: 'queued' }, 20, SUBMITTED_AT),
      { phase: 'running', startTime: 1 },
      40,
      SUBMITTED_AT,
    );
    expect(told(after).history).toEqual(history);
  });

  test('the furthest share of the run any answer allowed stands: progress never goes back', () => {
    const at = (memory: PolicyMemory, shareDoneAtMost?: number) =>
      rememberAnswer(memory, { phase: 'running', ...(shareDoneAtMost !== undefined ? { shareDoneAtMost } : {}) }, 60, SUBMITTED_AT);
    const underHalf = at(startMemory(undefined), 0.55);
    expect(told(underHalf).shareDoneAtMost).toBe(0.55);
    expect(told(at(underHalf)).shareDoneAtMost).toBe(0.55);
    expect(told(at(underHalf, 1)).shareDoneAtMost).toBe(1);
    expect(told(at(at(underHalf, 1), 0.55)).shareDoneAtMost).toBe(1);
    expect(told(startMemory(undefined))).not.toHaveProperty('shareDoneAtMost');
  });

  test('a memory of another version (an execution started before a deploy) counts as none', () => {
    const foreign = { version: 0, startedNotBeforeSeconds: 500, startReported: true, history } as unknown as PolicyMemory;
    expect(told(foreign)).toEqual(told(undefined));
    const next = rememberAnswer(foreign, { phase: 'running', shareDoneAtMost: 0.55 }, 60, SUBMITTED_AT);
    expect(told(next)).toEqual({ ...told(undefined), shareDoneAtMost: 0.55 });
  });

  test('is plain JSON: it crosses the state machine unchanged', () => {
    const memory = rememberAnswer(startMemory(history), { phase: 'running', startTime: 1_767_225_612, shareDoneAtMost: 0.55 }, 30, SUBMITTED_AT);
    expect(JSON.parse(JSON.stringify(memory))).toEqual(memory);
    expect(told(memory)).toMatchObject({ startedNotBeforeSeconds: 12, startReported: true, shareDoneAtMost: 0.55, history });
  });
});
