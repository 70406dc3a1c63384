/**
 * PageRank set-up benchmark (issue 19): the set-up rounds' own work, without Redis or a cluster, for
 * the code of this checkout ("after") and of a git ref ("before", default `main`; its
 * jobs/src/pagerank/ is copied out with `git show` into .tandem/bench/). The input is Graph500's
 * R-MAT graph (graph.ts) cut into splits as the dataset store cuts and normalises an upload (8 MiB
 * splits). Every task runs in a child process of its own, reading its input blobs from files, so its
 * peak RSS is that of a worker holding just that task: round 0's map over the splits (one after
 * another in one process), round 0's reduce per partition, round 1's map per partition (only where
 * the plan has one) and round 1's reduce per partition (which also decodes the adjacency and sends
 * the first contributions, as the real task does). The phases run through the job type's own
 * map/reduce, so the round plan decides the shape. The two sides take turns; the adjacency each
 * side builds is checked to hold the same nodes and edges.
 *
 * With --job-base DIR (a checkout of the baseline with its node_modules installed), it also times
 * whole jobs on the test harness's cluster (test/harness/cluster.ts: view service, two masters, two
 * workers, one redis-server), each side from its own checkout: R-MAT scale --job-scale, 10
 * iterations, P=2; set-up time from the master's round history, and the workers' peak RSS (VmHWM).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ContentCache, type IterativeJobType, type RoundContext, type RoundStats } from '@tandem/shared';
import { Ingest } from '../../shared/src/dataset-store/ingest.ts';
import { decodeAdjacency } from '../../jobs/src/pagerank/blobs.ts';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { writeRmatCsv } from './graph.ts';
import { writeSection } from './report.ts';

const SPLIT_BYTES = 8 * 1024 * 1024;
const CACHE_BYTES = 512 << 20;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b: number) => b / 2 ** 20;

/** The graph's splits as the dataset store keeps them, written once per scale. */
async function splitsDir(scale: number): Promise<string> {
  const dir = resolve(repoRoot, `.tandem/bench/setup-splits-${scale}`);
  if (existsSync(resolve(dir, 'done'))) return dir;
  const csv = await writeRmatCsv(resolve(repoRoot, `.tandem/bench/rmat-${scale}.csv`), scale);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const ingest = new Ingest({ name: `rmat-${scale}`, format: 'edges', splitBytes: SPLIT_BYTES });
  let i = 0;
  for await (const split of ingest.splits(createReadStream(csv, { highWaterMark: 1 << 20 }))) writeFileSync(resolve(dir, `split-${String(i++).padStart(4, '0')}`), split);
  const r = ingest.result();
  writeFileSync(resolve(dir, 'meta.json'), JSON.stringify({ records: r.records, splitRecords: r.splitRecords }));
  writeFileSync(resolve(dir, 'done'), '');
  return dir;
}

