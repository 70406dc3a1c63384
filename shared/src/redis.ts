import { readFileSync } from 'node:fs';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { readSecretFile } from './cluster-auth.ts';
import type { Logger } from './log.ts';
import { firstSeed, redisSeeds } from './redis-seeds.ts';
import { sleep } from './sleep.ts';

/**
 * Where Redis is: REDIS_URL (redis:// or rediss:// for TLS, with `:PASSWORD@` or `USER:PASSWORD@`
 * for AUTH) and, for TLS, TANDEM_REDIS_CA (a PEM file added to Node's trusted roots). A bare URL
 * string is the same with no extra CA.
 */
export type RedisTarget = string | { REDIS_URL: string; TANDEM_REDIS_CA?: string };

const targetOf = (t: RedisTarget) => (typeof t === 'string' ? { REDIS_URL: t, TANDEM_REDIS_CA: undefined } : t);

/**
 * A Redis URL fit to print: the password removed (the user name, which is no secret, kept).
 * Every message, log line and page that names Redis's address goes through this.
 */
export function redactUrl(url: string, placeholder?: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    // A placeholder (`tandem up`'s export line: "<password>") shows where the password goes.
    u.password = placeholder ? 'PASSWORD' : '';
    const shown = u.href.replace(/\/$/, '');
    return placeholder ? shown.replace(':PASSWORD@', `:${placeholder}@`) : shown;
  } catch {
    // Not a URL: drop anything between "//" and "@", which is where a password would be.
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

/** Takes the password itself out of a message, in case a library repeated it. */
function scrub(text: string, url: string): string {
  let pass = '';
  try {
    pass = decodeURIComponent(new URL(url).password);
  } catch {
    // nothing to take out
  }
  return pass ? text.split(pass).join('***') : text;
}

const caCache = new Map<string, string>();
/** The PEM text of TANDEM_REDIS_CA (config.ts has checked that it reads and holds a certificate). */
function readCa(path: string): string {
  let pem = caCache.get(path);
  if (pem === undefined) {
    pem = readFileSync(path, 'utf8');
    caCache.set(path, pem);
  }
  return pem;
}

/**
 * TLS options for a rediss:// target (undefined for redis://): Node's trusted roots plus
 * TANDEM_REDIS_CA, host name verified. Certificates are never accepted unverified.
 */
export function redisTlsOptions(target: RedisTarget): ConnectionOptions | undefined {
  const t = targetOf(target);
  if (!/^rediss:/i.test(t.REDIS_URL)) return undefined;
  return t.TANDEM_REDIS_CA ? { ca: [...rootCertificates, readCa(t.TANDEM_REDIS_CA)] } : {};
}

/** ioredis options that `target` implies beyond its URL (TLS trust). */
function targetOptions(target: RedisTarget): RedisOptions {
  const tls = redisTlsOptions(target);
  return tls ? { tls } : {};
}

/**
 * ioredis attaches the failed command to a reply error, and for AUTH (or HELLO ... AUTH) that is
 * the password: anything that prints the error object (BullMQ's console.error for an 'error' event
 * nobody listens to, a log of `err`) would show it. Blanked in place, before other listeners see it.
 */
export function hideAuthArgs(err: Error & { command?: { name?: string; args?: unknown[] } }): void {
  const name = err.command?.name?.toLowerCase();
  if ((name === 'auth' || name === 'hello') && err.command) err.command.args = ['(not shown)'];
}

export type RedisProblem = 'wrongpass' | 'noauth' | 'untrusted' | 'wrong-host' | 'not-tls' | 'unreachable';

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** What kind of failure a Redis connection error is. */
export function redisProblem(err: Error & { code?: string }): RedisProblem {
  const m = err.message;
  if (/\bWRONGPASS\b|invalid password|invalid username-password/i.test(m)) return 'wrongpass';
  if (/\bNOAUTH\b|Authentication required/i.test(m)) return 'noauth';
  if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /does not match certificate's altnames/i.test(m)) return 'wrong-host';
  if ((err.code && UNTRUSTED.has(err.code)) || /certificate/i.test(m)) return 'untrusted';
  if (err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(m)) return 'not-tls';
  return 'unreachable';
}

/**
 * One sentence on why Redis at `url` cannot be used, naming its address without the password and
 * what to change.
 */
export function explainRedisError(err: Error, url: string): string {
  const at = `Redis at ${redactUrl(url)}`;
  const why = scrub(err.message, url);
  switch (redisProblem(err)) {
    case 'wrongpass':
      return `${at} refused the password (WRONGPASS); check the password in REDIS_URL`;
    case 'noauth':
      return `${at} needs a password (NOAUTH): put it in REDIS_URL as redis://:PASSWORD@host:port`;
    case 'untrusted':
      return `${at} presented a TLS certificate this process does not trust (${why}): set TANDEM_REDIS_CA to the PEM file of the CA that signed it`;
    case 'wrong-host':
      return `${at} presented a TLS certificate for another host name (${why}): put a name the certificate lists in REDIS_URL`;
    case 'not-tls':
      return `${at} does not answer TLS on that port (${why}): use redis:// for a port without TLS`;
    default:
      // A TLS client at a plain port hears nothing back (Redis waits for the rest of a command line).
      return /^rediss:/i.test(url) && /ETIMEDOUT|timed out/i.test(why)
        ? `cannot reach ${at} (${why}); if that port speaks Redis without TLS, use redis://`
        : `cannot reach ${at} (${why})`;
  }
}

/**
 * Connections for long-running services: they retry forever (a lost Redis is waited out, never a
 * crash), and say so in the log once per outage rather than once per attempt (again only if the
 * reason changes, say from "unreachable" to "refused the password").
 */
/** Since when (epoch ms) a service connection has been unable to reach Redis; absent while it can. */
export const downSince = new WeakMap<RedisConnection, number>();
/** Why, as explainRedisError says it, while downSince has an entry. */
export const downBecause = new WeakMap<RedisConnection, string>();
/** The URL a service connection was made from, so its duplicates' errors can be explained too. */
const urlOf = new WeakMap<RedisConnection, string>();

export function serviceRedis(target: RedisTarget, log: Logger, name: string, options: RedisOptions = {}, topology: RedisTopology = SINGLE): RedisConnection {
  const url = targetOf(target).REDIS_URL;
  const base: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    ...targetOptions(target),
    ...options,
  };
  const redis = topology.kind === 'cluster' ? clusterConnection(target, base) : new Redis(firstSeed(url), base);
  urlOf.set(redis, url);
  let logged: RedisProblem | null = null;
  const onError = (err: Error) => {
    hideAuthArgs(err);
    const problem = redisProblem(err);
    const why = explainRedisError(err, url);
    if (!downSince.has(redis)) downSince.set(redis, Date.now());
    downBecause.set(redis, why);
    if (logged === problem) return;
    logged = problem;
    if (problem === 'unreachable') log.warn({ err: why, redis: redactUrl(url) }, 'Redis unreachable; retrying');
    else log.error({ redis: redactUrl(url) }, `${why}; retrying`);
  };
  redis.on('error', onError);
  // A Cluster reports a node's failure (a failover under way) as 'node error' and goes on.
  if (redis instanceof Cluster) redis.on('node error', (err: Error) => log.warn({ err: scrub(err.message, url), redis: redactUrl(url) }, 'a Redis Cluster node failed; the cluster client retries elsewhere'));
  redis.on('ready', () => {
    if (logged) log.info({ redis: redactUrl(url) }, 'Redis reachable again');
    logged = null;
    downSince.delete(redis);
    downBecause.delete(redis);
  });
  return redis;
}

