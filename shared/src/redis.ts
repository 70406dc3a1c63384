import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './log.ts';

/**
 * Connections for long-running services: they retry forever (a lost Redis is waited out, never a
 * crash), and say so in the log once per outage rather than once per attempt.
 */
/** Since when (epoch ms) a service connection has been unable to reach Redis; absent while it can. */
export const downSince = new WeakMap<Redis, number>();

export function serviceRedis(url: string, log: Logger, name: string, options: RedisOptions = {}): Redis {
  let down = false;
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    ...options,
  });
  redis.on('error', (err) => {
    if (!down) {
      log.warn({ err: err.message, url }, 'Redis unreachable; retrying');
      downSince.set(redis, Date.now());
    }
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ url }, 'Redis reachable again');
    down = false;
    downSince.delete(redis);
  });
  return redis;
}

/** A service's Redis connections, each named for CLIENT LIST, closed together when it stops. */
export class ServiceConnections {
  readonly all: Redis[] = [];
  constructor(private url: string, private log: Logger) {}

  connect(name: string, options: RedisOptions = {}): Redis {
    const c = serviceRedis(this.url, this.log, name, options);
    this.all.push(c);
    return c;
  }

  /** Since when (epoch ms) some connection has been unable to reach Redis, or null. */
  downSince(): number | null {
    const since = Math.min(...this.all.map((c) => downSince.get(c) ?? Infinity));
    return since === Infinity ? null : since;
  }

  close(): void {
    for (const c of this.all) c.disconnect();
  }
}

export class RedisUnreachableError extends Error {}

/**
 * A connection for one-shot clients (the CLI): fails fast with a message that names the address,
 * instead of queueing commands forever.
 */
export async function clientRedis(url: string, options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 3000,
    retryStrategy: (times) => (times > 3 ? null : times * 200),
    ...options,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new RedisUnreachableError(
      `cannot reach Redis at ${url} (${(err as Error).message}); start one or set REDIS_URL / --redis-url`,
    );
  }
  return redis;
}

/** True if a Redis answers PING at url within about a second; never throws. */
export async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Which Redis this is: host:port of its URL (never its password) and the server's run_id, which
 * two clients compare to tell whether they talk to the same Redis (null when INFO fails).
 */
export interface RedisIdentity {
  address: string;
  runId: string | null;
}

export const redisAddress = (url: string): string => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '6379'}`;
};

export async function redisRunId(redis: Redis): Promise<string | null> {
  try {
    return /^run_id:(\w+)/m.exec(await redis.info('server'))?.[1] ?? null;
  } catch {
    return null;
  }
}
