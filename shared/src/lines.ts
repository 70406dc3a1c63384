import type { MapContext } from './job-type.ts';

/**
 * Calls fn for every line (record) of a split, keeping ctx.record current so an error thrown by fn
 * can name the record. A trailing newline does not make an extra empty record.
 */
export function lines(input: Buffer, ctx: MapContext<unknown, unknown>, fn: (line: string, record: number) => void): void {
  const text = input.toString('utf8');
  let start = 0;
  let record = ctx.firstRecord;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = n;
    ctx.record = record;
    fn(text.slice(start, end), record);
    record++;
    start = end + 1;
  }
}