/**
 * One Redis, or a Redis Cluster: told by the node itself (INFO's cluster_enabled), never by a
 * setting, so REDIS_URL naming any node of a cluster is enough.
 */
export type RedisTopology = { kind: 'single' } | { kind: 'cluster' };
const SINGLE: RedisTopology = { kind: 'single' };

/**
 * Asks the seeds of REDIS_URL in turn whether they run in cluster mode. Throws
 * RedisUnreachableError (explainRedisError's words, for the last seed) when none answers.
 */
export async function detectTopology(target: RedisTarget): Promise<RedisTopology> {
  const t = targetOf(target);
  let why = '';
  for (const { url: seed } of redisSeeds(t.REDIS_URL).nodes) {
    let last: Error | undefined;
    const r = new Redis(seed, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000, ...targetOptions(target) });
    r.on('error', (err) => {
      hideAuthArgs(err);
      last = err;
    });
    try {
      await r.connect();
      const info = await r.info('cluster');
      return /^cluster_enabled:1/m.test(info) ? { kind: 'cluster' } : SINGLE;
    } catch (err) {
      const cause = last ?? (err as Error);
      why = explainRedisError(cause, seed);
      // A refused password or certificate is the same at every seed: retrying another cannot help.
      if (redisProblem(cause) !== 'unreachable') throw new RedisUnreachableError(why, redisProblem(cause));
    } finally {
      r.disconnect();
    }
  }
  throw new RedisUnreachableError(why);
}

