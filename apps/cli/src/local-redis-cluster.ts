/**
 * The Redis `tandem up` starts on this machine when none answers at REDIS_URL: what both kinds
 * share (the checks, redis.conf quoting), and the plan of the Redis Cluster `--redis-cluster N
 * --replicas R` starts, every node a `redis-server --cluster-enabled yes` of its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { REDIS_DURABLE_CONF, REDIS_PASSWORD_FILE, ensureSecretFile, probeRedis, readSecretFile, redactUrl, type Config } from '@tandem/shared';
import { portProblem } from './ports.ts';

/** A node's cluster bus listens this far above its port (Redis's fixed offset). */
const BUS_OFFSET = 10_000;
/** Every node's port is below this, so that its bus port is one too (≤ 65535). */
export const NODE_PORT_LIMIT = 55_535;
/** How long a node may be unreachable before the others count it failed and a replica takes over. */
const NODE_TIMEOUT_MS = 5000;

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** A value for a redis.conf line, quoted as redis-server reads it. */
export const confValue = (v: string) => `"${v.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;

/** Why tandem up cannot start a Redis where nothing answers at `url` (printed as `shown`), or null. */
export function localStartProblem(url: URL, shown: string): string | null {
  if (!LOCAL.has(url.hostname)) return `nothing answers at REDIS_URL=${shown}, and it is not local, so tandem up cannot start it`;
  if (url.protocol !== 'redis:') return `nothing answers at REDIS_URL=${shown}; tandem up starts Redis without TLS only, so use redis:// for it (or start a TLS Redis yourself)`;
  if (url.username && url.username !== 'default') return `nothing answers at REDIS_URL=${shown}; the Redis tandem up starts has the default user only, so leave "${decodeURIComponent(url.username)}@" out of REDIS_URL`;
  if (spawnSync('redis-server', ['--version']).error) {
    return 'nothing answers at REDIS_URL and redis-server is not installed; install it (Debian: apt-get install redis-server) or point REDIS_URL at a running Redis';
  }
  return null;
}

/**
 * Starts redis-server with `conf` on its standard input, so that no process list shows the
 * password in it; its log (standard output) is piped for tandem up to label.
 */
export function spawnRedisServer(conf: string[], stdout: 'pipe' | 'inherit' = 'pipe'): ChildProcess {
  const proc = spawn('redis-server', ['-'], { stdio: ['pipe', stdout, 'inherit'] });
  proc.stdin!.on('error', () => {}); // a redis-server that exits at once says why itself
  proc.stdin!.end(conf.join('\n') + '\n');
  return proc;
}

/** The password of the Redis tandem up starts: REDIS_URL's, or one made and kept in the data folder. */
export function localRedisPassword(cfg: Config): { password: string; where: string } {
  const given = decodeURIComponent(new URL(cfg.REDIS_URL).password);
  if (given) return { password: given, where: 'with the password in REDIS_URL' };
  const keptPath = resolve(cfg.TANDEM_DATA_DIR, REDIS_PASSWORD_FILE);
  const kept = readSecretFile(cfg.TANDEM_DATA_DIR, REDIS_PASSWORD_FILE);
  const password = ensureSecretFile(cfg.TANDEM_DATA_DIR, REDIS_PASSWORD_FILE, () => randomBytes(32).toString('hex'));
  return { password, where: kept ? `with the password kept in ${keptPath}` : `with a password made in ${keptPath} (readable by you only; commands run from here use it)` };
}

export interface ClusterShape {
  primaries: number;
  replicas: number;
}

export interface LocalClusterNode {
  port: number;
  dir: string;
  conf: string[];
}

export interface LocalCluster extends ClusterShape {
  /** The address every node binds (no brackets). */
  host: string;
  nodes: LocalClusterNode[];
  password: string;
  where: string;
  /** Every node as a seed, with the password: the REDIS_URL of the platform's processes. */
  url: string;
  /** The same without the password, for messages and the export line. */
  shownUrl: string;
  /** The folder under the data folder that holds the nodes' folders and the cluster's layout. */
  root: string;
  /** True when the data folder held this cluster already: its nodes come back from their nodes.conf. */
  reused: boolean;
}

/** What the data folder records of its cluster, so that a later start brings back the same nodes. */
interface Layout extends ClusterShape {
  host: string;
  firstPort: number;
}

const span = (ports: number[], offset = 0) => `${ports[0] + offset}-${ports[ports.length - 1] + offset}`;
const shapeText = (s: ClusterShape) => `${s.primaries} ${s.primaries === 1 ? 'primary' : 'primaries'} ${s.replicas === 0 ? 'without replicas' : `with ${s.replicas} ${s.replicas === 1 ? 'replica' : 'replicas'} each`}`;

/**
 * Checks everything a local cluster needs before any node starts (nothing answers at REDIS_URL,
 * it is local and plain, the ports and their bus ports are free and clash with no other listener
 * of tandem up, the data folder holds no other cluster) and prepares its folders and password.
 * The nodes take consecutive ports from REDIS_URL's; `others` are tandem up's other listeners.
 */
