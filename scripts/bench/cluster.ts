/**
 * `npm run bench -- cluster` (issue 18): Tandem on one Redis vs on a Redis Cluster of 3 primaries
 * with a replica each (what a real deployment runs), in the same run on this machine, the sides
 * taking turns (one Redis, cluster, one Redis, …) so the machine's noise hits both:
 *  (1) wall time of uploading a word-count corpus (--mb) and the R-MAT graph (--scale, Graph500's
 *      parameters), of a word count of the corpus and of a PageRank of the graph, each side with the
 *      same platform (view service, primary and backup master, 2 workers);
 *  (2) each primary's share of the bytes afterwards: MEMORY USAGE of Tandem's keys over a SCAN of
 *      every primary, and used_memory above what it was right after start;
 *  (3) what WAIT costs on the master's op log: submit latency with TANDEM_LOG_REPLICAS=1 vs 0 on the
 *      cluster, fresh platforms taking turns.
 * Refuses sizes whose data would not fit this machine's memory. Results go to docs/BENCHMARKS.md
 * and a chart to docs/bench-cluster.svg.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { putDataset, type JobStatus, type SubmitSpec } from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { jobOutput, startCluster, type Cluster, type TestRedisLike } from '../../test/harness/cluster.ts';
import { startRedis, type TestRedis } from '../../test/harness/redis.ts';
import { startRedisCluster, type TestRedisCluster } from '../../test/harness/redis-cluster.ts';
import { buildCorpus } from './corpus.ts';
import { env as latencyEnv, f2, median, pct } from './failover.ts';
import { RMAT, rmatEdges, writeRmatCsv } from './graph.ts';
import { writeSection } from './report.ts';
import { barChart } from './svg.ts';

// Long locks: one PageRank task over a million-vertex partition may keep a worker busy for seconds.
const jobEnv = { TANDEM_LOG_LEVEL: 'warn', TANDEM_LOCK_MS: '30000', TANDEM_STALLED_MS: '10000', TANDEM_RECONCILE_MS: '1000' };
const PRIMARIES = 3;
const REPLICAS = 1;
const GiB = 2 ** 30;
const MiB = 2 ** 20;

type SideName = 'one Redis' | 'cluster';
const SIDES: SideName[] = ['one Redis', 'cluster'];

export interface ClusterBenchOptions {
  mb: number;
  scale: number;
  iterations: number;
  rounds: number;
  ops: number;
}

interface NodeBytes {
  port: number;
  /** MEMORY USAGE of Tandem's keys on this node, by kind. */
  datasets: number;
  jobs: number;
  other: number;
  /** used_memory now less right after start. */
  usedGrowth: number;
}

/** Processes whose CPU time a job is charged, by group. */
type CpuGroup = 'Redis primaries' | 'Redis replicas' | 'workers' | 'masters and view service';
const CPU_GROUPS: CpuGroup[] = ['Redis primaries', 'Redis replicas', 'workers', 'masters and view service'];
type Cpu = Record<CpuGroup, number>;

/** CPU time (user + system) a process has used, in ms; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** Runs f and returns what each group's processes spent of CPU meanwhile. */
async function withCpu<T>(groups: Record<CpuGroup, number[]>, f: () => Promise<T>): Promise<{ value: T; cpu: Cpu }> {
  const read = () => Object.fromEntries(CPU_GROUPS.map((g) => [g, groups[g].reduce((a, pid) => a + cpuMs(pid), 0)])) as Cpu;
  const before = read();
  const value = await f();
  const after = read();
  return { value, cpu: Object.fromEntries(CPU_GROUPS.map((g) => [g, after[g] - before[g]])) as Cpu };
}

