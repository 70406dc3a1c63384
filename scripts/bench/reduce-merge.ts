/**
 * `npm run bench -- reduce-merge` (issue 19): a key/value job's shuffle and reduce in one process,
 * the table path (before) against the streamed merge (now), alternately in one run, on a user's
 * plain word count (test/fixtures/jobs/plainwordcount.ts) over `--mb` MB of the sample books in
 * 8 MiB splits. The maps' combiner tables are built once, untimed; then each side, per run:
 *  - map side: each split's table cut into partitions and encoded. Before: one block, unsorted
 *    (the layout of shuffle version 1). Now: keys sorted (sortCodePoints), blocks of 64 KiB.
 *  - reduce side, per partition: before, every blob decoded whole, folded into one table, its keys
 *    sorted, reduced and formatted; now, the blobs read as sorted runs in 256 KiB ranges (from
 *    memory: no Redis) and merged k ways (run-merge.ts), reduced and formatted as keys come. Both
 *    encode the output blob, and their outputs are compared.
 * Medians of `--runs`, and now/before ratios (below 1: the merge is faster). CPU work only: Redis
 * round trips are not in it.
 *
 * With `--job-mb N --before DIR`: whole jobs instead, of `--types` (default word count, the tuned
 * map, and the plain word count; bigramcount has a far larger shuffle) on an N MB corpus on the harness's cluster, 2 workers from DIR (a checkout of the table
 * path, its `npm ci` done) and 2 from this checkout taking turns (the rest of the cluster this
 * checkout's); wall time from submit to the output file written, and the workers' CPU time.
 */
import { createReadStream, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  SHUFFLE_BLOCK_BYTES, compareCodePoints, putDataset, writeOutputFile, decodeShuffle, defaultPartition, encodeOutput, encodeShuffle, sortCodePoints, type JobType, type MapContext,
} from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { fixtureJobsDir, startCluster } from '../../test/harness/cluster.ts';
import { cpuMsOf, restartWorkers, stopWorkers } from './kv-codec.ts';
import { PartitionReducer, valuesFor } from '../../apps/worker/src/reduce-partition.ts';
import { mergeRuns } from '../../apps/worker/src/run-merge.ts';
import { ShuffleRunReader, type HeldBytes } from '../../apps/worker/src/shuffle-run.ts';
import { buildCorpus } from './corpus.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

type Table = Map<string, number>;

/** Each split's keys by partition, in the table's order. */
const byPartition = (t: Table, partitions: number) => {
  const pk: string[][] = Array.from({ length: partitions }, () => []);
  for (const k of t.keys()) pk[defaultPartition(k, partitions)].push(k);
  return pk;
};

function mapBefore(tables: Table[], partitions: number): Buffer[][] {
  return tables.map((t) => byPartition(t, partitions).map((keys) => encodeShuffle(keys, keys.map((k) => t.get(k)), Infinity)));
}

function mapNow(tables: Table[], partitions: number): Buffer[][] {
  return tables.map((t) => byPartition(t, partitions).map((keys) => encodeShuffle(sortCodePoints(keys), keys.map((k) => t.get(k)), SHUFFLE_BLOCK_BYTES)));
}

async function reduceBefore(type: JobType, blobs: Buffer[], r: number): Promise<Buffer> {
  const combine = type.combine!;
  const table = new Map<string, unknown>();
  for (const blob of blobs) {
    const { keys, values } = decodeShuffle<unknown>(blob);
    for (let j = 0; j < keys.length; j++) {
      const prev = table.get(keys[j]);
      table.set(keys[j], prev === undefined ? values[j] : combine(prev, values[j]));
    }
  }
  const sorted = [...table.keys()].sort(compareCodePoints);
  const fctx = { params: {}, partition: r };
  const ctx = { params: {}, partition: r, emit() {} };
  const lines: string[] = new Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) lines[i] = type.format(sorted[i], await type.reduce(sorted[i], [table.get(sorted[i])], ctx), fctx) as string;
  return encodeOutput(sorted, lines);
}