/** A copy of this checkout's jobs/src/pagerank/ as it is now, so edits during a run cannot mix in. */
function snapshotWorktree(): string {
  const from = resolve(repoRoot, 'jobs/src/pagerank');
  const dir = resolve(repoRoot, `.tandem/bench/pagerank-worktree-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(from).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) writeFileSync(resolve(dir, f), readFileSync(resolve(from, f)));
  return dir;
}

/** jobs/src/pagerank/ of a git ref, as files the child processes can import. */
function checkoutRef(ref: string): string {
  const sha = execFileSync('git', ['rev-parse', ref], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const dir = resolve(repoRoot, `.tandem/bench/pagerank-${sha.slice(0, 12)}`);
  if (existsSync(resolve(dir, 'pagerank.ts'))) return dir;
  mkdirSync(dir, { recursive: true });
  const files = execFileSync('git', ['ls-tree', '--name-only', `${sha}:jobs/src/pagerank`], { cwd: repoRoot, encoding: 'utf8' }).split('\n');
  for (const f of files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    writeFileSync(resolve(dir, f), execFileSync('git', ['show', `${sha}:jobs/src/pagerank/${f}`], { cwd: repoRoot, maxBuffer: 1 << 26 }));
  }
  return dir;
}

interface PhaseResult {
  ms: number;
  /** CPU time of the process (all its threads) during the work: the machine is shared, so wall time is noisy. */
  cpuMs: number;
  maxRssMB: number;
  /** RSS once the inputs were read, before the work. */
  startRssMB: number;
  heapMB: number;
  arrayBuffersMB: number;
  stats: RoundStats;
}

// ---- the child: one phase ----

const blobPath = (work: string, what: string) => resolve(work, what);

async function runPhase(moduleDir: string, splits: string, work: string, phase: string, P: number): Promise<PhaseResult> {
  const { pagerank } = (await import(pathToFileURL(resolve(moduleDir, 'pagerank.ts')).href)) as { pagerank: IterativeJobType };
  const params = { iterations: 10, damping: 0.85, tol: 0 };
  const plan = pagerank.rounds(params);
  const chainedFrom = plan.chainFrom ?? Infinity;
  const read = (what: string) => readFileSync(blobPath(work, what));
  const stats: RoundStats = {};
  const add = (s?: RoundStats) => {
    for (const [k, v] of Object.entries(s ?? {})) stats[k] = (stats[k] ?? 0) + v;
  };
  const prevStats = existsSync(blobPath(work, 'stats-0.json')) ? (JSON.parse(readFileSync(blobPath(work, 'stats-0.json'), 'utf8')) as RoundStats) : {};
  const context = (round: number): RoundContext<unknown> => ({
    job: 'bench', params, round, partitions: P, previousStats: round === 0 ? {} : prevStats, cache: new ContentCache(CACHE_BYTES),
    readOutput: async (r, q) => read(`out-${r}-${q}`),
    readOutputHead: async (r, q, n) => read(`out-${r}-${q}`).subarray(0, n),
  });
  const [kind, roundText, indexText] = phase.split(':');
  const round = Number(roundText);
  let ms = 0;
  let cpuMs = 0;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let startRss = process.memoryUsage().rss;
  if (kind === 'map') {
    const names = round === 0 ? readdirSync(splits).filter((f) => f.startsWith('split-')).sort() : [`out-${round - 1}-${indexText}`];
    const meta = JSON.parse(readFileSync(resolve(splits, 'meta.json'), 'utf8')) as { splitRecords: number[] };
    let firstRecord = 1;
    for (let s = 0; s < names.length; s++) {
      const input = readFileSync(round === 0 ? resolve(splits, names[s]) : blobPath(work, names[s]));
      const index = round === 0 ? s : Number(indexText);
      if (s === 0) startRss = process.memoryUsage().rss;
      const t0 = performance.now();
      const c0 = cpu();
      const res = await pagerank.map(input, { ...context(round), index, firstRecord, record: firstRecord });
      ms += performance.now() - t0;
      cpuMs += cpu() - c0;
      add(res.stats);
      res.outputs.forEach((b, r) => writeFileSync(blobPath(work, `shuffle-${round}-${r}-${index}`), b));
      if (round === 0) firstRecord += meta.splitRecords[s];
    }
  } else {
    const r = Number(indexText);
    const senders = readdirSync(work).filter((f) => f.startsWith(`shuffle-${round}-${r}-`)).sort((a, b) => Number(a.split('-')[3]) - Number(b.split('-')[3]));
    const inputs = senders.map((f) => read(f));
    const previousOutput = round > 0 ? read(`out-${round - 1}-${r}`) : null;
    startRss = process.memoryUsage().rss;
    const t0 = performance.now();
    const c0 = cpu();
    const res = await pagerank.reduce(inputs, { ...context(round), partition: r, previousOutput, chained: round >= chainedFrom });
    ms = performance.now() - t0;
    cpuMs = cpu() - c0;
    add(res.stats);
    writeFileSync(blobPath(work, `out-${round}-${r}`), res.output);
    res.next?.forEach((b, q) => writeFileSync(blobPath(work, `shuffle-${round + 1}-${q}-${r}`), b));
  }
  const mem = process.memoryUsage();
  return { ms, cpuMs, maxRssMB: process.resourceUsage().maxRSS / 1024, startRssMB: mb(startRss), heapMB: mb(mem.heapUsed), arrayBuffersMB: mb(mem.arrayBuffers), stats };
}

// ---- a whole job on the harness's cluster, from a checkout ----

interface JobResult {
  setupMs: number;
  perIterationMs: number;
  totalMs: number;
  workerPeakMB: number[];
  redisPeakMB: number;
}

const kib = (status: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);

async function runJob(checkout: string, csv: string, iterations: number): Promise<JobResult> {
  const { startCluster } = (await import(pathToFileURL(resolve(checkout, 'test/harness/cluster.ts')).href)) as typeof import('../../test/harness/cluster.ts');
  const shared = (await import(pathToFileURL(resolve(checkout, 'shared/src/index.ts')).href)) as typeof import('@tandem/shared');
  const env = { TANDEM_LOG_LEVEL: 'warn', TANDEM_LOCK_MS: '4000', TANDEM_STALLED_MS: '2000', TANDEM_RECONCILE_MS: '1000' };
  const c = await startCluster({ name: 'bench-pagerank-setup', workers: 2, masters: 2, env });
  try {
    await c.replicated();
    await shared.putDataset(c.redis.client(), c.keys, createReadStream(csv), { name: 'rmat', format: 'edges', splitBytes: SPLIT_BYTES });
    const client = c.client();
    const id = await client.submit({ type: 'pagerank', dataset: 'rmat', partitions: 2, params: { iterations: String(iterations), tol: '0' } });
    const st = await client.waitUntilFinished(id);
    if (st.phase !== 'done') throw new Error(`job ${id} ${st.phase}: ${st.error}`);
    const r = st.rounds;
    const info = await c.redis.client().info('memory');
    return {
      setupMs: r[1].finishedAt - st.submittedAt,
      perIterationMs: (r[r.length - 1].finishedAt - r[2].finishedAt) / (r.length - 3),
      totalMs: st.finishedAt! - st.submittedAt,
      workerPeakMB: c.workers.map((w) => kib(readFileSync(`/proc/${w.pid}/status`, 'utf8'), 'VmHWM') / 1024),
      redisPeakMB: Number(/used_memory_peak:(\d+)/.exec(info)?.[1] ?? NaN) / 2 ** 20,
    };
  } finally {
    await c.stop();
  }
}

// ---- the parent ----

interface Side {
  name: string;
  moduleDir: string;
  /** Per phase label, one result per run. */
  phases: Map<string, PhaseResult[]>;
  totalMs: number[];
  totalCpuMs: number[];
}

function child(side: Side, splits: string, work: string, phase: string, P: number): PhaseResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'scripts/bench/pagerank-setup.ts'), side.moduleDir, splits, work, phase, String(P)], {
    cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`${side.name} ${phase} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PhaseResult;
}

/** Both rounds of one side; returns the work directory holding round 1's outputs. */
async function runSide(side: Side, splits: string, P: number, run: number): Promise<string> {
  const { pagerank } = (await import(pathToFileURL(resolve(side.moduleDir, 'pagerank.ts')).href)) as { pagerank: IterativeJobType };
  const chainFrom = pagerank.rounds({ iterations: 10, damping: 0.85, tol: 0 }).chainFrom ?? Infinity;
  const work = resolve(repoRoot, `.tandem/bench/setup-work-${side.name}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const record = (label: string, res: PhaseResult) => {
    const list = side.phases.get(label) ?? [];
    list[run] = res;
    side.phases.set(label, list);
    cpuTotal += res.cpuMs;
    return res.ms;
  };
  let total = 0;
  let cpuTotal = 0;
  for (let round = 0; round < 2; round++) {
    if (round === 0 || round - 1 < chainFrom) {
      if (round === 0) total += record('round 0 map (all splits)', child(side, splits, work, 'map:0', P));
      else for (let r = 0; r < P; r++) total += record(`round ${round} map ${r}`, child(side, splits, work, `map:${round}:${r}`, P));
    }
    const sum: RoundStats = {};
    for (let r = 0; r < P; r++) {
      const res = child(side, splits, work, `reduce:${round}:${r}`, P);
      total += record(`round ${round} reduce ${r}`, res);
      for (const [k, v] of Object.entries(res.stats)) sum[k] = (sum[k] ?? 0) + v;
    }
    writeFileSync(resolve(work, `stats-${round}.json`), JSON.stringify(sum));
  }
  side.totalMs[run] = total;
  side.totalCpuMs[run] = cpuTotal;
  return work;
}

/** Both sides' adjacency holds the same nodes, out-degrees and edge sets (the order within a source may differ). */
function sameGraph(a: string, b: string, P: number): void {
  for (let q = 0; q < P; q++) {
    const x = decodeAdjacency(readFileSync(resolve(a, `out-1-${q}`)), `before ${q}`);
    const y = decodeAdjacency(readFileSync(resolve(b, `out-1-${q}`)), `after ${q}`);
    const fail = (what: string) => {
      throw new Error(`partition ${q}: the two sides' adjacency differ in ${what}`);
    };
    if (x.n !== y.n || x.edges !== y.edges) fail(`size (${x.n}/${x.edges} vs ${y.n}/${y.edges})`);
    if (x.ids().join('\n') !== y.ids().join('\n')) fail('ids');
    if (Buffer.compare(Buffer.from(x.outDegree.buffer, x.outDegree.byteOffset, x.outDegree.byteLength), Buffer.from(y.outDegree.buffer, y.outDegree.byteOffset, y.outDegree.byteLength)) !== 0) fail('out-degrees');
    for (let r = 0; r < P; r++) {
      const key = (t: { src: Uint32Array; dst: Uint32Array }) => Float64Array.from(t.src, (s, e) => s * 2 ** 32 + t.dst[e]).sort();
      const kx = key(x.targets[r]);
      const ky = key(y.targets[r]);
      if (kx.length !== ky.length || kx.some((v, i) => v !== ky[i])) fail(`edges into partition ${r}`);
      if (x.targets[r].width !== y.targets[r].width) fail(`width into partition ${r}`);
    }
  }
}

