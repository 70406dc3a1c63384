/**
 * The one seam for moving data (datasets' splits, jobs' shuffle blobs and outputs): whole values
 * read and written many at a time, ranges of a large value copied into a caller's buffer, expiries,
 * deletes. Two implementations: over an ioredis connection (one Redis or a Cluster; here) and over
 * the raw RESP client (bulk-client.ts), which workers use for speed. Either one works on a Redis
 * Cluster: keys of different slots never share a command or a pipeline.
 */
import type { RedisConnection } from './redis.ts';
import { bySlot } from './key-slot.ts';

export interface BlobEntry {
  key: string;
  value: Buffer;
}

/** A value's length and its first bytes. */
export interface BlobHead {
  length: number;
  head: Buffer;
}

export interface BlobStore {
  /** Whole values, null where missing. */
  getMany(keys: string[]): Promise<(Buffer | null)[]>;
  /** SETs, each expiring after ttlMs when given. */
  setMany(entries: BlobEntry[], ttlMs?: number): Promise<void>;
  /** The value's length and first `bytes` bytes (fewer when it is shorter), or null when it is missing. */
  head(key: string, bytes: number): Promise<BlobHead | null>;
  /**
   * Copies bytes [from, to) of the value into `out` at the same offsets, as ranges of `rangeBytes`
   * fetched side by side; false when a range came back short (the value changed or vanished).
   */
  readInto(key: string, out: Buffer, from: number, to: number, rangeBytes: number): Promise<boolean>;
  /** Each value's length (STRLEN), 0 where missing: a reduce task sizes its input before choosing how to read it. */
  sizes(keys: string[]): Promise<number[]>;
  /** Bytes [from, to) of the value (one GETRANGE): fewer at its end, none when it is missing. */
  range(key: string, from: number, to: number): Promise<Buffer>;
  /** Gives each key an expiry of ttlMs, or removes it (null); true where that changed something (the key exists, and for null had one). */
  expire(keys: string[], ttlMs: number | null): Promise<boolean[]>;
  /** UNLINKs the keys (missing ones cost nothing). */
  delete(keys: string[]): Promise<void>;
}

/** Keys named in one UNLINK, and commands in flight at once (scripts/bench/bounds-micro.ts measured the cleanup: UNLINKs of 1,000 keys were slower). */
export const UNLINK_KEYS = 300;
const IN_FLIGHT = 16;
/** Commands in one pipeline on a single Redis. */
const PIPELINE = 1000;

/** Runs fn over items with at most `limit` calls pending. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}

type Pipeline = ReturnType<RedisConnection['pipeline']>;

async function execOrThrow(p: Pipeline): Promise<unknown[]> {
  const res = await p.exec();
  if (!res) throw new Error('Redis pipeline was aborted');
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/**
 * One single-key command per key, replies in order: pipelined on one Redis; on a Cluster issued side
 * by side (ioredis refuses a pipeline over keys of different slots, and routes each command itself,
 * following MOVED and ASK).
 */
export async function perKey<T>(redis: RedisConnection, n: number, queue: (p: Pipeline, i: number) => void, single: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  if (redis.isCluster) {
    await inParallel(Array.from({ length: n }, (_, i) => i), 64, async (i) => {
      out[i] = await single(i);
    });
    return out;
  }
  for (let i = 0; i < n; i += PIPELINE) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(n, i + PIPELINE); j++) queue(p, j);
    (await execOrThrow(p)).forEach((v, j) => (out[i + j] = v as T));
  }
  return out;
}

class RedisBlobStore implements BlobStore {
  constructor(private redis: RedisConnection) {}

  async getMany(keys: string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    if (!this.redis.isCluster) return this.redis.mgetBuffer(...keys);
    const out: (Buffer | null)[] = new Array(keys.length).fill(null);
    await inParallel([...bySlot(keys).values()], IN_FLIGHT, async (at) => {
      const got = await this.redis.mgetBuffer(...at.map((i) => keys[i]));
      at.forEach((i, j) => (out[i] = got[j]));
    });
    return out;
  }

  async setMany(entries: BlobEntry[], ttlMs?: number): Promise<void> {
    await perKey(
      this.redis, entries.length,
      (p, i) => (ttlMs === undefined ? p.set(entries[i].key, entries[i].value) : p.set(entries[i].key, entries[i].value, 'PX', ttlMs)),
      (i) => (ttlMs === undefined ? this.redis.set(entries[i].key, entries[i].value) : this.redis.set(entries[i].key, entries[i].value, 'PX', ttlMs)),
    );
  }

  async head(key: string, bytes: number): Promise<BlobHead | null> {
    const [length, head] = await Promise.all([this.redis.strlen(key), this.redis.getrangeBuffer(key, 0, bytes - 1)]);
    if (length === 0 && !(await this.redis.exists(key))) return null;
    return { length, head };
  }

  sizes(keys: string[]): Promise<number[]> {
    return Promise.all(keys.map((key) => this.redis.strlen(key)));
  }

  async readInto(key: string, out: Buffer, from: number, to: number, rangeBytes: number): Promise<boolean> {
    const ranges: Promise<boolean>[] = [];
    for (let off = from; off < to; off += rangeBytes) {
      const end = Math.min(to, off + rangeBytes);
      ranges.push(this.redis.getrangeBuffer(key, off, end - 1).then((b) => b.copy(out, off) === end - off));
    }
    return (await Promise.all(ranges)).every(Boolean);
  }

  range(key: string, from: number, to: number): Promise<Buffer> {
    return to <= from ? Promise.resolve(Buffer.alloc(0)) : this.redis.getrangeBuffer(key, from, to - 1);
  }

  async expire(keys: string[], ttlMs: number | null): Promise<boolean[]> {
    const res = await perKey(
      this.redis, keys.length,
      (p, i) => (ttlMs === null ? p.persist(keys[i]) : p.pexpire(keys[i], ttlMs)),
      (i) => (ttlMs === null ? this.redis.persist(keys[i]) : this.redis.pexpire(keys[i], ttlMs)),
    );
    return res.map((n) => n === 1);
  }

  async delete(keys: string[]): Promise<void> {
    const batches: string[][] = [];
    const groups = this.redis.isCluster ? [...bySlot(keys).values()].map((at) => at.map((i) => keys[i])) : [keys];
    for (const g of groups) for (let i = 0; i < g.length; i += UNLINK_KEYS) batches.push(g.slice(i, i + UNLINK_KEYS));
    if (this.redis.isCluster) {
      await inParallel(batches, IN_FLIGHT, async (b) => void (await this.redis.unlink(...b)));
      return;
    }
    for (let i = 0; i < batches.length; i += IN_FLIGHT) {
      const p = this.redis.pipeline();
      for (const b of batches.slice(i, i + IN_FLIGHT)) p.unlink(...b);
      await execOrThrow(p);
    }
  }
}

const stores = new WeakMap<RedisConnection, BlobStore>();

/** The BlobStore over an ioredis connection (one per connection). */
export function redisBlobs(redis: RedisConnection): BlobStore {
  let s = stores.get(redis);
  if (!s) stores.set(redis, (s = new RedisBlobStore(redis)));
  return s;
}
