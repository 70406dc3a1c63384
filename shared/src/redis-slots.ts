/**
 * Hash slots, as Redis Cluster computes them, and the two ways of touching many keys that differ
 * between one Redis and a cluster: one command per key, and SCAN.
 *
 * A key's slot is CRC16 (XMODEM) of the key mod 16384, or of its hash tag: the part between the
 * first `{` and the next `}` when that part is not empty (the cluster spec's rule). ioredis refuses
 * a pipeline whose keys are in different slots, even when one node serves them, so on a Cluster
 * commands are pipelined per slot.
 */
import { Cluster, type ChainableCommander } from 'ioredis';
import type { RedisConnection } from './redis.ts';

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(b: Buffer, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b[i]) & 0xff];
  return crc;
}

/** The part of `key` that decides its slot: its hash tag if it has a non-empty one, else all of it. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

export function keySlot(key: string): number {
  const b = Buffer.from(hashTagOf(key));
  return crc16(b, 0, b.length) & 16383;
}

/**
 * One command per key (`add` puts it on the pipeline it is given), in as few round trips as the
 * topology allows: one pipeline on one Redis; on a Cluster one pipeline per slot, side by side.
 * Replies come back in the order of `keys`; the first error is thrown.
 */
export async function eachKey(redis: RedisConnection, keys: string[], add: (p: ChainableCommander, key: string) => void): Promise<unknown[]> {
  if (keys.length === 0) return [];
  const groups = new Map<number, number[]>();
  if (redis instanceof Cluster) {
    for (const [i, key] of keys.entries()) {
      const slot = keySlot(key);
      const g = groups.get(slot);
      if (g) g.push(i);
      else groups.set(slot, [i]);
    }
  } else {
    groups.set(0, keys.map((_, i) => i));
  }
  const out = new Array<unknown>(keys.length);
  await Promise.all([...groups.values()].map(async (idx) => {
    const p = redis.pipeline();
    for (const i of idx) add(p, keys[i]);
    const res = (await p.exec()) ?? [];
    for (const [j, [err, value]] of res.entries()) {
      if (err) throw err;
      out[idx[j]] = value;
    }
  }));
  return out;
}

/**
 * Every key matching `pattern`, a batch at a time, from every primary of a Cluster (a SCAN covers
 * only the node it is sent to) or from the one Redis. SCAN may return a key twice.
 */
export async function* scanKeys(redis: RedisConnection, pattern: string, count = 1000): AsyncGenerator<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (batch.length > 0) yield batch;
    } while (cursor !== '0');
  }
}
