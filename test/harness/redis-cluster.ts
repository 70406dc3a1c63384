// A real Redis Cluster for tests: `primaries` primaries and `replicas` replicas each, every node a
// `redis-server --cluster-enabled yes` on loopback (ports below 55535: the bus is port + 10000),
// formed by shared/src/redis-cluster-form.ts, as `tandem up --redis-cluster` forms its own (issue
// 18). Nodes can be SIGKILLed, SIGSTOPped and restarted; a short cluster-node-timeout makes
// failovers quick.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { formCluster } from '../../shared/src/redis-cluster-form.ts';
import { freeClusterPort, waitFor } from './wait.ts';

export interface ClusterNode {
  port: number;
  dir: string;
  readonly proc: ChildProcess;
  /** SIGKILL, keeping its data dir (AOF and nodes.conf), so restart() brings it back as the same node. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** A plain connection to this node alone (closed by stop()). */
  node(): Redis;
}

export interface TestRedisCluster {
  /** A seed URL (the first node); Tandem finds the rest from it. */
  url: string;
  target: { REDIS_URL: string };
  nodes: ClusterNode[];
  /** A cluster-aware connection (closed by stop()). */
  client(): Cluster;
  /** The ports of the nodes that are primaries now, with their slot ranges, as the cluster says. */
  primaries(): Promise<{ port: number; slots: [number, number][] }[]>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  primaries?: number;
  replicas?: number;
  /** cluster-node-timeout in ms (default 1000: a dead primary is replaced within a few seconds). */
  nodeTimeoutMs?: number;
  appendfsync?: 'always' | 'everysec' | 'no';
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const primaries = opts.primaries ?? 3;
  const count = primaries * (1 + (opts.replicas ?? 1));
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freeClusterPort());
  const clients: (Redis | Cluster)[] = [];
  const nodes: ClusterNode[] = ports.map((port) => {
    const dir = mkdtempSync(join(tmpdir(), `tandem-rc-${port}-`));
    let proc: ChildProcess;
    const conf = [
      `port ${port}`, 'bind 127.0.0.1', `dir ${JSON.stringify(dir)}`, 'save ""', 'appendonly yes', `appendfsync ${opts.appendfsync ?? 'no'}`,
      'maxmemory-policy noeviction', 'loglevel warning',
      'cluster-enabled yes', 'cluster-config-file nodes.conf', `cluster-node-timeout ${opts.nodeTimeoutMs ?? 1000}`,
      // A replica takes over however long it was cut off: tests kill and restart nodes freely.
      'cluster-replica-validity-factor 0', 'cluster-require-full-coverage yes',
    ].join('\n');
    const node: ClusterNode = {
      port,
      dir,
      get proc() {
        return proc;
      },
      async restart() {
        proc = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'ignore'] });
        proc.stdin!.end(conf + '\n');
        await waitFor(async () => {
          const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
          r.on('error', () => undefined);
          try {
            await r.connect();
            return (await r.ping()) === 'PONG';
          } finally {
            r.disconnect();
          }
        }, { timeoutMs: 10_000, what: `redis-server (cluster node) on port ${port}` });
      },
      async kill() {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
      },
      node() {
        const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null });
        r.on('error', () => undefined);
        clients.push(r);
        return r;
      },
    };
    return node;
  });
  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(nodes.map((n) => n.proc && n.kill()));
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((n) => n.restart()));
    await formCluster({ ports, primaries });
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `redis://127.0.0.1:${ports[0]}`;
  return {
    url,
    target: { REDIS_URL: url },
    nodes,
    client() {
      // Waiting out failovers as Tandem's own cluster connections do (shared/src/redis.ts).
      const c = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), {
        redisOptions: { maxRetriesPerRequest: null },
        retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, retryDelayOnTryAgain: 200, retryDelayOnMoved: 50, maxRedirections: 100,
      });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async primaries() {
      // Ask any node that answers.
      for (const n of nodes) {
        if (n.proc.exitCode !== null || n.proc.signalCode !== null) continue;
        const r = new Redis({ port: n.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        r.on('error', () => undefined);
        try {
          await r.connect();
          const slots = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
          const by = new Map<number, [number, number][]>();
          for (const [start, end, [, port]] of slots) by.set(port, [...(by.get(port) ?? []), [start, end]]);
          return [...by].map(([port, s]) => ({ port, slots: s })).sort((a, b) => a.slots[0][0] - b.slots[0][0]);
        } catch {
          continue;
        } finally {
          r.disconnect();
        }
      }
      throw new Error('no node of the test Redis Cluster answers');
    },
    stop,
  };
}
