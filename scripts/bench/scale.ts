/**
 * `npm run bench -- scale` (issue 19): how Tandem's cost grows with the data, as whole commands on a
 * real `tandem up --workers 2` (tandem-up.ts), each against a single-thread baseline measured in the
 * same run (single.ts, a fresh process per run), the two sides taking turns run by run:
 *  (1) word count, `tandem job run wordcount --dataset D --out FILE` after `tandem dataset put`
 *      (timed apart), at each --wc-mb, against the tuned byte-scan counter; outputs checked equal;
 *  (2) a user's plain word count job type (plainwordcount.js, loaded from a jobs folder through
 *      TANDEM_JOBS_DIR) at each --plain-mb, against its own functions run in one process;
 *  (3) PageRank of Graph500's R-MAT graph at each --scales, --iterations iterations, the whole
 *      `npm run pagerank -- --dataset FILE.csv` (upload, job, ranks written), against a plain
 *      single-thread PageRank (parse, build, iterate, write); the job's upload, set-up, ms per
 *      iteration and output apart, from its status's round history;
 *  (4) the fixed cost of an iteration on the Debian graph: whole `tandem job run pagerank` jobs of N
 *      and N + extra iterations, the difference over extra, against one thread's per iteration;
 *  (5) memory alongside each run: every worker's peak RSS, Redis's used_memory, the baseline's peak;
 *  (6) with --dask, the peer issue 19 names: a word count in Dask (Debian's python3-dask, dask.bag on
 *      2 worker processes: dask_wordcount.py) at each --wc-mb, a whole command taking turns with the
 *      other two sides, its output compared with Tandem's; skipped with a message without Dask.
 * Results go to docs/BENCHMARKS.md (tables, goals of issue 19 per row) and two charts,
 * docs/bench-scale-wordcount.svg and docs/bench-scale-pagerank.svg. Inputs are cached under .tandem/bench/.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { JobStatus } from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { startRedis } from '../../test/harness/redis.ts';
import { buildCorpus } from './corpus.ts';
import { RMAT, rmatEdges, writeGraphCsv, writeRmatCsv } from './graph.ts';
import { writeSection } from './report.ts';
import { runCommand, sampleMemory, startUp, jobsFolder, type MemoryPeaks, type Up } from './tandem-up.ts';
import type { SingleResult } from './single.ts';
import { lineChart, type LinePanel } from './svg.ts';

export interface ScaleOptions {
  wcMb: number[];
  plainMb: number[];
  scales: number[];
  iterations: number;
  fixed: number;
  extra: number;
  runs: number;
  /** Redis's fsync policy: always is tandem up's own redis-server; the others a redis-server the benchmark starts. */
  appendfsync: 'always' | 'everysec' | 'no';
  /** Also Dask's word count at each --wc-mb (when Debian's python3-dask is installed). */
  dask?: boolean;
}

const MiB = 2 ** 20;
const BENCH = resolve(repoRoot, '.tandem/bench');
const PLAIN_JOB = resolve(repoRoot, 'scripts/bench/plainwordcount.js');
const DEBIAN = resolve(repoRoot, 'datasets/debian-python3-deps.csv');
const DASK_SCRIPT = resolve(repoRoot, 'scripts/bench/dask_wordcount.py');
/** Debian's python3, for its python3-dask and python3-distributed (the python3 on PATH may be another, e.g. pyenv's). */
export const DASK_PYTHON = '/usr/bin/python3';

/** Issue 19's goals: the ratio Tandem / single thread at most this, per measure and size. */
export const GOALS = {
  wordcount: { 100: 1.0, 1000: 0.7 } as Record<number, number>,
  plain: { 300: 0.6 } as Record<number, number>,
  pagerank: { 20: 1.0 } as Record<number, number>,
  /** ms per iteration on the Debian graph. */
  fixedMs: 3,
  /** PageRank per iteration, Tandem / single thread. */
  perIteration: 0.8,
  /** PageRank set-up at scale 20, 5× faster than the 35 s the issue measured. */
  setupMs: 7000,
  /** Word count, Tandem / Dask (2 worker processes): "stay ahead of it". */
  dask: 1.0,
};

// ---- pure helpers (unit-tested in test/bench-scale.test.ts) ----

/** "100,300,1000" → [100, 300, 1000]; each a whole number in [min, max]; names the flag when not. */
export function parseList(flag: string, text: string, min: number, max: number): number[] {
  const xs = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (xs.length === 0) throw new Error(`${flag} "${text}": give one or more whole numbers, separated by commas`);
  return xs.map((s) => {
    const v = Number(s);
    if (!/^\d+$/.test(s) || v < min || v > max) throw new Error(`${flag} "${text}": "${s}" is not a whole number from ${min} to ${max}`);
    return v;
  });
}

/** The median (of an even count, the mean of the middle two). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "1.23× (1.10–1.40)": the ratio of the medians, and the range of each run's own ratio. */
export function ratioCell(tandem: number[], single: number[]): string {
  const r = median(tandem) / median(single);
  const each = tandem.map((t, i) => t / single[i]).filter(Number.isFinite);
  const range = each.length > 1 ? ` (${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)})` : '';
  return `**${r.toFixed(2)}×**${range}`;
}