/**
 * A Cluster client seeded with every node REDIS_URL names, each node connection made with `node`
 * (credentials and TLS from the URL). A failover takes a few seconds (cluster-node-timeout and an
 * election): commands meanwhile wait and retry for about 20 s before they fail.
 */
function clusterConnection(target: RedisTarget, node: RedisOptions, options: ClusterOptions = {}): Cluster {
  const t = targetOf(target);
  const seeds = redisSeeds(t.REDIS_URL);
  const { retryStrategy, enableOfflineQueue, ...perNode } = node;
  return new Cluster(seeds.nodes.map(({ host, port }) => ({ host, port })), {
    redisOptions: {
      ...perNode,
      username: seeds.username || undefined,
      password: seeds.password || undefined,
      // A cluster always uses database 0.
      db: 0,
    },
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
    clusterRetryStrategy: retryStrategy ?? ((times) => Math.min(times * 100, 2000)),
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    // Right after a failover nodes may disagree for a moment and redirect back and forth.
    retryDelayOnMoved: 50,
    maxRedirections: 100,
    slotsRefreshTimeout: 2000,
    ...options,
  });
}

/**
 * For the 'error' events of BullMQ's workers and queue readers, which repeat at every reconnect
 * of their own (duplicated) connections: `report` gets each distinct message once, and again only
 * after `connection` has been ready in between, so an outage or a refused password is one line.
 * A refused password or certificate is reported in explainRedisError's words, as the connection's
 * own log line says it: BullMQ's duplicated connections may hit the refusal before `connection`
 * does, and the raw reply (`WRONGPASS invalid username-password pair…`) names no address or fix.
 */
export function errorsOncePerOutage(connection: RedisConnection, report: (message: string) => void): (err: Error) => void {
  const seen = new Set<string>();
  connection.on('ready', () => seen.clear());
  return (err) => {
    hideAuthArgs(err);
    const url = urlOf.get(connection);
    const message = url && redisProblem(err) !== 'unreachable' ? `${explainRedisError(err, url)}; retrying` : err.message;
    if (seen.has(message)) return;
    seen.add(message);
    report(message);
  };
}

/** A service's Redis connections, each named for CLIENT LIST, closed together when it stops. */
export class ServiceConnections {
  readonly all: RedisConnection[] = [];
  constructor(private target: RedisTarget, private log: Logger, readonly topology: RedisTopology = SINGLE) {}

  /**
   * Connections of the topology Redis reports (one server or a cluster), once a seed answers:
   * until then `waiting` hears why, once per distinct reason, and the seeds are asked every second.
   */
  static async open(target: RedisTarget, log: Logger, waiting?: (why: string) => void): Promise<ServiceConnections> {
    let said = '';
    for (;;) {
      try {
        const topology = await detectTopology(target);
        if (said) log.info({ redis: redactUrl(targetOf(target).REDIS_URL), topology: topology.kind }, 'Redis reachable again');
        return new ServiceConnections(target, log, topology);
      } catch (err) {
        if (!(err instanceof RedisUnreachableError)) throw err;
        // A refused password or certificate: no retry fixes it (the setting is read once), so the
        // service runs on, and its connections say what is wrong, once per outage, as ever.
        if (err.problem !== 'unreachable') return new ServiceConnections(target, log, SINGLE);
        if (err.message !== said) {
          said = err.message;
          if (waiting) waiting(err.message);
          else log.warn({ err: err.message, redis: redactUrl(targetOf(target).REDIS_URL) }, 'Redis unreachable; retrying');
        }
        await sleep(1000);
      }
    }
  }

  connect(name: string, options: RedisOptions = {}): RedisConnection {
    const c = serviceRedis(this.target, this.log, name, options, this.topology);
    this.all.push(c);
    return c;
  }

  /** Since when (epoch ms) some connection has been unable to reach Redis, or null. */
  downSince(): number | null {
    const since = Math.min(...this.all.map((c) => downSince.get(c) ?? Infinity));
    return since === Infinity ? null : since;
  }

  /** Why the connection down longest cannot use Redis (explainRedisError's sentence), or null. */
  downBecause(): string | null {
    const since = this.downSince();
    const c = since === null ? undefined : this.all.find((x) => downSince.get(x) === since);
    return (c && downBecause.get(c)) ?? null;
  }

  close(): void {
    for (const c of this.all) c.disconnect();
  }
}

export class RedisUnreachableError extends Error {
  /** Why, as redisProblem classifies it (absent: unreachable). */
  constructor(message: string, readonly problem: RedisProblem = 'unreachable') {
    super(message);
  }
}

/**
 * A connection for one-shot clients (the CLI): fails fast with a message that names the address
 * (never the password), instead of queueing commands forever. A refused password or an untrusted
 * certificate fails at once: retrying cannot fix either.
 */