interface SideRun {
  uploadCorpusMs: number;
  uploadGraphMs: number;
  wordcountMs: number;
  pagerankMs: number;
  wordcount: JobStatus;
  pagerank: JobStatus;
  wordcountSha: string;
  pagerankSha: string;
  /** PageRank's ranks by vertex, kept to measure a difference between the sides if there is one. */
  ranks: Map<string, number>;
  primaries: NodeBytes[];
  /** used_memory growth of the replicas (cluster only), the copy they hold. */
  replicaGrowth: number[];
  /** CPU time by group during each job, in ms. */
  wordcountCpu: Cpu;
  pagerankCpu: Cpu;
}

/**
 * What the run needs in memory at most, in bytes, and what of it is Redis's. The sides run one at a
 * time; the cluster side is the larger: every byte once on its primary and once per replica.
 * Per edge, the graph's CSV line plus the 26 bytes of PageRank's working data measured for issue 18
 * (422 MiB for 16.8M edges); the corpus plus a tenth for the word count's shuffle and output. An AOF
 * rewrite forks a node, so one more copy of a node's data may be touched at once, and each worker
 * holds its partitions' adjacency (about 40 bytes an edge) on top of Node's own 512 MiB.
 */
export function memoryNeeded(mb: number, scale: number): { total: number; redis: number } {
  const edges = rmatEdges(scale);
  const lineBytes = 2 * (Math.ceil(Math.log10(2 ** scale)) + 1);
  const dataOnce = mb * 1e6 * 1.1 + edges * (lineBytes + 26);
  const redis = dataOnce * (1 + REPLICAS) + dataOnce / PRIMARIES;
  const workers = 2 * (512 * MiB + edges * 40);
  return { total: redis + workers + 2 * GiB, redis };
}

