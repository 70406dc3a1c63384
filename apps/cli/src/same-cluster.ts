/**
 * The warning a command that uses both Redis and the master gives when the two are not one
 * cluster: the master reports its prefix and its Redis (address and run_id) in /health, and a CLI
 * with another prefix or another Redis would upload where the master never looks, or read nothing.
 */
import type { RedisConnection } from '@tandem/shared';
import { clientRedis, redisAddress, redisRunId, type Config, type MasterClient } from '@tandem/shared';

/** The one-line difference between this CLI's cluster and the master's, or null when they agree (or the master does not say). */
export async function otherCluster(cfg: Config, client: MasterClient, redis?: RedisConnection): Promise<string | null> {
  const h = await client.health().catch(() => null);
  if (!h) return null;
  const diffs: string[] = [];
  if (h.prefix !== undefined && h.prefix !== cfg.TANDEM_PREFIX) diffs.push(`prefix "${h.prefix}" (this command uses "${cfg.TANDEM_PREFIX}"; set TANDEM_PREFIX / --prefix)`);
  if (h.redis) {
    const own = redis ?? (await clientRedis(cfg.REDIS_URL).catch(() => null));
    try {
      const runId = own ? await redisRunId(own) : null;
      const same = h.redis.runId && runId ? h.redis.runId === runId : h.redis.address === redisAddress(cfg.REDIS_URL);
      if (!same) diffs.push(`Redis at ${h.redis.address} (this command uses ${redisAddress(cfg.REDIS_URL)}; set REDIS_URL / --redis-url)`);
    } finally {
      if (!redis) own?.disconnect();
    }
  }
  return diffs.length === 0 ? null : `warning: the master at ${client.primaryUrl ?? cfg.TANDEM_VIEW_URL} uses ${diffs.join(' and ')}`;
}

/** Writes otherCluster's warning, if any, as one line on standard error. */
export async function warnIfOtherCluster(cfg: Config, client: MasterClient): Promise<void> {
  const w = await otherCluster(cfg, client);
  if (w) process.stderr.write(`tandem: ${w}\n`);
}
