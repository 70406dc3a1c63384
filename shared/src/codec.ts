/**
 * Encodings of a key/value job's blobs: one blob per (task, partition), never one value per record.
 *
 * - **Shuffle blobs** (a map task's output for one partition, read once by that partition's reduce
 *   task within the job): `encodeShuffle`, binary, version 2: a sorted run, its records in code point
 *   order of their keys, cut into blocks a reader can take one at a time as it reads the blob in
 *   ranges (`ShuffleRunReader`, shuffle-run.ts). Only workers of one Tandem version exchange them, so
 *   the format may change freely: a blob of another version is refused, naming both versions.
 * - **Output blobs** (a reduce task's sorted output, kept for the retention period):
 *   `encodeOutput`/`decodeOutput`. The reader reads every version ever written: version 0 is the
 *   UTF-8 JSON `[keys, lines]` (its first byte is `[`, still written by iterative job types'
 *   output rounds through `encodePairs`), version 1 the binary layout below.
 *
 * Binary layout of an output blob and of a shuffle blob's block (little-endian), after a 24-byte header:
 *
 *     0  magic "TKVO" (output) or "TKVB" (block)   4  version (1; a block 2)   5  value kind   6  0, 0
 *     8  records n (u32)   12  bytes of key lengths (u32)   16  bytes of keys (u32)   20  bytes of values (u32)
 *
 * then the key lengths (n unsigned varints, each a key's length in UTF-16 code units), the keys
 * (concatenated, UTF-8), and the values by kind: 0 JSON (a UTF-8 JSON array), 1 float64 (8n
 * bytes), 2 int32 (n zigzag varints), 3 strings (n varint lengths, then the strings, as keys are).
 * Keys are decoded with one UTF-8 decode of the whole section, then cut: no per-record native call.
 * A string (key, value or line) holding a lone surrogate (not well-formed UTF-16) comes back with
 * U+FFFD in its place, as UTF-8 has no way to hold it.
 *
 * A shuffle blob (version 2) is a 16-byte header, magic "TKVS", version 2, 0, 0, 0, records (u32),
 * blocks (u32), then its blocks back to back, each a block as above (its header gives its length),
 * each of about `blockBytes` (a record larger than that is a block of its own, after the first few). Each block's value
 * kind is its own.
 */
import { allBelowSurrogates } from './order.ts';

export interface Pairs<V> {
  keys: string[];
  values: V[];
}

/** The legacy (output version 0) encoding: UTF-8 JSON of two parallel arrays, keys and values. */
export function encodePairs<V>(keys: string[], values: V[]): Buffer {
  return Buffer.from(JSON.stringify([keys, values]));
}

export function decodePairs<V>(blob: Buffer | string): Pairs<V> {
  const [keys, values] = JSON.parse(typeof blob === 'string' ? blob : blob.toString('utf8')) as [string[], V[]];
  return { keys, values };
}

/** The version of the binary output layout this code writes (it reads 0 and 1). */
export const OUTPUT_CODEC_VERSION = 1;
/** The version of the shuffle layout this code writes and reads (no other). */
export const SHUFFLE_CODEC_VERSION = 2;

const HEADER = 24;
/** A shuffle blob's own header, before its blocks. */
export const SHUFFLE_HEADER = 16;
/** A block's header: enough bytes to know its length (`shuffleBlockLength`). */
export const BLOCK_HEADER = HEADER;
const SHUFFLE_MAGIC = 0x5356_4b54; // "TKVS" read as a little-endian u32
const BLOCK_MAGIC = 0x4256_4b54; // "TKVB"
const OUTPUT_MAGIC = 0x4f56_4b54; // "TKVO"
const enum Kind {
  Json = 0,
  Float64 = 1,
  Int32 = 2,
  Strings = 3,
}

export class CodecError extends Error {}

/** A shuffle blob's records: keys and their values (an array-like: a typed array for numbers). */
export interface ShufflePairs<V> {
  keys: string[];
  values: ArrayLike<V>;
}

