/**
 * Reading large values (dataset splits) fast. Redis writes at most 64 KiB to one client per pass of
 * its event loop, so on one connection an 8 MiB value takes ~130 passes; on this project's 2-core
 * VMs that made reading a split cost as much as counting its words. Ranges fetched over several
 * connections at once share each pass (measured: 8 MiB in ~90-130 ms on one connection, ~10-40 ms
 * over 4-8).
 */
import type { RedisConnection } from './redis.ts';
import type { BulkClient } from './bulk-client.ts';

export const RANGE_BYTES = 1 << 20;

/** A value read by getLarge, and the buffer it was written into when getLarge owns that memory. */
export interface LargeValue {
  data: Buffer;
  /** Reusable for a later read (passed back as `into`); absent for small values, which ioredis owns. */
  backing?: Buffer;
}

export interface GetLargeOptions {
  /** Written into when the value fits; reuse the returned `backing` here for the next read. */
  into?: Buffer;
  /** Fastest path: ranges copied from the socket straight into the buffer (bulk-client.ts). */
  reader?: BulkClient | null;
  /** Otherwise, ioredis connections to spread the ranges over. */
  pool?: RedisConnection[];
  rangeBytes?: number;
}

/**
 * GET of a possibly large value, fetched as ranges over several connections. Null if missing.
 * The length and the first range travel together, so a value of up to one range (most task
 * inputs of an iterative job) costs one round trip. Buffers are reused through `into`: fresh 8 MiB
 * allocations cost page faults that, on this project's VMs, took as long as the copy itself.
 */
export async function getLarge(redis: RedisConnection, key: string, opts: GetLargeOptions = {}): Promise<LargeValue | null> {
  const rangeBytes = opts.rangeBytes ?? RANGE_BYTES;
  const [len, head] = await Promise.all([redis.strlen(key), redis.getrangeBuffer(key, 0, rangeBytes - 1)]);
  const changed = () => new Error(`${key} changed or vanished while it was read`);
  if (len === 0) return (await redis.exists(key)) ? { data: Buffer.alloc(0) } : null;
  if (head.length !== Math.min(len, rangeBytes)) throw changed();
  if (len <= rangeBytes) return { data: head };
  const into = opts.into;
  const backing = into && into.length >= len ? into : Buffer.allocUnsafeSlow(len);
  const out = backing.subarray(0, len);
  head.copy(out, 0);
  if (opts.reader) {
    if (!(await opts.reader.readInto(key, len, out, rangeBytes, rangeBytes))) throw changed();
    return { data: out, backing };
  }
  const pool = opts.pool ?? [redis];
  const ranges: Promise<void>[] = [];
  for (let off = rangeBytes, i = 0; off < len; off += rangeBytes, i++) {
    const end = Math.min(len, off + rangeBytes);
    ranges.push(pool[i % pool.length].getrangeBuffer(key, off, end - 1).then((b) => {
      if (b.length !== end - off) throw changed();
      b.copy(out, off);
    }));
  }
  await Promise.all(ranges);
  return { data: out, backing };
}
