import { z } from 'zod';

/**
 * Fault injection for the provider simulator: each fault is a rate (0..1) drawn per request or per
 * task, so a chaos run can make the provider misbehave the ways docs/provider-api.md warns about.
 *
 * The semantics that matter to the pipeline (see docs/provider-api.md, "Never retry such a create blindly"):
 * - REFUSED creates make no task: a 429, or a 503 with an EMPTY body. Safe to retry.
 * - UNANSWERED creates DO make a task (billed) but the client never learns its id: the create hangs
 *   until the client gives up, or answers 500, 502, 504 or a 503 WITH a body after the task was made
 *   (a gateway that relayed the request and lost the answer). The pipeline must not retry these
 *   blindly: they are "submission uncertain".
 *
 * Draws, in this order and only for faults whose rate is above 0 (so a scripted `random` sees
 * exactly the draws it expects); a fault hits when `random() < rate`:
 * - create (one the quota refused draws nothing, see quota.ts): latency jitter (when
 *   `createLatencyJitterMs` > 0), `create429Rate`, `create5xxRate`
 *   (then one more draw picks among `create5xxKinds` when it lists several), `createHangRate`; then,
 *   when a task is made, `taskFailureRate` and, if that missed, `taskNeverFinishRate`.
 * - poll (of a known task): `get429Rate`, `get5xxRate` (then one draw picks 500/502/503/504),
 *   `malformedJsonRate`. The first hit decides the answer.
 * - download (GET of a rendered video): `downloadCutRate` (after `downloadLatencyMs`, which draws nothing).
 */

const rate = z.number().min(0).max(1).default(0);
const milliseconds = z.number().int().min(0).max(600_000).default(0);

/**
 * The answers `create5xxRate` can give. '503-empty' is a 503 with an empty body: the gateway did
 * not accept the request, no task is made. All the others are sent after the task was made.
 */
export const CREATE_5XX_KINDS = ['500', '502', '503', '503-empty', '504'] as const;
export type Create5xxKind = (typeof CREATE_5XX_KINDS)[number];

export const simulatorFaultsSchema = z.strictObject({
  /** Extra delay before a create is answered (the task, if any, is made before the delay). */
  createLatencyMs: milliseconds,
  /** A uniform random 0..jitter added to `createLatencyMs`. */
  createLatencyJitterMs: milliseconds,
  /** The create never answers; the task IS made (submission uncertain). */
  createHangRate: rate,
  /** 429 rate_limit_exceeded with Retry-After: 1; no task. */
  create429Rate: rate,
  /** A 5xx picked from `create5xxKinds`; see CREATE_5XX_KINDS for which ones made a task. */
  create5xxRate: rate,
  create5xxKinds: z
    .array(z.enum(CREATE_5XX_KINDS))
    .min(1)
    .default([...CREATE_5XX_KINDS]),
  /** A poll answers 429. */
  get429Rate: rate,
  /** A poll answers 500, 502, 503 or 504 (502/504 with an HTML body, as proxies do). */
  get5xxRate: rate,
  /** The task ends FAILURE with a fail_reason, at its planned end. */
  taskFailureRate: rate,
  /** The task stays IN_PROGRESS ("50%") forever. */
  taskNeverFinishRate: rate,
  /** The video response announces the full Content-Length, then the socket is destroyed. */
  downloadCutRate: rate,
  /** Extra delay before a video download answers (a slow CDN): the task has ended, its video is still being fetched. */
  downloadLatencyMs: milliseconds,
  /** How many body bytes a cut download sends (always at least one byte short of the body). */
  downloadCutAfterBytes: z.number().int().min(0).default(1024),
  /** A poll answers 200 with a truncated, unparseable JSON body. */
  malformedJsonRate: rate,
});

/** Every setting, filled in: what the simulator runs with and `GET /_admin/faults` shows. */
export type SimulatorFaults = z.output<typeof simulatorFaultsSchema>;
/** What callers may pass: any subset, the rest is 0 (off). */
export type SimulatorFaultsInput = z.input<typeof simulatorFaultsSchema>;

export class SimulatorFaultsError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid simulator faults: ${issues.join('; ')}`);
    this.name = 'SimulatorFaultsError';
  }
}

const KNOWN_KEYS = Object.keys(simulatorFaultsSchema.shape).join(', ');

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => `"${key}"`).join(', ');
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys} (known: ${KNOWN_KEYS})`;
    }
    const path = issue.path.join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

/** Validates a faults object (any subset of the keys); throws SimulatorFaultsError. */
export function simulatorFaults(input: unknown): SimulatorFaults {
  const parsed = simulatorFaultsSchema.safeParse(input);
  if (!parsed.success) throw new SimulatorFaultsError(describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Parses `SIMULATOR_FAULTS`: a JSON object such as `{"create5xxRate":0.1}`. Empty or blank text
 * means no faults. Unknown keys and rates outside 0..1 throw SimulatorFaultsError.
 */
export function parseSimulatorFaults(text: string): SimulatorFaults {
  if (text.trim() === '') return simulatorFaults({});
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SimulatorFaultsError([`not valid JSON (${error instanceof Error ? error.message : String(error)})`]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SimulatorFaultsError(['must be a JSON object such as {"create5xxRate":0.1}']);
  }
  return simulatorFaults(value);
}

/** Every fault the simulator can record, per task and in the totals. */
export const FAULT_NAMES = [
  'createLatency',
  'create429',
  'create5xx',
  'createHang',
  /** Not injected: the client left while a delayed create was pending, so its answer was lost. */
  'createAbandoned',
  'get429',
  'get5xx',
  'malformedJson',
  'taskFailure',
  'taskNeverFinish',
  'downloadCut',
] as const;

export type FaultName = (typeof FAULT_NAMES)[number];

/** The draws, against the settings of the moment and one random source. */
export class FaultDice {
  constructor(
    private readonly settings: () => SimulatorFaults,
    private readonly random: () => number = Math.random,
  ) {}

  get faults(): SimulatorFaults {
    return this.settings();
  }

  /** True with probability `rate`; draws nothing when the rate is 0. */
  hits(rate: number): boolean {
    return rate > 0 && this.random() < rate;
  }

  /** One of `items`, uniformly; draws nothing when there is only one. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 1) return items[0]!;
    const index = Math.min(items.length - 1, Math.floor(this.random() * items.length));
    return items[index]!;
  }

  /** The delay before a create answers: fixed part plus uniform jitter. */
  createLatencyMs(): number {
    const { createLatencyMs, createLatencyJitterMs } = this.settings();
    return createLatencyMs + (createLatencyJitterMs > 0 ? Math.round(this.random() * createLatencyJitterMs) : 0);
  }
}
