/**
 * PageRank's two set-up rounds: they turn the edge list into per-partition adjacency with integer
 * node ids, once, so the iterations never move the graph again. Node v lives in partition
 * hashKey(v) mod P, at its index among that partition's ids in code point order. Between tasks a
 * node is named by a 64-bit hash of its id (idHash; the low half is hashKey, so it also names the
 * partition), and its id string travels once per split and partition; edges travel as u32 arrays
 * (formats in setup-blobs.ts).
 *
 * Round 0 map (a split): one pass over the bytes interns each distinct id of the split, then
 * partition r gets the split's ids that live in r (hashes and bytes) and the split's edges into
 * them (source hash, index of the destination among those ids).
 * Round 0 reduce r (chained, so round 1 has no map phase): it collects its nodes, fails if two
 * different ids share a hash, numbers them, and sends each in-edge (source hash, local
 * destination) to its source's partition q.
 * Round 1 reduce q: resolves the sources with the hashes round 0 gave partition q, sorts each
 * target partition's edges by (source, destination) (a counting sort by source, then each source's
 * destinations), drops duplicates (every copy of an edge meets here) and writes q's adjacency
 * (blobs.ts). The adjacency is thus the same bytes however the input was split or ordered.
 *
 * Ids cannot contain a TAB or a line break (the dataset store refuses them), so a split's lines
 * are `src<TAB>dst`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { compareCodePoints, hashKey, type IterativeMapContext, type MapBlobs, type ReduceBlob } from '@tandem/shared';
import { BlobError, encodeAdjacency } from './blobs.ts';
import { decodeNumberedNodes, decodeSentEdges, decodeSplitEdges, newNumberedNodes, newSentEdges, newSplitEdges, type SplitEdges } from './setup-blobs.ts';

/**
 * The reduce rounds' loops run for seconds on a big partition (R-MAT scale 20 in 2 partitions: 8M
 * edges each), and a worker whose event loop is blocked longer than its lock (TANDEM_LOCK_MS, 4 s)
 * cannot renew it: BullMQ then takes the task for stalled and hands it to another worker, which
 * runs it a second time. So they give the event loop a turn every 100 ms (Turns), checking the clock
 * at chunk boundaries.
 */
export class Turns {
  private last = performance.now();
  constructor(private readonly everyMs = 100) {}
  /** Resolves at once, or after a turn of the event loop when everyMs have passed since the last. */
  async take(): Promise<void> {
    if (performance.now() - this.last < this.everyMs) return;
    await nextTurn();
    this.last = performance.now();
  }
}
const CHUNK = 1 << 16;

const FNV_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Writes the 64-bit hash of the id in bytes[start, end) into out: [lo, hi]. */
export type IdHasher = (bytes: Buffer, start: number, end: number, out: Uint32Array) => void;

/**
 * lo: hashKey of the id (FNV-1a over its UTF-16 code units, as defaultPartition uses; for an ASCII
 * id that is FNV-1a over its bytes). hi: a multiply-xorshift hash of its UTF-8 bytes and length.
 */
export const idHash: IdHasher = (b, start, end, out) => {
  let lo = FNV_BASIS;
  let hi = 0x9e3779b9 ^ (end - start);
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c >= 0x80) ascii = false;
    lo = Math.imul(lo ^ c, FNV_PRIME);
    hi = Math.imul(hi ^ c, 0x85ebca6b);
    hi ^= hi >>> 13;
  }
  hi = Math.imul(hi ^ (hi >>> 16), 0xc2b2ae35);
  out[0] = ascii ? lo >>> 0 : hashKey(b.toString('utf8', start, end));
  out[1] = (hi ^ (hi >>> 16)) >>> 0;
};

const grow = (a: Uint32Array<ArrayBuffer>, need: number): Uint32Array<ArrayBuffer> => {
  if (need <= a.length) return a;
  const b = new Uint32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
};

/** Up to 4 bytes of bytes[s, e) from s, little-endian (0 when s >= e). */
function word(b: Buffer, s: number, e: number): number {
  const len = e - s;
  if (len >= 4) return b[s] | (b[s + 1] << 8) | (b[s + 2] << 16) | (b[s + 3] << 24);
  if (len === 3) return b[s] | (b[s + 1] << 8) | (b[s + 2] << 16);
  if (len === 2) return b[s] | (b[s + 1] << 8);
  return len === 1 ? b[s] : 0;
}