function varintBytes(buf: Buffer, at: number, v: number): number {
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' || typeof v === 'undefined' ? `an ${typeof v}` : `a ${typeof v}`);
const shownValue = (v: unknown) => {
  try {
    return String(JSON.stringify(v)).slice(0, 80);
  } catch {
    return String(v).slice(0, 80);
  }
};

/** Which value kind holds these values exactly: int32, float64, strings, else JSON. */
function kindOf(values: readonly unknown[]): Kind {
  if (values.length > 0 && typeof values[0] === 'string') {
    for (let i = 1; i < values.length; i++) if (typeof values[i] !== 'string') return Kind.Json;
    return Kind.Strings;
  }
  let ints = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number') return Kind.Json;
    if (ints && (v | 0) !== v) ints = false;
  }
  return ints ? Kind.Int32 : Kind.Float64;
}

function encode(magic: number, version: number, keys: readonly string[], kind: Kind, values: readonly unknown[]): Buffer {
  const n = keys.length;
  if (values.length !== n) throw new CodecError(`cannot encode ${n} keys with ${values.length} values`);
  const keyText = keys.join('');
  const keyBytes = Buffer.byteLength(keyText);
  let valueText = '';
  let valueBytes: number;
  if (kind === Kind.Json) valueBytes = Buffer.byteLength((valueText = JSON.stringify(values)));
  else if (kind === Kind.Float64) valueBytes = 8 * n;
  else if (kind === Kind.Int32) valueBytes = 5 * n; // at most
  else {
    valueText = (values as string[]).join('');
    valueBytes = 5 * n + Buffer.byteLength(valueText); // at most
  }
  const buf = Buffer.allocUnsafe(HEADER + 5 * n + keyBytes + valueBytes);
  let at = HEADER;
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (typeof k !== 'string') throw new CodecError(`key ${shownValue(k)} is ${typeName(k)}, not a string (keys must be strings)`);
    at = varintBytes(buf, at, k.length);
  }
  const lengthBytes = at - HEADER;
  at += buf.write(keyText, at, 'utf8');
  const valuesAt = at;
  if (kind === Kind.Json) at += buf.write(valueText, at, 'utf8');
  else if (kind === Kind.Float64) for (let i = 0; i < n; i++, at += 8) buf.writeDoubleLE(values[i] as number, at);
  else if (kind === Kind.Int32) {
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      at = varintBytes(buf, at, ((v << 1) ^ (v >> 31)) >>> 0);
    }
  } else {
    const lines = values as readonly string[];
    for (let i = 0; i < n; i++) {
      const l = lines[i];
      if (typeof l !== 'string') throw new CodecError(`the line of key ${JSON.stringify(keys[i])} is ${typeName(l)}, not a string`);
      at = varintBytes(buf, at, l.length);
    }
    at += buf.write(valueText, at, 'utf8');
  }
  buf.writeUInt32LE(magic, 0);
  buf[4] = version;
  buf[5] = kind;
  buf[6] = 0;
  buf[7] = 0;
  buf.writeUInt32LE(n, 8);
  buf.writeUInt32LE(lengthBytes, 12);
  buf.writeUInt32LE(keyBytes, 16);
  buf.writeUInt32LE(at - valuesAt, 20);
  // An upper bound was allocated; a copy returns the slack when it is worth it.
  return at < buf.length - 4096 ? Buffer.from(buf.subarray(0, at)) : buf.subarray(0, at);
}

/** Reads n varint lengths at `at`, then cuts the UTF-8 text that follows them, up to `sectionEnd`, into strings. */
function readStrings(blob: Buffer, at: number, n: number, sectionEnd: number, what: string): { strings: string[]; textAt: number } {
  const lens = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      if (at >= blob.length) throw new CodecError(`${what}: cut short in its lengths`);
      b = blob[at++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    lens[i] = v;
  }
  if (at > sectionEnd) throw new CodecError(`${what}: its lengths run past their section`);
  const text = blob.toString('utf8', at, sectionEnd);
  const strings: string[] = new Array(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const end = pos + lens[i];
    strings[i] = text.slice(pos, end);
    pos = end;
  }
  if (pos !== text.length) throw new CodecError(`${what}: its lengths add up to ${pos} characters, its text has ${text.length}`);
  return { strings, textAt: at };
}

interface Decoded {
  kind: Kind;
  keys: string[];
  values: ArrayLike<unknown>;
}

interface Header {
  kind: Kind;
  n: number;
  lengthBytes: number;
  keyBytes: number;
  valueBytes: number;
}

const wrongVersion = (what: string, found: number, reads: number) =>
  new CodecError(`${what}: written in version ${found} of the format, and this process reads version ${reads} (a process of another Tandem version wrote it: run one version across the cluster)`);

