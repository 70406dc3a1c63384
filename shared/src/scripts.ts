/**
 * Tandem's atomic multi-key Redis steps, one `.lua` file each under `lua/` (as BullMQ keeps its
 * `src/commands/*.lua`). A file is named `<name>-<number of KEYS>.lua` and its header comment
 * states what it does, its KEYS, its ARGV and its result; the TypeScript that calls it never
 * restates the logic.
 *
 * The files are read once, when this module loads. A script runs by its SHA-1 (EVALSHA); a server
 * that does not have it yet (first use, a restart, a flush) answers NOSCRIPT, and then the script is
 * sent whole once (EVAL), which also loads it for the next call.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { RedisConnection } from './redis.ts';
import { keySlot } from './key-slot.ts';

interface Script {
  name: string;
  keys: number;
  lua: string;
  sha: string;
}

const dir = new URL('./lua/', import.meta.url);

function load(): Map<string, Script> {
  const all = new Map<string, Script>();
  for (const file of readdirSync(dir)) {
    const m = /^([a-z][a-z0-9-]*)-(\d+)\.lua$/.exec(file);
    if (!m) {
      if (file.endsWith('.lua')) throw new Error(`shared/src/lua/${file}: a script's file name must be <name>-<number of keys>.lua`);
      continue;
    }
    const lua = readFileSync(new URL(file, dir), 'utf8');
    all.set(m[1], { name: m[1], keys: Number(m[2]), lua, sha: createHash('sha1').update(lua).digest('hex') });
  }
  return all;
}

const scripts = load();

/** The names of the scripts in `lua/`, for tests. */
export const scriptNames = (): string[] => [...scripts.keys()].sort();

/** Runs script `name` with exactly the number of KEYS its file name declares. */
export async function runScript(redis: Pick<RedisConnection, 'evalsha' | 'eval'>, name: string, keys: string[], args: (string | number | Buffer)[] = []): Promise<unknown> {
  const s = scripts.get(name);
  if (!s) throw new Error(`no Redis script "${name}" in shared/src/lua (have: ${scriptNames().join(', ') || 'none'})`);
  if (keys.length !== s.keys) throw new Error(`Redis script "${name}" takes ${s.keys} keys, got ${keys.length}`);
  // Checked on every topology, so a script whose keys a Redis Cluster would refuse (CROSSSLOT)
  // fails in every test run, not only on a cluster.
  const slots = new Set(keys.map(keySlot));
  if (slots.size > 1) throw new Error(`Redis script "${name}" was given keys in different hash slots (${keys.map((k) => `${k}: ${keySlot(k)}`).join(', ')}); a Redis Cluster refuses that: give them one hash tag (shared/src/keys.ts)`);
  try {
    return await redis.evalsha(s.sha, s.keys, ...keys, ...args);
  } catch (err) {
    // The first word of a Redis error reply is its code.
    if (!(err as Error).message.startsWith('NOSCRIPT ')) throw err;
    return redis.eval(s.lua, s.keys, ...keys, ...args);
  }
}