async function reduceNow(type: JobType, blobs: Buffer[], r: number, held: HeldBytes): Promise<Buffer> {
  const runs = blobs.map((b, i) => new ShuffleRunReader<unknown>((from, to) => Promise.resolve(b.subarray(from, to)), 256 << 10, held, `sender ${i}`));
  const reducer = new PartitionReducer(type, { params: {}, partition: r, label: 'bench' });
  const combine = type.combine as (a: unknown, b: unknown) => unknown;
  await mergeRuns(runs, runs.map((_, i) => i), (key, parts) => reducer.reduceKey(key, valuesFor(parts, combine, false)));
  return encodeOutput(reducer.keys, reducer.lines);
}

export async function benchReduceMerge(opts: { mb: number; partitions: number; runs: number }, log = console.log): Promise<void> {
  const type = (await import(pathToFileURL(resolve(fixtureJobsDir, 'plainwordcount.ts')).href)).default as JobType;
  const corpus = resolve(repoRoot, `.tandem/bench/corpus-${opts.mb}mb.txt`);
  await buildCorpus(corpus, opts.mb * 1_000_000);
  const text = readFileSync(corpus);
  const tables: Table[] = [];
  const SPLIT = 8 << 20;
  for (let at = 0, split = 0; at < text.length; split++) {
    let end = Math.min(text.length, at + SPLIT);
    while (end < text.length && text[end - 1] !== 0x0a) end++;
    const t: Table = new Map();
    const ctx: MapContext<unknown, unknown> = { params: {}, split, firstRecord: 1, record: 1, emit: (k, v) => t.set(k, (t.get(k) ?? 0) + (v as number)) };
    await type.map(text.subarray(at, end), ctx);
    tables.push(t);
    at = end;
  }
  log(`${tables.length} splits, ${tables.reduce((a, t) => a + t.size, 0).toLocaleString('en')} records to shuffle, ${opts.partitions} partitions`);
  const sides = { before: { map: [] as number[], reduce: [] as number[] }, now: { map: [] as number[], reduce: [] as number[] } };
  let peak = 0;
  let inBytes = 0;
  for (let run = 0; run < opts.runs; run++) {
    const outs: Record<string, Buffer[]> = {};
    for (const side of ['before', 'now'] as const) {
      const t0 = performance.now();
      const blobs = side === 'before' ? mapBefore(tables, opts.partitions) : mapNow(tables, opts.partitions);
      const t1 = performance.now();
      const held: HeldBytes = { now: 0, peak: 0 };
      outs[side] = [];
      for (let r = 0; r < opts.partitions; r++) {
        const senders = blobs.map((b) => b[r]);
        outs[side].push(side === 'before' ? await reduceBefore(type, senders, r) : await reduceNow(type, senders, r, held));
        if (side === 'now') inBytes = Math.max(inBytes, senders.reduce((a, b) => a + b.length, 0));
      }
      const t2 = performance.now();
      if (side === 'now') peak = held.peak;
      sides[side].map.push(t1 - t0);
      sides[side].reduce.push(t2 - t1);
      log(`run ${run + 1} ${side}: map side ${(t1 - t0).toFixed(0)} ms, reduce side ${(t2 - t1).toFixed(0)} ms`);
    }
    if (!outs.before.every((b, r) => b.equals(outs.now[r]))) throw new Error('the two paths wrote different outputs');
  }
  const row = (what: 'map' | 'reduce') => {
    const b = median(sides.before[what]);
    const n = median(sides.now[what]);
    return `${what} side: ${b.toFixed(0)} → ${n.toFixed(0)} ms (${(n / b).toFixed(2)}); runs before ${sides.before[what].map((v) => v.toFixed(0)).join(',')} now ${sides.now[what].map((v) => v.toFixed(0)).join(',')}`;
  };
  log(row('map'));
  log(row('reduce'));
  const total = (s: typeof sides.before) => median(s.map.map((m, i) => m + s.reduce[i]));
  log(`both: ${total(sides.before).toFixed(0)} → ${total(sides.now).toFixed(0)} ms (${(total(sides.now) / total(sides.before)).toFixed(2)}); outputs equal; the merge held at most ${peak.toLocaleString('en')} bytes of a partition's ${inBytes.toLocaleString('en')}`);
}