/** Refuses options that are not whole numbers in range, or whose data would not fit in memory; names why. */
export function checkOptions(o: ClusterBenchOptions, memory = { total: totalmem(), available: freemem() }): void {
  const whole = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name} ${v}: must be a whole number from ${min} to ${max}`);
  };
  whole('mb', o.mb, 1, 1 << 20);
  whole('scale', o.scale, 8, 30);
  whole('iterations', o.iterations, 1, 1000);
  whole('rounds', o.rounds, 1, 100);
  whole('ops', o.ops, 10, 100_000);
  const need = memoryNeeded(o.mb, o.scale);
  const gib = (b: number) => `${(b / GiB).toFixed(1)} GiB`;
  const what = `--mb ${o.mb} --scale ${o.scale} needs about ${gib(need.total)}: Redis holds the corpus and the graph (${rmatEdges(o.scale).toLocaleString('en')} edges) ` +
    `once per primary and once per replica (${gib(need.redis)} with an AOF rewrite's fork), plus the workers' adjacency and 2 GiB of room`;
  if (need.total > memory.total * 0.8) throw new Error(`${what}; this machine has ${gib(memory.total)} (at most 80% of it may be used): ask for a smaller --mb or --scale`);
  if (need.total > memory.available) throw new Error(`${what}; only ${gib(memory.available)} is available now: ask for a smaller --mb or --scale, or wait for other work to finish`);
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function runJob(c: Cluster<TestRedisLike>, spec: SubmitSpec): Promise<{ ms: number; value: JobStatus }> {
  const client = c.client();
  const r = await timed(async () => client.waitUntilFinished(await client.submit(spec)));
  if (r.value.phase !== 'done') throw new Error(`benchmark job ${r.value.id} (${spec.type}) ${r.value.phase}: ${r.value.error}`);
  return r;
}

/** PageRank's output (`node,rank` lines after a header) as a map. */
function ranksOf(csv: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of csv.split('\n').slice(1)) {
    const comma = line.lastIndexOf(',');
    if (comma > 0) m.set(line.slice(0, comma), Number(line.slice(comma + 1)));
  }
  return m;
}

/** The largest difference of a vertex's rank between two runs (Infinity if their vertices differ). */
function maxRankDiff(a: Map<string, number>, b: Map<string, number>): number {
  if (a.size !== b.size) return Infinity;
  let d = 0;
  for (const [k, v] of a) d = Math.max(d, Math.abs(v - (b.get(k) ?? Infinity)));
  return d;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const usedMemory = async (r: Redis) => Number(/used_memory:(\d+)/.exec(await r.info('memory'))?.[1] ?? NaN);

/** MEMORY USAGE of every key under `prefix` on this node, summed by kind. */
async function tandemBytes(r: Redis, prefix: string): Promise<Omit<NodeBytes, 'port' | 'usedGrowth'>> {
  const out = { datasets: 0, jobs: 0, other: 0 };
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (batch.length === 0) continue;
    const p = r.pipeline();
    for (const k of batch) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    const sizes = (await p.exec())!.map(([err, v]) => (err ? 0 : Number(v ?? 0)));
    batch.forEach((k, i) => {
      const kind = k.startsWith(`${prefix}:ds:`) ? 'datasets' : k.startsWith(`${prefix}:job:`) ? 'jobs' : 'other';
      out[kind] += sizes[i];
    });
  } while (cursor !== '0');
  return out;
}

/** The nodes of a side as plain connections: primaries (with their ports) and replicas. */
async function nodesOf(redis: TestRedis | TestRedisCluster, rc?: TestRedisCluster): Promise<{ primaries: { port: number; r: Redis; pid: number }[]; replicas: { r: Redis; pid: number }[] }> {
  if (!rc) {
    const one = redis as TestRedis;
    return { primaries: [{ port: one.port, r: one.client(), pid: one.proc.pid! }], replicas: [] };
  }
  const ports = (await rc.primaries()).map((p) => p.port);
  return {
    primaries: ports.map((port) => rc.nodes.find((n) => n.port === port)!).map((n) => ({ port: n.port, r: n.node(), pid: n.proc.pid! })),
    replicas: rc.nodes.filter((n) => !ports.includes(n.port)).map((n) => ({ r: n.node(), pid: n.proc.pid! })),
  };
}

/** Submit latency on a fresh platform (primary + backup, no workers) on the cluster, its op log waiting for `replicas`. */
async function submitLatency(rc: TestRedisCluster, replicas: 0 | 1, n: number): Promise<number[]> {
  const c = await startCluster({ name: `bench-cluster-wait-${replicas}`, masters: 2, workers: 0, redis: rc, env: { ...latencyEnv, TANDEM_LOG_REPLICAS: String(replicas) } });
  try {
    await putDataset(rc.client(), c.keys, Readable.from([Buffer.from('the cat\nthe dog\n')]), { name: 'tiny', format: 'text', splitBytes: 1 << 20 });
    await c.replicated();
    const client = c.client();
    const spec = { type: 'wordcount', dataset: 'tiny', partitions: 1 };
    for (let i = 0; i < 30; i++) await client.submit(spec);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await timed(() => client.submit(spec))).ms);
    return out;
  } finally {
    await c.stop();
  }
}

async function runSide(side: SideName, files: { corpus: string; graph: string }, o: ClusterBenchOptions, wait: Record<0 | 1, number[]>, log: (s: string) => void): Promise<SideRun> {
  // Redis's default node timeout: the harness's 1 s (quick failovers for tests) lets a loaded
  // 2-core machine fail nodes over in the middle of a measurement.
  const rc = side === 'cluster' ? await startRedisCluster({ primaries: PRIMARIES, replicas: REPLICAS, nodeTimeoutMs: 15_000 }) : undefined;
  const redis: TestRedis | TestRedisCluster = rc ?? (await startRedis());
  try {
    const nodes = await nodesOf(redis, rc);
    const base = await Promise.all(nodes.primaries.map((p) => usedMemory(p.r)));
    const replicaBase = await Promise.all(nodes.replicas.map((n) => usedMemory(n.r)));
    const c = await startCluster<TestRedisLike>({ name: `bench-cluster-${side === 'cluster' ? 'cluster' : 'one'}`, masters: 2, workers: 2, redis, env: jobEnv });
    const groups: Record<CpuGroup, number[]> = {
      'Redis primaries': nodes.primaries.map((n) => n.pid), 'Redis replicas': nodes.replicas.map((n) => n.pid),
      workers: c.workers.map((w) => w.pid!), 'masters and view service': [c.viewService.pid!, ...c.masters.map((m) => m.proc.pid!)],
    };
    let run: SideRun;
    try {
      await c.replicated();
      const conn = redis.client();
      // Warm-up: connections, the workers' code paths.
      await putDataset(conn, c.keys, Readable.from([Buffer.from('the cat\nthe dog\n')]), { name: 'tiny', format: 'text', splitBytes: 1 << 20 });
      await runJob(c, { type: 'wordcount', dataset: 'tiny' });
      const upload = (name: string, path: string, format: 'text' | 'edges') =>
        timed(() => putDataset(conn, c.keys, createReadStream(path, { highWaterMark: 1 << 20 }), { name, format, splitBytes: 8 << 20 }));
      const uc = await upload('corpus', files.corpus, 'text');
      log(`${side}: corpus uploaded in ${(uc.ms / 1000).toFixed(1)} s (${uc.value.splits} splits)`);
      const ug = await upload('graph', files.graph, 'edges');
      log(`${side}: graph uploaded in ${(ug.ms / 1000).toFixed(1)} s (${ug.value.splits} splits)`);
      const { value: wc, cpu: wordcountCpu } = await withCpu(groups, () => runJob(c, { type: 'wordcount', dataset: 'corpus' }));
      log(`${side}: word count in ${(wc.ms / 1000).toFixed(1)} s (${wc.value.maps.total} map tasks, ${wc.value.partitions} partitions)`);
      const { value: pr, cpu: pagerankCpu } = await withCpu(groups, () => runJob(c, { type: 'pagerank', dataset: 'graph', params: { iterations: String(o.iterations), tol: '0' } }));
      log(`${side}: PageRank in ${(pr.ms / 1000).toFixed(1)} s (${pr.value.partitions} partitions, ${pr.value.rounds?.length ?? '?'} rounds)`);
      const [wcOut, prOut] = [await jobOutput(c, wc.value), await jobOutput(c, pr.value)];
      const primaries: NodeBytes[] = [];
      for (const [i, p] of nodes.primaries.entries()) {
        primaries.push({ port: p.port, ...(await tandemBytes(p.r, c.prefix)), usedGrowth: (await usedMemory(p.r)) - base[i] });
      }
      const replicaGrowth = await Promise.all(nodes.replicas.map(async (n, i) => (await usedMemory(n.r)) - replicaBase[i]));
      run = {
        uploadCorpusMs: uc.ms, uploadGraphMs: ug.ms, wordcountMs: wc.ms, pagerankMs: pr.ms, wordcount: wc.value, pagerank: pr.value,
        wordcountSha: sha(wcOut), pagerankSha: sha(prOut), ranks: ranksOf(prOut), primaries, replicaGrowth, wordcountCpu, pagerankCpu,
      };
    } finally {
      await c.stop();
    }
    if (rc) {
      // Fresh platforms on the same cluster (its data still there), the settings taking turns.
      for (const replicas of [1, 0, 1, 0] as const) {
        const s = await submitLatency(rc, replicas, Math.ceil(o.ops / 2));
        wait[replicas].push(...s);
        log(`cluster, TANDEM_LOG_REPLICAS=${replicas}: submit p50 ${f2(median(s))} ms, p99 ${f2(pct(s, 99))} ms`);
      }
    }
    return run;
  } finally {
    await redis.stop();
  }
}

export async function benchCluster(o: ClusterBenchOptions): Promise<void> {
  checkOptions(o);
  const log = (s: string) => console.log(`[cluster ${new Date().toISOString().slice(11, 19)}] ${s}`);
  const corpus = resolve(repoRoot, `.tandem/bench/corpus-${o.mb}mb.txt`);
  const { bytes } = await buildCorpus(corpus, o.mb * 1_000_000);
  const graph = await writeRmatCsv(resolve(repoRoot, `.tandem/bench/rmat-${o.scale}-seed1.csv`), o.scale, 1);
  const graphBytes = statSync(graph).size;
  log(`corpus ${(bytes / 1e6).toFixed(0)} MB; R-MAT scale ${o.scale}: ${rmatEdges(o.scale).toLocaleString('en')} edges, ${(graphBytes / 1e6).toFixed(0)} MB of CSV`);

  const runs: Record<SideName, SideRun[]> = { 'one Redis': [], cluster: [] };
  const wait: Record<0 | 1, number[]> = { 0: [], 1: [] };
  for (let round = 0; round < o.rounds; round++) {
    for (const side of SIDES) {
      log(`round ${round + 1}/${o.rounds}: ${side}`);
      runs[side].push(await runSide(side, { corpus, graph }, o, wait, log));
    }
  }

  type Measure = 'uploadCorpusMs' | 'wordcountMs' | 'uploadGraphMs' | 'pagerankMs';
  const med = (side: SideName, m: Measure) => median(runs[side].map((r) => r[m]));
  const each = (side: SideName, m: Measure) => runs[side].map((r) => (r[m] / 1000).toFixed(1)).join(', ');
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const one = runs['one Redis'][0];
  const measures: { m: Measure; label: string; chart: string; goal: boolean }[] = [
    { m: 'wordcountMs', label: `word count of ${(bytes / 1e6).toFixed(0)} MB (${one.wordcount.maps.total} map tasks, ${one.wordcount.partitions} partitions), submit → done`, chart: `word count, ${(bytes / 1e6).toFixed(0)} MB`, goal: true },
    { m: 'pagerankMs', label: `PageRank, R-MAT scale ${o.scale}, ${o.iterations} iterations (${one.pagerank.partitions} partitions), submit → done`, chart: `PageRank, scale ${o.scale}`, goal: true },
    { m: 'uploadCorpusMs', label: `upload of the corpus (putDataset, 8 MiB splits)`, chart: `upload, ${(bytes / 1e6).toFixed(0)} MB text`, goal: false },
    { m: 'uploadGraphMs', label: `upload of the graph (${(graphBytes / 1e6).toFixed(0)} MB of CSV)`, chart: `upload, ${(graphBytes / 1e6).toFixed(0)} MB graph`, goal: false },
  ];
  const ratio = (m: Measure) => med('cluster', m) / med('one Redis', m);
  // Each round's pair ran minutes apart: its ratio shows how far the machine's noise moves one.
  const roundRatios = (m: Measure) => runs.cluster.map((r, i) => (r[m] / runs['one Redis'][i][m]).toFixed(2)).join(', ');
  const verdict = (r: number) => (r <= 1.15 ? 'met' : 'missed');
  const timeRows = measures.map(({ m, label, goal }) =>
    `| ${label} | ${s(med('one Redis', m))} (${each('one Redis', m)}) | ${s(med('cluster', m))} (${each('cluster', m)}) | **${ratio(m).toFixed(2)}** (${roundRatios(m)}) | ${goal ? `≤ 1.15: ${verdict(ratio(m))}` : ''} |`);
  const rankDiff = Math.max(...SIDES.flatMap((side) => runs[side].map((r) => maxRankDiff(one.ranks, r.ranks))));
  const sameOutput = (k: 'wordcountSha' | 'pagerankSha') => new Set(SIDES.flatMap((side) => runs[side].map((r) => r[k]))).size === 1;

  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  type CpuJob = 'wordcountCpu' | 'pagerankCpu';
  const cpuCell = (side: SideName, job: CpuJob, g: CpuGroup) => {
    const xs = runs[side].map((r) => r[job][g] / 1000);
    return side === 'one Redis' && g === 'Redis replicas' ? '—' : `${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(1)).join(', ')})`;
  };
  const cpuTotal = (side: SideName, job: CpuJob, leave: CpuGroup[] = []) =>
    median(runs[side].map((r) => sum(CPU_GROUPS.filter((g) => !leave.includes(g)).map((g) => r[job][g])) / 1000));
  const cpuAll = (job: CpuJob, leave: CpuGroup[] = []) => {
    const [a, b] = [cpuTotal('one Redis', job, leave), cpuTotal('cluster', job, leave)];
    return `**${a.toFixed(1)}** | **${b.toFixed(1)}** (×${(b / a).toFixed(2)})`;
  };
  const cpuRows = [...CPU_GROUPS.map((g) => `| ${g} | ${cpuCell('one Redis', 'wordcountCpu', g)} | ${cpuCell('cluster', 'wordcountCpu', g)} | ${cpuCell('one Redis', 'pagerankCpu', g)} | ${cpuCell('cluster', 'pagerankCpu', g)} |`),
    `| all (cluster / one) | ${cpuAll('wordcountCpu')} | ${cpuAll('pagerankCpu')} |`,
    `| all but the replicas (on other hosts in a real deployment) | ${cpuAll('wordcountCpu', ['Redis replicas'])} | ${cpuAll('pagerankCpu', ['Redis replicas'])} |`];
  const last = runs.cluster[runs.cluster.length - 1];
  const pctOf = (x: number, total: number) => `${((100 * x) / total).toFixed(0)}%`;
  const totalOf = (b: NodeBytes) => b.datasets + b.jobs + b.other;
  const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
  const all = sum(last.primaries.map(totalOf));
  const allDs = sum(last.primaries.map((p) => p.datasets));
  const allJobs = sum(last.primaries.map((p) => p.jobs));
  const allUsed = sum(last.primaries.map((p) => p.usedGrowth));
  const shareRows = last.primaries.map((p, i) =>
    `| primary ${i + 1} (port ${p.port}) | ${mib(totalOf(p))} (**${pctOf(totalOf(p), all)}**) | ${mib(p.datasets)} (${pctOf(p.datasets, allDs)}) | ${mib(p.jobs)} (${pctOf(p.jobs, allJobs)}) | ${mib(p.other)} | ${mib(p.usedGrowth)} (${pctOf(p.usedGrowth, allUsed)}) |`);
  const oneBytes = one.primaries[0];
  shareRows.push(`| one Redis, for comparison | ${mib(totalOf(oneBytes))} | ${mib(oneBytes.datasets)} | ${mib(oneBytes.jobs)} | ${mib(oneBytes.other)} | ${mib(oneBytes.usedGrowth)} |`);

  const w1 = { p50: median(wait[1]), p99: pct(wait[1], 99) };
  const w0 = { p50: median(wait[0]), p99: pct(wait[0], 99) };
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${f2(x)}`;

  const blue = '#4e79a7';
  const orange = '#f28e2b';
  const svg = barChart(`Tandem on one Redis vs a Redis Cluster (3 primaries + 3 replicas), ${cpus().length} cores`, [
    { title: 'Wall time (median of rounds)', unit: 's', rows: measures.map(({ m, chart }) => ({ label: chart, bars: [
      { name: 'one Redis', value: med('one Redis', m) / 1000, color: blue }, { name: 'Redis Cluster', value: med('cluster', m) / 1000, color: orange }] })) },
    { title: "Primaries' share of Tandem's bytes (MEMORY USAGE)", unit: 'MiB', rows: last.primaries.map((p, i) => ({ label: `primary ${i + 1}`, bars: [
      { name: 'datasets', value: p.datasets / MiB, color: '#59a14f' }, { name: 'job data', value: p.jobs / MiB, color: '#b07aa1' }] })) },
    { title: 'Submit latency on the cluster', unit: 'ms', rows: [
      { label: 'p50', bars: [{ name: 'op log WAITs for 1 replica', value: w1.p50, color: '#e15759' }, { name: 'no WAIT', value: w0.p50, color: '#bab0ac' }] },
      { label: 'p99', bars: [{ name: 'op log WAITs for 1 replica', value: w1.p99, color: '#e15759' }, { name: 'no WAIT', value: w0.p99, color: '#bab0ac' }] },
    ] },
  ]);
  writeFileSync(resolve(repoRoot, 'docs/bench-cluster.svg'), svg);

  const md = `
## Tandem on a Redis Cluster (issue 18)

Run: \`npm run bench -- cluster --mb ${o.mb} --scale ${o.scale} --iterations ${o.iterations} --rounds ${o.rounds} --ops ${o.ops}\`
(${new Date().toISOString().slice(0, 10)}; ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, loopback, one disk,
a machine shared with other work). Each side is the same platform (view service, primary and backup
master, 2 workers) on fresh Redis: **one redis-server**, or **a Redis Cluster of 3 primaries with 1
replica each** (6 nodes; the replicas are what a real deployment runs for failover, and each costs
its primary the replication stream). Every node has its AOF on (appendfsync no, as the harness
runs it); the cluster's node timeout is 15 s. The sides take turns (one Redis, cluster, …, ${o.rounds}
round${o.rounds > 1 ? 's' : ''}); medians, each round in brackets (seconds). The corpus is the sample
texts repeated (${(bytes / 1e6).toFixed(0)} MB); the graph is Graph500's R-MAT (a=${RMAT.a}, b=c=${RMAT.b},
d=${(1 - RMAT.a - RMAT.b - RMAT.c).toFixed(2)}, edge factor ${RMAT.edgeFactor}, vertex labels permuted; seeded, so the same bytes
every run): 2^${o.scale} vertices, ${rmatEdges(o.scale).toLocaleString('en')} edges. Default partitions (what a user gets).

![one Redis vs Redis Cluster](bench-cluster.svg)

| measure | one Redis | cluster (3 + 3) | **cluster / one** (each round's) | goal |
| --- | --- | --- | --- | --- |
${timeRows.join('\n')}

Outputs identical on both sides in every round: word count ${sameOutput('wordcountSha') ? 'yes' : 'NO'}, PageRank ${sameOutput('pagerankSha') ? 'yes' : `not byte for byte: the largest difference of a vertex's rank from the first one-Redis run is ${rankDiff.toExponential(2)} (the order of floating-point sums)`}.

