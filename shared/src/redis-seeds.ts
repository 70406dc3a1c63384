/**
 * REDIS_URL names one Redis, or several nodes of one Redis Cluster as comma-separated seeds sharing
 * the scheme, credentials and options: `redis://:PASSWORD@10.0.0.1:7000,10.0.0.2:7000`. Any one
 * node is enough (the cluster names the rest); more seeds let a process start while one is down.
 */

/** Each seed as a URL of its own (the given URL itself when it names one node). */
export function redisSeeds(url: string): string[] {
  const m = /^(rediss?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/i.exec(url);
  if (!m) return [url];
  const hosts = m[3].split(',').map((h) => h.trim());
  if (hosts.length === 1) return [url];
  return hosts.filter((h) => h !== '').map((h) => `${m[1]}${m[2] ?? ''}${h}${m[4]}`);
}

/** The first seed: where a single-node Redis is, and the address messages name. */
export const firstSeed = (url: string): string => redisSeeds(url)[0];
