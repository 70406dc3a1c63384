/**
 * What the Redis in use promises about acknowledged writes (docs/DESIGN.md §3.7). Every op the
 * primary acknowledges is in the durable op log in Redis first; whether it outlives a crash of
 * Redis's host depends on Redis's persistence, which Tandem can read but not choose (except for
 * the Redis `tandem up` starts, which runs `REDIS_DURABLE_CONF`).
 *
 * `durabilityProblem` is the rule (pure); `readPersistence` reads the settings (CONFIG GET, or
 * INFO persistence where a managed Redis refuses CONFIG).
 */
import type { RedisConnection } from './redis.ts';

/** The redis.conf lines under which an acknowledged write survives a crash of Redis and of its host. */
export const REDIS_DURABLE_CONF = ['appendonly yes', 'appendfsync always'];

export interface RedisPersistence {
  /** The append-only file is on. */
  aof: boolean;
  /** `always`, `everysec`, `no`, or null when it could not be read (CONFIG refused). */
  fsync: string | null;
  /** Why the fsync policy is unknown (CONFIG's refusal). */
  unreadable?: string;
}

const SET_IT = 'set "appendonly yes" and "appendfsync always" in redis.conf (or CONFIG SET appendfsync always)';

/**
 * Null when acknowledged ops survive a crash of Redis's host; otherwise what is at risk and what to
 * set. Tandem detects a rolled-back op log and reports it (§3.4), but cannot bring the ops back.
 */
export function durabilityProblem(p: RedisPersistence): string | null {
  if (!p.aof) {
    return `Redis runs without an append-only file (appendonly no): a restart of Redis loses every job and op acknowledged since its last RDB snapshot, or all of them; ${SET_IT}`;
  }
  if (p.fsync === 'always') return null;
  if (p.fsync === null) {
    return `cannot read Redis's appendfsync policy (${p.unreadable ?? 'CONFIG GET refused'}); unless it is "always", a crash of Redis's host may lose the last acknowledged jobs and ops; ${SET_IT}`;
  }
  const lost = p.fsync === 'everysec' ? 'up to a second of' : 'the last seconds (as the OS flushes) of';
  return `Redis runs with appendfsync ${p.fsync}: a crash of Redis's host may lose ${lost} acknowledged jobs and ops (Tandem detects it and marks them lost, but cannot bring them back); ${SET_IT}`;
}

/** Reads the AOF settings; CONFIG GET first, INFO persistence where CONFIG is refused (managed Redis). */
export async function readPersistence(redis: RedisConnection): Promise<RedisPersistence> {
  let pairs: string[];
  try {
    pairs = (await redis.call('CONFIG', 'GET', 'appendonly', 'appendfsync')) as string[];
  } catch (err) {
    const info = await redis.info('persistence');
    return { aof: /^aof_enabled:1/m.test(info), fsync: null, unreadable: `CONFIG GET refused: ${(err as Error).message}` };
  }
  // Name/value pairs, in no set order.
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) m.set(pairs[i], pairs[i + 1]);
  return { aof: m.get('appendonly') === 'yes', fsync: m.get('appendfsync') ?? null };
}

/**
 * The current problem, re-read at most every `everyMs`: for a service's alerts, which must answer
 * at once. Null while nothing is known yet (Redis unreachable), so an outage raises only its own alert.
 */
export function durabilityWatch(redis: RedisConnection, everyMs = 30_000): { problem(): string | null; check(): Promise<string | null> } {
  let problem: string | null = null;
  let readAt = 0;
  let reading = false;
  const check = async () => {
    problem = durabilityProblem(await readPersistence(redis));
    readAt = Date.now();
    return problem;
  };
  return {
    check,
    problem() {
      if (!reading && Date.now() - readAt > everyMs) {
        reading = true;
        check().catch(() => undefined).finally(() => (reading = false));
      }
      return problem;
    },
  };
}

/**
 * A service's check at start: logs once, as a warning, what the Redis in use cannot promise (the
 * primary master also raises it as an alert). Redis unreachable: nothing is logged here; the
 * connection's own errors say so.
 */
export function logDurabilityAtStart(redis: RedisConnection, log: { warn(o: object, msg: string): void }): void {
  void readPersistence(redis).then((p) => {
    const problem = durabilityProblem(p);
    if (problem) log.warn({ appendonly: p.aof, appendfsync: p.fsync }, problem);
  }, () => undefined);
}
