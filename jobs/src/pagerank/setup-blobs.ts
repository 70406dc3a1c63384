/**
 * The binary blobs of PageRank's set-up rounds (build.ts). A node is named between tasks by its
 * 64-bit id hash (lo: hashKey of the id, so lo mod P is its partition; hi: a second hash of its
 * bytes), and its id string travels once per (split, partition). Each blob is a 16-byte header
 * (magic, format version, two counts), then u32 arrays, then bytes; all little-endian:
 *
 * - `TPRE` split edges, round 0 map → reduce r: m ids, e edges; u32 idLo[m], idHi[m], idEnd[m]
 *   (end offset of each id in the id bytes), u32 srcLo[e], srcHi[e], dst[e] (an index into this
 *   blob's ids), then the ids' UTF-8 bytes, unseparated. The ids are the split's distinct ids that
 *   live in partition r; the edges are the split's edges into them.
 * - `TPRN` numbered nodes, round 0 reduce r's output: n nodes, b id bytes; u32 lo[n], hi[n] in
 *   local order (code point order of the ids), then the ids, UTF-8, '\n'-separated.
 * - `TPRS` in-edges by source, round 0 reduce r → round 1 reduce q: e edges, width (r's node count);
 *   u32 srcLo[e], srcHi[e] (the source, a node of q), dst[e] (local in r).
 *
 * A blob without the magic, or of another version, is refused (BlobError): a foreign or stale blob
 * must never be read as a graph.
 */
import { BlobError, aligned } from './blobs.ts';

const EDGES_MAGIC = 0x45525054; // 'TPRE'
const NODES_MAGIC = 0x4e525054; // 'TPRN'
const SENT_MAGIC = 0x53525054; // 'TPRS'
export const SETUP_VERSION = 1;
const HEADER = 16;

/** A zeroed blob with its header written; u32 is a view of everything after the header. */
function newBlob(magic: number, a: number, b: number, words: number, bytes: number): { blob: Buffer; u32: Uint32Array } {
  // Buffer.alloc never hands out pool memory, so the view below is aligned.
  const blob = Buffer.alloc(HEADER + words * 4 + bytes);
  blob.writeUInt32LE(magic, 0);
  blob.writeUInt32LE(SETUP_VERSION, 4);
  blob.writeUInt32LE(a, 8);
  blob.writeUInt32LE(b, 12);
  return { blob, u32: new Uint32Array(blob.buffer, blob.byteOffset + HEADER, words) };
}

/** The header's two counts and the blob's u32 words (copied when the blob is not aligned), after checking magic and version. */
function open(blob: Buffer, magic: number, kind: string, what: string, words: (a: number, b: number) => number, bytes: (a: number, b: number, u32: Uint32Array) => number) {
  if (blob.length < HEADER || blob.readUInt32LE(0) !== magic) throw new BlobError(`${what} is not a PageRank ${kind} blob`);
  const version = blob.readUInt32LE(4);
  if (version !== SETUP_VERSION) throw new BlobError(`${what} has ${kind} format version ${version}, expected ${SETUP_VERSION}`);
  const a = blob.readUInt32LE(8);
  const b = blob.readUInt32LE(12);
  const w = words(a, b);
  if (blob.length < HEADER + w * 4) throw new BlobError(`${what}: ${kind} blob of ${blob.length} bytes is shorter than its header says`);
  const u32 = (blob.byteOffset + HEADER) % 4 === 0
    ? new Uint32Array(blob.buffer, blob.byteOffset + HEADER, w)
    : new Uint32Array(aligned(blob.subarray(HEADER, HEADER + w * 4)));
  const want = HEADER + w * 4 + bytes(a, b, u32);
  if (blob.length !== want) throw new BlobError(`${what}: ${kind} blob is ${blob.length} bytes, its header says ${want}`);
  return { a, b, u32, tail: blob.subarray(HEADER + w * 4) };
}

// ---- TPRE: a split's edges into one partition ----

export interface SplitEdges {
  ids: number;
  idLo: Uint32Array;
  idHi: Uint32Array;
  /** End offset of each id in `idBytes` (each starts where the one before ends). */
  idEnd: Uint32Array;
  edges: number;
  srcLo: Uint32Array;
  srcHi: Uint32Array;
  dst: Uint32Array;
  idBytes: Buffer;
}