export async function prepareLocalCluster(cfg: Config, shape: ClusterShape, others: [what: string, port: number][]): Promise<LocalCluster> {
  const shown = redactUrl(cfg.REDIS_URL);
  const probe = await probeRedis(cfg);
  if (probe.ok || probe.problem !== 'unreachable') {
    throw new Error(
      `--redis-cluster starts its own Redis nodes, from REDIS_URL's port up, but a Redis answers at REDIS_URL=${shown}${probe.ok ? '' : ` (${probe.why})`}. `
      + 'Leave out --redis-cluster to use that Redis, or point --redis-url (or REDIS_URL) at a free port for the first node; nothing was started',
    );
  }
  const url = new URL(cfg.REDIS_URL);
  const problem = localStartProblem(url, shown);
  if (problem) throw new Error(`--redis-cluster: ${problem}`);
  const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname.replace(/^\[|\]$/g, '');
  const first = Number(url.port || '6379');
  const count = shape.primaries * (1 + shape.replicas);
  const ports = Array.from({ length: count }, (_, i) => first + i);
  const last = ports[count - 1];
  if (last >= NODE_PORT_LIMIT) {
    throw new Error(`--redis-cluster ${shape.primaries} --replicas ${shape.replicas} takes ${count} ports from REDIS_URL's port ${first} up, to ${last}, but a node's port must be below ${NODE_PORT_LIMIT} (its cluster bus listens ${BUS_OFFSET} above it); choose a lower first port with --redis-url`);
  }
  for (const [what, port] of others) {
    if (ports.includes(port) || ports.includes(port - BUS_OFFSET)) {
      throw new Error(`--redis-cluster: the nodes' ports ${span(ports)} and their cluster bus ports ${span(ports, BUS_OFFSET)} include ${what} port ${port}; choose another first port with --redis-url, or move ${what}; nothing was started`);
    }
  }

  const root = resolve(cfg.TANDEM_DATA_DIR, 'redis-cluster');
  const layoutFile = resolve(root, 'cluster.json');
  const layout: Layout = { primaries: shape.primaries, replicas: shape.replicas, host, firstPort: first };
  const reused = existsSync(layoutFile);
  if (reused) {
    const kept = JSON.parse(readFileSync(layoutFile, 'utf8')) as Layout;
    if (kept.primaries !== layout.primaries || kept.replicas !== layout.replicas || kept.host !== host || kept.firstPort !== first) {
      throw new Error(
        `the data folder holds a Redis Cluster of ${shapeText(kept)} on ${kept.host} from port ${kept.firstPort} (${root}); its nodes only find each other as they were: `
        + `start it with --redis-cluster ${kept.primaries} --replicas ${kept.replicas} and REDIS_URL on port ${kept.firstPort}, give another --data-dir, or delete ${root} to start a new, empty cluster; nothing was started`,
      );
    }
  }

  const busy: string[] = [];
  for (const port of ports) {
    const p = await portProblem(host, port);
    if (p) busy.push(`node port ${port} ${p}`);
    const b = await portProblem(host, port + BUS_OFFSET);
    if (b) busy.push(`cluster bus port ${port + BUS_OFFSET} (of node ${port}) ${b}`);
  }
  if (busy.length > 0) {
    throw new Error(
      `--redis-cluster: on ${host}, ${busy.join(', ')}. Its ${count} nodes take ports ${span(ports)} (REDIS_URL's port up) and ${span(ports, BUS_OFFSET)} for their cluster bus: `
      + 'choose a free first port with --redis-url (or REDIS_URL), or stop what holds them (a node left running by an earlier tandem up?); nothing was started',
    );
  }

  const { password, where } = localRedisPassword(cfg);
  mkdirSync(root, { recursive: true });
  if (!reused) writeFileSync(layoutFile, JSON.stringify(layout) + '\n');
  const nodes = ports.map((port) => {
    const dir = resolve(root, String(port));
    mkdirSync(dir, { recursive: true });
    const conf = [
      `port ${port}`, `bind ${host}`, `dir ${confValue(dir)}`,
      // Every acknowledged op is fsynced before its node answers, as with one Redis (docs/DESIGN.md §3.7).
      ...REDIS_DURABLE_CONF,
      'maxmemory-policy noeviction', 'loglevel warning',
      // masterauth too: a replica authenticates to its primary with the same password.
      `requirepass ${confValue(password)}`, `masterauth ${confValue(password)}`,
      'cluster-enabled yes', 'cluster-config-file nodes.conf', `cluster-node-timeout ${NODE_TIMEOUT_MS}`,
    ];
    return { port, dir, conf };
  });
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const seeds = ports.map((p) => `${urlHost}:${p}`).join(',');
  return {
    ...shape, host, nodes, password, where, root, reused,
    url: `redis://:${encodeURIComponent(password)}@${seeds}`,
    shownUrl: `redis://${seeds}`,
  };
}

export const describeCluster = (c: LocalCluster) => `${shapeText(c)}, on ${c.host} ports ${span(c.nodes.map((n) => n.port))}`;
