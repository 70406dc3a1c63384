/**
 * `tandem up`: the whole platform on one machine, in the foreground. Starts redis-server when none
 * answers at REDIS_URL (with a password, kept in the data folder), or with --redis-cluster the nodes
 * of a Redis Cluster (local-redis-cluster.ts), supervised like the rest; then the view service, two
 * masters (primary and backup, on MASTER_PORT and the port after it), N workers (worker i's
 * /metrics and /health on --metrics-port + i - 1) and the console, restarts any that die (a
 * restarted master comes back as backup), and stops everything on Ctrl-C (SIGTERM to each, SIGKILL
 * after a grace period).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import {
  EXIT_CONFIG, REDIS_DURABLE_CONF, REDIS_PASSWORD_FILE, clientRedis, forgetViewAnswered, keys, recordViewAnswered, SECRET_FILE, TandemError, TlsError, ensureSecretFile, fetchJson, loadTls, probeRedis, redactUrl, redisAnswers,
  requestJson, sleep, urlScheme, withDataDirRedisPassword, withRedisPassword, formCluster, type Config, type MasterHealth, type ViewReply, type ViewStatus,
} from '@tandem/shared';
import { confValue, describeCluster, localRedisPassword, localStartProblem, prepareLocalCluster, spawnRedisServer, type ClusterShape, type LocalCluster } from './local-redis-cluster.ts';
import { portProblem } from './ports.ts';
import { spawnApp, type AppName } from './processes.ts';
import { readLease } from '../../view-service/src/lease.ts';
import { FIRST_WAIT_MS, MAX_WAIT_MS, restartPlan } from './restart-backoff.ts';

/**
 * The Redis the cluster uses, and the process when tandem up started it. A Redis that answers at
 * REDIS_URL is used as given. One started here always has a password: REDIS_URL's, or else one made
 * and kept in the data folder (mode 0600, reused on later starts so the AOF'd data stays
 * readable), given to redis-server on its standard input so that no process list shows it.
 */
