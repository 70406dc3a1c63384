/**
 * The PageRank baseline's graph, built fast: a CSV edge list read once into integer arrays and
 * turned into the compressed sparse rows of reference.ts's Graph, which powerIteration and ranksCsv
 * then use as they are. reference.ts's buildGraph stays the readable definition; this builds the
 * same Graph (the same node numbering, in-edges in the same order, so the same ranks to the bit):
 *
 * - One byte scan over the file takes each plain line `src,dst` (LF or CRLF) as it is, and maps
 *   each id to its node number as it goes: an id of decimal digits without a leading zero (up to
 *   15 of them) by its value, below 2^24 in a table indexed by it, above in a Map<number, number>,
 *   with no string made per occurrence; any other id by its text in a Map<string, number>. Numbers
 *   are given in first-seen order, src before dst, as buildGraph gives them; each id's string is
 *   made once, for the output.
 * - Any other line (the first row, which may be a header; an empty line; a quote, a TAB, a stray
 *   CR, a comma too many, an empty id) goes to the dataset store's own normaliser (normalizeEdges),
 *   so the file is read as `tandem dataset put` reads it: RFC 4180 quoting, the header rule, and the
 *   same errors naming the line. UTF-8 is not validated (the upload does that; here an invalid byte
 *   becomes U+FFFD in the id).
 * - Edges go into Uint32Arrays that double when full.
 * - The CSR by two counting sorts, no comparator: edges grouped by src, then dealt out by dst in
 *   that order, so each node's in-edges are sorted by source; a repeated (src, dst) is then next to
 *   its twin and is dropped (a self-loop is an ordinary edge), as in buildGraph.
 */
import type { EdgeState } from '../../shared/src/dataset-store/edges.ts';
import { normalizeEdges } from '../../shared/src/dataset-store/edges.ts';
import type { Graph } from '../../jobs/src/pagerank/reference.ts';
import { chunksOf } from './baseline.ts';

/** Decimal ids longer than this are keyed by their text (15 digits always fit a double exactly). */
const MAX_DIGITS = 15;
/** Decimal ids below this index a table (4 bytes each, allocated up to the largest seen); larger ones a Map. */
const SMALL = 1 << 24;
/** Bytes that end an id in the fast scan: the comma, LF, and what needs the normaliser (quote, TAB, CR). */
const STOP = new Uint8Array(256);
for (const c of [9, 10, 13, 34, 44]) STOP[c] = 1;

export class EdgeListGraphBuilder {
  /** Node number + 1 of each small decimal id, by its value (0: not seen); grows by doubling. */
  private small = new Int32Array(1 << 16);
  private readonly byNumber = new Map<number, number>();
  private readonly byText = new Map<string, number>();
  private readonly ids: string[] = [];
  private src = new Uint32Array(1 << 16);
  private dst = new Uint32Array(1 << 16);
  private count = 0;
  /** The file's line number of the next line added. */
  private line = 1;
  private readonly state: EdgeState = { sawRow: false };

  /** @param name the file's name, for error messages */
  constructor(private readonly name = 'edge list') {}

  /**
   * Adds the edges of buf: whole CSV lines (the last one may lack its '\n' only at the file's end),
   * valid UTF-8. A line the fast scan does not take as it is (the first row, which may be a header;
   * an empty line; a quote, a TAB, a stray CR, a comma too many or an empty id) goes to the dataset
   * store's normaliser with the line after it, which parses it, or names the line and what is wrong.
   */
  add(buf: Buffer): void {
    const b = buf.length > 0 && buf[buf.length - 1] !== 10 ? Buffer.concat([buf, Buffer.from('\n')]) : buf;
    const n = b.length;
    let i = 0;
    while (i < n) {
      if (!this.state.sawRow) {
        i = this.irregular(b, i);
        continue;
      }
      // src: up to the comma; the id's value while it is all digits (a leading 0 only alone).
      const s0 = i;
      let c = b[i];
      let num = c >= 48 && c <= 57 ? 0 : -1;
      while (STOP[c] === 0) {
        if (num >= 0) num = c >= 48 && c <= 57 && (num !== 0 || i === s0) ? num * 10 + (c - 48) : -1;
        c = b[++i];
      }
      if (c !== 44 || i === s0) {
        i = this.irregular(b, s0);
        continue;
      }
      const s1 = i++;
      const d0 = i;
      c = b[i];
      let dnum = c >= 48 && c <= 57 ? 0 : -1;
      while (STOP[c] === 0) {
        if (dnum >= 0) dnum = c >= 48 && c <= 57 && (dnum !== 0 || i === d0) ? dnum * 10 + (c - 48) : -1;
        c = b[++i];
      }
      const d1 = i;
      if (c === 13 && b[i + 1] === 10) c = b[++i];
      if (c !== 10 || d1 === d0) {
        i = this.irregular(b, s0);
        continue;
      }
      i++;
      this.edge(this.node(b, s0, s1, num), this.node(b, d0, d1, dnum));
      this.line++;
    }
  }

