import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MIN_SECRET_LENGTH } from './cluster-auth.ts';
import { CONNECTION_DEFAULTS } from './defaults.ts';
import { formatIssues } from './protocol.ts';
import { redactUrl } from './redis.ts';
import { redisSeeds } from './redis-seeds.ts';

/** Variables whose value an error message must not repeat. */
const SECRET_VARS = new Set(['TANDEM_SECRET', 'TANDEM_CONSOLE_TOKEN']);
/** Variables shown with any password taken out. */
const URL_VARS = new Set(['REDIS_URL']);

/**
 * Every tunable of every process, read from the environment once and validated, so a typo in a
 * variable fails at start with its name instead of misbehaving later. CLI flags write into the
 * same variables (see apps/cli), so flag and environment can never disagree.
 */
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/** Why the PEM file at `path` cannot serve as a CA, or null if it can. */
function caProblem(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  return text.includes('-----BEGIN CERTIFICATE-----') ? null : `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
}

export const configSchema = z.object({
  /**
   * Redis: redis://HOST:PORT, with a password as redis://:PASSWORD@HOST:PORT (an ACL user:
   * redis://USER:PASSWORD@...), a database as /N, and TLS as rediss://. Every connection uses it,
   * the workers' bulk client and BullMQ's too; no message or log line shows the password. For a
   * Redis Cluster, any node will do, or several as redis://HOST:PORT,HOST:PORT (seeds): the node
   * says it runs in cluster mode, nothing else is configured.
   */
  REDIS_URL: z
    .string()
    .refine((u) => /^rediss?:\/\//i.test(u), 'use redis://HOST:PORT, or rediss://HOST:PORT for TLS')
    .superRefine((u, ctx) => {
      try {
        redisSeeds(u);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^REDIS_URL \S+: /, '') });
      }
    })
    .default(CONNECTION_DEFAULTS.REDIS_URL),
  /**
   * For rediss://: a PEM file of the CA that signed Redis's certificate, trusted on top of Node's
   * own roots (the host name is checked all the same). Empty means unset.
   */
  TANDEM_REDIS_CA: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()).superRefine((path, ctx) => {
    const problem = path === undefined ? null : caProblem(path);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  TANDEM_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only')
    .default(CONNECTION_DEFAULTS.TANDEM_PREFIX),
  TANDEM_SPLIT_BYTES: int(8 * 1024 * 1024, 1024),
  TANDEM_MASTER_HOST: z.string().default('127.0.0.1'),
  TANDEM_MASTER_PORT: int(7100),
  /**
   * The name a master gives itself in views, which is also where clients and the other master reach
   * it; by default http://HOST:PORT, https:// with TANDEM_TLS_CERT (set it when HOST is 0.0.0.0 or
   * behind a proxy).
   */
  TANDEM_MASTER_ADVERTISE_URL: z.string().url().optional(),
  /** Clients: talk to this master only, instead of asking the view service for the primary. */
  TANDEM_MASTER_URL: z.string().url().optional(),
  TANDEM_VIEW_HOST: z.string().default('127.0.0.1'),
  TANDEM_VIEW_PORT: int(7000),
  /** Unset: http://127.0.0.1:7000, or https://127.0.0.1:7000 with TANDEM_TLS_CERT (see loadConfig). */
  TANDEM_VIEW_URL: z.string().url().default(CONNECTION_DEFAULTS.TANDEM_VIEW_URL),
  /** Masters ping the view service this often; one silent for DEAD_PINGS intervals is dead. */
  TANDEM_PING_INTERVAL_MS: int(100, 10),
  TANDEM_DEAD_PINGS: int(5, 2),
  /**
   * The view-service lease's time to live: one view service per Redis and prefix decides views; it
   * renews its lease every quarter of this, and a standby takes over once the lease lapses.
   */
  TANDEM_VIEW_LEASE_MS: int(2000, 200),
  /**
   * The master's op log: a batch counts as durable once this many replicas of the Redis primary
   * holding the log have it (WAIT), so a Redis failover cannot take back an acknowledged job. Capped
   * at the replicas that primary has (none: no wait); 0 never waits.
   */
  TANDEM_LOG_REPLICAS: int(1),
  /** How long a batch waits for those replicas; past it the batch counts on the primary alone, and /health says so. */
  TANDEM_LOG_REPLICA_WAIT_MS: int(1000, 1),
  TANDEM_JOBS_DIR: z.string().optional(),
  TANDEM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** BullMQ lock on a running task; a SIGKILLed worker's task is handed on after about this long. */
  TANDEM_LOCK_MS: int(4000, 500),
  /** How often workers look for tasks whose lock lapsed. */
  TANDEM_STALLED_MS: int(2000, 200),
  /** How many times one task may lose its worker before the job fails. */
  TANDEM_MAX_STALLS: int(10, 1),
  /** Attempts per task for errors thrown by the job code (retried with exponential backoff). */
  TANDEM_TASK_ATTEMPTS: int(3, 1),
  TANDEM_RETRY_DELAY_MS: int(250, 0),
  /** Master: how often it reconciles its task table with the commit markers in Redis. */
  TANDEM_RECONCILE_MS: int(1000, 50),
  /** Speculative (backup) attempts: a running task older than FACTOR × median of its finished peers. */
  TANDEM_SPECULATE_FACTOR: z.coerce.number().min(1).default(3),
  TANDEM_SPECULATE_MIN_MS: int(2000, 0),
  /**
   * Master: the primary writes a snapshot of its state to the durable op log after this many
   * batches, and trims the entries it covers, so recovery reads a bounded log.
   */
  TANDEM_LOG_SNAPSHOT_EVERY: int(1000, 1),
  /**
   * Master: `off` skips the durable op log (no append, no claim, no recovery from Redis). Only for
   * the benchmark's baseline (scripts/bench/failover.ts): without the log, losing both masters
   * loses every job.
   */
  TANDEM_DURABLE_LOG: z.enum(['on', 'off']).default('on'),
  /** Intermediate keys expire after this many seconds even if their job's clean-up never ran. */
  TANDEM_INTERMEDIATE_TTL_S: int(7 * 24 * 3600, 60),
  /**
   * Finished BullMQ tasks each queue keeps (for bull-board and the failure reconcile): at most COUNT,
   * none older than AGE_S. Completed ones matter little once committed; failed ones explain a job's failure.
   */
  TANDEM_KEEP_COMPLETED_TASKS: int(1000, 0),
  TANDEM_KEEP_COMPLETED_TASKS_S: int(24 * 3600, 1),
  TANDEM_KEEP_FAILED_TASKS: int(5000, 0),
  TANDEM_KEEP_FAILED_TASKS_S: int(7 * 24 * 3600, 1),
  /** A finished job's record and output are deleted this many seconds after it finished. */
  TANDEM_JOB_RETENTION_S: int(7 * 24 * 3600, 1),
  /** How long a detected loss of Redis data stays in the masters' alerts. */
  TANDEM_DATA_LOSS_ALERT_S: int(3600, 1),
  /** Connections a worker moves large values over, to Redis or to each primary of a Redis Cluster (bulk-client.ts). */
  TANDEM_READ_CONNECTIONS: int(4, 1),
  /**
   * Tasks one worker process runs at once. CPU work never overlaps within a process, but a second
   * task's split arrives from Redis while the first computes.
   */
  TANDEM_WORKER_CONCURRENCY: int(1, 1),
  /**
   * A worker that has taken no task of a queue for this long while tasks wait there replaces its
   * BullMQ worker and connection for that queue (after a Redis failover, a blocked connection may
   * never wake up).
   */
  TANDEM_WORKER_QUIET_MS: int(30_000, 1000),
  /**
   * A worker told to stop (SIGTERM: Kubernetes scaling in) takes no new task and finishes the ones
   * it runs for up to this long; past it, it hands them back to their queue's front, for another
   * worker to take at once (not after their lock lapses), and exits. A task handed back is not a
   * failed attempt.
   */
  TANDEM_WORKER_DRAIN_MS: int(20_000, 0),
  /**
   * A key/value reduce task reads each sender's shuffle blob this many KiB at a time (GETRANGE), so
   * its merge holds about senders × this, whatever the partition's size; map tasks cut their blobs
   * into blocks of a quarter of it, at most 64 KiB (docs/DESIGN.md §3.5).
   */
  TANDEM_REDUCE_RANGE_KB: int(256, 1),
  /**
   * A key/value reduce task whose senders' shuffle blobs add up to at most this many MiB reads them
   * whole (one MGET, or from the worker's cache of what it wrote) and merges them in memory, the
   * fastest way for ordinary partitions; larger, it streams them in TANDEM_REDUCE_RANGE_KB ranges.
   * Decoded, a blob takes a few times its bytes, so keep this well under the worker's heap (0: always stream).
   */
  TANDEM_REDUCE_MEMORY_MB: int(128, 0),
  /** Memory a worker may keep decoded immutable data in (PageRank's adjacency), in MiB; 0 turns the cache off. */
  TANDEM_WORKER_CACHE_MB: int(512, 0),
  /**
   * The Redis memory jobs may fill, in MiB, when Redis has no maxmemory (0: the memory of Redis's
   * machine). A submit whose estimated memory does not fit the headroom is refused.
   */
  TANDEM_REDIS_MEMORY_MB: int(0, 0),
  /**
   * Prometheus metrics (shared/src/metrics.ts): `on` serves GET /metrics on every process; `off`
   * makes every instrument a no-op and /metrics a 404 (the baseline of `npm run bench -- metrics`).
   */
  TANDEM_METRICS: z.enum(['on', 'off']).default('on'),
  /** A worker's own listener for /metrics and /health (the other processes serve them on their API port). */
  TANDEM_METRICS_HOST: z.string().default('127.0.0.1'),
  /** Its port; 0 takes a free one (the worker logs it). `tandem up` gives worker i 7400+i-1 (--metrics-port). */
  TANDEM_METRICS_PORT: int(0),
  TANDEM_CONSOLE_HOST: z.string().default('127.0.0.1'),
  TANDEM_CONSOLE_PORT: int(7300),
  /**
   * When set, every console page, API call and bull-board needs it: a login form sets a cookie,
   * scripts send `Authorization: Bearer <token>`. Empty means unset.
   */
  TANDEM_CONSOLE_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(12, 'use at least 12 characters').optional()),
  /** A console login session ends this many seconds after the login (fixed, not renewed by use). */
  TANDEM_CONSOLE_SESSION_S: int(12 * 3600, 1),
  /** Failed console logins one client address may make per window before it must wait. */
  TANDEM_CONSOLE_LOGIN_MAX_FAILURES: int(5, 1),
  TANDEM_CONSOLE_LOGIN_WINDOW_S: int(60, 1),
  /** Largest dataset the console accepts in one upload, in bytes. */
  TANDEM_CONSOLE_UPLOAD_MAX_BYTES: int(2 * 1024 ** 3, 1),
  TANDEM_DATA_DIR: z.string().default('.tandem'),
  /**
   * The cluster secret: when set, every internal request and every client's carries it, and the
   * view service and the masters refuse any request without it. Empty means unset.
   */
  TANDEM_SECRET: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(MIN_SECRET_LENGTH, `use at least ${MIN_SECRET_LENGTH} characters (for example: openssl rand -base64 32)`).optional()),
  TANDEM_WORKERS: int(2, 1),
  /**
   * `tandem up`: a child that ran this long (ms) before it died is restarted after the first short
   * wait again, not the longer wait of a child that keeps dying at once. 0 never resets (the
   * benchmark's baseline).
   */
  TANDEM_RESTART_RESET_MS: int(10_000, 0),
  /**
   * TLS (shared/src/tls.ts): the certificate and private key (PEM files) every listener of the
   * process serves HTTPS with; both or neither. Empty means unset.
   */
  TANDEM_TLS_CERT: optionalString,
  TANDEM_TLS_KEY: optionalString,
  /** Clients: a PEM file of CA certificates trusted for https: URLs, besides Node's bundled public roots. */
  TANDEM_TLS_CA: optionalString,
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const shown = (path: string) => (URL_VARS.has(path) ? redactUrl(String(env[path])) : env[path]);
    const lines = formatIssues(parsed.error, { name: (path) => (SECRET_VARS.has(path) ? `${path} (value not shown)` : `${path}=${JSON.stringify(shown(path))}`), separator: '\n  ' });
    throw new ConfigError(`invalid configuration:\n  ${lines}`);
  }
  const cfg = parsed.data;
  if (!cfg.TANDEM_TLS_CERT !== !cfg.TANDEM_TLS_KEY) {
    const [set, unset] = cfg.TANDEM_TLS_CERT ? ['TANDEM_TLS_CERT', 'TANDEM_TLS_KEY'] : ['TANDEM_TLS_KEY', 'TANDEM_TLS_CERT'];
    throw new ConfigError(`invalid configuration:\n  TANDEM_TLS_CERT and TANDEM_TLS_KEY go together: ${set} is set but ${unset} is not (set both, the certificate and its private key as PEM files, or neither)`);
  }
  // A process that serves TLS finds its own cluster's view service over TLS too; a URL given is used as given.
  if (cfg.TANDEM_TLS_CERT && !env.TANDEM_VIEW_URL) cfg.TANDEM_VIEW_URL = cfg.TANDEM_VIEW_URL.replace(/^http:/, 'https:');
  return cfg;
}