/** A 24-byte header's fields; its version must be `version`. */
function headerAt(blob: Buffer, magic: number, version: number, what: string): Header {
  if (blob.length < HEADER || blob.readUInt32LE(0) !== magic) throw new CodecError(`${what}: not one (it does not start with its magic number)`);
  if (blob[4] !== version) throw wrongVersion(what, blob[4], version);
  return { kind: blob[5] as Kind, n: blob.readUInt32LE(8), lengthBytes: blob.readUInt32LE(12), keyBytes: blob.readUInt32LE(16), valueBytes: blob.readUInt32LE(20) };
}

function header(blob: Buffer, magic: number, what: string, version = OUTPUT_CODEC_VERSION): Header {
  const h = headerAt(blob, magic, version, what);
  if (HEADER + h.lengthBytes + h.keyBytes + h.valueBytes !== blob.length) {
    throw new CodecError(`${what}: ${blob.length} bytes, and its header says ${HEADER + h.lengthBytes + h.keyBytes + h.valueBytes}`);
  }
  return h;
}

function decode(blob: Buffer, magic: number, what: string, version = OUTPUT_CODEC_VERSION): Decoded {
  const { kind, n, lengthBytes, keyBytes, valueBytes } = header(blob, magic, what, version);
  const end = HEADER + lengthBytes + keyBytes;
  const { strings: keys, textAt } = readStrings(blob, HEADER, n, end, what);
  if (textAt !== HEADER + lengthBytes) throw new CodecError(`${what}: its key lengths take other than the ${lengthBytes} bytes its header says`);
  let values: ArrayLike<unknown>;
  if (kind === Kind.Json) {
    values = JSON.parse(blob.toString('utf8', end, end + valueBytes)) as unknown[];
    if (values.length !== n) throw new CodecError(`${what}: ${n} keys and ${values.length} values`);
  } else if (kind === Kind.Float64) {
    if (valueBytes !== 8 * n) throw new CodecError(`${what}: ${valueBytes} bytes of float64 values for ${n} keys`);
    const f = new Float64Array(n);
    for (let i = 0; i < n; i++) f[i] = blob.readDoubleLE(end + 8 * i);
    values = f;
  } else if (kind === Kind.Int32) {
    const v = new Int32Array(n);
    let at = end;
    for (let i = 0; i < n; i++) {
      let u = 0;
      let shift = 0;
      let b: number;
      do {
        if (at >= blob.length) throw new CodecError(`${what}: cut short in its values`);
        b = blob[at++];
        u |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      v[i] = (u >>> 1) ^ -(u & 1);
    }
    values = v;
  } else if (kind === Kind.Strings) {
    values = readStrings(blob, end, n, end + valueBytes, what).strings;
  } else throw new CodecError(`${what}: unknown value kind ${kind}`);
  return { kind, keys, values };
}

/** A shuffle blob's blocks are about this many bytes unless the writer asks otherwise. */
export const SHUFFLE_BLOCK_BYTES = 64 << 10;

/**
 * A map task's records for one partition, a sorted run: `keys` must already be in code point order
 * (compareCodePoints; the reader relies on it, and `decodeShuffleBlock` does not check). Cut into
 * blocks of about `blockBytes`; in each, values that are all int32, all numbers or all strings are
 * stored as such, others as JSON. `unsorted`: keys in any order, in one block, flagged so in the
 * header (byte 5, bit 0): a small partition, which a reduce reads whole and sorts itself.
 */
export function encodeShuffle<V>(keys: readonly string[], values: readonly V[], blockBytes = SHUFFLE_BLOCK_BYTES, unsorted = false): Buffer {
  const n = keys.length;
  if (values.length !== n) throw new CodecError(`cannot encode ${n} keys with ${values.length} values`);
  if (unsorted) blockBytes = Infinity;
  const blocks: Buffer[] = [];
  let total = SHUFFLE_HEADER;
  // Records per block: a few at first, then as many as the last block's bytes per record fit in
  // blockBytes, growing at most 4 times a block (so values that grow do not make one block huge).
  let per = blockBytes === Infinity ? Math.max(1, n) : 8;
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + per);
    const ks = keys.slice(i, end);
    const vs = values.slice(i, end);
    const b = encode(BLOCK_MAGIC, SHUFFLE_CODEC_VERSION, ks, kindOf(vs), vs);
    blocks.push(b);
    total += b.length;
    per = Math.max(1, Math.min(4 * (end - i), Math.floor(((end - i) * blockBytes) / Math.max(1, b.length - HEADER))));
    i = end;
  }
  const head = Buffer.alloc(SHUFFLE_HEADER);
  head.writeUInt32LE(SHUFFLE_MAGIC, 0);
  head[4] = SHUFFLE_CODEC_VERSION;
  if (unsorted) head[5] = 1;
  head.writeUInt32LE(n, 8);
  head.writeUInt32LE(blocks.length, 12);
  return Buffer.concat([head, ...blocks], total);
}

