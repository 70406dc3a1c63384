/** Redis's memory as INFO memory reports it: for the submit's headroom check and the console's cluster page. */
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

export const readRedisMemory = async (redis: RedisConnection): Promise<RedisMemory> => parseRedisMemory(await redis.info('memory'));