/** "≤ 0.7×: met" / "≤ 0.7×: **not met**", or "" when the row has no goal. */
export function goalCell(value: number, goal: number | undefined, unit = '×'): string {
  if (goal === undefined) return '';
  return `≤ ${goal}${unit === '×' ? '×' : ` ${unit}`}: ${value <= goal ? 'met' : '**not met**'}`;
}

/** Seconds, with the runs in brackets: "1.26 s (1.20, 1.31)". */
export function secondsCell(ms: number[]): string {
  const s = (x: number) => (x / 1000).toFixed(2);
  return `${s(median(ms))} s${ms.length > 1 ? ` (${ms.map(s).join(', ')})` : ''}`;
}

/** A size in MB as the charts and tables show it: "100 MB", "1 GB". */
export const sizeLabel = (mb: number) => (mb >= 1000 && mb % 1000 === 0 ? `${mb / 1000} GB` : `${mb} MB`);

/** A count as a chart's tick shows it: 65k, 1.0M, 16.8M. */
export const countLabel = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}k` : String(n));

/** The largest difference of a node's rank between two `node,rank` CSVs (Infinity if their nodes differ). */
export function maxRankDiff(a: string, b: string): number {
  const ranks = (csv: string) => {
    const m = new Map<string, number>();
    for (const line of csv.split('\n').slice(1)) {
      const comma = line.lastIndexOf(',');
      if (comma > 0) m.set(line.slice(0, comma), Number(line.slice(comma + 1)));
    }
    return m;
  };
  const [x, y] = [ranks(a), ranks(b)];
  if (x.size !== y.size) return Infinity;
  let d = 0;
  for (const [k, v] of x) d = Math.max(d, Math.abs(v - (y.get(k) ?? Infinity)));
  return d;
}

/** What a PageRank job's status says of its phases: set-up, ms per iteration, output round (ms). */
export function roundTimes(s: Pick<JobStatus, 'plan' | 'rounds' | 'submittedAt' | 'finishedAt'>): { setupMs: number; perIterationMs: number; outputMs: number; iterations: number } {
  const setup = s.plan?.setup;
  if (setup === undefined) throw new Error('not an iterative job: its status has no plan');
  const r = s.rounds;
  const first = r[setup];
  const last = r[r.length - 1];
  const iterations = r.length - setup;
  if (!first || iterations < 2) throw new Error(`the job ran ${iterations} iteration(s): at least 2 are needed to time one`);
  return {
    setupMs: r[setup - 1].finishedAt - s.submittedAt,
    perIterationMs: (last.finishedAt - first.finishedAt) / (iterations - 1),
    outputMs: (s.finishedAt ?? last.finishedAt) - last.finishedAt,
    iterations,
  };
}

// ---- the runs ----

interface TandemRun {
  ms: number;
  mem: MemoryPeaks;
  sha?: string;
}

interface WcRow {
  mb: number;
  bytes: number;
  uploadMs: number;
  single: SingleResult[];
  tandem: TandemRun[];
  /** Every run's output of both sides equal (and, across rows of one size, to the other job's). */
  same: boolean;
  sha: string;
  /** The plain job's output equals the built-in wordcount's at this size (when both ran). */
  sameAsWordcount?: boolean;
  /** Dask's word count (--dask): each run's whole command, ms, and whether every output equalled Tandem's. */
  dask?: { ms: number[]; same: boolean; about: string };
}

interface PrRun extends TandemRun {
  uploadMs: number;
  setupMs: number;
  perIterationMs: number;
  outputMs: number;
  writeMs: number;
  partitions: number;
  rankDiff: number;
}

interface PrRow {
  scale: number;
  csvBytes: number;
  single: SingleResult[];
  tandem: PrRun[];
}

interface FixedRow {
  name: string;
  label: string;
  path: string;
  nodes: number;
  edges: number;
  runs: FixedRun[];
}

interface FixedRun {
  single: number;
  short: number;
  long: number;
  /** ms per iteration of the long job, from its round history. */
  rounds: number;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const mib = (x: number) => `${x.toFixed(0)} MiB`;
const maxOf = (xs: number[]) => Math.max(...xs);

/** Runs one baseline in a fresh process (single.ts); returns what it printed. */
async function single(args: string[]): Promise<SingleResult> {
  const r = await runCommand(process.execPath, ['--max-old-space-size=16384', '--import', 'tsx', resolve(repoRoot, 'scripts/bench/single.ts'), ...args], process.env);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as SingleResult;
}

/** Why Dask's word count cannot run here (no such python, or no dask for it), or null when it can. */
async function daskMissing(): Promise<string | null> {
  try {
    await runCommand(DASK_PYTHON, ['-c', 'import dask.bag'], process.env, 120_000);
    return null;
  } catch (err) {
    const last = (err as Error).message.trim().split('\n').pop();
    return `${DASK_PYTHON} cannot import dask.bag (${last}); on Debian: apt-get install python3-dask python3-distributed`;
  }
}

/** Runs f with the memory of the workers and Redis sampled. */
async function withMemory<T>(up: Up, f: () => Promise<T>): Promise<{ value: T; mem: MemoryPeaks }> {
  const sampler = await sampleMemory(up.pids().workers, up.redis);
  try {
    const value = await f();
    return { value, mem: await sampler.stop() };
  } catch (err) {
    await sampler.stop();
    throw err;
  }
}

const jobIdIn = (stderr: string) => {
  const m = /submitted job (\S+)/.exec(stderr);
  if (!m) throw new Error(`no "submitted job ID" line in:\n${stderr}`);
  return m[1];
};

/** Memory needed at most, roughly: the largest corpus in Redis (AOF on disk) and a baseline's heap, or the largest graph's. */
export function checkMemory(o: ScaleOptions, available = freemem(), total = totalmem()): void {
  const mb = Math.max(0, ...o.wcMb, ...o.plainMb) * 1e6;
  const edges = o.scales.length ? rmatEdges(Math.max(...o.scales)) : 0;
  // Redis holds the corpus (and a rewrite may copy it); a PageRank side holds ~200 bytes an edge (the baseline's arrays, or the workers' and Redis's share).
  const need = Math.max(mb * 2.5, edges * 200) + 2 * 2 ** 30;
  if (need > Math.min(available, total * 0.8)) {
    throw new Error(`these sizes need about ${(need / 2 ** 30).toFixed(1)} GiB of memory and ${(available / 2 ** 30).toFixed(1)} GiB is available: ask for smaller --wc-mb, --plain-mb or --scales`);
  }
}

export async function benchScale(o: ScaleOptions): Promise<void> {
  checkMemory(o);
  const loadAtStart = loadavg()[0];
  const log = (s: string) => console.log(`[scale ${new Date().toISOString().slice(11, 19)}] ${s}`);
  const outDir = join(BENCH, 'scale-out');
  mkdirSync(outDir, { recursive: true });
  const sizes = [...new Set([...o.wcMb, ...o.plainMb])].sort((a, b) => a - b);
  const corpora = new Map<number, { path: string; bytes: number }>();
  for (const mb of sizes) {
    const path = join(BENCH, `corpus-${mb}mb.txt`);
    corpora.set(mb, { path, bytes: (await buildCorpus(path, mb * 1_000_000)).bytes });
  }
  const graphs = new Map<number, string>();
  for (const s of o.scales) {
    log(`R-MAT scale ${s}: ${rmatEdges(s).toLocaleString('en')} edges (cached under .tandem/bench/)`);
    graphs.set(s, await writeRmatCsv(join(BENCH, `rmat-${s}-seed1.csv`), s, 1));
  }
  const jobs = jobsFolder([PLAIN_JOB]);
  const jobFile = join(jobs, 'plainwordcount.js');
  const warm = join(BENCH, 'corpus-1mb.txt');
  await buildCorpus(warm, 1_000_000);
  // The Debian sample, and the generated graph of 64k nodes and 275k edges that `bench -- pagerank`
  // uses, which issue 19's figure (7.3–7.9 ms against 1.4 ms) was measured on.
  const fixedGraphs = [
    { name: 'debian', label: 'Debian graph', path: DEBIAN },
    { name: 'generated', label: 'generated graph (64k nodes)', path: await writeGraphCsv(join(BENCH, 'graph-65536-275000.csv'), 65_536, 275_000, 1) },
  ];

  let dask = false;
  if (o.dask && o.wcMb.length) {
    const why = await daskMissing();
    if (why) log(`--dask: skipped, ${why}`);
    else dask = true;
  }

  const redis = o.appendfsync === 'always' ? null : await startRedis({ appendfsync: o.appendfsync });
  log(`starting tandem up --workers 2 (${redis ? `on a redis-server with appendfsync ${o.appendfsync}, port ${redis.port}` : 'with its own redis-server'})`);
  let up: Up;
  try {
    up = await startUp(2, { TANDEM_JOBS_DIR: jobs }, log, redis ? { url: redis.url, pid: redis.proc.pid! } : undefined);
  } catch (err) {
    await redis?.stop();
    throw err;
  }
  const wc: WcRow[] = [];
  const plain: WcRow[] = [];
  const pr: PrRow[] = [];
  const fixed: FixedRow[] = [];
  const removeJob = async (stderr: string) => up.tandem(['job', 'rm', jobIdIn(stderr)]);
  try {
    log(`up: workers ${up.pids().workers.join(', ')}, redis-server ${up.pids().redis}`);
    // Warm-up (not timed): the workers' code paths and the JIT, connections, the jobs folder loaded.
    await up.tandem(['dataset', 'put', 'warm', warm, '--format', 'text']);
    for (const type of ['wordcount', 'plainwordcount']) await removeJob((await up.tandem(['job', 'run', type, '--dataset', 'warm', '--out', join(outDir, 'warm.txt')])).stderr);
    await up.tandem(['dataset', 'put', 'debian', DEBIAN]);
    await removeJob((await up.tandem(['job', 'run', 'pagerank', '--dataset', 'debian', '--param', 'iterations=3', '--out', join(outDir, 'warm.csv')])).stderr);

    for (const mb of sizes) {
      const { path, bytes } = corpora.get(mb)!;
      const name = `corpus-${mb}`;
      const put = await up.tandem(['dataset', 'put', name, path, '--format', 'text']);
      log(`${sizeLabel(mb)}: tandem dataset put in ${(put.ms / 1000).toFixed(2)} s (${(bytes / 1e6 / (put.ms / 1000)).toFixed(0)} MB/s)`);
      const kinds: { rows: WcRow[]; type: string; base: (out: string) => string[] }[] = [];
      if (o.wcMb.includes(mb)) kinds.push({ rows: wc, type: 'wordcount', base: (out) => ['wordcount', path, out] });
      if (o.plainMb.includes(mb)) kinds.push({ rows: plain, type: 'plainwordcount', base: (out) => ['plain', jobFile, path, out] });
      for (const k of kinds) {
        const row: WcRow = { mb, bytes, uploadMs: put.ms, single: [], tandem: [], same: true, sha: '' };
        for (let run = 0; run < o.runs; run++) {
          const singleOut = join(outDir, `${k.type}-${mb}-single.txt`);
          const tandemOut = join(outDir, `${k.type}-${mb}-tandem.txt`);
          const sides = [
            async () => {
              const r = await single(k.base(singleOut));
              row.single.push(r);
              log(`${k.type} ${sizeLabel(mb)} run ${run + 1}: single thread ${(r.ms / 1000).toFixed(2)} s, peak RSS ${mib(r.peakMiB)}`);
            },
            async () => {
              const { value: r, mem } = await withMemory(up, () => up.tandem(['job', 'run', k.type, '--dataset', name, '--out', tandemOut]));
              row.tandem.push({ ms: r.ms, mem });
              log(`${k.type} ${sizeLabel(mb)} run ${run + 1}: tandem ${(r.ms / 1000).toFixed(2)} s, workers' peak RSS ${mem.workers.map(mib).join(', ')}, Redis used_memory peak ${mib(mem.redisPeak / MiB)}`);
              await removeJob(r.stderr);
            },
          ];
          const daskOut = join(outDir, `${k.type}-${mb}-dask.txt`);
          if (dask && k.type === 'wordcount') {
            const d = (row.dask ??= { ms: [], same: true, about: '' });
            sides.push(async () => {
              const r = await runCommand(DASK_PYTHON, [DASK_SCRIPT, path, daskOut, '--workers', '2'], process.env);
              d.ms.push(r.ms);
              // Its last line: "dask VERSION, SCHEDULER: N words in S s".
              d.about = r.stderr.trim().split('\n').pop()!.replace(/:[^:]*$/, '');
              log(`${k.type} ${sizeLabel(mb)} run ${run + 1}: Dask ${(r.ms / 1000).toFixed(2)} s (${r.stderr.trim().split('\n').pop()})`);
            });
          }
          // Taking turns: each run starts with the next side.
          for (let i = 0; i < sides.length; i++) await sides[(i + run) % sides.length]();
          const [a, b] = [sha(singleOut), sha(tandemOut)];
          if (a !== b) {
            row.same = false;
            log(`${k.type} ${sizeLabel(mb)}: OUTPUTS DIFFER (${singleOut} vs ${tandemOut})`);
          }
          if (row.dask && sha(daskOut) !== b) {
            row.dask.same = false;
            log(`${k.type} ${sizeLabel(mb)}: Dask's output differs from Tandem's (${daskOut} vs ${tandemOut})`);
          }
          row.sha = a;
        }
        k.rows.push(row);
      }
      const [w, p] = [wc.find((r) => r.mb === mb), plain.find((r) => r.mb === mb)];
      if (w && p) p.sameAsWordcount = w.sha === p.sha;
      await up.tandem(['dataset', 'rm', name]);
    }

    for (const s of o.scales) {
      const csv = graphs.get(s)!;
      const row: PrRow = { scale: s, csvBytes: statSync(csv).size, single: [], tandem: [] };
      for (let run = 0; run < o.runs; run++) {
        const singleOut = join(outDir, `ranks-${s}-single.csv`);
        const tandemOut = join(outDir, `ranks-${s}-tandem.csv`);
        const sides = [
          async () => {
            const r = await single(['pagerank', csv, String(o.iterations), singleOut]);
            row.single.push(r);
            log(`PageRank scale ${s} run ${run + 1}: single thread ${(r.ms / 1000).toFixed(2)} s (parse and build ${(r.parts!.parseAndBuild / 1000).toFixed(2)} s, ${r.parts!.perIteration.toFixed(1)} ms per iteration), peak RSS ${mib(r.peakMiB)}`);
          },
          async () => {
            // A new dataset name each run, so that every run uploads the CSV (the script skips a file already stored).
            const name = `rmat-${s}-run${run + 1}`;
            const { value: r, mem } = await withMemory(up, () => up.run('npm', ['run', '--silent', 'pagerank', '--', '--dataset', csv, '--name', name, '--iterations', String(o.iterations), '--tol', '0', '--out', tandemOut]));
            const id = jobIdIn(r.stderr);
            const st = await up.master.status(id);
            const t = roundTimes(st);
            const run_: PrRun = {
              ms: r.ms, mem, uploadMs: st.submittedAt - r.startedAt, setupMs: t.setupMs, perIterationMs: t.perIterationMs, outputMs: t.outputMs,
              writeMs: r.startedAt + r.ms - st.finishedAt!, partitions: st.partitions, rankDiff: NaN,
            };
            row.tandem.push(run_);
            log(`PageRank scale ${s} run ${run + 1}: npm run pagerank ${(r.ms / 1000).toFixed(2)} s (upload and start ${(run_.uploadMs / 1000).toFixed(2)} s, set-up ${(t.setupMs / 1000).toFixed(2)} s, ${t.perIterationMs.toFixed(1)} ms per iteration, ${st.partitions} partitions), workers' peak RSS ${mem.workers.map(mib).join(', ')}, Redis used_memory peak ${mib(mem.redisPeak / MiB)}`);
            await up.tandem(['job', 'rm', id]);
            await up.tandem(['dataset', 'rm', name]);
          },
        ];
        for (const side of run % 2 ? sides.reverse() : sides) await side();
        const d = maxRankDiff(readFileSync(singleOut, 'utf8'), readFileSync(tandemOut, 'utf8'));
        row.tandem[row.tandem.length - 1].rankDiff = d;
        log(`PageRank scale ${s}: largest difference of a rank between the sides ${d.toExponential(2)}`);
      }
      pr.push(row);
    }

    if (o.fixed > 0) {
      for (const g of fixedGraphs) {
        const row: FixedRow = { ...g, nodes: 0, edges: 0, runs: [] };
        if (g.name !== 'debian') await up.tandem(['dataset', 'put', g.name, g.path]);
        const job = (n: number) => up.tandem(['job', 'run', 'pagerank', '--dataset', g.name, '--param', `iterations=${n}`, '--param', 'tol=0', '--out', join(outDir, `${g.name}-ranks.csv`)]);
        for (let run = 0; run < o.runs; run++) {
          const r = await single(['iterations', g.path, String(o.fixed), String(o.fixed + o.extra)]);
          Object.assign(row, { nodes: r.counts!.nodes, edges: r.counts!.edges });
          const order = run % 2 ? [o.fixed + o.extra, o.fixed] : [o.fixed, o.fixed + o.extra];
          const ms: Record<number, number> = {};
          let rounds = NaN;
          for (const n of order) {
            const j = await job(n);
            ms[n] = j.ms;
            if (n > o.fixed) rounds = roundTimes(await up.master.status(jobIdIn(j.stderr))).perIterationMs;
            await removeJob(j.stderr);
          }
          row.runs.push({ single: r.ms, short: ms[o.fixed], long: ms[o.fixed + o.extra], rounds });
          log(`${g.label} run ${run + 1}: ${o.fixed} iterations ${(ms[o.fixed] / 1000).toFixed(2)} s, ${o.fixed + o.extra} iterations ${(ms[o.fixed + o.extra] / 1000).toFixed(2)} s: ${((ms[o.fixed + o.extra] - ms[o.fixed]) / o.extra).toFixed(2)} ms per iteration; single thread ${r.ms.toFixed(2)} ms`);
        }
        fixed.push(row);
      }
    }
  } finally {
    await up.stop();
    await redis?.stop();
  }
  rmSync(outDir, { recursive: true, force: true });

  const cmd = `npm run bench -- scale --wc-mb ${o.wcMb.join(',')} --plain-mb ${o.plainMb.join(',')} --scales ${o.scales.join(',')} --iterations ${o.iterations} --fixed ${o.fixed} --extra ${o.extra} --runs ${o.runs} --appendfsync ${o.appendfsync}${dask ? ' --dask' : ''}`;
  const md = report(o, cmd, { wc, plain, pr, fixed, load: [loadAtStart, loadavg()[0]] });
  writeFileSync(resolve(repoRoot, 'docs/bench-scale-wordcount.svg'), wordcountChart(wc, plain));
  writeFileSync(resolve(repoRoot, 'docs/bench-scale-pagerank.svg'), pagerankChart(pr));
  log(md);
  log(`written to ${writeSection('scale', md)}, docs/bench-scale-wordcount.svg and docs/bench-scale-pagerank.svg`);
}