/** Whole jobs, the two checkouts taking turns. */
async function jobs(opts: { jobBase: string; jobScale: number; runs: number }, log: (s: string) => void): Promise<string> {
  const csv = await writeRmatCsv(resolve(repoRoot, `.tandem/bench/rmat-${opts.jobScale}.csv`), opts.jobScale);
  const sides = [{ name: 'before', dir: resolve(opts.jobBase), runs: [] as JobResult[] }, { name: 'after', dir: repoRoot, runs: [] as JobResult[] }];
  for (let run = 0; run < opts.runs; run++) {
    for (const side of run % 2 === 0 ? sides : [...sides].reverse()) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'scripts/bench/pagerank-setup.ts'), 'job', side.dir, csv, '10'], { cwd: side.dir, encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`${side.name} job failed (${r.status}): ${r.stderr}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as JobResult;
      side.runs.push(res);
      log(`job run ${run + 1} ${side.name}: set-up ${res.setupMs} ms, ${res.perIterationMs.toFixed(0)} ms per iteration, ${res.totalMs} ms in all; worker peak RSS ${res.workerPeakMB.map((x) => x.toFixed(0)).join(', ')} MB; Redis peak ${res.redisPeakMB.toFixed(0)} MB`);
    }
  }
  const m = (side: (typeof sides)[number], f: (r: JobResult) => number) => median(side.runs.map(f));
  const [b, a] = sides;
  const row = (label: string, f: (r: JobResult) => number, unit: string) => `| ${label} | ${m(b, f).toFixed(0)} ${unit} | ${m(a, f).toFixed(0)} ${unit} | ${(m(b, f) / m(a, f)).toFixed(2)} |`;
  return [
    '',
    `Whole jobs on the test harness's cluster (view service, 2 masters, 2 workers, one redis-server), R-MAT scale ${opts.jobScale}, 10 iterations, P=2, before = \`${opts.jobBase}\`, medians of ${opts.runs}:`,
    '',
    '| | before | after | before / after |',
    '| --- | --- | --- | --- |',
    row('set-up (submit to round 1 committed)', (r) => r.setupMs, 'ms'),
    row('per iteration', (r) => r.perIterationMs, 'ms'),
    row('whole job', (r) => r.totalMs, 'ms'),
    row('larger worker peak RSS', (r) => Math.max(...r.workerPeakMB), 'MB'),
    row('Redis peak memory', (r) => r.redisPeakMB, 'MB'),
  ].join('\n');
}