async function startRedis(cfg: Config, say: (s: string) => void): Promise<{ url: string; proc: ChildProcess | null }> {
  const given = cfg.REDIS_URL;
  const shown = redactUrl(given);
  const probe = await probeRedis(cfg);
  if (probe.ok) {
    say(`using the Redis that answers at ${shown}`);
    return { url: given, proc: null };
  }
  const url = new URL(given);
  const keptPath = resolve(cfg.TANDEM_DATA_DIR, REDIS_PASSWORD_FILE);
  if (probe.problem !== 'unreachable') {
    // A redis-server an earlier tandem up started here (and left running) has the kept password.
    const withKept = withDataDirRedisPassword(given, cfg.TANDEM_DATA_DIR);
    if (probe.problem === 'noauth' && withKept !== given && (await probeRedis({ ...cfg, REDIS_URL: withKept })).ok) {
      say(`using the Redis that answers at ${shown}, with the password kept in ${keptPath}`);
      return { url: withKept, proc: null };
    }
    throw new Error(`${probe.why}. tandem up starts a Redis only where none answers: fix REDIS_URL, or point it at a free port`);
  }
  const problem = localStartProblem(url, shown);
  if (problem) throw new Error(problem);
  const { password, where } = localRedisPassword(cfg);
  const withPassword = withRedisPassword(given, password);
  const dir = resolve(cfg.TANDEM_DATA_DIR, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = url.port || '6379';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const conf = [
    `port ${port}`, `bind ${host === 'localhost' ? '127.0.0.1' : host}`, `dir ${confValue(dir)}`,
    // Every acknowledged op is fsynced before Redis answers, so it outlives a crash of this host (docs/DESIGN.md §3.7).
    ...REDIS_DURABLE_CONF,
    'maxmemory-policy noeviction', 'loglevel warning', `requirepass ${confValue(password)}`,
  ];
  const proc = spawnRedisServer(conf, 'inherit');
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers({ ...cfg, REDIS_URL: withPassword })) {
      say(`started redis-server on port ${port} (data in ${dir}, append-only file fsynced on every write), ${where}`);
      return { url: withPassword, proc };
    }
    if (proc.exitCode !== null) break;
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}; see its messages above`);
}

/**
 * The cluster runs with a secret always: the one given in the environment (or found in the data
 * folder by configFrom), or else a new one kept there, which the processes started here inherit.
 */
function withClusterSecret(cfg: Config, say: (s: string) => void): Config {
  if (cfg.TANDEM_SECRET) return cfg;
  const secret = ensureSecretFile(cfg.TANDEM_DATA_DIR);
  process.env.TANDEM_SECRET = secret;
  say(`made a cluster secret in ${resolve(cfg.TANDEM_DATA_DIR, SECRET_FILE)} (readable by you only); commands run from here use it`);
  return { ...cfg, TANDEM_SECRET: secret };
}

const COLORS: Record<string, string> = { fatal: '31', error: '31', warn: '33', info: '36', debug: '90', trace: '90' };
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Turns a child's JSON log lines into one readable line each (a line that is not JSON, e.g. redis-server's, is labelled). */
function prettyLogs(label: string, stream: Readable | null): void {
  if (!stream) return;
  const tty = process.stdout.isTTY;
  createInterface({ input: stream }).on('line', (line) => {
    let out = `${label} ${line}`;
    try {
      const { level, time, msg, pid: _pid, proc: _proc, hostname: _h, ...rest } = JSON.parse(line);
      const lv = LEVELS[level] ?? String(level);
      const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
      const ts = new Date(time).toISOString().slice(11, 23);
      const lvs = tty ? `\x1b[${COLORS[lv] ?? '0'}m${lv.padEnd(5)}\x1b[0m` : lv.padEnd(5);
      out = `${ts} ${label.padEnd(9)} ${lvs} ${msg}${extra ? ` ${extra}` : ''}`;
    } catch {
      // not JSON: print as it came
    }
    process.stdout.write(out + '\n');
  });
}

interface Supervised {
  label: string;
  /** Starts it again; its log is its standard error, or its standard output when it keeps standard error. */
  start: () => ChildProcess;
  proc: ChildProcess | null;
  /** Deaths in a row after short runs (restart-backoff.ts). */
  quickDeaths: number;
}

/** Null for an error worth waiting out (nothing listens yet); a TLS failure is rethrown, as waiting will not cure it. */
const notYet = (err: unknown): null => {
  if (err instanceof TlsError) throw err;
  return null;
};

/** The view service's answer to GET `path`, or null while it does not answer. */
const askView = <T>(cfg: Config, path: string) => fetchJson<T>(new URL(path, cfg.TANDEM_VIEW_URL).href, { timeoutMs: 1000, secret: cfg.TANDEM_SECRET }).catch(notYet);

/** The primary named by the view service, once it answers as primary itself. */
async function primaryReady(cfg: Config): Promise<string | null> {
  const primary = (await askView<ViewReply>(cfg, '/view'))?.view.primary;
  if (!primary) return null;
  const h = await fetchJson<MasterHealth>(new URL('/health', primary).href, { timeoutMs: 1000, secret: cfg.TANDEM_SECRET }).catch(notYet);
  return h?.role === 'primary' ? primary : null;
}

/** True once anything answers at `url` (a page, not JSON: any answer at all will do). */
const answers = (url: string) => requestJson(url, { timeoutMs: 1000 }).then(() => true, (err) => (err instanceof TandemError ? true : notYet(err)));

const shellQuote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/**
 * The line that points a shell at this cluster. Never a secret: a password in REDIS_URL is shown
 * as <password>, and the cluster secret is found through TANDEM_DATA_DIR (an absolute path, so a
 * CLI started in any folder finds the secret file).
 */
export function exportLine(cfg: Config): string {
  const vars: [string, string][] = [
    ['REDIS_URL', redactUrl(cfg.REDIS_URL, '<password>')],
    ['TANDEM_PREFIX', cfg.TANDEM_PREFIX],
    ['TANDEM_VIEW_URL', cfg.TANDEM_VIEW_URL],
    // Always, and absolute: the default `.tandem` is relative, so a CLI started in another folder
    // would look for the secret and Redis password files there, and fail with NOAUTH.
    ['TANDEM_DATA_DIR', resolve(cfg.TANDEM_DATA_DIR)],
  ];
  if (cfg.TANDEM_JOBS_DIR) vars.push(['TANDEM_JOBS_DIR', resolve(cfg.TANDEM_JOBS_DIR)]);
  return `export ${vars.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}`;
}

/** `tandem up`'s first worker's metrics port when neither --metrics-port nor TANDEM_METRICS_PORT says. */
export const METRICS_PORT_BASE = 7400;

/** Worker i's (from 1) metrics port: base + i - 1, or 0 (a free port) when base is 0. */
export const workerMetricsPort = (base: number, i: number) => (base === 0 ? 0 : base + i - 1);

/** `host` as a local client reaches it: a wildcard address is this machine's loopback. */
const reachable = (host: string) => {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return h.includes(':') ? `[${h}]` : h;
};

/**
 * Where each process started here serves GET /metrics: the view service, the masters and the
 * console on their own port, worker i on its metrics port (null: a free port, which it logs).
 */
export function metricsUrls(cfg: Config, workers: number, base: number): [label: string, url: string | null][] {
  const scheme = urlScheme(cfg);
  const at = (host: string, port: number) => `${scheme}://${reachable(host)}:${port}/metrics`;
  return [
    ['view', new URL('/metrics', cfg.TANDEM_VIEW_URL).href],
    ['master-a', at(cfg.TANDEM_MASTER_HOST, cfg.TANDEM_MASTER_PORT)],
    ['master-b', at(cfg.TANDEM_MASTER_HOST, cfg.TANDEM_MASTER_PORT + 1)],
    ['console', at(cfg.TANDEM_CONSOLE_HOST, cfg.TANDEM_CONSOLE_PORT)],
    ...Array.from({ length: workers }, (_, i): [string, string | null] => [`worker-${i + 1}`, base === 0 ? null : at(cfg.TANDEM_METRICS_HOST, workerMetricsPort(base, i + 1))]),
  ];
}

/** The banner's metrics line (the secret they need is never shown: Prometheus reads it from a file). */
export function metricsLine(cfg: Config, workers: number, base: number): string {
  if (cfg.TANDEM_METRICS === 'off') return 'metrics are off (TANDEM_METRICS=off): /metrics answers 404';
  const urls = metricsUrls(cfg, workers, base).map(([label, url]) => `${label} ${url ?? 'on a free port (it logs "metrics at URL")'}`);
  return `metrics (Prometheus, with Authorization: Bearer <the cluster secret>): ${urls.join(', ')}`;
}

/**
 * Every port this cluster will listen on, checked before anything starts: a port in use (another
 * `tandem up`, most often) is refused with the flag and variable that move it, so nothing here ever
 * talks to, or joins, a cluster it did not start.
 */
async function checkPorts(cfg: Config, workers: number, metricsBase: number): Promise<void> {
  const wanted: [what: string, host: string, port: number, change: string][] = [
    ["the view service's", cfg.TANDEM_VIEW_HOST, cfg.TANDEM_VIEW_PORT, '--view-port or TANDEM_VIEW_PORT'],
    ["the first master's", cfg.TANDEM_MASTER_HOST, cfg.TANDEM_MASTER_PORT, '--master-port or TANDEM_MASTER_PORT'],
    ["the second master's", cfg.TANDEM_MASTER_HOST, cfg.TANDEM_MASTER_PORT + 1, '--master-port or TANDEM_MASTER_PORT (the second master takes the next port)'],
    ["the console's", cfg.TANDEM_CONSOLE_HOST, cfg.TANDEM_CONSOLE_PORT, '--console-port or TANDEM_CONSOLE_PORT'],
  ];
  if (metricsBase !== 0) {
    for (let i = 1; i <= workers; i++) wanted.push([`worker-${i}'s metrics`, cfg.TANDEM_METRICS_HOST, workerMetricsPort(metricsBase, i), '--metrics-port or TANDEM_METRICS_PORT (worker i takes that port + i - 1; 0 takes free ports)']);
  }
  const problems: string[] = [];
  for (const [what, host, port, change] of wanted) {
    const p = await portProblem(host, port);
    if (p) problems.push(`${what} port ${port} on ${host} ${p}; choose another with ${change}`);
  }
  if (problems.length > 0) {
    throw new Error(`${problems.join('\n  ')}\n(is another tandem up running? it is left alone; nothing was started)`);
  }
}

/**
 * Refuses to start a second control plane on a Redis and prefix where one runs: its view service
 * would only wait as a standby (docs/DESIGN.md §5.1, rule 12), and its masters would serve nothing.
 * A lease left by a cluster that was killed is waited out (it lapses within its TTL).
 */
async function refuseSecondControlPlane(cfg: Config, say: (s: string) => void): Promise<void> {
  const redis = await clientRedis(cfg);
  try {
    const k = keys(cfg.TANDEM_PREFIX);
    const first = await readLease(redis, k);
    if (!first) return;
    say(`the view-service lease for prefix "${cfg.TANDEM_PREFIX}" is held by ${first.lease.url} (since ${first.lease.since}); waiting up to ${Math.ceil(Math.max(first.ttlMs, 0) / 1000) + 1} s to see whether it is still renewed`);
    const deadline = Date.now() + Math.max(first.ttlMs, 0) + 500;
    while (Date.now() < deadline) {
      await sleep(100);
      if (!(await readLease(redis, k))) return;
    }
    const held = await readLease(redis, k);
    if (!held) return;
    throw new Error(
      `another Tandem cluster runs on this Redis (${redactUrl(cfg.REDIS_URL)}) with prefix "${cfg.TANDEM_PREFIX}": its view service at ${held.lease.url} has held the view-service lease since ${held.lease.since}. `
      + 'Use that cluster (its TANDEM_VIEW_URL), stop it first, or start this one with another --prefix or --redis-url; nothing was started',
    );
  } finally {
    redis.disconnect();
  }
}

export interface UpOptions {
  /** Start a local Redis Cluster of this shape (--redis-cluster N --replicas R) instead of one redis-server. */
  redisCluster?: ClusterShape;
  /** Worker i's metrics port is this + i - 1; 0: free ports (--metrics-port; default METRICS_PORT_BASE). */
  metricsPort?: number;
}

/** True while `p` runs (it has neither exited nor been killed). */
const running = (p: ChildProcess | null): p is ChildProcess => !!p && p.exitCode === null && p.signalCode === null;

/**
 * Once the local cluster's nodes are started: waits until each answers with the password, then
 * forms the cluster (or, when the nodes came back from their nodes.conf, waits until it is ok).
 */
async function formLocalCluster(cluster: LocalCluster, nodeProcs: () => (ChildProcess | null)[]): Promise<void> {
  const urlHost = cluster.host.includes(':') ? `[${cluster.host}]` : cluster.host;
  await Promise.all(cluster.nodes.map(async (n, i) => {
    const url = withRedisPassword(`redis://${urlHost}:${n.port}`, cluster.password);
    for (let tries = 0; !(await redisAnswers(url)); tries++) {
      if (tries >= 100) throw new Error(`its node on port ${n.port} did not start (${running(nodeProcs()[i]) ? 'it does not answer' : 'it exited'}); see its messages above`);
      await sleep(100);
    }
  }));
  await formCluster({ host: cluster.host, ports: cluster.nodes.map((n) => n.port), primaries: cluster.primaries, password: cluster.password });
}

export async function up(given: Config, workers: number, options: UpOptions = {}): Promise<void> {
  const say = (s: string) => process.stdout.write(`tandem: ${s}\n`);
  const metricsBase = options.metricsPort ?? METRICS_PORT_BASE;
  await checkPorts(given, workers, metricsBase);
  let failed: string | undefined;
  // Ctrl-C (or SIGTERM) while starting: stop what has started and say so, instead of dying and
  // leaving the children and redis-server running (the handlers at the end take over once up).
  const whileStarting = (signal: NodeJS.Signals) => (failed ??= `${signal} while starting; stopped what had started`);
  process.on('SIGINT', whileStarting);
  process.on('SIGTERM', whileStarting);
  let cfg = withClusterSecret(given, say);
  let fatal: ((why: string) => void) | undefined;
  if (cfg.TANDEM_VIEW_PORT === cfg.TANDEM_MASTER_PORT || cfg.TANDEM_VIEW_PORT === cfg.TANDEM_MASTER_PORT + 1) {
    throw new Error(`the view service's port ${cfg.TANDEM_VIEW_PORT} collides with the masters' ports ${cfg.TANDEM_MASTER_PORT} and ${cfg.TANDEM_MASTER_PORT + 1}; choose another --view-port or --master-port`);
  }
  const taken = [cfg.TANDEM_VIEW_PORT, cfg.TANDEM_MASTER_PORT, cfg.TANDEM_MASTER_PORT + 1];
  if (taken.includes(cfg.TANDEM_CONSOLE_PORT)) {
    throw new Error(`the console's port ${cfg.TANDEM_CONSOLE_PORT} collides with the view service's or the masters' ports (${taken.join(', ')}); choose another --console-port`);
  }
  const workerPorts = Array.from({ length: workers }, (_, i) => workerMetricsPort(metricsBase, i + 1));
  const collides = workerPorts.find((p) => p !== 0 && [...taken, cfg.TANDEM_CONSOLE_PORT].includes(p));
  if (collides !== undefined) {
    throw new Error(`the workers' metrics ports ${workerPorts[0]} to ${workerPorts[workerPorts.length - 1]} include ${collides}, which the view service, a master or the console takes; choose another --metrics-port (0: free ports)`);
  }
  // Checked here as well as by each service, so a bad file stops `up` before anything starts.
  const tls = loadTls(cfg);
  const scheme = urlScheme(cfg);
  const masterUrl = (port: number) => `${scheme}://${cfg.TANDEM_MASTER_HOST === '0.0.0.0' ? '127.0.0.1' : cfg.TANDEM_MASTER_HOST}:${port}`;
  const ports = [cfg.TANDEM_MASTER_PORT, cfg.TANDEM_MASTER_PORT + 1];
  // Each starts with the environment of the moment, so with the REDIS_URL set below.
  const app = (label: string, name: AppName, env: Record<string, string> = {}): Supervised => ({
    label, start: () => spawnApp(name, { ...process.env, ...env }), proc: null, quickDeaths: 0,
  });
  const children: Supervised[] = [
    app('view', 'view-service'),
    ...ports.map((port, i) => app(`master-${'ab'[i]}`, 'master', { TANDEM_MASTER_PORT: String(port), TANDEM_MASTER_ADVERTISE_URL: masterUrl(port) })),
    ...workerPorts.map((port, i) => app(`worker-${i + 1}`, 'worker', { TANDEM_METRICS_PORT: String(port) })),
    app('console', 'console'),
  ];
  /** The local Redis Cluster's nodes, supervised like the children. */
  let nodes: Supervised[] = [];
  let redis: ChildProcess | null = null;
  let stopping = false;

  const resetMs = cfg.TANDEM_RESTART_RESET_MS;
  const launch = (c: Supervised) => {
    const proc = c.start();
    const startedAt = Date.now();
    c.proc = proc;
    prettyLogs(c.label, proc.stderr ?? proc.stdout);
    // Said once a restarted child has run long enough that its next death is a fresh one.
    const healthy = c.quickDeaths > 0 && resetMs > 0
      ? setTimeout(() => say(`${c.label} has run ${resetMs / 1000} s since its restart; a next restart waits ${FIRST_WAIT_MS} ms again`), resetMs)
      : undefined;
    healthy?.unref();
    proc.on('exit', (code, signal) => {
      clearTimeout(healthy);
      if (stopping) return;
      if (code === EXIT_CONFIG) {
        fatal?.(`${c.label} cannot run as configured (see its message above)`);
        return;
      }
      const ranMs = Date.now() - startedAt;
      const plan = restartPlan(c.quickDeaths, ranMs, resetMs);
      c.quickDeaths = plan.quickDeaths;
      const why = plan.quickDeaths === 1 ? ''
        : resetMs > 0 ? ` (death ${plan.quickDeaths} in a row, each within ${resetMs / 1000} s of its start: each waits longer, up to ${MAX_WAIT_MS} ms)`
        : ` (death ${plan.quickDeaths}; TANDEM_RESTART_RESET_MS=0 never resets the wait)`;
      say(`${c.label} exited (${signal ?? `code ${code}`}) after running ${(ranMs / 1000).toFixed(1)} s; restarting in ${plan.waitMs} ms${why}`);
      setTimeout(() => !stopping && launch(c), plan.waitMs);
    });
  };
  fatal = (why) => (failed = why);
  /** Polls `cond` every 100 ms for up to 30 s, unless a child fails for good or TLS refuses the connection. */
  const until = async <T>(cond: () => Promise<T | null>): Promise<T | null> => {
    for (let i = 0; i < 300 && !failed; i++) {
      let v: T | null;
      try {
        v = await cond();
      } catch (err) {
        failed = (err as Error).message;
        return null;
      }
      if (v) return v;
      await sleep(100);
    }
    return null;
  };
  /** Stops `procs` with SIGTERM (SIGKILL after `killAfterMs`, when given) and waits until they have exited. */
  const stopProcs = async (procs: (ChildProcess | null)[], killAfterMs?: number) => {
    const live = procs.filter(running);
    const exits = live.map((p) => new Promise((r) => p.once('exit', r)));
    for (const p of live) p.kill('SIGTERM');
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => live.forEach((p) => p.kill('SIGKILL')), killAfterMs);
    await Promise.all(exits);
    clearTimeout(timer);
    return live.length;
  };
  /**
   * Stops every child (SIGTERM; SIGKILL 10 s after a worker's drain time, for one stuck in its
   * shutdown, e.g. waiting on a Redis that is gone: a worker first finishes or hands back its task)
   * and then redis-server or the cluster's nodes (SIGTERM only: Redis flushes
   * its files as it stops), and waits until they have exited.
   */
  const stopAll = async () => {
    stopping = true;
    await stopProcs(children.map((c) => c.proc), cfg.TANDEM_WORKER_DRAIN_MS + 10_000);
    if (await stopProcs([redis])) say('redis-server stopped');
    const n = await stopProcs(nodes.map((c) => c.proc));
    if (n) say(`the Redis Cluster stopped (${n} ${n === 1 ? 'node' : 'nodes'})`);
  };
  /** `work`, or the reason to stop as soon as there is one (Ctrl-C, a child that cannot run); `work` is then left to fail alone. */
  const unlessFailed = async <T>(work: Promise<T>): Promise<T> => {
    let settled = false;
    work.then(() => (settled = true), () => (settled = true));
    const stopped = (async () => {
      while (!failed && !settled) await sleep(100);
      if (failed) throw new Error(failed);
    })();
    return (await Promise.race([work, stopped.then(() => work)])) as T;
  };
  const abortIfFailed = async () => {
    if (!failed) return;
    stopping = true;
    await stopAll();
    throw new Error(failed);
  };

  let url: string;
  if (options.redisCluster) {
    const others: [string, number][] = [
      ["the view service's", cfg.TANDEM_VIEW_PORT], ["the first master's", ports[0]], ["the second master's", ports[1]], ["the console's", cfg.TANDEM_CONSOLE_PORT],
      ...workerPorts.filter((p) => p !== 0).map((p, i): [string, number] => [`worker-${i + 1}'s metrics`, p]),
    ];
    const cluster = await prepareLocalCluster(cfg, options.redisCluster, others);
    nodes = cluster.nodes.map((n) => ({ label: `redis-${n.port}`, start: () => spawnRedisServer(n.conf), proc: null, quickDeaths: 0 }));
    for (const n of nodes) launch(n);
    try {
      await unlessFailed(formLocalCluster(cluster, () => nodes.map((n) => n.proc)));
      say(`started a Redis Cluster of ${describeCluster(cluster)} (data in ${cluster.root}, append-only files fsynced on every write; ${cluster.reused ? 'its nodes as they were, from their nodes.conf' : 'formed now'}), ${cluster.where}; REDIS_URL=${cluster.shownUrl}`);
    } catch (err) {
      const kept = cluster.reused ? `; its nodes came back from ${cluster.root} (delete that folder to form a new, empty cluster)` : '';
      failed ??= `the Redis Cluster of ${describeCluster(cluster)} could not form: ${(err as Error).message}${kept}`;
    }
    await abortIfFailed();
    url = cluster.url;
    given = { ...given, REDIS_URL: cluster.shownUrl };
  } else {
    const started = await startRedis(cfg, say);
    redis = started.proc;
    url = started.url;
  }
  // Every process started here, and this one, reach Redis with its password.
  process.env.REDIS_URL = url;
  cfg = { ...cfg, REDIS_URL: url };
  // The nodes of a local cluster listened on free ports a moment ago: no other control plane can use them.
  if (!options.redisCluster) {
    try {
      await refuseSecondControlPlane(cfg, say);
    } catch (err) {
      await stopAll();
      throw err;
    }
  }
  // In order, so that master-a is the first primary and master-b its backup (on a new cluster).
  launch(children[0]);
  const viewUp = await until(() => askView<ViewReply>(cfg, '/view'));
  if (!viewUp && !failed) failed = `the view service did not answer at ${cfg.TANDEM_VIEW_URL} within 30 s; see the messages above`;
  let primary: string | null = null;
  // The view service resumes the view it stored: when that names master-b primary (after a failover), master-b starts
  // first, since only the view's primary can acknowledge it (an unacknowledged view never changes).
  const [first, second] = viewUp?.view.primary === masterUrl(ports[1]) ? [children[2], children[1]] : [children[1], children[2]];
  if (!failed) {
    launch(first);
    primary = await until(() => primaryReady(cfg));
    if (!primary && !failed) failed = `no master became primary within 30 s; see the messages above (is ${cfg.TANDEM_VIEW_URL} the view service started here?)`;
  }
  let backup: string | null = null;
  if (!failed) {
    for (const c of [second, ...children.slice(3)]) launch(c);
    backup = await until(async () => {
      const s = await askView<ViewStatus>(cfg, '/status');
      return s?.acked && s.view.backup ? s.view.backup : null;
    });
    if (!backup && !failed) say('warning: the second master has not become backup within 30 s; running without replication until it does');
  }
  await abortIfFailed();
  say(`up: view service ${cfg.TANDEM_VIEW_URL}, masters ${primary} (primary) and ${backup ?? ports.map(masterUrl).find((u) => u !== primary)} (${backup ? 'backup' : 'not yet backup'}), ${workers} workers, Redis ${redactUrl(cfg.REDIS_URL)} (prefix "${cfg.TANDEM_PREFIX}")${tls ? `; every listener serves HTTPS with ${cfg.TANDEM_TLS_CERT}` : ''}`);
  const consoleHost = cfg.TANDEM_CONSOLE_HOST === '0.0.0.0' || cfg.TANDEM_CONSOLE_HOST === '::' ? '127.0.0.1' : cfg.TANDEM_CONSOLE_HOST;
  const consoleUrl = `${scheme}://${consoleHost.includes(':') ? `[${consoleHost}]` : consoleHost}:${cfg.TANDEM_CONSOLE_PORT}/`;
  const consoleUp = await until(() => answers(consoleUrl));
  await abortIfFailed();
  say(consoleUp ? `console: open ${consoleUrl} in a browser${cfg.TANDEM_CONSOLE_TOKEN ? ' (it asks for TANDEM_CONSOLE_TOKEN)' : ''}` : `warning: the console did not answer at ${consoleUrl} within 30 s; see its messages above`);
  say(metricsLine(cfg, workers, metricsBase));
  // The URL as given: a password tandem up made is found in the data folder by the CLI there.
  say(`in another terminal, first: ${exportLine({ ...cfg, REDIS_URL: given.REDIS_URL })}`);
  say('in another terminal: npm run tandem -- dataset put books datasets/<file>.txt && npm run tandem -- job run wordcount --dataset books --out counts.txt');
  say('                  or: npm run pagerank -- --dataset datasets/debian-python3-deps.csv --out ranks.csv');
  say('Ctrl-C stops everything');
  process.off('SIGINT', whileStarting);
  process.off('SIGTERM', whileStarting);
  // Commands run on this machine wait out a view-service restart when the view service answered
  // recently (view-seen.ts): keep that record fresh while it answers, and remove it on a stop.
  const noteView = async () => {
    if ((await askView<ViewReply>(cfg, '/view').catch(() => null)) && !stopping) recordViewAnswered(cfg.TANDEM_DATA_DIR, cfg.TANDEM_VIEW_URL);
  };
  await noteView();
  const viewNoter = setInterval(() => void noteView(), 60_000);

  await new Promise<void>((done) => {
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      clearInterval(viewNoter);
      forgetViewAnswered(cfg.TANDEM_DATA_DIR);
      say(`${signal}: stopping`);
      await stopAll();
      done();
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    fatal = (why) => {
      say(`${why}; stopping`);
      process.exitCode = 1;
      void stop('error');
    };
  });
}
