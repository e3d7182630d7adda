/**
 * What every bench section hands back to bench/main.ts: summary rows (ours vs the baseline run in
 * the same process, with the ratio and the target), the full figures for bench/results.json, and
 * notes that say what was measured and how.
 */

export interface SummaryRow {
  section: string;
  metric: string;
  ours: number | string;
  baseline: number | string;
  /** ours / baseline; undefined when it means nothing (text values). */
  ratio?: number;
  target: string;
  /** undefined: informative row, no target. */
  met?: boolean;
}

export interface SectionReport {
  section: string;
  rows: SummaryRow[];
  /** Printed after the summary table. */
  notes: string[];
  /** Everything measured, for bench/results.json. */
  details: unknown;
}

export type Log = (line: string) => void;

/** A seeded PRNG (mulberry32), so every poller meets the same generation times and the run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Linear-interpolated quantile (q in [0, 1]) of unsorted numbers; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export const median = (values: readonly number[]) => quantile(values, 0.5);
export const mean = (values: readonly number[]) => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function integerEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
  return parsed;
}

function cell(value: number | string | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return Math.abs(value) >= 1000 ? value.toLocaleString('en-US') : String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 0.1) return value.toFixed(2);
  return value.toFixed(abs === 0 ? 0 : 3);
}

/** A plain-text table with `|` separators and padded columns. */
export function formatTable(headers: string[], rows: (string | number | undefined)[][]): string {
  const text = rows.map((row) => row.map((value) => cell(value)));
  const widths = headers.map((header, column) => Math.max(header.length, ...text.map((row) => (row[column] ?? '').length)));
  const line = (values: string[]) => values.map((value, column) => value.padEnd(widths[column]!)).join(' | ').trimEnd();
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('-|-'), ...text.map(line)].join('\n');
}

export function formatSummary(rows: SummaryRow[]): string {
  return formatTable(
    ['section', 'metric', 'ours', 'baseline', 'ratio', 'target', 'met?'],
    rows.map((row) => [
      row.section,
      row.metric,
      row.ours,
      row.baseline,
      row.ratio === undefined ? '' : `${cell(row.ratio)}×`,
      row.target,
      row.met === undefined ? '' : row.met ? 'yes' : 'NO',
    ]),
  );
}