**Where the CPU went** during each job, in seconds (/proc times of the processes; median, rounds in
brackets; ${cpus().length} cores, so a job of W seconds has at most ${cpus().length}·W to spend, shared with the machine's other work):

| processes | word count, one Redis | word count, cluster | PageRank, one Redis | PageRank, cluster |
| --- | --- | --- | --- | --- |
${cpuRows.join('\n')}

**Each primary's share** after the uploads and both jobs (last cluster round): MEMORY USAGE of every
key under the run's prefix over a SCAN of each primary, by kind (datasets: \`<p>:ds:…\`; job data:
\`<p>:job:…\`, the jobs' committed outputs and what their rounds keep; other: queues, the op log, the
view service), and used_memory above what the node used right after start. The replicas grew by
${last.replicaGrowth.map(mib).join(', ')}: each holds a copy of its primary.

| node | Tandem's keys | datasets | job data | other | used_memory growth |
| --- | --- | --- | --- | --- | --- |
${shareRows.join('\n')}

**What WAIT costs on the op log** (on the cluster, fresh platforms of a primary and a backup master,
no workers, after its data was loaded; TANDEM_LOG_REPLICAS=1, the default, vs 0, taking turns, 2 platforms
of each per round, ${Math.ceil(o.ops / 2)} submits each after 30 to warm up; percentiles over all ${wait[1].length} submits of each):

| | TANDEM_LOG_REPLICAS=1 (WAIT) | 0 (no WAIT) | WAIT adds |
| --- | --- | --- | --- |
| submit p50 | ${f2(w1.p50)} ms | ${f2(w0.p50)} ms | ${signed(w1.p50 - w0.p50)} ms |
| submit p99 | ${f2(w1.p99)} ms | ${f2(w0.p99)} ms | ${signed(w1.p99 - w0.p99)} ms |
`;
  log(md);
  log(`written to ${writeSection('cluster', md)} and docs/bench-cluster.svg`);
}
