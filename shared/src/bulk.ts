/**
 * Reading large values (dataset splits) fast. Redis writes at most 64 KiB to one client per pass of
 * its event loop, so on one connection an 8 MiB value takes ~130 passes; on this project's 2-core
 * VMs that made reading a split cost as much as counting its words. Ranges fetched over several
 * connections at once share each pass (measured: 8 MiB in ~90-130 ms on one connection, ~20-40 ms
 * over 8).
 */
import type { Redis } from 'ioredis';

export const RANGE_BYTES = 1 << 20;

/** GET of a possibly large value, fetched as ranges spread over the given connections. Null if missing. */
export async function getLarge(pool: Redis[], key: string, rangeBytes = RANGE_BYTES): Promise<Buffer | null> {
  const len = await pool[0].strlen(key);
  if (len === 0) return (await pool[0].exists(key)) ? Buffer.alloc(0) : null;
  if (len <= rangeBytes || pool.length === 1) return pool[0].getBuffer(key);
  const out = Buffer.allocUnsafe(len);
  const ranges: Promise<void>[] = [];
  for (let off = 0, i = 0; off < len; off += rangeBytes, i++) {
    const end = Math.min(len, off + rangeBytes);
    ranges.push(pool[i % pool.length].getrangeBuffer(key, off, end - 1).then((b) => {
      if (b.length !== end - off) throw new Error(`${key} changed while it was read (range ${off}-${end} gave ${b.length} bytes)`);
      b.copy(out, off);
    }));
  }
  await Promise.all(ranges);
  return out;
}
