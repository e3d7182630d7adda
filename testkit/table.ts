/** A number as the tables print it: thousands separated, fewer decimals the larger it is. */
export function formatCell(value: number | string | undefined): string {
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
  const text = rows.map((row) => row.map((value) => formatCell(value)));
  const widths = headers.map((header, column) => Math.max(header.length, ...text.map((row) => (row[column] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((value, column) => value.padEnd(widths[column]!))
      .join(' | ')
      .trimEnd();
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('-|-'), ...text.map(line)].join('\n');
}
