/**
 * Reading large values (dataset splits) fast. Redis writes at most 64 KiB to one client per pass of
 * its event loop, so on one connection an 8 MiB value takes ~130 passes; on this project's 2-core
 * VMs that made reading a split cost as much as counting its words. Ranges fetched over several
 * connections at once share each pass (measured: 8 MiB in ~90-130 ms on one connection, ~10-40 ms
 * over 4-8).
 */
import type { BlobStore } from './blob-store.ts';

export const RANGE_BYTES = 1 << 20;

/** A value read by getLarge, and the buffer it was written into when getLarge owns that memory. */
export interface LargeValue {
  data: Buffer;
  /** Reusable for a later read (passed back as `into`); absent for small values, which the store allocated. */
  backing?: Buffer;
}

export interface GetLargeOptions {
  /** Written into when the value fits; reuse the returned `backing` here for the next read. */
  into?: Buffer;
  rangeBytes?: number;
}

/**
 * GET of a possibly large value, fetched as ranges side by side (the raw client, bulk-client.ts,
 * copies them from its sockets straight into the buffer). Null if missing. The length and the first
 * range travel together, so a value of up to one range (most task inputs of an iterative job) costs
 * one round trip. Buffers are reused through `into`: fresh 8 MiB allocations cost page faults that,
 * on this project's VMs, took as long as the copy itself.
 */
export async function getLarge(store: BlobStore, key: string, opts: GetLargeOptions = {}): Promise<LargeValue | null> {
  const rangeBytes = opts.rangeBytes ?? RANGE_BYTES;
  const first = await store.head(key, rangeBytes);
  if (!first) return null;
  const { length: len, head } = first;
  const changed = () => new Error(`${key} changed or vanished while it was read`);
  if (head.length !== Math.min(len, rangeBytes)) throw changed();
  if (len <= rangeBytes) return { data: head };
  const into = opts.into;
  const backing = into && into.length >= len ? into : Buffer.allocUnsafeSlow(len);
  const out = backing.subarray(0, len);
  head.copy(out, 0);
  if (!(await store.readInto(key, out, rangeBytes, len, rangeBytes))) throw changed();
  return { data: out, backing };
}
