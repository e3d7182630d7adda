import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMaxActiveTasks, SimulatorQuotaError } from '../../local/simulator/quota.js';
import { CONCURRENCY_LIMIT_CODE, startProviderSimulator, type ProviderSimulator, type SimulatorOptions } from '../../local/simulator/server.js';

/** The account's cap on unfinished tasks, as the upstream enforces it (docs/provider-api.md: about 120, then 429). */

const KEY = 'test-provider-key';
/** Tasks last minutes: none ends while a test runs. */
const REAL_TIME = 1;
/** A failed task (prompt FAIL_TASK, nothing rendered) ends at its planned end, about a second away. */
const FAST_TIME = 0.01;

let dataDir: string;
let running: ProviderSimulator[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provider-simulator-quota-'));
});

afterEach(async () => {
  await Promise.all(running.map((simulator) => simulator.stop()));
  running = [];
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function simulator(options: Partial<SimulatorOptions> = {}): Promise<ProviderSimulator> {
  const started = await startProviderSimulator({
    apiKey: KEY,
    timeScale: REAL_TIME,
    dataDir: join(dataDir, String(running.length + Math.random())),
    ...options,
  });
  running.push(started);
  return started;
}

const clip = (prompt: string) => ({
  model: 'seedance-fast',
  content: [{ type: 'text', text: prompt }],
  generate_audio: false,
  resolution: '480p',
  ratio: '16:9',
  duration: 4,
});

async function create(sim: ProviderSimulator, prompt = 'A red kite over a hill'): Promise<{ status: number; body: any }> {
  const response = await fetch(`${sim.url}/v1/video/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(clip(prompt)),
  });
  return { status: response.status, body: await response.json() };
}

const concurrently = (sim: ProviderSimulator, count: number, prompt?: string) => Promise.all(Array.from({ length: count }, () => create(sim, prompt)));

/**
 * `count` creates that all reach the server before any of them sends the rest of its body: each
 * create then waits for its body while the others are in flight, the race a quota check must survive.
 */
async function racingCreates(sim: ProviderSimulator, count: number): Promise<{ status: number; body: any }[]> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const bytes = new TextEncoder().encode(JSON.stringify(clip('A race for the last slot')));
  const answers = Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(`${sim.url}/v1/video/generations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        duplex: 'half',
        // fetch sends the headers with the first chunk: one byte now, the rest once all are in.
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes.subarray(0, 1));
          },
          async pull(controller) {
            await gate;
            controller.enqueue(bytes.subarray(1));
            controller.close();
          },
        }),
      });
      return { status: response.status, body: await response.json() };
    }),
  );
  await expect.poll(() => sim.stats().creates, { timeout: 60_000, interval: 5 }).toBeGreaterThanOrEqual(count);
  release();
  return answers;
}

const statusCounts = (answers: { status: number }[]) =>
  answers.reduce<Record<number, number>>((counts, { status }) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

/** Waits, without polling any task, until every task's planned end has passed. */
async function waitPastEnds(sim: ProviderSimulator): Promise<void> {
  const lastEnd = Math.max(...sim.tasks().map((task) => task.finishAt));
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastEnd - Date.now()) + 50));
}

const admin = (sim: ProviderSimulator, path: string, init: RequestInit = {}) => fetch(`${sim.url}/_admin/${path}`, init);
const putQuota = (sim: ProviderSimulator, body: string) => admin(sim, 'quota', { method: 'PUT', headers: { 'content-type': 'application/json' }, body });

