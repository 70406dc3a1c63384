/**
 * Reading large values (dataset splits) fast. Redis writes at most 64 KiB to one client per pass of
 * its event loop, so on one connection an 8 MiB value takes ~130 passes; on this project's 2-core
 * VMs that made reading a split cost as much as counting its words. Ranges fetched over several
 * connections at once share each pass (measured: 8 MiB in ~90-130 ms on one connection, ~20-40 ms
 * over 8).
 */
import type { Redis } from 'ioredis';

export const RANGE_BYTES = 1 << 20;

/** A value read by getLarge, and the buffer it was written into when getLarge owns that memory. */
export interface LargeValue {
  data: Buffer;
  /** Reusable for a later read (passed back as `into`); absent for small values, which ioredis owns. */
  backing?: Buffer;
}

/**
 * GET of a possibly large value, fetched as ranges spread over the given connections. Null if
 * missing. With `into`, the value is written into that buffer when it fits: fresh 8 MiB
 * allocations cost page faults that, on this project's VMs, took as long as the copy itself.
 */
export async function getLarge(pool: Redis[], key: string, into?: Buffer, rangeBytes = RANGE_BYTES): Promise<LargeValue | null> {
  const len = await pool[0].strlen(key);
  if (len === 0) return (await pool[0].exists(key)) ? { data: Buffer.alloc(0) } : null;
  if (len <= rangeBytes || pool.length === 1) {
    const data = await pool[0].getBuffer(key);
    return data ? { data } : null;
  }
  const backing = into && into.length >= len ? into : Buffer.allocUnsafeSlow(len);
  const out = backing.subarray(0, len);
  const ranges: Promise<void>[] = [];
  for (let off = 0, i = 0; off < len; off += rangeBytes, i++) {
    const end = Math.min(len, off + rangeBytes);
    ranges.push(pool[i % pool.length].getrangeBuffer(key, off, end - 1).then((b) => {
      if (b.length !== end - off) throw new Error(`${key} changed while it was read (range ${off}-${end} gave ${b.length} bytes)`);
      b.copy(out, off);
    }));
  }
  await Promise.all(ranges);
  return { data: out, backing };
}