/**
 * The distinct ids of a split, by their bytes: open addressing over slots of (FNV-1a of the bytes,
 * id number, first 8 bytes as two words). Ids cannot hold a NUL byte, so for an id of up to 8 bytes
 * those words are the whole id and a lookup reads one slot; a longer id (its number stored
 * negated) is then compared with the split's bytes.
 */
class SplitIds {
  count = 0;
  /** Per id: start and end in the split. */
  span = new Uint32Array(2 * 1024);
  private slots: Int32Array;
  private mask: number;

  constructor(private readonly bytes: Buffer, expected: number) {
    let size = 1024;
    while (size < expected * 2) size *= 2;
    this.slots = new Int32Array(4 * size);
    this.mask = size - 1;
  }

  start(k: number): number {
    return this.span[2 * k];
  }

  end(k: number): number {
    return this.span[2 * k + 1];
  }

  /** The number of the id in bytes[s, e), whose FNV-1a is h (an int32). */
  intern(s: number, e: number, h: number): number {
    const b = this.bytes;
    const slots = this.slots;
    const len = e - s;
    const w0 = word(b, s, e);
    const w1 = word(b, s + 4, e);
    let slot = (h ^ (h >>> 15)) & this.mask;
    for (;;) {
      const x = 4 * slot;
      const k1 = slots[x + 1];
      if (k1 === 0) break;
      if (slots[x] === h && slots[x + 2] === w0 && slots[x + 3] === w1) {
        if (len <= 8) {
          if (k1 > 0) return k1 - 1;
        } else if (k1 < 0) {
          const k = -k1 - 1;
          const o = this.span[2 * k];
          if (this.span[2 * k + 1] - o === len) {
            let i = 8;
            while (i < len && b[o + i] === b[s + i]) i++;
            if (i === len) return k;
          }
        }
      }
      slot = (slot + 1) & this.mask;
    }
    const k = this.count++;
    if (2 * k === this.span.length) {
      const span = new Uint32Array(2 * this.span.length);
      span.set(this.span);
      this.span = span;
    }
    this.span[2 * k] = s;
    this.span[2 * k + 1] = e;
    const x = 4 * slot;
    slots[x] = h;
    slots[x + 1] = len <= 8 ? k + 1 : -(k + 1);
    slots[x + 2] = w0;
    slots[x + 3] = w1;
    if (this.count * 2 > this.mask) this.rehash();
    return k;
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(2 * old.length);
    this.mask = old.length / 2 - 1;
    for (let j = 0; j < old.length; j += 4) {
      if (old[j + 1] === 0) continue;
      const h = old[j];
      let slot = (h ^ (h >>> 15)) & this.mask;
      while (this.slots[4 * slot + 1] !== 0) slot = (slot + 1) & this.mask;
      this.slots.set(old.subarray(j, j + 4), 4 * slot);
    }
  }
}

/** The line at lineStart, the split's record `edges` (0-based), is not `src<TAB>dst`. */
function notAnEdge(input: Buffer, lineStart: number, ctx: IterativeMapContext<unknown>, edges: number): never {
  ctx.record = ctx.firstRecord + edges;
  let end = input.indexOf(10, lineStart);
  if (end === -1) end = input.length;
  const line = input.toString('utf8', lineStart, Math.min(end, lineStart + 320));
  throw new Error(`not an edge (expected src<TAB>dst): ${JSON.stringify(line.slice(0, 80))}`);
}

