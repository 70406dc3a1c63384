/**
 * A worker's cache of immutable data decoded from Redis, keyed by a hash of the bytes it was decoded
 * from (e.g. a PageRank partition's adjacency, which every iteration reads again). A key names
 * content, not a place, so an entry can never be stale: what changes gets a new key. The cache only
 * saves work; a worker that starts cold computes the same results. Least recently used entries go
 * first once the byte budget is exceeded.
 */
export class ContentCache {
  private entries = new Map<string, { value: unknown; bytes: number }>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

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

  /** Keeps value (about `bytes` in memory) unless it alone is larger than the whole budget. */
  set(key: string, value: unknown, bytes: number): void {
    const old = this.entries.get(key);
    if (old) {
      this.used -= old.bytes;
      this.entries.delete(key);
    }
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    for (const [k, e] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(k);
      this.used -= e.bytes;
    }
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }
}