/** An empty TPRE blob of this shape, to be filled through the returned arrays. */
export function newSplitEdges(ids: number, edges: number, idBytes: number): { blob: Buffer; parts: SplitEdges } {
  const { blob, u32 } = newBlob(EDGES_MAGIC, ids, edges, 3 * ids + 3 * edges, idBytes);
  return { blob, parts: splitEdgesParts(ids, edges, u32, blob.subarray(HEADER + (3 * ids + 3 * edges) * 4)) };
}

function splitEdgesParts(m: number, e: number, u32: Uint32Array, idBytes: Buffer): SplitEdges {
  return {
    ids: m, idLo: u32.subarray(0, m), idHi: u32.subarray(m, 2 * m), idEnd: u32.subarray(2 * m, 3 * m),
    edges: e, srcLo: u32.subarray(3 * m, 3 * m + e), srcHi: u32.subarray(3 * m + e, 3 * m + 2 * e), dst: u32.subarray(3 * m + 2 * e, 3 * m + 3 * e),
    idBytes,
  };
}

export function decodeSplitEdges(blob: Buffer, what: string): SplitEdges {
  const { a: m, b: e, u32, tail } = open(blob, EDGES_MAGIC, 'split edges', what, (m, e) => 3 * m + 3 * e, (m, _e, u32) => (m === 0 ? 0 : u32[3 * m - 1]));
  const p = splitEdgesParts(m, e, u32, tail);
  for (let i = 0; i < m; i++) {
    if (p.idEnd[i] <= (i === 0 ? 0 : p.idEnd[i - 1])) throw new BlobError(`${what}: split edges blob has an empty or misplaced id ${i}`);
  }
  for (let i = 0; i < e; i++) if (p.dst[i] >= m) throw new BlobError(`${what}: split edges blob has an edge into id ${p.dst[i]} of ${m}`);
  return p;
}

// ---- TPRN: a partition's numbered nodes ----

export interface NumberedNodes {
  n: number;
  lo: Uint32Array;
  hi: Uint32Array;
  /** The ids in local order, UTF-8, '\n'-separated (as the adjacency blob holds them). */
  idBytes: Buffer;
}

export function newNumberedNodes(n: number, idBytes: number): { blob: Buffer; parts: NumberedNodes } {
  const { blob, u32 } = newBlob(NODES_MAGIC, n, idBytes, 2 * n, idBytes);
  return { blob, parts: { n, lo: u32.subarray(0, n), hi: u32.subarray(n, 2 * n), idBytes: blob.subarray(HEADER + 8 * n) } };
}

export function decodeNumberedNodes(blob: Buffer, what: string): NumberedNodes {
  const { a: n, u32, tail } = open(blob, NODES_MAGIC, 'numbered nodes', what, (n) => 2 * n, (_n, b) => b);
  return { n, lo: u32.subarray(0, n), hi: u32.subarray(n, 2 * n), idBytes: tail };
}

// ---- TPRS: in-edges sent to their sources' partition ----

export interface SentEdges {
  edges: number;
  /** Nodes of the sending partition: every dst is below it. */
  width: number;
  srcLo: Uint32Array;
  srcHi: Uint32Array;
  dst: Uint32Array;
}

export function newSentEdges(edges: number, width: number): { blob: Buffer; parts: SentEdges } {
  const { blob, u32 } = newBlob(SENT_MAGIC, edges, width, 3 * edges, 0);
  return { blob, parts: sentParts(edges, width, u32) };
}

const sentParts = (e: number, width: number, u32: Uint32Array): SentEdges => ({
  edges: e, width, srcLo: u32.subarray(0, e), srcHi: u32.subarray(e, 2 * e), dst: u32.subarray(2 * e, 3 * e),
});

export function decodeSentEdges(blob: Buffer, what: string): SentEdges {
  const { a: e, b: width, u32 } = open(blob, SENT_MAGIC, 'sent edges', what, (e) => 3 * e, () => 0);
  const p = sentParts(e, width, u32);
  for (let i = 0; i < e; i++) if (p.dst[i] >= width) throw new BlobError(`${what}: sent edges blob has an edge into node ${p.dst[i]} of ${width}`);
  return p;
}