/** Round 0 map: a split of `src<TAB>dst` lines, cut into one blob per partition (format TPRE). */
export function partitionEdges(input: Buffer, ctx: IterativeMapContext<unknown>, hasher: IdHasher = idHash): MapBlobs {
  const P = ctx.partitions;
  const n = input.length;
  const ids = new SplitIds(input, n >>> 5);
  // A line is at least 4 bytes (`a<TAB>b\n`).
  const src = new Uint32Array((n >>> 2) + 1);
  const dst = new Uint32Array((n >>> 2) + 1);
  let edges = 0;
  for (let pos = 0; pos < n; ) {
    const lineStart = pos;
    let i = pos;
    let c = -1;
    let h = FNV_BASIS;
    while (i < n && (c = input[i]) !== 9 && c !== 10) {
      h = Math.imul(h ^ c, FNV_PRIME);
      i++;
    }
    if (c !== 9 || i === lineStart) notAnEdge(input, lineStart, ctx, edges);
    const tab = i++;
    let h2 = FNV_BASIS;
    c = -1;
    while (i < n && (c = input[i]) !== 10) {
      if (c === 9) notAnEdge(input, lineStart, ctx, edges);
      h2 = Math.imul(h2 ^ c, FNV_PRIME);
      i++;
    }
    if (i === tab + 1) notAnEdge(input, lineStart, ctx, edges);
    src[edges] = ids.intern(lineStart, tab, h);
    dst[edges] = ids.intern(tab + 1, i, h2);
    edges++;
    pos = i + 1;
  }
  ctx.record = ctx.firstRecord + edges;

  // Each distinct id: its hash, partition, and place among its partition's ids.
  const m = ids.count;
  const lo = new Uint32Array(m);
  const hi = new Uint32Array(m);
  const part = new Uint32Array(m);
  const place = new Uint32Array(m);
  const idsIn = new Uint32Array(P);
  const bytesIn = new Float64Array(P);
  const edgesIn = new Uint32Array(P);
  const h64 = new Uint32Array(2);
  for (let k = 0; k < m; k++) {
    hasher(input, ids.start(k), ids.end(k), h64);
    lo[k] = h64[0];
    hi[k] = h64[1];
    const r = h64[0] % P;
    part[k] = r;
    place[k] = idsIn[r]++;
    bytesIn[r] += ids.end(k) - ids.start(k);
  }
  for (let e = 0; e < edges; e++) edgesIn[part[dst[e]]]++;
  const out = Array.from({ length: P }, (_, r) => newSplitEdges(idsIn[r], edgesIn[r], bytesIn[r]));
  const ends = new Float64Array(P);
  for (let k = 0; k < m; k++) {
    const parts = out[part[k]].parts;
    const j = place[k];
    parts.idLo[j] = lo[k];
    parts.idHi[j] = hi[k];
    const r = part[k];
    const at = ends[r];
    input.copy(parts.idBytes, at, ids.start(k), ids.end(k));
    ends[r] = at + ids.end(k) - ids.start(k);
    parts.idEnd[j] = ends[r];
  }
  const fill = new Uint32Array(P);
  for (let e = 0; e < edges; e++) {
    const d = dst[e];
    const r = part[d];
    const parts = out[r].parts;
    const j = fill[r]++;
    const s = src[e];
    parts.srcLo[j] = lo[s];
    parts.srcHi[j] = hi[s];
    parts.dst[j] = place[d];
  }
  return { outputs: out.map((o) => o.blob), records: edges };
}

/**
 * Nodes by 64-bit hash: open addressing over slots of (lo, hi, node number + 1), so a lookup reads
 * one slot. A tagged index also keeps, per node, its id's length and first 8 bytes, so that telling
 * an id from another one with the same hash reads no more than that slot when the ids are short.
 */
class NodeIndex {
  count = 0;
  /** Set by add: the node was there, and its tag differs from the one given. */
  tagDiffers = false;
  private slots: Int32Array;
  private mask: number;
  private readonly stride: number;

  constructor(expected: number, tagged = false) {
    let size = 1024;
    while (size < expected * 2) size *= 2;
    this.stride = tagged ? 8 : 4;
    this.slots = new Int32Array(this.stride * size);
    this.mask = size - 1;
  }

  /** The node with this hash, or -1. */
  find(lo: number, hi: number): number {
    const slots = this.slots;
    const stride = this.stride;
    lo |= 0;
    hi |= 0;
    for (let slot = (lo ^ hi ^ (hi >>> 15)) & this.mask; ; slot = (slot + 1) & this.mask) {
      const x = stride * slot;
      const k1 = slots[x + 2];
      if (k1 === 0) return -1;
      if (slots[x] === lo && slots[x + 1] === hi) return k1 - 1;
    }
  }

