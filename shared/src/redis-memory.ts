/** Redis's memory as INFO memory reports it: for the submit's headroom check and the console's cluster page. */
import { Cluster } from 'ioredis';
import type { RedisConnection } from './redis.ts';

/** In bytes. */
export interface RedisMemory {
  used: number;
  peak: number;
  /** 0: no limit set. */
  maxmemory: number;
  /** The machine Redis runs on (0 where Redis does not know). */
  system: number;
}

/** Parses INFO memory's reply. */
export function parseRedisMemory(info: string): RedisMemory {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { used: field('used_memory'), peak: field('used_memory_peak'), maxmemory: field('maxmemory'), system: field('total_system_memory') };
}

/**
 * On a Redis Cluster, the sum over its primaries (a job's data spreads over them by hash slot, so
 * their total is the room it has; replicas hold copies): no limit if any primary has none, and the
 * largest machine's memory (nodes on one machine report the same machine).
 */
export async function readRedisMemory(redis: RedisConnection): Promise<RedisMemory> {
  if (!(redis instanceof Cluster)) return parseRedisMemory(await redis.info('memory'));
  const each = await Promise.all(redis.nodes('master').map(async (n) => parseRedisMemory(await n.info('memory'))));
  const sum = (f: (m: RedisMemory) => number) => each.reduce((t, m) => t + f(m), 0);
  return {
    used: sum((m) => m.used),
    peak: sum((m) => m.peak),
    maxmemory: each.some((m) => m.maxmemory === 0) ? 0 : sum((m) => m.maxmemory),
    system: Math.max(0, ...each.map((m) => m.system)),
  };
}