  /**
   * The lines from `start` through the second non-empty one (the header rule may look at the row
   * after the first) through normalizeEdges; returns where the fast scan goes on.
   */
  private irregular(b: Buffer, start: number): number {
    let end = start;
    for (let rows = 0; rows < 2 && end < b.length;) {
      const nl = b.indexOf(10, end);
      if (nl > end && !(nl === end + 1 && b[end] === 13)) rows++;
      end = nl + 1;
    }
    const { out, lines } = normalizeEdges(this.name, this.state, Buffer.from(b.subarray(start, end)), this.line);
    this.line += lines;
    for (let i = 0; i < out.length;) {
      const tab = out.indexOf(9, i);
      const nl = out.indexOf(10, tab + 1);
      this.edge(this.node(out, i, tab, -1), this.node(out, tab + 1, nl, -1));
      i = nl + 1;
    }
    return end;
  }

  private edge(u: number, v: number): void {
    if (this.count === this.src.length) this.grow(this.count + 1);
    this.src[this.count] = u;
    this.dst[this.count++] = v;
  }

  /**
   * The node number of the id in b[start, end); num is its value when it is a decimal number
   * without a leading zero, else -1 (a caller that did not look passes -1, and it is looked at here).
   */
  private node(b: Buffer, start: number, end: number, num: number): number {
    if (num < 0 && /^(0|[1-9][0-9]{0,14})$/.test(b.toString('latin1', start, end))) num = Number(b.toString('latin1', start, end));
    if (num >= 0 && end - start <= MAX_DIGITS) {
      if (num < SMALL) {
        if (num >= this.small.length) {
          let size = this.small.length;
          while (size <= num) size *= 2;
          const t = new Int32Array(size);
          t.set(this.small);
          this.small = t;
        }
        let i = this.small[num] - 1;
        if (i < 0) {
          i = this.newId(b.toString('latin1', start, end));
          this.small[num] = i + 1;
        }
        return i;
      }
      let i = this.byNumber.get(num);
      if (i === undefined) {
        i = this.newId(b.toString('latin1', start, end));
        this.byNumber.set(num, i);
      }
      return i;
    }
    const s = b.toString('utf8', start, end);
    let i = this.byText.get(s);
    if (i === undefined) {
      i = this.newId(s);
      this.byText.set(s, i);
    }
    return i;
  }

  private newId(s: string): number {
    this.ids.push(s);
    return this.ids.length - 1;
  }

  private grow(need: number): void {
    let size = this.src.length;
    while (size < need) size *= 2;
    const src = new Uint32Array(size);
    const dst = new Uint32Array(size);
    src.set(this.src.subarray(0, this.count));
    dst.set(this.dst.subarray(0, this.count));
    this.src = src;
    this.dst = dst;
  }

  /** The graph of every edge added (the builder is spent). */
  finish(): Graph {
    const n = this.ids.length;
    const m = this.count;
    const src = this.src;
    const dst = this.dst;
    // Out-edges grouped by src (counting sort): outTargets[outStart[u] ..) are u's targets, in file order.
    const outStart = new Uint32Array(n + 1);
    for (let e = 0; e < m; e++) outStart[src[e] + 1]++;
    for (let u = 0; u < n; u++) outStart[u + 1] += outStart[u];
    const outTargets = new Uint32Array(m);
    const cursor = outStart.slice(0, n);
    for (let e = 0; e < m; e++) outTargets[cursor[src[e]]++] = dst[e];
    this.src = this.dst = new Uint32Array(0);
    // In-edges by dst (counting sort), taking sources in ascending order: each node's sources come out sorted.
    const inStart = new Uint32Array(n + 1);
    for (let e = 0; e < m; e++) inStart[outTargets[e] + 1]++;
    for (let v = 0; v < n; v++) inStart[v + 1] += inStart[v];
    const inSources = new Uint32Array(m);
    cursor.set(inStart.subarray(0, n));
    for (let u = 0; u < n; u++) {
      for (let e = outStart[u], end = outStart[u + 1]; e < end; e++) inSources[cursor[outTargets[e]]++] = u;
    }
    // Drop repeated edges (a run of one source within a node's sources), compacting in place.
    const outDegree = new Uint32Array(n);
    let w = 0;
    let from = 0;
    for (let v = 0; v < n; v++) {
      const end = inStart[v + 1];
      inStart[v] = w;
      let prev = -1;
      for (let e = from; e < end; e++) {
        const u = inSources[e];
        if (u === prev) continue;
        prev = u;
        inSources[w++] = u;
        outDegree[u]++;
      }
      from = end;
    }
    inStart[n] = w;
    return { ids: this.ids, outDegree, inStart, inSources: inSources.slice(0, w), edges: w };
  }
}

/** The graph of a CSV edge list file, read in chunks cut at line ends. */
export function edgeListGraphOfFile(path: string, chunkBytes?: number): Graph {
  const b = new EdgeListGraphBuilder(path);
  for (const chunk of chunksOf(path, chunkBytes)) b.add(chunk);
  return b.finish();
}