  /** The node with this hash, numbered from 0 in the order they were first added (see tagDiffers). */
  add(lo: number, hi: number, len = 0, w0 = 0, w1 = 0): number {
    const slots = this.slots;
    const stride = this.stride;
    lo |= 0;
    hi |= 0;
    let slot = (lo ^ hi ^ (hi >>> 15)) & this.mask;
    for (;;) {
      const x = stride * slot;
      const k1 = slots[x + 2];
      if (k1 === 0) break;
      if (slots[x] === lo && slots[x + 1] === hi) {
        this.tagDiffers = stride === 8 && (slots[x + 3] !== len || slots[x + 4] !== w0 || slots[x + 5] !== w1);
        return k1 - 1;
      }
      slot = (slot + 1) & this.mask;
    }
    const k = this.count++;
    const x = stride * slot;
    slots[x] = lo;
    slots[x + 1] = hi;
    slots[x + 2] = k + 1;
    if (stride === 8) {
      slots[x + 3] = len;
      slots[x + 4] = w0;
      slots[x + 5] = w1;
    }
    this.tagDiffers = false;
    if (this.count * 2 > this.mask) this.rehash();
    return k;
  }

  private rehash(): void {
    const old = this.slots;
    const stride = this.stride;
    this.slots = new Int32Array(2 * old.length);
    this.mask = (2 * old.length) / stride - 1;
    for (let j = 0; j < old.length; j += stride) {
      if (old[j + 2] === 0) continue;
      const lo = old[j];
      const hi = old[j + 1];
      let slot = (lo ^ hi ^ (hi >>> 15)) & this.mask;
      while (this.slots[stride * slot + 2] !== 0) slot = (slot + 1) & this.mask;
      this.slots.set(old.subarray(j, j + stride), stride * slot);
    }
  }
}

/**
 * Round 0 reduce r: number partition r's nodes (code point order of their ids) and send each
 * in-edge, as (source hash, local destination), to its source's partition (format TPRS); the
 * output holds the nodes' hashes and ids in local order (format TPRN).
 */
export async function numberNodes(inputs: Buffer[], partitions: number, what: string, turns = new Turns()): Promise<ReduceBlob> {
  const blobs: SplitEdges[] = inputs.map((b, s) => decodeSplitEdges(b, `${what}: what map task ${s} sent`));
  const index = new NodeIndex(blobs.reduce((a, b) => Math.max(a, b.ids), 0) * 2, true);
  // Where each node's id bytes are (the first blob that named it), and each blob's ids as nodes.
  let from = new Uint32Array(1024);
  let at = new Uint32Array(1024);
  const nodeOf: Uint32Array[] = [];
  for (const [s, b] of blobs.entries()) {
    const map = new Uint32Array(b.ids);
    for (let i = 0; i < b.ids; i++) {
      if (i % CHUNK === 0) await turns.take();
      const before = index.count;
      const start = i === 0 ? 0 : b.idEnd[i - 1];
      const len = b.idEnd[i] - start;
      const k = index.add(b.idLo[i], b.idHi[i], len, word(b.idBytes, start, start + len), word(b.idBytes, start + 4, start + len));
      map[i] = k;
      if (k === before) {
        from = grow(from, k + 1);
        at = grow(at, k + 1);
        from[k] = s;
        at[k] = i;
      } else if (index.tagDiffers || (len > 8 && !sameId(blobs[from[k]], at[k], b, i))) {
        throw new Error(
          `node ids ${JSON.stringify(idOf(blobs[from[k]], at[k]))} and ${JSON.stringify(idOf(b, i))} have the same 64-bit hash, ` +
            'so PageRank cannot tell them apart; rename one of them',
        );
      }
    }
    nodeOf.push(map);
  }
  const n = index.count;
  await turns.take();
  const order = codePointOrder(n, (k) => blobs[from[k]], (k) => at[k]);
  const local = new Uint32Array(n);
  let idBytes = n > 0 ? n - 1 : 0;
  for (let k = 0; k < n; k++) {
    const b = blobs[from[k]];
    idBytes += b.idEnd[at[k]] - (at[k] === 0 ? 0 : b.idEnd[at[k] - 1]);
  }
  await turns.take();
  const { blob: output, parts: nodes } = newNumberedNodes(n, idBytes);
  let w = 0;
  for (let j = 0; j < n; j++) {
    const k = order[j];
    local[k] = j;
    const b = blobs[from[k]];
    const i = at[k];
    nodes.lo[j] = b.idLo[i];
    nodes.hi[j] = b.idHi[i];
    if (j > 0) nodes.idBytes[w++] = 10;
    const end = b.idEnd[i];
    for (let x = i === 0 ? 0 : b.idEnd[i - 1]; x < end; x++) nodes.idBytes[w++] = b.idBytes[x];
  }
  // The in-edges, by their sources' partitions, in input order.
  const count = new Uint32Array(partitions);
  let edges = 0;
  for (const b of blobs) {
    edges += b.edges;
    for (let e = 0; e < b.edges; e++) count[b.srcLo[e] % partitions]++;
    await turns.take();
  }
  const next = Array.from({ length: partitions }, (_, q) => newSentEdges(count[q], n));
  const fill = new Uint32Array(partitions);
  for (const [s, b] of blobs.entries()) {
    const map = nodeOf[s];
    for (let e = 0; e < b.edges; e++) {
      if (e % CHUNK === 0) await turns.take();
      const lo = b.srcLo[e];
      const q = lo % partitions;
      const j = fill[q]++;
      const t = next[q].parts;
      t.srcLo[j] = lo;
      t.srcHi[j] = b.srcHi[e];
      t.dst[j] = local[map[b.dst[e]]];
    }
  }
  return { output, next: next.map((x) => x.blob), records: n, stats: { nodes: n } };
}

