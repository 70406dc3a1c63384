/**
 * PageRank's two setup rounds: they turn the edge list into per-partition adjacency with integer
 * node ids, once, so the iterations never move the graph again. Node v lives in partition
 * hash(v) mod P, at its index among that partition's ids in code point order.
 *
 * Round 0 (over the dataset's splits): map sends each edge u→v to v's partition (as an in-edge)
 * and u to its own partition (so a node without in-edges is known there too). Reduce r collects its
 * nodes, numbers them, and resolves the destinations of its in-edges; a duplicate edge always
 * lands at one reducer (v's), which drops it.
 *
 * Round 1 (over round 0's partitions): map r sends each in-edge (u, local v) to u's partition.
 * Reduce q numbers the sources with the ids round 0 gave partition q and writes q's adjacency:
 * every edge out of q as (local u, partition of v, local v).
 *
 * The text blobs between these steps hold one record per line; ids cannot contain a TAB or a line
 * break (the dataset store refuses them), so TAB separates fields.
 */
import { compareCodePoints, defaultPartition, type IterativeMapContext, type MapBlobs, type ReduceBlob } from '@tandem/shared';
import { encodeAdjacency } from './blobs.ts';

const linesOf = (lines: string[]): Buffer => Buffer.from(lines.length ? lines.join('\n') + '\n' : '');

/** Calls fn(line) for every '\n'-terminated line of a blob. */
function eachLine(blob: Buffer, fn: (line: string) => void): void {
  const text = blob.toString('utf8');
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    fn(text.slice(start, end));
    start = end + 1;
  }
}

/** Round 0 map: a split of `src<TAB>dst` lines. Partition r gets `dst<TAB>src` in-edges and bare `src` nodes. */
export function partitionEdges(input: Buffer, ctx: IterativeMapContext<unknown>): MapBlobs {
  const P = ctx.partitions;
  const inEdges: string[][] = Array.from({ length: P }, () => []);
  const sources: Set<string>[] = Array.from({ length: P }, () => new Set());
  let record = ctx.firstRecord;
  eachLine(input, (line) => {
    ctx.record = record++;
    const tab = line.indexOf('\t');
    if (tab <= 0 || tab === line.length - 1 || line.indexOf('\t', tab + 1) !== -1) {
      throw new Error(`not an edge (expected src<TAB>dst): ${JSON.stringify(line.slice(0, 80))}`);
    }
    const src = line.slice(0, tab);
    const dst = line.slice(tab + 1);
    inEdges[defaultPartition(dst, P)].push(`${dst}\t${src}`);
    sources[defaultPartition(src, P)].add(src);
  });
  return {
    outputs: inEdges.map((edges, r) => linesOf([...sources[r], ...edges])),
    records: record - ctx.firstRecord,
  };
}

/** A partition's numbered nodes and its in-edges (source id, local destination): round 0's reduce output. */
export interface Numbered {
  ids: string[];
  inEdges: string[];
}

const encodeNumbered = (p: Numbered): Buffer => linesOf([String(p.ids.length), ...p.ids, ...p.inEdges]);

export function decodeNumbered(blob: Buffer): Numbered {
  const all: string[] = [];
  eachLine(blob, (l) => all.push(l));
  const n = Number(all[0]);
  return { ids: all.slice(1, 1 + n), inEdges: all.slice(1 + n) };
}

/** Round 0 reduce: number partition r's nodes and resolve its in-edges' destinations, dropping duplicates. */
export function numberNodes(inputs: Buffer[]): ReduceBlob {
  const nodes = new Set<string>();
  const pairs: string[] = [];
  for (const blob of inputs) {
    eachLine(blob, (line) => {
      const tab = line.indexOf('\t');
      if (tab === -1) nodes.add(line);
      else {
        nodes.add(line.slice(0, tab));
        pairs.push(line);
      }
    });
  }
  const ids = [...nodes].sort(compareCodePoints);
  const local = new Map(ids.map((id, i) => [id, i]));
  const inEdges = new Set<string>();
  for (const line of pairs) {
    const tab = line.indexOf('\t');
    inEdges.add(`${line.slice(tab + 1)}\t${local.get(line.slice(0, tab))}`);
  }
  return { output: encodeNumbered({ ids, inEdges: [...inEdges] }), records: ids.length, stats: { nodes: ids.length, edges: inEdges.size } };
}

/** Round 1 map: partition r's in-edges go to their sources' partitions as `src<TAB>r<TAB>local dst`. */
export function routeToSources(input: Buffer, ctx: IterativeMapContext<unknown>): MapBlobs {
  const P = ctx.partitions;
  const out: string[][] = Array.from({ length: P }, () => []);
  const { inEdges } = decodeNumbered(input);
  for (const e of inEdges) {
    const tab = e.indexOf('\t');
    const src = e.slice(0, tab);
    out[defaultPartition(src, P)].push(`${src}\t${ctx.index}\t${e.slice(tab + 1)}`);
  }
  return { outputs: out.map(linesOf), records: inEdges.length };
}

/** Round 1 reduce: partition q's adjacency, from its out-edges and the ids round 0 gave it. */
export function buildAdjacency(inputs: Buffer[], numbered: Numbered, partitions: number): ReduceBlob {
  const { ids } = numbered;
  const n = ids.length;
  const local = new Map(ids.map((id, i) => [id, i]));
  const src: number[][] = Array.from({ length: partitions }, () => []);
  const dst: number[][] = Array.from({ length: partitions }, () => []);
  const outDegree = new Uint32Array(n);
  for (const blob of inputs) {
    eachLine(blob, (line) => {
      const a = line.indexOf('\t');
      const b = line.indexOf('\t', a + 1);
      const u = local.get(line.slice(0, a));
      if (u === undefined) throw new Error(`edge source ${JSON.stringify(line.slice(0, a))} is not a node of this partition`);
      const r = Number(line.slice(a + 1, b));
      src[r].push(u);
      dst[r].push(Number(line.slice(b + 1)));
      outDegree[u]++;
    });
  }
  // Counting sort by source (stable, so the order stays deterministic): reads of a source's rank
  // then walk forward through memory.
  const targets = src.map((s, r) => {
    const start = new Uint32Array(n + 1);
    for (const u of s) start[u + 1]++;
    for (let u = 0; u < n; u++) start[u + 1] += start[u];
    const S = new Uint32Array(s.length);
    const D = new Uint32Array(s.length);
    for (let e = 0; e < s.length; e++) {
      const at = start[s[e]]++;
      S[at] = s[e];
      D[at] = dst[r][e];
    }
    return { src: S, dst: D };
  });
  const edges = targets.reduce((a, t) => a + t.src.length, 0);
  return { output: encodeAdjacency(n, outDegree, targets, ids), records: n, stats: { nodes: n, edges } };
}