/** A shuffle blob's header: its records and blocks. */
export function shuffleHeader(head: Buffer, what = 'shuffle blob'): { records: number; blocks: number; unsorted: boolean } {
  if (head.length < SHUFFLE_HEADER || head.readUInt32LE(0) !== SHUFFLE_MAGIC) throw new CodecError(`${what}: not one (it does not start with its magic number)`);
  if (head[4] !== SHUFFLE_CODEC_VERSION) throw wrongVersion(what, head[4], SHUFFLE_CODEC_VERSION);
  const blocks = head.readUInt32LE(12);
  const unsorted = (head[5] & 1) === 1;
  if (unsorted && blocks > 1) throw new CodecError(`${what}: flagged unsorted but in ${blocks} blocks (an unsorted blob is one block)`);
  return { records: head.readUInt32LE(8), blocks, unsorted };
}

/** The length of the block whose first BLOCK_HEADER bytes are at `at` (its header included). */
export function shuffleBlockLength(buf: Buffer, at: number, what = 'shuffle blob'): number {
  const h = headerAt(buf.subarray(at, at + HEADER), BLOCK_MAGIC, SHUFFLE_CODEC_VERSION, `${what}: a block`);
  return HEADER + h.lengthBytes + h.keyBytes + h.valueBytes;
}

/**
 * One block's records. `plain`: no key holds a code unit of U+D800 or above, so for these keys
 * UTF-16 order (JavaScript's `<`) is code point order.
 */
export function decodeShuffleBlock<V>(block: Buffer, what = 'shuffle blob'): ShufflePairs<V> & { plain: boolean } {
  const d = decode(block, BLOCK_MAGIC, `${what}: a block`, SHUFFLE_CODEC_VERSION);
  return { keys: d.keys, values: d.values as ArrayLike<V>, plain: allBelowSurrogates(d.keys) };
}

/** A whole shuffle blob's records (verify.ts's comparisons and tests; a reduce task reads blocks as it goes). */
export function decodeShuffle<V>(blob: Buffer): ShufflePairs<V> {
  const { records, blocks } = shuffleHeader(blob);
  const keys: string[] = [];
  const values: V[] = [];
  let at = SHUFFLE_HEADER;
  for (let b = 0; b < blocks; b++) {
    if (at + HEADER > blob.length) throw new CodecError(`shuffle blob: ${blob.length} bytes, cut short in block ${b} of ${blocks}`);
    const len = shuffleBlockLength(blob, at);
    if (at + len > blob.length) throw new CodecError(`shuffle blob: ${blob.length} bytes, cut short in block ${b} of ${blocks}`);
    const d = decodeShuffleBlock<V>(blob.subarray(at, at + len));
    // One block (most blobs): its arrays as they are (a typed array for numbers).
    if (blocks === 1 && at + len === blob.length && d.keys.length === records) return { keys: d.keys, values: d.values };
    for (let i = 0; i < d.keys.length; i++) {
      keys.push(d.keys[i]);
      values.push(d.values[i]);
    }
    at += len;
  }
  if (at !== blob.length) throw new CodecError(`shuffle blob: ${blob.length} bytes, and its blocks end at ${at}`);
  if (keys.length !== records) throw new CodecError(`shuffle blob: its header says ${records} records, its blocks hold ${keys.length}`);
  return { keys, values };
}

/** A reduce task's output: its keys (sorted; one per line, so repeated for a key with several lines) and lines. */
export function encodeOutput(keys: readonly string[], lines: readonly string[]): Buffer {
  return encode(OUTPUT_MAGIC, OUTPUT_CODEC_VERSION, keys, Kind.Strings, lines);
}

