/** Plain-text tables for the CLI (sizes and durations come from @tandem/shared). */
export { bytes, duration } from '@tandem/shared';

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}
