/**
 * `npm run bench -- bulk`: the workers' raw client (bulk-client.ts) on one Redis vs on a Redis
 * Cluster of 3 primaries (without replicas, and with one each), in the same run, topologies taking
 * turns. Three workloads, as workers move data:
 * - split reads: 8 MiB values read by getLarge (1 MiB ranges over the connections) into a reused buffer;
 * - PageRank's per-task traffic: 3 values of 250 KB written (setMany), then read back (getMany);
 * - a reduce task's inputs: 64 values of 16 KB read in one getMany.
 * Also each primary's share of the bytes stored.
 */
import { randomBytes } from 'node:crypto';
import { BulkClient, getLarge } from '@tandem/shared';
import { startRedis } from '../../test/harness/redis.ts';
import { startRedisCluster } from '../../test/harness/redis-cluster.ts';
import { median } from './failover.ts';
import { writeSection } from './report.ts';

const SPLIT = 8 << 20;
const SPLITS = 16;

interface Side {
  name: string;
  url: string;
  /** Bytes used by each primary (used_memory), for the share of the data each holds. */
  usedMemory: () => Promise<number[]>;
  stop: () => Promise<void>;
}

interface Figures {
  splitMs: number[];
  taskMs: number[];
  reduceMs: number[];
}

async function measure(side: Side, reads: number, tasks: number, connections: number, f: Figures): Promise<void> {
  const c = BulkClient.forUrl(side.url, connections);
  try {
    const splits = Array.from({ length: SPLITS }, (_, i) => `bench:ds:{corpus:v1:${i}}`);
    const splitValue = randomBytes(SPLIT);
    await c.setMany(splits.map((key) => ({ key, value: splitValue })));
    let into: Buffer | undefined;
    for (let i = 0; i < reads; i++) {
      const t0 = performance.now();
      const v = await getLarge(c, splits[i % SPLITS], { into });
      f.splitMs.push(performance.now() - t0);
      if (v?.data.length !== SPLIT) throw new Error('a split came back short');
      into = v.backing;
    }
    const blob = randomBytes(250_000);
    for (let t = 0; t < tasks; t++) {
      const entries = [0, 1, 2].map((r) => ({ key: `bench:job:{j:${(t * 3 + r) % 64}}:${t}:m${r}`, value: blob }));
      const t0 = performance.now();
      await c.setMany(entries, 600_000);
      const got = await c.getMany(entries.map((e) => e.key));
      f.taskMs.push(performance.now() - t0);
      if (got.some((g) => g?.length !== blob.length)) throw new Error('a blob came back short');
    }
    const small = randomBytes(16_000);
    const inputs = Array.from({ length: 64 }, (_, i) => `bench:job:{r:${i}}:0:out`);
    await c.setMany(inputs.map((key) => ({ key, value: small })));
    for (let t = 0; t < tasks; t++) {
      const t0 = performance.now();
      await c.getMany(inputs);
      f.reduceMs.push(performance.now() - t0);
    }
  } finally {
    c.close();
  }
}

export async function benchBulk(opts: { reads: number; tasks: number; rounds: number; connections: number }): Promise<void> {
  const log = (m: string) => console.log(`[bulk] ${m}`);
  const one = await startRedis();
  // Redis's default node timeout: the harness's 1 s (quick failovers for tests) lets a loaded
  // 2-core machine fail nodes over in the middle of a measurement.
  const c0 = await startRedisCluster({ primaries: 3, replicas: 0, nodeTimeoutMs: 15_000 });
  const c1 = await startRedisCluster({ primaries: 3, replicas: 1, nodeTimeoutMs: 15_000 });
  const memoryOf = (ports: number[], cl: typeof c0) => async () =>
    Promise.all(ports.map(async (port) => Number(/used_memory:(\d+)/.exec(String(await cl.nodes.find((n) => n.port === port)!.node().info('memory')))?.[1] ?? 0)));
  const primariesOf = async (cl: typeof c0) => (await cl.primaries()).map((p) => p.port);
  const sides: Side[] = [
    { name: 'one Redis', url: one.url, usedMemory: async () => [Number(/used_memory:(\d+)/.exec(await one.client().info('memory'))?.[1] ?? 0)], stop: () => one.stop() },
    { name: 'cluster, 3 primaries', url: c0.url, usedMemory: memoryOf(await primariesOf(c0), c0), stop: () => c0.stop() },
    { name: 'cluster, 3 primaries + 3 replicas', url: c1.url, usedMemory: memoryOf(await primariesOf(c1), c1), stop: () => c1.stop() },
  ];
  const figures = new Map(sides.map((s) => [s.name, { splitMs: [], taskMs: [], reduceMs: [] } as Figures]));
  const shares = new Map<string, string>();
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        log(`round ${round + 1}/${opts.rounds}: ${side.name}`);
        await measure(side, opts.reads, opts.tasks, opts.connections, figures.get(side.name)!);
      }
    }
    for (const side of sides) {
      const used = await side.usedMemory();
      const total = used.reduce((a, b) => a + b, 0);
      shares.set(side.name, used.map((u) => `${Math.round((100 * u) / total)}%`).join(' / '));
    }
  } finally {
    for (const s of sides) await s.stop();
  }
  const base = figures.get(sides[0].name)!;
  const rel = (x: number, b: number) => `${x.toFixed(1)} ms (${x >= b ? '+' : ''}${Math.round((100 * (x - b)) / b)}%)`;
  const rows = sides.map((s) => {
    const f = figures.get(s.name)!;
    const split = median(f.splitMs);
    return `| ${s.name} | ${rel(split, median(base.splitMs))} | ${Math.round(SPLIT / 1e6 / (split / 1000))} | ${rel(median(f.taskMs), median(base.taskMs))} | ${rel(median(f.reduceMs), median(base.reduceMs))} | ${shares.get(s.name)} |`;
  });
  const md = [
    `Raw client (\`bulk-client.ts\`, ${opts.connections} connections per node) on one Redis vs a Redis Cluster on this machine (2 cores, loopback), ${opts.rounds} rounds taking turns; medians of ${opts.reads * opts.rounds} split reads and ${opts.tasks * opts.rounds} tasks per side.`,
    '',
    '| topology | 8 MiB split (getLarge) | MB/s | PageRank task: 3 × 250 KB set + get | reduce input: 64 × 16 KB get | primaries\' share of used memory |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log(md);
  log(`written to ${writeSection('bulk', md)}`);
}
