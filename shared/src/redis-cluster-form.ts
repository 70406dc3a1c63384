/**
 * Forms a Redis Cluster out of fresh `redis-server --cluster-enabled yes` nodes, as `redis-cli
 * --cluster create` would, without needing redis-cli: for the test harness and for
 * `tandem up --redis-cluster` (issue 18). The first `primaries` nodes share the 16384 slots evenly; the rest become
 * replicas, spread round-robin over the primaries. Nodes that already form that cluster (a restart
 * that kept its nodes.conf) are left as they are.
 */
import { Redis } from 'ioredis';
import { SLOTS } from './key-slot.ts';
import { sleep } from './sleep.ts';


export interface FormClusterOptions {
  host?: string;
  /** Every node's port: the first `primaries` become primaries. */
  ports: number[];
  primaries: number;
  password?: string;
  /** How long to wait for the cluster to agree (default 30 s). */
  timeoutMs?: number;
}

/** The slot range [start, end] primary `i` of `n` serves. */
export function slotRange(i: number, n: number): [number, number] {
  const per = Math.floor(SLOTS / n);
  const start = i * per;
  return [start, i === n - 1 ? SLOTS - 1 : start + per - 1];
}

const field = (info: string, name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

export async function formCluster(opts: FormClusterOptions): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const { ports, primaries } = opts;
  if (primaries < 1 || primaries > ports.length) throw new Error(`a cluster needs 1 to ${ports.length} primaries, not ${primaries}`);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const nodes = ports.map((port) => new Redis({ host, port, password: opts.password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 }));
  for (const n of nodes) n.on('error', () => undefined);
  const waitUntil = async (what: string, cond: () => Promise<boolean>) => {
    for (;;) {
      if (await cond().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster on ${host}:${ports.join(',')} did not form: timed out waiting for ${what}`);
      await sleep(100);
    }
  };
  try {
    await Promise.all(nodes.map((n) => n.connect()));
    const info = async (n: Redis) => String(await n.call('CLUSTER', 'INFO'));
    // Already formed (a restart with its nodes.conf): nothing to do once it reports ok.
    const first = await info(nodes[0]);
    if (Number(field(first, 'cluster_known_nodes')) === ports.length && Number(field(first, 'cluster_slots_assigned')) === SLOTS) {
      await waitUntil('cluster_state:ok on every node', async () => (await Promise.all(nodes.map(info))).every((i) => field(i, 'cluster_state') === 'ok'));
      return;
    }
    const ids = await Promise.all(nodes.map(async (n) => String(await n.call('CLUSTER', 'MYID'))));
    // Distinct config epochs up front, so no two primaries claim their slots under the same epoch.
    await Promise.all(nodes.map((n, i) => n.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)).catch(() => undefined)));
    await Promise.all(nodes.slice(0, primaries).map((n, i) => n.call('CLUSTER', 'ADDSLOTSRANGE', ...slotRange(i, primaries).map(String))));
    for (let i = 1; i < nodes.length; i++) await nodes[i].call('CLUSTER', 'MEET', host, String(ports[0]));
    await waitUntil('every node to know every other', async () => {
      const views = await Promise.all(nodes.map(async (n) => String(await n.call('CLUSTER', 'NODES'))));
      return views.every((v) => ids.every((id) => v.includes(id)) && !/handshake/.test(v));
    });
    for (let i = primaries; i < nodes.length; i++) {
      const primary = ids[(i - primaries) % primaries];
      await waitUntil(`node ${ports[i]} to replicate`, async () => {
        await nodes[i].call('CLUSTER', 'REPLICATE', primary);
        return true;
      });
    }
    await waitUntil('cluster_state:ok on every node', async () => (await Promise.all(nodes.map(info))).every((i) => field(i, 'cluster_state') === 'ok'));
    await waitUntil('every replica to be in sync', async () => {
      const reps = await Promise.all(nodes.slice(primaries).map(async (n) => String(await n.info('replication'))));
      return reps.every((r) => field(r, 'master_link_status') === 'up');
    });
  } finally {
    for (const n of nodes) n.disconnect();
  }
}