/**
 * Node numbers 0..n-1 in code point order of their ids (id k is id `place(k)` of blob `blob(k)`).
 * UTF-8 byte order is code point order, so a native sort of Float64 keys (up to 4 bytes of the id
 * after the prefix all ids share, then the node number in the low bits) does most of it; runs of
 * equal keys are then sorted by comparing the ids as strings.
 */
function codePointOrder(n: number, blob: (k: number) => SplitEdges, place: (k: number) => number): Uint32Array {
  const start = (k: number) => (place(k) === 0 ? 0 : blob(k).idEnd[place(k) - 1]);
  const end = (k: number) => blob(k).idEnd[place(k)];
  let common = n > 0 ? end(0) - start(0) : 0;
  for (let k = 1; k < n && common > 0; k++) {
    const a = blob(0).idBytes;
    const b = blob(k).idBytes;
    const sa = start(0);
    const sb = start(k);
    const len = Math.min(common, end(k) - sb);
    let x = 0;
    while (x < len && a[sa + x] === b[sb + x]) x++;
    common = x;
  }
  const indexBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const prefixBytes = Math.min(4, Math.floor((53 - indexBits) / 8));
  const scale = 2 ** indexBits;
  const keys = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const bytes = blob(k).idBytes;
    const s = start(k) + common;
    const e = end(k);
    let prefix = 0;
    // Ids hold no NUL byte, so a shorter id's missing bytes (0) sort it first, as they should.
    for (let x = 0; x < prefixBytes; x++) prefix = prefix * 256 + (s + x < e ? bytes[s + x] : 0);
    keys[k] = prefix * scale + k;
  }
  keys.sort();
  const order = new Uint32Array(n);
  for (let j = 0; j < n; j++) order[j] = keys[j] % scale;
  const strings: (string | undefined)[] = [];
  const id = (k: number): string => (strings[k] ??= blob(k).idBytes.toString('utf8', start(k), end(k)));
  for (let a = 0; a < n; ) {
    const prefix = Math.floor(keys[a] / scale);
    let z = a + 1;
    while (z < n && Math.floor(keys[z] / scale) === prefix) z++;
    if (z - a > 1) {
      const run = Array.from(order.subarray(a, z));
      run.sort((x, y) => compareCodePoints(id(x), id(y)));
      order.set(run, a);
    }
    a = z;
  }
  return order;
}

