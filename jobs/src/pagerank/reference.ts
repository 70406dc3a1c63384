/**
 * PageRank as one thread computes it fastest: the graph in compressed sparse rows of in-edges
 * (node ids mapped to integers, duplicate edges dropped), then a pull-style power iteration over
 * Float64Arrays. It is the reference the platform's PageRank is checked against and the baseline
 * its benchmark compares with.
 *
 * Definition (issue 4; the one networkx's `pagerank` uses): nodes are every id in either column,
 * N of them; r₀(v) = 1/N; each iteration
 *   r'(v) = (1−d)/N + d·(Σ_{u→v} r(u)/out(u) + D/N),   D = total rank of nodes with no out-edges;
 * stop after `iterations` or once the L1 distance between consecutive vectors is below `tol`.
 */
import { compareCodePoints } from '@tandem/shared';
import { csvField } from './ranks-csv.ts';

export interface Graph {
  /** Node ids; node i is ids[i]. */
  ids: string[];
  /** Out-degree of each node (distinct targets). */
  outDegree: Uint32Array;
  /** In-edges in CSR form: the sources of node v are inSources[inStart[v] .. inStart[v+1]). */
  inStart: Uint32Array;
  inSources: Uint32Array;
  /** Distinct edges. */
  edges: number;
}

/** Builds the graph from (src, dst) pairs; a pair seen twice counts once, a self-loop is an ordinary edge. */
export function buildGraph(pairs: Iterable<readonly [string, string]>): Graph {
  const index = new Map<string, number>();
  const ids: string[] = [];
  const id = (s: string) => {
    let i = index.get(s);
    if (i === undefined) {
      i = ids.length;
      index.set(s, i);
      ids.push(s);
    }
    return i;
  };
  let src: number[] = [];
  let dst: number[] = [];
  for (const [s, d] of pairs) {
    src.push(id(s));
    dst.push(id(d));
  }
  const n = ids.length;
  // Sort edges by (dst, src) to group in-edges and drop duplicates.
  const order = Array.from(src.keys()).sort((a, b) => dst[a] - dst[b] || src[a] - src[b]);
  const inStart = new Uint32Array(n + 1);
  const sources: number[] = [];
  const outDegree = new Uint32Array(n);
  let prevS = -1;
  let prevD = -1;
  for (const e of order) {
    const s = src[e];
    const d = dst[e];
    if (s === prevS && d === prevD) continue;
    prevS = s;
    prevD = d;
    sources.push(s);
    inStart[d + 1]++;
    outDegree[s]++;
  }
  for (let v = 0; v < n; v++) inStart[v + 1] += inStart[v];
  src = dst = [];
  return { ids, outDegree, inStart, inSources: Uint32Array.from(sources), edges: sources.length };
}

export interface PageRankOptions {
  damping?: number;
  iterations?: number;
  tol?: number;
}

export interface PageRankResult {
  ranks: Float64Array;
  iterations: number;
  /** L1 distance after each iteration. */
  deltas: number[];
  converged: boolean;
}

export function powerIteration(g: Graph, opts: PageRankOptions = {}): PageRankResult {
  const d = opts.damping ?? 0.85;
  const maxIter = opts.iterations ?? 100;
  const tol = opts.tol ?? 1e-8;
  const n = g.ids.length;
  if (n === 0) throw new Error('PageRank of an empty graph: it has no nodes');
  let r = new Float64Array(n).fill(1 / n);
  let next = new Float64Array(n);
  const share = new Float64Array(n);
  const deltas: number[] = [];
  for (let it = 0; it < maxIter; it++) {
    let dangling = 0;
    for (let u = 0; u < n; u++) {
      const o = g.outDegree[u];
      if (o === 0) {
        dangling += r[u];
        share[u] = 0;
      } else share[u] = r[u] / o;
    }
    const base = (1 - d) / n + (d * dangling) / n;
    let delta = 0;
    for (let v = 0; v < n; v++) {
      let sum = 0;
      for (let e = g.inStart[v], end = g.inStart[v + 1]; e < end; e++) sum += share[g.inSources[e]];
      const x = base + d * sum;
      next[v] = x;
      delta += Math.abs(x - r[v]);
    }
    [r, next] = [next, r];
    deltas.push(delta);
    if (delta < tol) return { ranks: r, iterations: it + 1, deltas, converged: true };
  }
  return { ranks: r, iterations: maxIter, deltas, converged: false };
}

/** Ranks as `node,rank` lines after a header: rank descending, ties by node id (code point order). */
export function ranksCsv(g: Graph, ranks: Float64Array): string {
  const order = Array.from(g.ids.keys()).sort((a, b) => ranks[b] - ranks[a] || compareCodePoints(g.ids[a], g.ids[b]));
  return 'node,rank\n' + order.map((i) => `${csvField(g.ids[i])},${ranks[i]}`).join('\n') + '\n';
}