/** Whole jobs, the workers from `before` and from this checkout taking turns (see the header). */
export async function benchReduceMergeJobs(opts: { jobMb: number; before: string; runs: number; types: string[] }, log = console.log): Promise<void> {
  const corpus = resolve(repoRoot, `.tandem/bench/corpus-${opts.jobMb}mb.txt`);
  await buildCorpus(corpus, opts.jobMb * 1_000_000);
  const outDir = resolve(repoRoot, '.tandem/bench/reduce-merge');
  mkdirSync(outDir, { recursive: true });
  const c = await startCluster({ name: 'bench-reduce-merge', workers: 0, env: { TANDEM_LOG_LEVEL: 'warn', TANDEM_LOCK_MS: '4000', TANDEM_STALLED_MS: '2000', TANDEM_RECONCILE_MS: '1000' } });
  const types = opts.types;
  const sides = ['before', 'now'] as const;
  const res: Record<string, { ms: number[]; cpuMs: number[] }> = {};
  for (const t of types) for (const s of sides) res[`${t} ${s}`] = { ms: [], cpuMs: [] };
  try {
    await putDataset(c.redis.client(), c.keys, createReadStream(corpus, { highWaterMark: 1 << 20 }), { name: 'corpus', format: 'text', splitBytes: 8 << 20 });
    const workers = (root: string | null) => restartWorkers(c, root);
    const workersCpu = () => c.workers.reduce((a, w) => a + cpuMsOf(w.pid!), 0);
    const job = async (type: string, out: string) => {
      const client = c.client();
      const cpu0 = workersCpu();
      const t0 = performance.now();
      const s = await client.waitUntilFinished(await client.submit({ type, dataset: 'corpus' }));
      if (s.phase !== 'done') throw new Error(`${type} ${s.phase}: ${s.error}`);
      await writeOutputFile(c.redis.client(), c.keys, { jobId: s.id, round: s.round, partitions: s.partitions }, out);
      return { ms: performance.now() - t0, cpuMs: workersCpu() - cpu0, maps: s.maps.total, partitions: s.partitions };
    };
    for (let run = 0; run < opts.runs; run++) {
      for (const side of run % 2 ? [...sides].reverse() : sides) {
        await workers(side === 'now' ? null : opts.before);
        for (const type of types) {
          const out = join(outDir, `${type}-${side}.txt`);
          await job(type, out); // warms the workers up (JIT)
          const r = await job(type, out);
          res[`${type} ${side}`].ms.push(r.ms);
          res[`${type} ${side}`].cpuMs.push(r.cpuMs);
          log(`run ${run + 1} ${type} ${side}: ${r.ms.toFixed(0)} ms, workers' CPU ${r.cpuMs.toFixed(0)} ms (${r.maps} maps, ${r.partitions} partitions)`);
        }
      }
    }
    for (const type of types) {
      if (!readFileSync(join(outDir, `${type}-before.txt`)).equals(readFileSync(join(outDir, `${type}-now.txt`)))) throw new Error(`${type}: the two sides' outputs differ`);
      const b = res[`${type} before`];
      const n = res[`${type} now`];
      const f = (xs: number[]) => xs.map((v) => v.toFixed(0)).join(',');
      log(`${type}: wall ${median(b.ms).toFixed(0)} → ${median(n.ms).toFixed(0)} ms (${(median(n.ms) / median(b.ms)).toFixed(2)}; runs ${f(b.ms)} / ${f(n.ms)}), ` +
        `workers' CPU ${median(b.cpuMs).toFixed(0)} → ${median(n.cpuMs).toFixed(0)} ms (${(median(n.cpuMs) / median(b.cpuMs)).toFixed(2)}; runs ${f(b.cpuMs)} / ${f(n.cpuMs)}); outputs equal`);
    }
  } finally {
    await stopWorkers(c);
    await c.stop();
  }
}
