/**
 * A worker's cache of immutable data decoded from Redis, keyed by a hash of the bytes it was decoded
 * from (e.g. a PageRank partition's adjacency, which every iteration reads again). A key names
 * content, not a place, so an entry can never be stale: what changes gets a new key. The cache only
 * saves work; a worker that starts cold computes the same results. Least recently used entries go
 * first once the byte budget is exceeded.
 *
 * The budget counts what an entry costs the process, not only its value's bytes: each entry also
 * pays ENTRY_OVERHEAD_BYTES and its key. Without that, a budget of small values is no bound at all:
 * PageRank with 1024 partitions wrote millions of 16-byte blobs, and 64 MiB of them held 3.2 GB.
 */
/**
 * What one entry costs beyond its value's bytes and its key: the Map slot, the entry object, and for
 * a Buffer its ArrayBuffer, backing store and view. Measured: 200,000 16-byte Buffers in a Map cost
 * about 810 bytes of RSS each (Node 20, x64).
 */
export const ENTRY_OVERHEAD_BYTES = 800;

export class ContentCache {
  private entries = new Map<string, { value: unknown; bytes: number }>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number, private readonly entryOverhead = ENTRY_OVERHEAD_BYTES) {}

  get<T>(key: string): T | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-inserting moves the entry to the end: Map iteration order is the recency order.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value as T;
  }

  /** The entry, left where it is and uncounted (no hit, no recency): to look before taking. */
  peek<T>(key: string): T | undefined {
    return this.entries.get(key)?.value as T | undefined;
  }

  /** The entry, removed from the cache: for values read once. */
  take<T>(key: string): T | undefined {
    const v = this.get<T>(key);
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.used -= e.bytes;
    }
    return v;
  }

  /** Keeps value (about `bytes` in memory, plus the entry's own cost) unless it alone is larger than the whole budget. */
  set(key: string, value: unknown, valueBytes: number): void {
    const old = this.entries.get(key);
    if (old) {
      this.used -= old.bytes;
      this.entries.delete(key);
    }
    const bytes = valueBytes + (this.entryOverhead > 0 ? this.entryOverhead + key.length : 0);
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    if (this.used <= this.maxBytes) return;
    // Evict down to 7/8 of the budget at once: each pass walks past the slots earlier deletions left
    // at the front of the Map, so evicting one entry per set made a cache of small values quadratic.
    const target = this.maxBytes - (this.maxBytes >> 3);
    for (const [k, e] of this.entries) {
      if (this.used <= target) break;
      this.entries.delete(k);
      this.used -= e.bytes;
    }
  }

  /** Drops everything (an idle worker gives its memory back). */
  clear(): void {
    this.entries.clear();
    this.used = 0;
  }

  /** What the entries cost, by the budget's reckoning. */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }
}
