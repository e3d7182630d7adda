import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseSimulatorFaults, SimulatorFaultsError, type SimulatorFaultsInput } from '../../local/simulator/faults.js';
import { isLoopbackAddress } from '../../runtime/net/loopback.js';
import { startProviderSimulator, type ProviderSimulator } from '../../local/simulator/server.js';

// A silent 4 s 480p clip is planned at about 0.1 s at this scale; rendering it takes a little longer.
const TIME_SCALE = 0.001;
const KEY = 'test-provider-key';
const TASK_TIMEOUT_MS = 10_000;

let dataDir: string;
let running: ProviderSimulator[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provider-simulator-faults-'));
});

afterEach(async () => {
  await Promise.all(running.map((simulator) => simulator.stop()));
  running = [];
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function simulator(faults: SimulatorFaultsInput = {}, random?: () => number): Promise<ProviderSimulator> {
  const started = await startProviderSimulator({
    apiKey: KEY,
    timeScale: TIME_SCALE,
    dataDir: join(dataDir, String(running.length + Math.random())),
    faults,
    ...(random ? { random } : {}),
  });
  running.push(started);
  return started;
}

/** A random source that answers the given values in order, and fails the test when they run out. */
function scripted(...values: number[]): () => number {
  return () => {
    const value = values.shift();
    if (value === undefined) throw new Error('the scripted random source ran out of values');
    return value;
  };
}

const auth = { authorization: `Bearer ${KEY}` };
const clip = (prompt = 'A red kite over a hill') => ({
  model: 'seedance-fast',
  content: [{ type: 'text', text: prompt }],
  generate_audio: false,
  resolution: '480p',
  ratio: '16:9',
  duration: 4,
});

function create(sim: ProviderSimulator, init: { signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${sim.url}/v1/video/generations`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(clip()),
    ...init,
  });
}

async function createTask(sim: ProviderSimulator): Promise<string> {
  const response = await create(sim);
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

const poll = (sim: ProviderSimulator, id: string) => fetch(`${sim.url}/v1/video/generations/${id}`, { headers: auth });

/** Polls until the task ends; an answer other than 200 ends the wait and fails. */
async function pollUntilDone(sim: ProviderSimulator, id: string): Promise<any> {
  const { status, body } = await vi.waitFor(
    async () => {
      const response = await poll(sim, id);
      if (response.status !== 200) return { status: response.status, body: undefined };
      const body = (await response.json()) as any;
      if (!['SUCCESS', 'FAILURE'].includes(body.data.status)) throw new Error(`task ${id} still ${body.data.status}`);
      return { status: response.status, body };
    },
    { timeout: TASK_TIMEOUT_MS, interval: 20 },
  );
  expect(status).toBe(200);
  return body.data;
}

const admin = (sim: ProviderSimulator, path: string, init: RequestInit = {}) => fetch(`${sim.url}/_admin/${path}`, init);
const putFaults = (sim: ProviderSimulator, body: string) => admin(sim, 'faults', { method: 'PUT', headers: { 'content-type': 'application/json' }, body });

describe('fault injection on creates', () => {
  it('create429Rate=1: answers 429 with Retry-After and makes no task', async () => {
    const sim = await simulator({ create429Rate: 1 });
    const response = await create(sim);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'rate_limit_error', code: 'rate_limit_exceeded' },
    });
    expect(sim.tasks()).toEqual([]);
    expect(sim.stats()).toMatchObject({ creates: 1, createsRefused: 1, tasksCreated: 0, createsUnanswered: 0, faults: { create429: 1 } });
  });

  it('create5xxRate=1: a 502 after the task was made (billed, unanswered); a bare 503 makes no task', async () => {
    const sim = await simulator({ create5xxRate: 1, create5xxKinds: ['502'] });
    const response = await create(sim);
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('text/html');
    expect(await response.text()).toContain('502 Bad Gateway');
    const [task, ...others] = sim.tasks();
    expect(others).toEqual([]);
    expect(task).toMatchObject({ createAnswered: false, faults: { create5xx: 1 }, fullDownloads: 0 });

    for (const [kind, status] of [
      ['500', 500],
      ['503', 503],
      ['504', 504],
    ] as const) {
      sim.setFaults({ create5xxRate: 1, create5xxKinds: [kind] });
      expect((await create(sim)).status).toBe(status);
    }
    expect(sim.tasks()).toHaveLength(4);

    sim.setFaults({ create5xxRate: 1, create5xxKinds: ['503-empty'] });
    const bare = await create(sim);
    expect(bare.status).toBe(503);
    expect(bare.headers.get('content-length')).toBe('0');
    expect(await bare.text()).toBe('');
    expect(sim.tasks()).toHaveLength(4);
    expect(sim.stats()).toMatchObject({
      creates: 5,
      tasksCreated: 4,
      createsUnanswered: 4,
      createsRefused: 1,
      createsAccepted: 0,
      faults: { create5xx: 5 },
    });
  });

  it('create5xxRate picks among create5xxKinds with one draw', async () => {
    // Each create: the 5xx draw (0 < 1 hits), then the pick among five kinds.
    const sim = await simulator({ create5xxRate: 1 }, scripted(0, 0.1, 0, 0.3, 0, 0.5, 0, 0.7, 0, 0.9));
    const statuses = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await create(sim);
      statuses.push([response.status, (await response.text()).length > 0]);
    }
    // 500, 502, 503 (with a body), 503 (empty), 504
    expect(statuses).toEqual([
      [500, true],
      [502, true],
      [503, true],
      [503, false],
      [504, true],
    ]);
    expect(sim.stats()).toMatchObject({ tasksCreated: 4, createsRefused: 1, createsUnanswered: 4 });
  });

  it('createHangRate=1: the client times out, and the task exists', async () => {
    const sim = await simulator({ createHangRate: 1 });
    const started = Date.now();
    await expect(create(sim, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    const [task] = sim.tasks();
    expect(task).toMatchObject({ createAnswered: false, faults: { createHang: 1 } });
    expect(sim.stats()).toMatchObject({ creates: 1, tasksCreated: 1, createsUnanswered: 1, createsAccepted: 0 });
  });

  it('a hanging create does not hold up stop()', async () => {
    const sim = await simulator({ createHangRate: 1 });
    const pending = create(sim).catch((error: unknown) => error);
    await expect.poll(() => sim.tasks(), { timeout: 60_000, interval: 10 }).not.toHaveLength(0);
    await sim.stop();
    expect(await pending).toBeInstanceOf(Error);
  });

  it('createLatencyMs + jitter delays the answer; a client that leaves first leaves a task behind', async () => {
    // Draw 1: the jitter (0.5 × 200 ms); no other fault is on, so nothing else is drawn.
    const sim = await simulator({ createLatencyMs: 100, createLatencyJitterMs: 200 }, scripted(0.5, 0.5));
    const started = Date.now();
    const response = await create(sim);
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    const { id } = (await response.json()) as { id: string };
    expect(sim.tasks().find((task) => task.id === id)).toMatchObject({ createAnswered: true, faults: { createLatency: 1 } });

    await expect(create(sim, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ name: 'TimeoutError' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const abandoned = sim.tasks().find((task) => task.id !== id);
    expect(abandoned).toMatchObject({ createAnswered: false, faults: { createLatency: 1, createAbandoned: 1 } });
    expect(sim.stats()).toMatchObject({ creates: 2, tasksCreated: 2, createsAccepted: 1, createsUnanswered: 1 });
  });

  it('a rate between 0 and 1 hits when random() < rate', async () => {
    const sim = await simulator({ create429Rate: 0.5 }, scripted(0.49, 0.5));
    expect((await create(sim)).status).toBe(429);
    expect((await create(sim)).status).toBe(200);
    expect(sim.stats()).toMatchObject({ creates: 2, createsRefused: 1, createsAccepted: 1, tasksCreated: 1 });
  });

  it('an invalid create is answered 400 before any fault is drawn', async () => {
    const sim = await simulator({ create429Rate: 1, createHangRate: 1 }, scripted());
    const response = await fetch(`${sim.url}/v1/video/generations`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ...clip(), duration: 3 }),
    });
    expect(response.status).toBe(400);
    expect(sim.stats()).toMatchObject({ creates: 1, createsInvalid: 1, createsRefused: 0 });
  });
});

describe('fault injection on polls and tasks', () => {
  it('get429Rate=1 and get5xxRate=1: polls answer 429, then 500, 502, 503 and 504', async () => {
    // get429Rate is 0 at first, so each poll draws twice: the 5xx hit, then the pick among four;
    // the last 0 is the get429 draw of the fifth poll.
    const sim = await simulator({ get5xxRate: 1 }, scripted(0, 0.1, 0, 0.3, 0, 0.6, 0, 0.9, 0));
    const id = await createTask(sim);
    const answers = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await poll(sim, id);
      answers.push([response.status, response.headers.get('content-type')]);
    }
    expect(answers).toEqual([
      [500, 'application/json'],
      [502, 'text/html'],
      [503, 'application/json'],
      [504, 'text/html'],
    ]);

    sim.setFaults({ get429Rate: 1, get5xxRate: 1 });
    const limited = await poll(sim, id);
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as any).error.code).toBe('rate_limit_exceeded');

    expect(sim.stats()).toMatchObject({ polls: 5, pollFaults: 5, faults: { get429: 1, get5xx: 4 } });
    expect(sim.tasks()[0]!.faults).toEqual({ get429: 1, get5xx: 4 });
    // An unknown task is still a plain 404, with no draw.
    expect((await poll(sim, 'cgt-20260101000000-zzzzz')).status).toBe(404);
  });

  it('malformedJsonRate=1: a poll answers 200 with JSON that does not parse', async () => {
    const sim = await simulator({ malformedJsonRate: 1 });
    const id = await createTask(sim);
    const response = await poll(sim, id);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const text = await response.text();
    expect(text.startsWith('{"code":"success"')).toBe(true);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(sim.stats()).toMatchObject({ polls: 1, pollFaults: 1, faults: { malformedJson: 1 } });
  });

  it(
    'taskFailureRate=1: the task ends FAILURE with a fail_reason',
    async () => {
      const sim = await simulator({ taskFailureRate: 1 });
      const id = await createTask(sim);
      const data = await pollUntilDone(sim, id);
      expect(data).toMatchObject({ status: 'FAILURE', result_url: '', fail_reason: expect.stringContaining('taskFailureRate') });
      expect(sim.tasks()[0]).toMatchObject({ status: 'FAILURE', faults: { taskFailure: 1 } });
    },
    TASK_TIMEOUT_MS,
  );

  it('taskNeverFinishRate=1: the task is still IN_PROGRESS long after its planned end', async () => {
    const sim = await simulator({ taskNeverFinishRate: 1 });
    const id = await createTask(sim);
    const [planned] = sim.tasks();
    const waitMs = Math.max(0, planned!.finishAt - Date.now()) + 500;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    const body = (await (await poll(sim, id)).json()) as any;
    expect(body.data).toMatchObject({ status: 'IN_PROGRESS', progress: '50%', finish_time: 0 });
    expect(sim.tasks()[0]).toMatchObject({ status: 'IN_PROGRESS', faults: { taskNeverFinish: 1 } });
    expect(Date.now()).toBeGreaterThan(planned!.finishAt + 400);
  });
});

describe('fault injection on downloads', () => {
  it(
    'downloadCutRate=1: the full Content-Length is announced, the body stops after downloadCutAfterBytes',
    async () => {
      const sim = await simulator();
      const id = await createTask(sim);
      const { status, result_url: url } = await pollUntilDone(sim, id);
      expect(status).toBe('SUCCESS');

      sim.setFaults({ downloadCutRate: 1, downloadCutAfterBytes: 1000 });
      const response = await fetch(url);
      expect(response.status).toBe(200);
      const length = Number(response.headers.get('content-length'));
      const reader = response.body!.getReader();
      let received = 0;
      const failure = await (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return undefined;
            received += value.length;
          }
        } catch (error) {
          return error;
        }
      })();
      expect(failure).toBeInstanceOf(Error);
      expect(received).toBe(1000);
      expect(length).toBe(sim.tasks()[0]!.videoBytes);
      expect(length).toBeGreaterThan(1000);

      sim.setFaults({});
      expect((await (await fetch(url)).arrayBuffer()).byteLength).toBe(length);
      // A range is not a full download, nor is a HEAD.
      expect((await fetch(url, { headers: { range: 'bytes=0-99' } })).status).toBe(206);
      expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
      expect(sim.tasks()[0]).toMatchObject({ fullDownloads: 1, faults: { downloadCut: 1 } });
      expect(sim.stats()).toMatchObject({ downloads: 3, downloadsCut: 1, fullDownloads: 1 });
    },
    TASK_TIMEOUT_MS,
  );
});

describe('switching faults', () => {
  it('GET and PUT /_admin/faults switch faults at runtime; GET /_admin/stats returns stats()', async () => {
    const sim = await simulator();
    const initial = (await (await admin(sim, 'faults')).json()) as any;
    expect(initial).toMatchObject({ create429Rate: 0, createHangRate: 0, downloadCutAfterBytes: 1024 });
    expect(initial).toEqual(sim.faults());

    const put = await putFaults(sim, JSON.stringify({ create429Rate: 1 }));
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ create429Rate: 1, create5xxRate: 0 });
    expect((await create(sim)).status).toBe(429);

    // PUT replaces: keys left out are off again.
    await putFaults(sim, '{}');
    expect((await create(sim)).status).toBe(200);

    const stats = (await (await admin(sim, 'stats')).json()) as any;
    expect(stats).toEqual(sim.stats());
    expect(stats).toMatchObject({ creates: 2, createsRefused: 1, createsAccepted: 1 });
  });

  it('PUT /_admin/faults answers 400 to an unknown key, a rate above 1 and a body that is not JSON', async () => {
    const sim = await simulator({ get429Rate: 0.25 });
    const unknown = await putFaults(sim, JSON.stringify({ createHangRat: 1 }));
    expect(unknown.status).toBe(400);
    const unknownBody = (await unknown.json()) as any;
    expect(unknownBody.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_faults' });
    expect(unknownBody.error.message).toContain('"createHangRat"');

    const tooHigh = await putFaults(sim, JSON.stringify({ create5xxRate: 1.5 }));
    expect(tooHigh.status).toBe(400);
    expect(((await tooHigh.json()) as any).error.message).toContain('create5xxRate');

    expect((await putFaults(sim, '{"create5xxRate":')).status).toBe(400);
    expect((await admin(sim, 'faults', { method: 'DELETE' })).status).toBe(405);
    // Nothing changed.
    expect(sim.faults().get429Rate).toBe(0.25);
  });

  it('startProviderSimulator and setFaults reject invalid settings', async () => {
    await expect(simulator({ taskFailureRate: -0.1 })).rejects.toBeInstanceOf(SimulatorFaultsError);
    const sim = await simulator();
    expect(() => sim.setFaults({ bogus: 1 } as never)).toThrow(/unknown key "bogus"/);
  });

  it('admin routes are for loopback clients only', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopbackAddress)).toEqual([true, true, true, true]);
    expect(['10.0.0.5', '::ffff:192.168.1.2', 'fe80::1', undefined].map(isLoopbackAddress)).toEqual([false, false, false, false]);
  });
});

describe('parseSimulatorFaults (SIMULATOR_FAULTS)', () => {
  it('fills every fault with 0 and keeps the ones given', () => {
    const faults = parseSimulatorFaults('{"create5xxRate":0.1,"downloadCutAfterBytes":10}');
    expect(faults).toMatchObject({ create5xxRate: 0.1, downloadCutAfterBytes: 10, create429Rate: 0, createLatencyMs: 0 });
    expect(faults.create5xxKinds).toEqual(['500', '502', '503', '503-empty', '504']);
    expect(parseSimulatorFaults('')).toEqual(parseSimulatorFaults('{}'));
    expect(parseSimulatorFaults('  ').create5xxRate).toBe(0);
  });

  it('rejects unknown keys, out-of-range values, bad kinds, non-objects and bad JSON with a clear error', () => {
    expect(() => parseSimulatorFaults('{"create5xxRat":0.1}')).toThrow(
      /invalid simulator faults: unknown key "create5xxRat" \(known: createLatencyMs, .*create5xxRate/,
    );
    expect(() => parseSimulatorFaults('{"get5xxRate":2}')).toThrow(/get5xxRate: /);
    expect(() => parseSimulatorFaults('{"createLatencyMs":-1}')).toThrow(/createLatencyMs: /);
    expect(() => parseSimulatorFaults('{"create5xxKinds":["418"]}')).toThrow(/create5xxKinds\.0: /);
    expect(() => parseSimulatorFaults('{"create5xxKinds":[]}')).toThrow(/create5xxKinds: /);
    expect(() => parseSimulatorFaults('[1]')).toThrow(/must be a JSON object/);
    expect(() => parseSimulatorFaults('{create5xxRate:0.1}')).toThrow(/not valid JSON/);
    expect(() => parseSimulatorFaults('{"taskFailureRate":"0.5"}')).toThrow(SimulatorFaultsError);
  });
});
