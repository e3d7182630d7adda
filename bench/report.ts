/**
 * What every bench section hands back to bench/main.ts: summary rows (ours vs the baseline run in
 * the same process, with the ratio and the target), the full figures for bench/results.json, and
 * notes that say what was measured and how.
 */
import { formatCell, formatTable } from '../testkit/table.js';

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

export function formatSummary(rows: SummaryRow[]): string {
  return formatTable(
    ['section', 'metric', 'ours', 'baseline', 'ratio', 'target', 'met?'],
    rows.map((row) => [
      row.section,
      row.metric,
      row.ours,
      row.baseline,
      row.ratio === undefined ? '' : `${formatCell(row.ratio)}×`,
      row.target,
      row.met === undefined ? '' : row.met ? 'yes' : 'NO',
    ]),
  );
}