/** An output blob of any version: 0 (JSON, its first byte `[`) or 1. */
export function decodeOutput(blob: Buffer): Pairs<string> {
  if (blob.length > 0 && blob[0] === 0x5b) return decodePairs<string>(blob);
  const d = decode(blob, OUTPUT_MAGIC, 'output blob');
  return { keys: d.keys, values: d.values as string[] };
}

/** An output blob's records one at a time, in order: `next()` loads the next into `key` and `line`, false at the end. */
export interface OutputCursor {
  key: string;
  line: string;
  next(): boolean;
}

/** Text decoded a window at a time: this many bytes. */
const WINDOW = 1 << 20;

/**
 * Strings stored as varint lengths (UTF-16 code units) and their UTF-8 text, taken one at a time,
 * the text decoded a window at a time: what it holds is a window's text, not the section's.
 */
class StringReader {
  private pending = '';
  private pos = 0;
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(private blob: Buffer, private lenAt: number, private textAt: number, private readonly textEnd: number, private readonly what: string) {}

  take(): string {
    let len = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.blob[this.lenAt++];
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    while (this.pending.length - this.pos < len) {
      if (this.textAt >= this.textEnd) throw new CodecError(`${this.what}: its text ends before its lengths do`);
      const to = Math.min(this.textEnd, this.textAt + WINDOW);
      const more = this.decoder.decode(this.blob.subarray(this.textAt, to), { stream: to < this.textEnd });
      this.textAt = to;
      this.pending = this.pending.slice(this.pos) + more;
      this.pos = 0;
    }
    const s = this.pending.slice(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

/** Where n varints starting at `at` end. */
function skipVarints(blob: Buffer, at: number, n: number, what: string): number {
  for (let i = 0; i < n; at++) {
    if (at >= blob.length) throw new CodecError(`${what}: cut short in its lengths`);
    if ((blob[at] & 0x80) === 0) i++;
  }
  return at;
}

/**
 * Opens an output blob of any version for reading record by record. Version 1 is decoded as it is
 * read, a window of text at a time (memory: the blob's bytes); version 0 (JSON) is parsed whole.
 */
export function openOutput(blob: Buffer, what = 'output blob'): OutputCursor {
  if (blob.length > 0 && blob[0] === 0x5b) return arrayCursor(decodePairs<string>(blob));
  const h = header(blob, OUTPUT_MAGIC, what);
  if (h.kind !== Kind.Strings) throw new CodecError(`${what}: its values are of kind ${h.kind}, not lines`);
  const valuesAt = HEADER + h.lengthBytes + h.keyBytes;
  const keys = new StringReader(blob, HEADER, HEADER + h.lengthBytes, valuesAt, what);
  const lineTextAt = skipVarints(blob, valuesAt, h.n, what);
  const lines = new StringReader(blob, valuesAt, lineTextAt, blob.length, what);
  let i = 0;
  const c: OutputCursor = {
    key: '',
    line: '',
    next() {
      if (i >= h.n) return false;
      i++;
      c.key = keys.take();
      c.line = lines.take();
      return true;
    },
  };
  return c;
}

/** A cursor over decoded parallel arrays. */
export function arrayCursor(p: { keys: string[]; values: string[] }): OutputCursor {
  let i = 0;
  const c: OutputCursor = {
    key: '',
    line: '',
    next() {
      if (i >= p.keys.length) return false;
      c.key = p.keys[i];
      c.line = p.values[i];
      i++;
      return true;
    },
  };
  return c;
}

/** What kind of blob this is, by its first bytes. */
export function blobKind(blob: Buffer): 'shuffle' | 'output' | 'json' | 'unknown' {
  if (blob.length > 0 && blob[0] === 0x5b) return 'json';
  if (blob.length >= 4 && blob.readUInt32LE(0) === SHUFFLE_MAGIC) return 'shuffle';
  if (blob.length >= 4 && blob.readUInt32LE(0) === OUTPUT_MAGIC) return 'output';
  return 'unknown';
}

/** Any key/value blob (shuffle, or output of any version), for comparing two runs' outputs (verify.ts). */
export function decodeAnyPairs(blob: Buffer): { keys: string[]; values: ArrayLike<unknown> } {
  const kind = blobKind(blob);
  if (kind === 'shuffle') return decodeShuffle(blob);
  return decodeOutput(blob);
}
