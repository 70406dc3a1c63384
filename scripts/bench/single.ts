/**
 * The single-thread baselines of `npm run bench -- scale` (issue 19), each run by the benchmark in
 * a fresh process of its own (so one run's heap does not weigh on the next, and the process's peak
 * RSS is the baseline's memory), timed inside from the first read to the output file written:
 *
 *   wordcount CORPUS OUT        the tuned byte-scan counter (baseline.ts: WordCounter, sort, format)
 *   plain JOBFILE CORPUS OUT    a user's job type's own map/combine/reduce/format in one process:
 *                               map over 8 MiB splits cut at line ends, one combiner table, reduce
 *                               each key, sort by key (code point order), format, write the file
 *   pagerank CSV ITERATIONS OUT a plain JavaScript PageRank: the graph built by edge-list-graph.ts (one
 *                               byte scan of the CSV into integer arrays, CSR by counting sort), then
 *                               pagerank/reference.ts's powerIteration (tol 0), ranksCsv written
 *   iterations CSV N M          per-iteration time: powerIteration of N and of M iterations on the
 *                               graph built once (best of 3 each), (time M − time N) / (M − N)
 *
 * Each prints one JSON line on standard output (SingleResult).
 *
 *   node --import tsx scripts/bench/single.ts wordcount .tandem/bench/corpus-100mb.txt /tmp/wc.txt
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { powerIteration, ranksCsv } from '../../jobs/src/pagerank/reference.ts';
import { compareCodePoints } from '../../shared/src/order.ts';
import type { JobType, MapContext } from '../../shared/src/job-type.ts';
import { baselineWordCount, chunksOf } from './baseline.ts';
import { edgeListGraphOfFile } from './edge-list-graph.ts';

export interface SingleResult {
  /** From the first read to the output written (iterations: per iteration). */
  ms: number;
  /** The process's peak resident memory (VmHWM), MiB. */
  peakMiB: number;
  /** Parts of ms, by name (pagerank: parse and build, iterations, output). */
  parts?: Record<string, number>;
  /** Sizes: words and distinct words, nodes and edges. */
  counts?: Record<string, number>;
}

/** This process's peak resident memory (VmHWM), MiB. */
export function selfPeakMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function tunedWordCount(corpus: string, out: string): SingleResult {
  const t0 = performance.now();
  const r = baselineWordCount(corpus);
  writeFileSync(out, r.text);
  return { ms: performance.now() - t0, peakMiB: selfPeakMiB(), counts: { words: r.words, distinct: r.distinct } };
}

/**
 * A key/value job type's functions run in this process over the file: what its map emits goes
 * through its combiner into one table (or a list per key without one), then reduce, sort, format.
 * Record numbers are not tracked across splits (the platform counts them at upload; each split's
 * records are numbered from 1 here), which a job that ignores them, as a word count does, never sees.
 */
export async function runInOneProcess<V, O>(type: JobType<Record<string, never>, V, O>, corpus: string, out: string, splitBytes = 8 << 20): Promise<{ ms: number; keys: number }> {
  const t0 = performance.now();
  const combine = type.combine;
  const table = new Map<string, V>();
  const lists = new Map<string, V[]>();
  const emit = combine
    ? (k: string, v: V) => {
        const old = table.get(k);
        table.set(k, old === undefined ? v : combine(old, v));
      }
    : (k: string, v: V) => {
        const l = lists.get(k);
        if (l) l.push(v);
        else lists.set(k, [v]);
      };
  let split = 0;
  // Each chunk is a view of a reused buffer, valid until the next: map is done with it by then.
  for (const input of chunksOf(corpus, splitBytes)) {
    const ctx: MapContext<Record<string, never>, V> = { params: {}, split: split++, firstRecord: 1, record: 1, emit };
    await type.map(input, ctx);
  }
  const keys = combine ? [...table.keys()] : [...lists.keys()];
  keys.sort(compareCodePoints);
  const lines: string[] = [];
  // The key/value contract (job-type.ts): what reduce emits, or else what it returns unless undefined.
  let emitted: unknown[] = [];
  const ctx = { params: {}, partition: 0, emit: (v: unknown) => void emitted.push(v) };
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const values = combine ? [table.get(k)!] : lists.get(k)!;
    emitted = [];
    const r = await type.reduce(k, values, ctx);
    if (emitted.length === 0 && r !== undefined) emitted.push(r);
    for (const v of emitted) lines.push(type.format(k, v as never, ctx));
  }
  lines.push('');
  writeFileSync(out, lines.join('\n'));
  return { ms: performance.now() - t0, keys: keys.length };
}

export function singlePagerank(csv: string, iterations: number, out: string): SingleResult {
  const t0 = performance.now();
  const g = edgeListGraphOfFile(csv);
  const t1 = performance.now();
  const r = powerIteration(g, { iterations, tol: 0 });
  const t2 = performance.now();
  writeFileSync(out, ranksCsv(g, r.ranks));
  const t3 = performance.now();
  return {
    ms: t3 - t0, peakMiB: selfPeakMiB(),
    parts: { parseAndBuild: t1 - t0, iterations: t2 - t1, perIteration: (t2 - t1) / iterations, output: t3 - t2 },
    counts: { nodes: g.ids.length, edges: g.edges },
  };
}

export function singleIterations(csv: string, n: number, m: number): SingleResult {
  const g = edgeListGraphOfFile(csv);
  powerIteration(g, { iterations: 5, tol: 0 }); // the JIT's warm-up, as for the platform's warm workers
  // The best of 3 of each, taking turns: a small graph's difference is a few ms, and one pause would swamp it.
  const best = { a: Infinity, b: Infinity };
  for (let i = 0; i < 3; i++) {
    for (const [k, key] of [[n, 'a'], [m, 'b']] as const) {
      const t0 = performance.now();
      powerIteration(g, { iterations: k, tol: 0 });
      best[key] = Math.min(best[key], performance.now() - t0);
    }
  }
  const { a, b } = best;
  return { ms: (b - a) / (m - n), peakMiB: selfPeakMiB(), parts: { [`${n} iterations`]: a, [`${m} iterations`]: b }, counts: { nodes: g.ids.length, edges: g.edges } };
}

async function main(argv: string[]): Promise<SingleResult> {
  const [kind, ...a] = argv;
  const num = (s: string | undefined, what: string) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${kind}: ${what} must be a whole number ≥ 1 (got ${s})`);
    return v;
  };
  switch (kind) {
    case 'wordcount':
      return tunedWordCount(a[0], a[1]);
    case 'plain': {
      const mod = (await import(pathToFileURL(resolve(a[0])).href)) as { default: JobType<Record<string, never>> };
      const r = await runInOneProcess(mod.default, a[1], a[2]);
      return { ms: r.ms, peakMiB: selfPeakMiB(), counts: { distinct: r.keys } };
    }
    case 'pagerank':
      return singlePagerank(a[0], num(a[1], 'ITERATIONS'), a[2]);
    case 'iterations':
      return singleIterations(a[0], num(a[1], 'N'), num(a[2], 'M'));
    default:
      throw new Error(`usage: single.ts wordcount CORPUS OUT | plain JOBFILE CORPUS OUT | pagerank CSV ITERATIONS OUT | iterations CSV N M (got ${JSON.stringify(kind)})`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err) => {
      process.stderr.write(`single: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
