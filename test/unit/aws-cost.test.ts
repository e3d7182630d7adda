import { describe, expect, it } from 'vitest';
import { costPer1000Videos, fixedPollerBaseline, formatCostTable, totalUsd } from '../../testkit/aws-cost.js';
import { fixedPollerPolls } from '../../testkit/simulated-polling.js';
import type { LambdaUsage, Usage } from '../../local/stack/usage.js';

const lambda = (invocations: number, billedMs: number, memoryMb: number): LambdaUsage => ({
  invocations,
  errors: 0,
  durationMs: billedMs - invocations / 2,
  billedMs,
  memoryMb,
});

/** Ten videos: 7 polls each at 200 ms, two RecordProgress writes each. */
const TEN_VIDEOS: Usage = {
  stepFunctions: {
    executionsStarted: 10,
    transitions: 310,
    transitionsByState: {
      IsResume: 10,
      SubmitTask: 10,
      RecordSubmitted: 10,
      WaitBeforePoll: 70,
      PollTask: 70,
      IsVideoReady: 70,
      RecordProgress: 20,
      StoreVideo: 10,
      RecordSucceeded: 10,
      AnnounceOutcome: 10,
      HowDidItEnd: 10,
      JobSucceeded: 10,
    },
    retries: 0,
  },
  lambda: { 'poll-task': lambda(70, 14_000, 256), 'store-video': lambda(10, 20_000, 512), 'describe-failure': lambda(0, 0, 128) },
  dynamodb: { readUnits: 20, writeUnits: 240, indexWriteUnits: 160, conditionalCheckFailures: 0, byOperation: {} },
  s3: { requests: {}, tier1: 30, tier2: 20, free: 5 },
  eventBridge: { putEventsRequests: 10, customEvents: 10, customEventUnits: 10, serviceEvents: { 'aws.s3': 20 }, ruleDeliveries: 0 },
  secretsManager: { getSecretValue: 2 },
};

describe('costPer1000Videos', () => {
  const lines = costPer1000Videos(TEN_VIDEOS, 10);
  const cost = (item: string) => lines.find((line) => line.item === item)?.usdPer1000Videos;

  it('prices each service at its us-east-1 on-demand rate, per 1,000 videos', () => {
    expect(cost('state transitions')).toBeCloseTo(0.775, 10); // 31,000 × $0.025 / 1,000
    expect(cost('poll-task requests')).toBeCloseTo(0.0014, 10); // 7,000 × $0.20 / 1M
    expect(cost('poll-task compute (256 MB)')).toBeCloseTo(0.00466669, 10); // 350 GB-s × $0.0000133334
    expect(cost('store-video requests')).toBeCloseTo(0.0002, 10);
    expect(cost('store-video compute (512 MB)')).toBeCloseTo(0.0133334, 10); // 1,000 GB-s
    expect(cost('read request units')).toBeCloseTo(0.00025, 10); // 2,000 × $0.125 / 1M
    expect(cost('write request units, table')).toBeCloseTo(0.005, 10); // 8,000 × $0.625 / 1M
    expect(cost('write request units, GSIs')).toBeCloseTo(0.01, 10); // 16,000
    expect(cost('PUT, COPY, POST, LIST requests')).toBeCloseTo(0.015, 10); // 3,000 × $0.005 / 1,000
    expect(cost('GET, HEAD and other requests')).toBeCloseTo(0.0008, 10); // 2,000 × $0.0004 / 1,000
    expect(cost('custom events (64 KB units)')).toBeCloseTo(0.001, 10); // 1,000 × $1 / 1M
    expect(cost('AWS service events (free)')).toBe(0);
    expect(cost('GetSecretValue calls')).toBeCloseTo(0.001, 10); // 200 × $0.05 / 10,000
    expect(totalUsd(lines)).toBeCloseTo(0.82765009, 8);
  });

  it('leaves out functions that never ran and reports units per video', () => {
    expect(lines.some((line) => line.item.startsWith('describe-failure'))).toBe(false);
    expect(lines.find((line) => line.item === 'state transitions')?.perVideo).toBe(31);
    expect(lines.find((line) => line.item === 'poll-task compute (256 MB)')?.perVideo).toBeCloseTo(0.35, 10);
  });

  it('refuses to price no videos', () => {
    expect(() => costPer1000Videos(TEN_VIDEOS, 0)).toThrow(/at least one video/);
  });
});

describe('fixedPollerBaseline', () => {
  it("replaces the poll loop (its three states, PollTask runs and billed ms) by the fixed poller's polls and keeps the rest", () => {
    const baseline = fixedPollerBaseline(TEN_VIDEOS, { ours: 70, fixed: 80 });
    expect(baseline.stepFunctions.transitionsByState).toMatchObject({ WaitBeforePoll: 80, PollTask: 80, IsVideoReady: 80, RecordProgress: 20, SubmitTask: 10 });
    expect(baseline.stepFunctions.transitions).toBe(340);
    expect(baseline.lambda['poll-task']).toMatchObject({ invocations: 80, billedMs: 16_000, memoryMb: 256 });
    expect(baseline.lambda['store-video']).toEqual(TEN_VIDEOS.lambda['store-video']);
    expect(baseline.dynamodb).toEqual(TEN_VIDEOS.dynamodb);
    // + 3,000 transitions ($0.075), + 1,000 PollTask requests ($0.0002) and 50 GB-s ($0.00066667) per 1,000 videos.
    expect(totalUsd(costPer1000Videos(baseline, 10))).toBeCloseTo(0.82765009 + 0.075 + 0.0002 + 0.00066667, 8);
  });

  it('needs polls to scale', () => {
    expect(() => fixedPollerBaseline(TEN_VIDEOS, { ours: 0, fixed: 8 })).toThrow(/no polls/);
  });
});

describe('fixedPollerPolls (testkit/simulated-polling.ts)', () => {
  it('polls every 15 s until the poll after the task ended', async () => {
    expect(await fixedPollerPolls([14, 20, 100, 121])).toEqual([1, 2, 7, 9]);
  });
});

describe('formatCostTable', () => {
  it('prints a line per item, the total, and the baseline beside it', () => {
    const table = formatCostTable(costPer1000Videos(TEN_VIDEOS, 10), {
      label: 'fixed 15 s',
      lines: costPer1000Videos(fixedPollerBaseline(TEN_VIDEOS, { ours: 70, fixed: 80 }), 10),
    });
    const rows = table.split('\n');
    expect(rows[0]).toMatch(/^service\s+\| item\s+\| per video \| unit\s+\| \$ \/ 1,000 videos \| fixed 15 s: per video \| \$ \/ 1,000 videos$/);
    expect(rows.find((row) => row.startsWith('Step Functions'))).toMatch(/\| 31\s+\| transitions \| \$0\.7750\s+\| 34\s+\| \$0\.8500$/);
    expect(rows.at(-1)).toMatch(/^total .*\| \$0\.8277 .*\| \$0\.9035$/);
  });
});
