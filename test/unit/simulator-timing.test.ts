import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { planTask } from '../../local/simulator/task-clock.js';
import type { ProviderRequest } from '../../runtime/domain/request-schema.js';
import { seededRandom } from '../../testkit/seeded-random.js';

/**
 * How long the simulator's tasks take at LOCAL_TIME_SCALE=1, from creation to SUCCESS, over many
 * seeded draws: the provider states 1 to 5 minutes for a 5 s clip (docs/provider-api.md). The
 * percentiles are printed, and must be the ones docs/provider-simulator.md and the README state.
 */

type Shape = Pick<ProviderRequest, 'duration' | 'resolution' | 'generate_audio'>;

const DRAWS = 20_000;
const SEED = 13;
const ONE_MINUTE = 60;
const FIVE_MINUTES = 300;

const SHAPES: [label: string, shape: Shape][] = [
  ['default: 5 s, 720p, audio', { duration: 5, resolution: '720p', generate_audio: true }],
  ['5 s, 480p, silent', { duration: 5, resolution: '480p', generate_audio: false }],
  ['10 s, 720p, audio', { duration: 10, resolution: '720p', generate_audio: true }],
  ['15 s, 720p, audio', { duration: 15, resolution: '720p', generate_audio: true }],
];

interface Timing {
  p10: number;
  p50: number;
  p90: number;
  p99: number;
  /** The share of tasks that took 1 to 5 minutes, 0..1. */
  withinOneToFive: number;
}

function timing(shape: Shape): Timing {
  const random = seededRandom(SEED);
  const seconds = Array.from({ length: DRAWS }, () => planTask(shape, 1, random).plannedMs / 1000).sort((a, b) => a - b);
  // Nearest rank.
  const percentile = (share: number) => Math.round(seconds[Math.ceil(share * DRAWS) - 1]!);
  return {
    p10: percentile(0.1),
    p50: percentile(0.5),
    p90: percentile(0.9),
    p99: percentile(0.99),
    withinOneToFive: seconds.filter((value) => value >= ONE_MINUTE && value <= FIVE_MINUTES).length / DRAWS,
  };
}

const timings = SHAPES.map(([label, shape]) => ({ label, ...timing(shape) }));
const defaultTiming = timings[0]!;

const table = [
  '| request | p10 | p50 | p90 | p99 | 1–5 min |',
  '|---|---|---|---|---|---|',
  ...timings.map(
    ({ label, p10, p50, p90, p99, withinOneToFive }) => `| ${label} | ${p10} s | ${p50} s | ${p90} s | ${p99} s | ${Math.floor(withinOneToFive * 100)} % |`,
  ),
].join('\n');

const readmeLine = `p10 ${defaultTiming.p10} s, p50 ${defaultTiming.p50} s, p90 ${defaultTiming.p90} s, p99 ${defaultTiming.p99} s`;

describe('the simulator task clock at LOCAL_TIME_SCALE=1', () => {
  it(`takes 1 to 5 minutes for at least 90 % of ${DRAWS} default requests (seed ${SEED})`, () => {
    console.log(`Simulated task times, ${DRAWS} draws (seed ${SEED}):\n${table}`);
    expect(defaultTiming.withinOneToFive).toBeGreaterThanOrEqual(0.9);
  });

  it('has no runaway tail: none of them takes 7 minutes (one default job drew 544 s before the clip)', () => {
    const random = seededRandom(SEED + 1);
    const longest = Math.max(...Array.from({ length: DRAWS }, () => planTask(SHAPES[0]![1], 1, random).plannedMs / 1000));
    expect(longest).toBeLessThan(7 * 60);
  });

  it('is what docs/provider-simulator.md and the README print', async () => {
    const docs = await readFile(new URL('../../docs/provider-simulator.md', import.meta.url), 'utf8');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    // A plain boolean, so a failure prints the lines to paste rather than a diff of the whole file.
    expect(docs.includes(table), `docs/provider-simulator.md should contain\n${table}`).toBe(true);
    expect(readme.includes(readmeLine), `README.md should contain "${readmeLine}"`).toBe(true);
  });
});
