/**
 * The two ways of touching many keys that differ between one Redis and a cluster: one command per
 * key, and SCAN. ioredis refuses a pipeline whose keys are in different slots (key-slot.ts), even
 * when one node serves them, so on a Cluster commands are pipelined per slot.
 */
import { Cluster, type ChainableCommander } from 'ioredis';
import { bySlot } from './key-slot.ts';
import type { RedisConnection } from './redis.ts';

/**
 * One command per key (`add` puts it on the pipeline it is given), in as few round trips as the
 * topology allows: one pipeline on one Redis; on a Cluster one pipeline per slot, side by side.
 * Replies come back in the order of `keys`; the first error is thrown.
 */
export async function eachKey(redis: RedisConnection, keys: string[], add: (p: ChainableCommander, key: string) => void): Promise<unknown[]> {
  if (keys.length === 0) return [];
  const groups = redis instanceof Cluster ? bySlot(keys) : new Map([[0, keys.map((_, i) => i)]]);
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