describe('maxActiveTasks', () => {
  it('quota 3: the 4th of 4 concurrent creates is a 429 concurrency_limit_exceeded and makes no task', async () => {
    const sim = await simulator({ maxActiveTasks: 3 });
    const answers = await racingCreates(sim, 4);
    expect(statusCounts(answers)).toEqual({ 200: 3, 429: 1 });
    const refused = answers.find((answer) => answer.status === 429)!;
    expect(refused.body).toEqual({
      error: { message: expect.stringContaining('at most 3 tasks'), type: 'rate_limit_error', code: CONCURRENCY_LIMIT_CODE },
    });
    expect(CONCURRENCY_LIMIT_CODE).toBe('concurrency_limit_exceeded');
    expect(sim.tasks()).toHaveLength(3);
    expect(sim.stats()).toMatchObject({
      creates: 4,
      createsAccepted: 3,
      createsRefused: 1,
      quotaRefusals: 1,
      tasksCreated: 3,
      peakActiveTasks: 3,
    });
    expect(sim.quota()).toEqual({ maxActiveTasks: 3, activeTasks: 3 });
  });

  it('20 concurrent creates against quota 5: exactly 5 tasks, 15 refusals, peak 5', async () => {
    const sim = await simulator({ maxActiveTasks: 5 });
    const answers = await racingCreates(sim, 20);
    expect(statusCounts(answers)).toEqual({ 200: 5, 429: 15 });
    expect(sim.tasks()).toHaveLength(5);
    expect(sim.stats()).toMatchObject({ creates: 20, tasksCreated: 5, createsRefused: 15, quotaRefusals: 15, peakActiveTasks: 5 });
  });

  it('once a task has passed its end, unpolled, a create succeeds again; the peak stays what was held at once', async () => {
    const sim = await simulator({ maxActiveTasks: 2, timeScale: FAST_TIME });
    expect(statusCounts(await concurrently(sim, 2, 'FAIL_TASK to hold a slot'))).toEqual({ 200: 2 });
    expect((await create(sim)).status).toBe(429);

    await waitPastEnds(sim);
    expect(sim.quota()).toEqual({ maxActiveTasks: 2, activeTasks: 0 });
    expect(statusCounts(await concurrently(sim, 2, 'FAIL_TASK again'))).toEqual({ 200: 2 });
    expect((await create(sim)).status).toBe(429);

    // Four tasks were made, never more than two unfinished at once; nobody polled.
    expect(sim.stats()).toMatchObject({ tasksCreated: 4, polls: 0, quotaRefusals: 2, createsRefused: 2, peakActiveTasks: 2 });
  });

  it('the peak counts the tasks unfinished when each was made, not every task made', async () => {
    const sim = await simulator({ timeScale: FAST_TIME });
    await concurrently(sim, 3, 'FAIL_TASK first wave');
    await waitPastEnds(sim);
    await concurrently(sim, 2, 'FAIL_TASK second wave');
    expect(sim.stats()).toMatchObject({ tasksCreated: 5, peakActiveTasks: 3, quotaRefusals: 0 });
    expect(sim.quota()).toEqual({ maxActiveTasks: 120, activeTasks: 2 });
  });

  it('a quota refusal draws no fault, and an invalid body is still a 400', async () => {
    const sim = await simulator({
      maxActiveTasks: 0,
      faults: { create429Rate: 1 },
      random: () => {
        throw new Error('no draw expected');
      },
    });
    const refused = await create(sim);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe(CONCURRENCY_LIMIT_CODE);
    const invalid = await fetch(`${sim.url}/v1/video/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...clip('x'), duration: 3 }),
    });
    expect(invalid.status).toBe(400);
    expect(sim.stats()).toMatchObject({ creates: 2, createsInvalid: 1, quotaRefusals: 1, faults: {} });
  });
});

describe('changing the quota at runtime', () => {
  it('setMaxActiveTasks and GET/PUT /_admin/quota change it for the next creates; /_admin/stats reports it', async () => {
    const sim = await simulator({ maxActiveTasks: 1 });
    expect((await create(sim)).status).toBe(200);
    expect((await create(sim)).status).toBe(429);

    expect(sim.setMaxActiveTasks(2)).toEqual({ maxActiveTasks: 2, activeTasks: 1 });
    expect((await create(sim)).status).toBe(200);

    const put = await putQuota(sim, JSON.stringify({ maxActiveTasks: 3 }));
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ maxActiveTasks: 3, activeTasks: 2 });
    expect((await create(sim)).status).toBe(200);
    expect(await (await admin(sim, 'quota')).json()).toEqual({ maxActiveTasks: 3, activeTasks: 3 });

    // Lowered below what is held: the tasks run on, new creates wait.
    await putQuota(sim, JSON.stringify({ maxActiveTasks: 1 }));
    expect((await create(sim)).status).toBe(429);
    expect(sim.tasks()).toHaveLength(3);

    const stats = (await (await admin(sim, 'stats')).json()) as any;
    expect(stats).toEqual(sim.stats());
    expect(stats).toMatchObject({ peakActiveTasks: 3, quotaRefusals: 2 });
  });

  it('rejects a quota that is not a whole number of tasks, everywhere', async () => {
    await expect(simulator({ maxActiveTasks: -1 })).rejects.toBeInstanceOf(SimulatorQuotaError);
    const sim = await simulator({ maxActiveTasks: 4 });
    expect(() => sim.setMaxActiveTasks(2.5)).toThrow(SimulatorQuotaError);
    for (const body of [JSON.stringify({ maxActiveTasks: '3' }), JSON.stringify({ maxActiveTasks: 3, extra: 1 }), '{"maxActiveTasks":']) {
      const answer = await putQuota(sim, body);
      expect(answer.status, body).toBe(400);
    }
    const unknown = (await (await putQuota(sim, JSON.stringify({ maxActiveTask: 3 }))).json()) as any;
    expect(unknown.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_quota' });
    expect((await admin(sim, 'quota', { method: 'DELETE' })).status).toBe(405);
    expect(sim.quota().maxActiveTasks).toBe(4);
  });

  it('parseMaxActiveTasks (SIMULATOR_MAX_ACTIVE_TASKS): a whole number, blank for the default', () => {
    expect(parseMaxActiveTasks(undefined)).toBe(120);
    expect(parseMaxActiveTasks(' ')).toBe(120);
    expect(parseMaxActiveTasks('8')).toBe(8);
    expect(parseMaxActiveTasks('0')).toBe(0);
    for (const text of ['-1', '2.5', 'many', '1e3']) {
      expect(() => parseMaxActiveTasks(text), text).toThrow(/whole number of tasks/);
    }
  });
});
