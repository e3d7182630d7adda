import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../testkit/seeded-random.js';
import { generationModel, planTask, QUIET_QUEUE, readClock, type GatewayStatus, type TaskTimeline } from '../../local/simulator/task-clock.js';

const ORDER: GatewayStatus[] = ['NOT_START', 'QUEUED', 'IN_PROGRESS', 'SUCCESS'];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('readClock', () => {
  // Created at 1000, 10 s of queue (relayed upstream at 3 s), 100 s of generation.
  const timeline: TaskTimeline = { createdAt: 1000, startsAfterMs: 10_000, plannedMs: 110_000, outcome: { kind: 'succeeded', at: 1000 + 110_000 } };

  it.each<[number, GatewayStatus, number]>([
    [0, 'NOT_START', 0],
    [2_999, 'NOT_START', 0],
    [3_000, 'QUEUED', 10],
    [9_999, 'QUEUED', 10],
    [10_000, 'IN_PROGRESS', 30],
    [59_999, 'IN_PROGRESS', 30],
    [60_000, 'IN_PROGRESS', 50],
    [109_999, 'IN_PROGRESS', 50],
    [110_000, 'SUCCESS', 100],
  ])('at %d ms it answers %s %d%%: NOT_START for 30 %% of the wait, QUEUED to the start, "30%%" to the middle of the run', (after, status, progress) => {
    expect(readClock(timeline, 1000 + after)).toMatchObject({ status, progress });
  });

  it('gives the start once running, and start and finish at the end', () => {
    expect(readClock(timeline, 1000 + 5_000)).not.toHaveProperty('startedAt');
    expect(readClock(timeline, 1000 + 20_000)).toMatchObject({ startedAt: 11_000 });
    expect(readClock(timeline, 1000 + 200_000)).toEqual({ status: 'SUCCESS', progress: 100, startedAt: 11_000, finishedAt: 111_000 });
  });

  it('a slower render than planned stays at "50%" until it ends', () => {
    const late: TaskTimeline = { ...timeline, outcome: { kind: 'succeeded', at: 1000 + 150_000 } };
    expect(readClock(late, 1000 + 140_000)).toMatchObject({ status: 'IN_PROGRESS', progress: 50 });
    expect(readClock(late, 1000 + 150_000)).toMatchObject({ status: 'SUCCESS', finishedAt: 151_000 });
  });

  it('a failure ends at its time with its reason', () => {
    const failed: TaskTimeline = { ...timeline, outcome: { kind: 'failed', at: 1000 + 110_000, reason: 'content policy' } };
    expect(readClock(failed, 1000 + 120_000)).toEqual({
      status: 'FAILURE',
      progress: 100,
      startedAt: 11_000,
      finishedAt: 111_000,
      failReason: 'content policy',
    });
  });

  it('a task saved before startsAfterMs existed starts at a quarter of plannedMs', () => {
    const old: TaskTimeline = { createdAt: 0, plannedMs: 100_000, outcome: { kind: 'succeeded', at: 100_000 } };
    expect(readClock(old, 7_499).status).toBe('NOT_START');
    expect(readClock(old, 7_500).status).toBe('QUEUED');
    expect(readClock(old, 24_999).status).toBe('QUEUED');
    expect(readClock(old, 25_000)).toMatchObject({ status: 'IN_PROGRESS', progress: 30, startedAt: 25_000 });
    expect(readClock(old, 62_499).progress).toBe(30);
    expect(readClock(old, 62_500).progress).toBe(50);
  });

  it('a start after the planned end is held at the end', () => {
    const odd: TaskTimeline = { createdAt: 0, startsAfterMs: 50_000, plannedMs: 40_000, outcome: { kind: 'succeeded', at: 40_000 } };
    expect(readClock(odd, 39_999).status).toBe('QUEUED');
    expect(readClock(odd, 40_000)).toMatchObject({ status: 'SUCCESS', startedAt: 40_000, finishedAt: 40_000 });
  });

  it('never goes backwards, whatever the plan (status, progress)', () => {
    const random = seededRandom(5);
    for (let index = 0; index < 200; index += 1) {
      const plan = planTask({ duration: 5, resolution: '480p', generate_audio: false }, 0.01, random);
      const task: TaskTimeline = { createdAt: 0, ...plan, outcome: { kind: 'succeeded', at: plan.plannedMs } };
      let previous = readClock(task, 0);
      for (let now = 0; now <= plan.plannedMs + 10; now += Math.max(1, Math.floor(plan.plannedMs / 97))) {
        const reading = readClock(task, now);
        expect(ORDER.indexOf(reading.status)).toBeGreaterThanOrEqual(ORDER.indexOf(previous.status));
        expect(reading.progress).toBeGreaterThanOrEqual(previous.progress);
        previous = reading;
      }
      expect(readClock(task, plan.plannedMs).status).toBe('SUCCESS');
    }
  });
});

describe('planTask', () => {
  it('draws the queue wait and the generation apart: medians of 10 s and of the request model', () => {
    const random = seededRandom(42);
    const request = { duration: 5, resolution: '480p', generate_audio: false } as const;
    const plans = Array.from({ length: 2001 }, () => planTask(request, 1, random));
    for (const plan of plans) {
      expect(Number.isInteger(plan.startsAfterMs)).toBe(true);
      expect(Number.isInteger(plan.plannedMs)).toBe(true);
      expect(plan.startsAfterMs!).toBeGreaterThanOrEqual(0);
      expect(plan.plannedMs).toBeGreaterThanOrEqual(plan.startsAfterMs!);
    }
    const waits = plans.map((plan) => plan.startsAfterMs! / 1000);
    const generations = plans.map((plan) => (plan.plannedMs - plan.startsAfterMs!) / 1000);
    expect(median(waits)).toBeGreaterThan(QUIET_QUEUE.medianSeconds * 0.85);
    expect(median(waits)).toBeLessThan(QUIET_QUEUE.medianSeconds * 1.15);
    const model = generationModel(request);
    expect(median(generations)).toBeGreaterThan(model.medianSeconds * 0.93);
    expect(median(generations)).toBeLessThan(model.medianSeconds * 1.07);
  });

  it('scales both by the time scale', () => {
    const request = { duration: 10, resolution: '720p', generate_audio: true } as const;
    const full = planTask(request, 1, seededRandom(9));
    const scaled = planTask(request, 0.01, seededRandom(9));
    expect(Math.abs(scaled.startsAfterMs! - full.startsAfterMs! * 0.01)).toBeLessThanOrEqual(1);
    expect(Math.abs(scaled.plannedMs - full.plannedMs * 0.01)).toBeLessThanOrEqual(1);
  });
});