function sameId(a: SplitEdges, i: number, b: SplitEdges, j: number): boolean {
  const as = i === 0 ? 0 : a.idEnd[i - 1];
  const bs = j === 0 ? 0 : b.idEnd[j - 1];
  const len = a.idEnd[i] - as;
  if (b.idEnd[j] - bs !== len) return false;
  for (let x = 0; x < len; x++) if (a.idBytes[as + x] !== b.idBytes[bs + x]) return false;
  return true;
}

const idOf = (b: SplitEdges, i: number): string => b.idBytes.toString('utf8', i === 0 ? 0 : b.idEnd[i - 1], b.idEnd[i]);

/**
 * The distinct edges (src[e], dst[e]), sorted by source then destination: one counting sort by
 * source (src below n), then each source's destinations sorted in place and deduplicated. Adds
 * each source's distinct edges to outDegree.
 */
async function sortedDistinct(src: Uint32Array, dst: Uint32Array, n: number, outDegree: Uint32Array, turns: Turns): Promise<{ src: Uint32Array; dst: Uint32Array }> {
  const e = src.length;
  const next = new Uint32Array(n + 1);
  for (let i = 0; i < e; i++) next[src[i] + 1]++;
  for (let u = 0; u < n; u++) next[u + 1] += next[u];
  const d = new Uint32Array(e);
  for (let i = 0; i < e; i++) d[next[src[i]]++] = dst[i];
  await turns.take();
  // next[u] is now where u's destinations end; it becomes u's distinct count.
  let k = 0;
  let a = 0;
  for (let u = 0; u < n; u++) {
    if (u % CHUNK === 0) await turns.take();
    const b = next[u];
    if (b - a > 24) d.subarray(a, b).sort();
    else {
      for (let i = a + 1; i < b; i++) {
        const x = d[i];
        let j = i - 1;
        while (j >= a && d[j] > x) {
          d[j + 1] = d[j];
          j--;
        }
        d[j + 1] = x;
      }
    }
    const k0 = k;
    for (let i = a; i < b; i++) if (i === a || d[i] !== d[i - 1]) d[k++] = d[i];
    next[u] = k - k0;
    outDegree[u] += k - k0;
    a = b;
  }
  const sorted = new Uint32Array(k);
  for (let u = 0, w = 0; u < n; u++) for (let c = next[u]; c > 0; c--) sorted[w++] = u;
  return { src: sorted, dst: d.subarray(0, k) };
}

/** Round 1 reduce q: partition q's adjacency, from the in-edges sent to it and round 0's numbering of its nodes. */
export async function buildAdjacency(inputs: Buffer[], previousOutput: Buffer, partitions: number, what: string, turns = new Turns()): Promise<ReduceBlob> {
  const nodes = decodeNumberedNodes(previousOutput, `${what}: the numbered nodes of round 0`);
  const n = nodes.n;
  const index = new NodeIndex(n);
  for (let u = 0; u < n; u++) index.add(nodes.lo[u], nodes.hi[u]);
  if (index.count !== n) throw new BlobError(`${what}: round 0 numbered the same node twice`);
  if (inputs.length !== partitions) throw new BlobError(`${what}: ${inputs.length} senders for ${partitions} partitions`);
  const outDegree = new Uint32Array(n);
  const targets: { src: Uint32Array; dst: Uint32Array }[] = [];
  for (const [r, blob] of inputs.entries()) {
    const sent = decodeSentEdges(blob, `${what}: the edges partition ${r} sent`);
    const src = new Uint32Array(sent.edges);
    for (let e = 0; e < sent.edges; e++) {
      if (e % CHUNK === 0) await turns.take();
      const u = index.find(sent.srcLo[e], sent.srcHi[e]);
      if (u < 0) throw new BlobError(`${what}: partition ${r} sent an edge from a node this partition does not have`);
      src[e] = u;
    }
    targets.push(await sortedDistinct(src, sent.dst, n, outDegree, turns));
  }
  await turns.take();
  const edges = targets.reduce((a, t) => a + t.src.length, 0);
  return { output: encodeAdjacency(n, outDegree, targets, nodes.idBytes), records: n, stats: { nodes: n, edges } };
}