export async function benchPagerankSetup(opts: { scale: number; runs: number; partitions: number; before: string; jobBase?: string; jobScale: number; jobRuns: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const P = opts.partitions;
  const splits = await splitsDir(opts.scale);
  const meta = JSON.parse(readFileSync(resolve(splits, 'meta.json'), 'utf8')) as { records: number; splitRecords: number[] };
  log(`R-MAT scale ${opts.scale}: ${meta.records.toLocaleString('en')} edges in ${meta.splitRecords.length} splits; P=${P}`);
  const before: Side = { name: 'before', moduleDir: checkoutRef(opts.before), phases: new Map(), totalMs: [], totalCpuMs: [] };
  const after: Side = { name: 'after', moduleDir: snapshotWorktree(), phases: new Map(), totalMs: [], totalCpuMs: [] };
  let checked = false;
  for (let run = 0; run < opts.runs; run++) {
    const order = run % 2 === 0 ? [before, after] : [after, before];
    const dirs: Record<string, string> = {};
    for (const side of order) {
      dirs[side.name] = await runSide(side, splits, P, run);
      log(`run ${run + 1} ${side.name}: ${(side.totalMs[run] / 1000).toFixed(2)} s (CPU ${(side.totalCpuMs[run] / 1000).toFixed(2)} s)`);
    }
    if (!checked) {
      sameGraph(dirs.before, dirs.after, P);
      checked = true;
      log('both sides built the same graph');
    }
  }
  const f0 = (x: number) => x.toFixed(0);
  const rows: string[] = [];
  const labels = [...new Set([...before.phases.keys(), ...after.phases.keys()])];
  for (const label of labels) {
    const cell = (side: Side) => {
      const rs = side.phases.get(label);
      if (!rs) return '—';
      return `${f0(median(rs.map((r) => r.ms)))} ms (CPU ${f0(median(rs.map((r) => r.cpuMs)))} ms), ${f0(median(rs.map((r) => r.maxRssMB)))} MB (inputs read: ${f0(median(rs.map((r) => r.startRssMB)))} MB; heap ${f0(median(rs.map((r) => r.heapMB)))} MB, arrays ${f0(median(rs.map((r) => r.arrayBuffersMB)))} MB)`;
    };
    rows.push(`| ${label} | ${cell(before)} | ${cell(after)} |`);
  }
  const b = median(before.totalMs);
  const a = median(after.totalMs);
  const bc = median(before.totalCpuMs);
  const ac = median(after.totalCpuMs);
  const edgesPerPartition = meta.records / P;
  const peak = (side: Side) => Math.max(...[...side.phases.values()].map((rs) => median(rs.map((r) => r.maxRssMB))));
  const md = [
    `\`npm run bench -- pagerank-setup --scale ${opts.scale} --runs ${opts.runs} --partitions ${P} --before ${opts.before}\`: PageRank's two set-up rounds in one process per task`,
    `(no Redis), on R-MAT scale ${opts.scale} (${meta.records.toLocaleString('en')} edges, ${meta.splitRecords.length} splits of 8 MiB), P=${P}; "before" is \`${opts.before}\`'s jobs/src/pagerank/. Medians of ${opts.runs} runs, the two sides taking turns.`,
    '',
    '| phase | before: wall time (CPU time), peak RSS | after: wall time (CPU time), peak RSS |',
    '| --- | --- | --- |',
    ...rows,
    `| **set-up work in all, wall** | **${(b / 1000).toFixed(2)} s** | **${(a / 1000).toFixed(2)} s** (${(b / a).toFixed(1)}× faster) |`,
    `| **set-up work in all, CPU** | **${(bc / 1000).toFixed(2)} s** | **${(ac / 1000).toFixed(2)} s** (${(bc / ac).toFixed(1)}× less) |`,
    `| largest task peak RSS per edge of a partition | ${f0((peak(before) * 2 ** 20) / edgesPerPartition)} B | ${f0((peak(after) * 2 ** 20) / edgesPerPartition)} B |`,
    '',
    `Wall totals: before ${before.totalMs.map((x) => (x / 1000).toFixed(2)).join(', ')} s; after ${after.totalMs.map((x) => (x / 1000).toFixed(2)).join(', ')} s. CPU time counts every thread of the task's process (GC included); the machine is shared, so wall time is noisier.`,
  ].join('\n');
  log(md);
  const job = opts.jobBase ? await jobs({ jobBase: opts.jobBase, jobScale: opts.jobScale, runs: opts.jobRuns }, log) : '';
  log(job);
  log(`written to ${writeSection('pagerank-setup', md + '\n' + job)}`);
}

// A child process: argv = moduleDir splitsDir workDir phase P, or job checkout csv iterations.
if (process.argv[1] && resolve(process.argv[1]) === resolve(repoRoot, 'scripts/bench/pagerank-setup.ts')) {
  const [a, b, c, d, e] = process.argv.slice(2);
  (a === 'job' ? runJob(b, c, Number(d)) : runPhase(a, b, c, d, Number(e))).then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error((err as Error).stack);
      process.exit(1);
    },
  );
}