// ---- the report ----

const workerPeak = (runs: TandemRun[]) => median(runs.map((r) => maxOf(r.mem.workers)));
const redisPeak = (runs: TandemRun[]) => median(runs.map((r) => r.mem.redisPeak / MiB));
const redisGrowth = (runs: TandemRun[]) => median(runs.map((r) => (r.mem.redisPeak - r.mem.redisBefore) / MiB));
const singlePeak = (runs: SingleResult[]) => median(runs.map((r) => r.peakMiB));

interface Results {
  wc: WcRow[];
  plain: WcRow[];
  pr: PrRow[];
  fixed: FixedRow[];
  /** The machine's 1-minute load average at the start and at the end of the run. */
  load: [number, number];
}

/** The markdown section: how it was measured, a table per part, and every goal against its measure. */
export function report(o: ScaleOptions, cmd: string, r: Results): string {
  const goals: string[] = [];
  const wcRows = (rows: WcRow[], goalOf: Record<number, number>, what: string) => rows.map((w) => {
    const t = w.tandem.map((x) => x.ms);
    const s = w.single.map((x) => x.ms);
    const ratio = median(t) / median(s);
    const g = goalCell(ratio, goalOf[w.mb]);
    if (g) goals.push(`| ${what}, ${sizeLabel(w.mb)} | ${ratio.toFixed(2)}× | ${g} |`);
    return `| ${sizeLabel(w.mb)} | ${secondsCell(s)} | ${secondsCell(t)} | ${ratioCell(t, s)} | ${g} | ${w.same ? 'yes' : '**NO**'}${w.sameAsWordcount === undefined ? '' : w.sameAsWordcount ? ', and as wordcount\'s' : ', but **not** as wordcount\'s'} | ` +
      `${(w.uploadMs / 1000).toFixed(2)} s (${(w.bytes / 1e6 / (w.uploadMs / 1000)).toFixed(0)} MB/s) | ${mib(workerPeak(w.tandem))} | ${mib(redisPeak(w.tandem))} (+${mib(redisGrowth(w.tandem))}) | ${mib(singlePeak(w.single))} |`;
  });
  const head = '| input | single thread | Tandem, 2 workers | **ratio** (each run) | goal | same output | upload (`tandem dataset put`) | worker peak RSS | Redis used_memory peak (growth in the job) | single thread peak RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const wcTable = wcRows(r.wc, GOALS.wordcount, 'word count');
  const plainTable = wcRows(r.plain, GOALS.plain, "a user's plain word count");
  const daskRows = r.wc.filter((w) => w.dask?.ms.length).map((w) => {
    const t = w.tandem.map((x) => x.ms);
    const d = w.dask!.ms;
    const ratio = median(t) / median(d);
    goals.push(`| word count against Dask, ${sizeLabel(w.mb)} | ${ratio.toFixed(2)}× | ${goalCell(ratio, GOALS.dask)} |`);
    return `| ${sizeLabel(w.mb)} | ${secondsCell(d)} | ${secondsCell(t)} | ${ratioCell(t, d)} | ${goalCell(ratio, GOALS.dask)} | ${w.dask!.same ? 'yes' : '**NO**'} |`;
  });
  const daskText = daskRows.length ? `
### The peer: Dask's word count (\`--dask\`)

\`scripts/bench/dask_wordcount.py\` run by Debian's \`${DASK_PYTHON}\` (${r.wc.find((w) => w.dask)!.dask!.about}): \`dask.bag.read_text\`
in 32 MiB blocks cut at line ends, a Counter per block merged (a reduction), on 2 worker processes of one
thread each; Tandem's word rule (maximal runs of \`\\p{L}\`, lower-cased; \`word<TAB>count\` in code point
order). A whole command from its spawn to its exit, as Tandem's is (so with Python's and the cluster's
start-up), taking turns with the two sides above; the ratio is Tandem's median over Dask's. Issue 19:
stay ahead of it.

| input | Dask, 2 worker processes | Tandem, 2 workers | **Tandem / Dask** (each run) | goal | same output as Tandem's |
| --- | --- | --- | --- | --- | --- |
${daskRows.join('\n')}
` : '';

  const prRows = r.pr.map((p) => {
    const t = p.tandem.map((x) => x.ms);
    const s = p.single.map((x) => x.ms);
    const ratio = median(t) / median(s);
    const g = goalCell(ratio, GOALS.pagerank[p.scale]);
    const sPer = median(p.single.map((x) => x.parts!.perIteration));
    const tPer = median(p.tandem.map((x) => x.perIterationMs));
    const setup = median(p.tandem.map((x) => x.setupMs));
    if (g) {
      goals.push(`| PageRank, R-MAT scale ${p.scale}, whole script | ${ratio.toFixed(2)}× | ${g} |`);
      goals.push(`| PageRank, scale ${p.scale}, set-up (5× faster than 35 s) | ${(setup / 1000).toFixed(2)} s | ${goalCell(setup / 1000, GOALS.setupMs / 1000, 's')} |`);
      goals.push(`| PageRank, scale ${p.scale}, per iteration | ${(tPer / sPer).toFixed(2)}× (${tPer.toFixed(1)} / ${sPer.toFixed(1)} ms) | ${goalCell(tPer / sPer, GOALS.perIteration)} |`);
    }
    const c = p.single[0].counts!;
    return `| ${p.scale} | ${c.nodes.toLocaleString('en')} / ${rmatEdges(p.scale).toLocaleString('en')} (${(p.csvBytes / 1e6).toFixed(0)} MB) | ${secondsCell(s)}: parse and build ${(median(p.single.map((x) => x.parts!.parseAndBuild)) / 1000).toFixed(2)} s, ${sPer.toFixed(1)} ms per iteration | ` +
      `${secondsCell(t)}: upload and start ${(median(p.tandem.map((x) => x.uploadMs)) / 1000).toFixed(2)} s, set-up ${(setup / 1000).toFixed(2)} s, ${tPer.toFixed(1)} ms per iteration, output ${(median(p.tandem.map((x) => x.outputMs + x.writeMs)) / 1000).toFixed(2)} s (${p.tandem[0].partitions} partitions) | ` +
      `${ratioCell(t, s)} | ${(tPer / sPer).toFixed(2)}× | ${g} | ${maxOf(p.tandem.map((x) => x.rankDiff)).toExponential(1)} |`;
  });
  const prMem = r.pr.map((p) => {
    const peak = workerPeak(p.tandem);
    const before = median(p.tandem.map((x) => maxOf(x.mem.workersBefore)));
    const perEdge = ((peak - before) * MiB) / (rmatEdges(p.scale) / 2);
    return `| ${p.scale} | ${mib(peak)} (${mib(before)} before the job) | ${perEdge.toFixed(0)} | ${mib(redisPeak(p.tandem))} (+${mib(redisGrowth(p.tandem))}) | ${mib(singlePeak(p.single))} |`;
  });

  let fixedText = '';
  if (r.fixed.length) {
    const rows = r.fixed.map((g) => {
      const per = g.runs.map((f) => (f.long - f.short) / o.extra);
      const tandem = median(per);
      const one = median(g.runs.map((f) => f.single));
      goals.push(`| fixed cost of an iteration, ${g.label} | ${tandem.toFixed(2)} ms | ${goalCell(tandem, GOALS.fixedMs, 'ms')} |`);
      return `| ${g.label}: ${g.nodes.toLocaleString('en')} nodes, ${g.edges.toLocaleString('en')} edges | ${secondsCell(g.runs.map((f) => f.short))} | ${secondsCell(g.runs.map((f) => f.long))} | ` +
        `**${tandem.toFixed(2)}** (${per.map((x) => x.toFixed(2)).join(', ')}) | ${median(g.runs.map((f) => f.rounds)).toFixed(2)} | ${one.toFixed(2)} (${g.runs.map((f) => f.single.toFixed(2)).join(', ')}) | ${goalCell(tandem, GOALS.fixedMs, 'ms')} |`;
    });
    fixedText = `
### The fixed cost of an iteration

Whole \`tandem job run pagerank --param iterations=N --param tol=0 --out FILE\` commands with N = ${o.fixed}
and N = ${o.fixed + o.extra} on a stored graph, taking turns; the difference over ${o.extra}, so the set-up and output
cancel out. The graphs: the Debian sample (\`datasets/debian-python3-deps.csv\`), and the generated graph
\`bench -- pagerank\` uses (\`scripts/bench/graph.ts\` writeGraphCsv, 65,536 nodes, about 275,000 edges), on
which issue 19's 7.3–7.9 ms against 1.4 ms was measured (the issue calls it the Debian graph). The single
thread: the same difference of \`powerIteration\` runs on the graph built once (warm). "From the round
history": the longer job's first to last iteration commit, per iteration.

| graph (distinct edges) | N = ${o.fixed} | N = ${o.fixed + o.extra} | **ms per iteration** (each run) | from the round history | single thread, ms per iteration | goal |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
  }

  const cpu = cpus();
  return `
## Performance at scale (issue 19)

Run: \`${cmd}\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${cpu.length} cores (${cpu[0]?.model ?? 'unknown CPU'}),
Node ${process.version}, one disk, a machine shared with other work: its load average was ${r.load[0].toFixed(1)} at the start and
${r.load[1].toFixed(1)} at the end). Tandem is a real \`tandem up --workers 2\`
(compiled CLI; view service, primary and backup master, 2 workers, the console) on ${o.appendfsync === 'always'
    ? 'the redis-server it starts itself (append-only file fsynced on every write)'
    : `a redis-server the benchmark starts (append-only file on, \`appendfsync ${o.appendfsync}\`; \`tandem up\`'s own fsyncs every write, which \`bench -- fsync\` prices)`},
and every Tandem figure is a **whole command** timed from its spawn to its exit. Each single-thread baseline runs in a fresh process (\`scripts/bench/single.ts\`),
timed inside from its first read to its output file written (so without Node's start-up). The sides
take turns, ${o.runs} run${o.runs > 1 ? 's' : ''} each; medians, each run in brackets; the ratio is Tandem's median over the single
thread's, each run's own ratio in brackets. Memory: each worker's peak RSS during the job (VmHWM reset
at its start), the larger of the two; Redis's used_memory sampled every 100 ms (it holds the stored
dataset too; the growth is over its value at the job's start); the baseline process's VmHWM.
Inputs: the sample texts repeated (\`.tandem/bench/corpus-*.txt\`), Graph500's R-MAT graph (a=${RMAT.a},
b=c=${RMAT.b}, edge factor ${RMAT.edgeFactor}, labels permuted, seed 1: \`.tandem/bench/rmat-*-seed1.csv\`).

![word count: time and memory against input size](bench-scale-wordcount.svg)

### Word count: \`tandem job run wordcount --dataset D --out FILE\`

Against the tuned single-thread byte-scan counter (\`scripts/bench/baseline.ts\`: WordCounter, sort,
format, write). The upload is timed apart, once per size. Default partitions (one per 32 MiB).

${r.wc.length ? `${head}\n${wcTable.join('\n')}` : '(not run)'}
${daskText}
### A user's plain word count (the generic map/reduce path)

\`scripts/bench/plainwordcount.js\`: \`(word, 1)\` per word, a combiner, no tuned kernel, loaded
from a jobs folder (TANDEM_JOBS_DIR), run as \`tandem job run plainwordcount --dataset D --out FILE\`;
against the same file's map, combine, reduce and format run in one process (map over 8 MiB splits, one
combiner table, reduce, sort, format, write).

${r.plain.length ? `${head}\n${plainTable.join('\n')}` : '(not run)'}

![PageRank: time, per iteration and memory against graph size](bench-scale-pagerank.svg)

### PageRank: the whole \`npm run pagerank -- --dataset FILE.csv --iterations ${o.iterations} --tol 0\`

From the CSV to the ranks written: the upload (a new dataset name each run, so each run uploads),
the job, the ranks file. Its parts from the job status's round history: upload and start (spawn to
submit), set-up (submit to the graph built), ms per iteration (first to last iteration's commit), output
(the output round and the file written). The single thread: the graph built by
\`scripts/bench/edge-list-graph.ts\` (one byte scan of the CSV into integer arrays, ids mapped once, the
CSR by counting sort; the same graph and ranks as \`jobs/src/pagerank/reference.ts\`'s buildGraph), then
reference.ts's powerIteration, ranksCsv written.

${r.pr.length ? `| scale | nodes / edges (CSV) | single thread | Tandem, 2 workers | **ratio** (each run) | per-iteration ratio | goal | largest rank difference |
| --- | --- | --- | --- | --- | --- | --- | --- |
${prRows.join('\n')}

Memory during the PageRank runs (per edge: the larger worker's peak less its RSS before the job, over
half the edges, the share of one of 2 workers; issue 19's goal is about 40 bytes an edge plus the
configured cache):

| scale | worker peak RSS | bytes per edge of a worker's half | Redis used_memory peak (growth in the job) | single thread peak RSS |
| --- | --- | --- | --- | --- |
${prMem.join('\n')}` : '(not run)'}
${fixedText}
### Issue 19's goals

| goal | measured | verdict |
| --- | --- | --- |
${goals.length ? goals.join('\n') : '| (no goal applies to the sizes of this run) | | |'}
`;
}

// ---- the charts ----

const BLUE = '#4e79a7';
const ORANGE = '#f28e2b';
const GREEN = '#59a14f';
const RED = '#e15759';
const PURPLE = '#b07aa1';
const GREY = '#79706e';

export function wordcountChart(wc: WcRow[], plain: WcRow[]): string {
  const ticks = [...new Set([...wc, ...plain].map((w) => w.mb))].sort((a, b) => a - b).map((mb) => ({ value: mb, label: sizeLabel(mb) }));
  const pts = (rows: WcRow[], f: (w: WcRow) => number) => rows.map((w) => ({ x: w.mb, y: f(w) }));
  const s = (xs: number[]) => median(xs) / 1000;
  const time: LinePanel = {
    title: 'Time (median of runs)', unit: 's', xLabel: 'input (log scale)', logX: true, xTicks: ticks, series: [
      { name: 'Tandem, wordcount', color: BLUE, points: pts(wc, (w) => s(w.tandem.map((x) => x.ms))) },
      { name: 'single thread, tuned counter', color: BLUE, dashed: true, points: pts(wc, (w) => s(w.single.map((x) => x.ms))) },
      { name: "Tandem, a user's plain job", color: ORANGE, points: pts(plain, (w) => s(w.tandem.map((x) => x.ms))) },
      { name: 'single thread, the plain functions', color: ORANGE, dashed: true, points: pts(plain, (w) => s(w.single.map((x) => x.ms))) },
    ],
  };
  const memory: LinePanel = {
    title: 'Memory (peak during the job)', unit: 'MiB', xLabel: 'input (log scale)', logX: true, xTicks: ticks, series: [
      { name: 'worker peak RSS, wordcount', color: GREEN, points: pts(wc, (w) => workerPeak(w.tandem)) },
      { name: 'worker peak RSS, plain job', color: PURPLE, points: pts(plain, (w) => workerPeak(w.tandem)) },
      { name: 'Redis used_memory (with the dataset)', color: RED, points: pts(wc.length ? wc : plain, (w) => redisPeak(w.tandem)) },
      { name: 'single thread peak RSS, tuned', color: GREY, dashed: true, points: pts(wc, (w) => singlePeak(w.single)) },
      { name: 'single thread peak RSS, plain', color: PURPLE, dashed: true, points: pts(plain, (w) => singlePeak(w.single)) },
    ],
  };
  return lineChart('Word count: Tandem (tandem up, 2 workers) against one thread', [time, memory], 'whole commands; the baselines in the same run');
}

export function pagerankChart(pr: PrRow[]): string {
  const ticks = pr.map((p) => ({ value: rmatEdges(p.scale), label: `${countLabel(rmatEdges(p.scale))} (scale ${p.scale})` }));
  const pts = (f: (p: PrRow) => number) => pr.map((p) => ({ x: rmatEdges(p.scale), y: f(p) }));
  const time: LinePanel = {
    title: 'Whole script, CSV to ranks (median)', unit: 's', xLabel: 'edges (log scale)', logX: true, xTicks: ticks, series: [
      { name: 'Tandem, npm run pagerank', color: BLUE, points: pts((p) => median(p.tandem.map((x) => x.ms)) / 1000) },
      { name: 'Tandem, its set-up', color: BLUE, dashed: true, points: pts((p) => median(p.tandem.map((x) => x.setupMs)) / 1000) },
      { name: 'single thread', color: ORANGE, points: pts((p) => median(p.single.map((x) => x.ms)) / 1000) },
      { name: 'single thread, parse and build', color: ORANGE, dashed: true, points: pts((p) => median(p.single.map((x) => x.parts!.parseAndBuild)) / 1000) },
    ],
  };
  const iteration: LinePanel = {
    title: 'One iteration (median)', unit: 'ms', xLabel: 'edges (log scale)', logX: true, xTicks: ticks, series: [
      { name: 'Tandem, per iteration', color: PURPLE, points: pts((p) => median(p.tandem.map((x) => x.perIterationMs))) },
      { name: 'single thread, per iteration', color: GREY, dashed: true, points: pts((p) => median(p.single.map((x) => x.parts!.perIteration))) },
    ],
  };
  const memory: LinePanel = {
    title: 'Memory (peak during the job)', unit: 'MiB', xLabel: 'edges (log scale)', logX: true, xTicks: ticks, series: [
      { name: 'worker peak RSS (the larger)', color: GREEN, points: pts((p) => workerPeak(p.tandem)) },
      { name: 'Redis used_memory', color: RED, points: pts((p) => redisPeak(p.tandem)) },
      { name: 'single thread peak RSS', color: ORANGE, dashed: true, points: pts((p) => singlePeak(p.single)) },
    ],
  };
  return lineChart('PageRank of R-MAT graphs: Tandem (tandem up, 2 workers) against one thread', [time, iteration, memory], 'whole commands; the baselines in the same run');
}