export async function clientRedis(target: RedisTarget, options: RedisOptions = {}): Promise<RedisConnection> {
  const url = targetOf(target).REDIS_URL;
  let last: Error | undefined;
  const base: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 3000,
    retryStrategy: (times) => (times > 3 || (last && redisProblem(last) !== 'unreachable') ? null : times * 200),
    ...targetOptions(target),
    ...options,
  };
  let topology: RedisTopology;
  try {
    topology = await detectTopology(target);
  } catch (err) {
    if (!(err instanceof RedisUnreachableError)) throw err;
    throw new RedisUnreachableError(/^cannot reach/.test(err.message) ? `${err.message}; start one or set REDIS_URL / --redis-url` : err.message);
  }
  const redis = topology.kind === 'cluster' ? clusterConnection(target, base, { lazyConnect: true }) : new Redis(firstSeed(url), base);
  redis.on('error', (err: Error) => {
    hideAuthArgs(err);
    last = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const cause = last ?? (err as Error);
    const why = explainRedisError(cause, url);
    throw new RedisUnreachableError(redisProblem(cause) === 'unreachable' ? `${why}; start one or set REDIS_URL / --redis-url` : why);
  }
  return redis;
}

/** What a one-off PING at `target` found: an answer, or explainRedisError's reason and its kind. */
export type RedisProbe = { ok: true } | { ok: false; problem: RedisProblem; why: string };

/** PINGs Redis at `target` within about a second; never throws. */
export async function probeRedis(target: RedisTarget): Promise<RedisProbe> {
  const url = firstSeed(targetOf(target).REDIS_URL);
  let last: Error | undefined;
  const r = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000, ...targetOptions(target) });
  r.on('error', (err) => {
    hideAuthArgs(err);
    last = err;
  });
  try {
    await r.connect();
    if ((await r.ping()) === 'PONG') return { ok: true };
    throw new Error('PING was not answered PONG');
  } catch (err) {
    const cause = last ?? (err as Error);
    return { ok: false, problem: redisProblem(cause), why: explainRedisError(cause, url) };
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
  const u = new URL(firstSeed(url));
  return `${u.hostname}:${u.port || '6379'}`;
};

export async function redisRunId(redis: RedisConnection): Promise<string | null> {
  try {
    // A cluster's nodes each have their own run_id: it is known by its lowest node id instead.
    if (redis instanceof Cluster) return `cluster:${String(await redis.call('CLUSTER', 'NODES')).split('\n').map((l) => l.split(' ')[0]).filter(Boolean).sort()[0]}`;
    return /^run_id:(\w+)/m.exec(await redis.info('server'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** True if a Redis answers PING at `target` within about a second; never throws. */
export async function redisAnswers(target: RedisTarget): Promise<boolean> {
  return (await probeRedis(target)).ok;
}

/** Where `tandem up` keeps the password of the Redis it starts, in its data folder (mode 0600). */
export const REDIS_PASSWORD_FILE = 'redis-password';

/** True for redis:// URLs on this machine (127.0.0.0/8, ::1, localhost). */
function isLocalPlainUrl(u: URL): boolean {
  const h = u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return u.protocol === 'redis:' && (h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h));
}

/** `url` with `password` for the default user (any password it had replaced); every seed of a list shares it. */
export function withRedisPassword(url: string, password: string): string {
  const m = /^(rediss?:\/\/)(?:[^@/?#]*@)?(.*)$/i.exec(url);
  if (!m) throw new Error(`not a Redis URL: ${redactUrl(url)}`);
  return `${m[1]}:${encodeURIComponent(password)}@${m[2]}`;
}

/**
 * On the machine `tandem up` runs on: a local redis:// URL without a password (one node, or seed
 * nodes all on this machine, as `tandem up --redis-cluster` prints them) gets the one `tandem up`
 * keeps in `dataDir` for the Redis it started, so commands run there find it, as they find the
 * cluster secret. Any other URL, or one with a password, is returned as it is.
 */
export function withDataDirRedisPassword(url: string, dataDir: string): string {
  let seeds: URL[];
  try {
    seeds = redisSeeds(url).nodes.map((n) => new URL(n.url));
  } catch {
    return url;
  }
  if (seeds.some((u) => u.password || u.username || !isLocalPlainUrl(u))) return url;
  const password = readSecretFile(dataDir, REDIS_PASSWORD_FILE);
  return password ? withRedisPassword(url, password) : url;
}

/** A connection to Redis: one server, or a Redis Cluster (ioredis's two clients share their commands). */
export type RedisConnection = Redis | Cluster;
