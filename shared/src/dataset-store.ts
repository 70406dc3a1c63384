import { isUtf8 } from 'node:buffer';
import { createHash, randomUUID } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Redis } from 'ioredis';
import type { DatasetFormat } from './job-type.ts';
import type { Keys } from './keys.ts';
import { runScript } from './scripts.ts';

export type { DatasetFormat } from './job-type.ts';

/**
 * The dataset store (DESIGN §3). A dataset is a metadata hash at `k.datasetMeta(name)` naming its
 * current version, plus that version's splits at `k.split(name, version, s)`: whole lines, each
 * ending with '\n', about `splitBytes` long. An upload streams its input, cuts it into splits at
 * line boundaries and writes each split as soon as it is cut (with an expiry, so an interrupted
 * upload cleans itself up), then makes the splits permanent and publishes the metadata with one
 * atomic script on the metadata key. Readers therefore see the old version or the new one, never a
 * mix, and a failed upload leaves no trace.
 *
 * Formats:
 * - `text`: records are lines. Stored as is, except that a leading UTF-8 byte order mark is dropped
 *   and a final '\n' is added when the input lacks one. Line endings are not otherwise touched.
 * - `edges`: a CSV edge list `src,dst` (RFC 4180 quoting, e.g. `"a,b",c`). Stored normalized as
 *   `src<TAB>dst\n` lines so workers need no CSV parser; records are edges. Empty lines are skipped;
 *   CRLF line endings are accepted. Ids are taken verbatim (no trimming); an empty id, or an id
 *   containing a TAB, CR or LF, is an error.
 */

export interface DatasetMeta {
  name: string;
  format: DatasetFormat;
  version: string;
  bytes: number;
  records: number;
  splits: number;
  /** Records (lines) in each split, so split s starts at record 1 + sum(splitRecords[0..s-1]). */
  splitRecords: number[];
  /** Target split size used. */
  splitBytes: number;
  /** Of the stored (normalized) bytes. */
  sha256: string;
  /** Of the input as it was uploaded (empty for datasets stored before it was recorded): tells whether a file is already here. */
  sourceSha256: string;
  /** ISO time. */
  created: string;
}

/** Every user-facing problem with a dataset; the message names the dataset (and line / offset). */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

export interface PutOptions {
  name: string;
  format: DatasetFormat;
  replace?: boolean;
  splitBytes: number;
  onProgress?: (bytesRead: number) => void;
}

/**
 * Timings of the upload leak guard. Mutable only so tests can shorten them.
 * - uploadTtlMs: expiry of splits written by an upload that has not been published yet.
 * - refreshMs: how often a long upload refreshes the expiry of the splits it already wrote.
 * - replacedTtlMs: expiry given to the previous version's splits on --replace (running jobs may finish).
 */
export const datasetStoreTuning = {
  uploadTtlMs: 60 * 60 * 1000,
  refreshMs: 10 * 60 * 1000,
  replacedTtlMs: 60 * 60 * 1000,
};

/** Smallest accepted split size (the configured minimum is larger; this only guards nonsense). */
export const MIN_SPLIT_BYTES = 16;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const NL = Buffer.from('\n');

export function validateDatasetName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new DatasetError(
      `invalid dataset name ${JSON.stringify(name)}: use 1 to 128 letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  }
}

const dsErr = (name: string, msg: string) => new DatasetError(`dataset "${name}"${msg}`);
/** The name is taken and the upload did not ask to replace it. */
export class DatasetExistsError extends DatasetError {}

const existsError = (name: string) => new DatasetExistsError(`dataset "${name}" already exists; use --replace`);

// ---------------------------------------------------------------------------------------------
// Split writer: SETs pipelined one ahead, expiry as a leak guard, clean-up on failure.

class SplitWriter {
  readonly keys: string[] = [];
  private inflight: Promise<void> | null = null;
  private error: { e: unknown } | null = null;
  private lastRefresh = Date.now();

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly name: string,
    private readonly version: string,
  ) {}

  /** Waits for the previous write, then starts this one (so at most one split is in flight). */
  async write(data: Buffer): Promise<void> {
    await this.drain();
    const key = this.k.split(this.name, this.version, this.keys.length);
    this.keys.push(key);
    const set = this.redis.set(key, data, 'PX', datasetStoreTuning.uploadTtlMs).then(() => {});
    let p: Promise<unknown> = set;
    if (Date.now() - this.lastRefresh >= datasetStoreTuning.refreshMs) {
      this.lastRefresh = Date.now();
      // Same connection, so these run after the SET above.
      const pipe = this.redis.pipeline();
      for (const k of this.keys) pipe.pexpire(k, datasetStoreTuning.uploadTtlMs);
      p = Promise.all([set, pipe.exec().then(checkPipeline)]);
    }
    this.inflight = p.then(
      () => {},
      (e) => {
        this.error ??= { e };
      },
    );
  }

  async drain(): Promise<void> {
    if (this.inflight) {
      await this.inflight;
      this.inflight = null;
    }
    if (this.error) throw this.error.e;
  }

  async persist(): Promise<void> {
    await this.drain();
    const pipe = this.redis.pipeline();
    for (const k of this.keys) pipe.persist(k);
    const res = checkPipeline(await pipe.exec());
    // PERSIST answers 0 for a key without expiry or a missing key; ours all have an expiry.
    const lost = res.findIndex((r) => r !== 1);
    if (lost >= 0) throw new DatasetError(`dataset "${this.name}": split ${lost} vanished during the upload (expired?)`);
  }

  /** Best effort: deletes everything written (after any write in flight has landed). */
  async discard(): Promise<void> {
    try {
      if (this.inflight) await this.inflight;
    } catch {
      /* already recorded */
    }
    if (this.keys.length === 0) return;
    try {
      await unlinkAll(this.redis, this.keys);
    } catch {
      /* the expiry cleans up what we could not */
    }
  }
}

function checkPipeline(res: [Error | null, unknown][] | null): unknown[] {
  if (!res) throw new Error('Redis pipeline was aborted');
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/** One UNLINK per key (split keys live in different cluster slots), pipelined in batches. */
async function unlinkAll(redis: Redis, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const pipe = redis.pipeline();
    for (const k of keys.slice(i, i + 1000)) pipe.unlink(k);
    checkPipeline(await pipe.exec());
  }
}

async function expireAll(redis: Redis, keys: string[], ms: number): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const pipe = redis.pipeline();
    for (const k of keys.slice(i, i + 1000)) pipe.pexpire(k, ms);
    checkPipeline(await pipe.exec());
  }
}

const versionKeys = (k: Keys, name: string, version: string, splits: number) =>
  Array.from({ length: splits }, (_, s) => k.split(name, version, s));

// ---------------------------------------------------------------------------------------------
// Byte helpers

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`dataset source yielded ${typeof chunk}, expected Buffer or Uint8Array`);
}

/** Number of '\n' bytes in buf[start, end). */
function countNewlines(buf: Buffer, start = 0, end = buf.length): number {
  let n = 0;
  let i = buf.indexOf(10, start);
  while (i !== -1 && i < end) {
    n++;
    i = buf.indexOf(10, i + 1);
  }
  return n;
}

const hasBom = (b: Buffer, pos = 0) => b.length - pos >= 3 && b[pos] === 0xef && b[pos + 1] === 0xbb && b[pos + 2] === 0xbf;

/** Index of the first byte that starts an invalid UTF-8 sequence in b, or -1 (Unicode Table 3-7). */
function firstInvalidUtf8(b: Buffer): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c === 0xe0) (need = 2), (lo = 0xa0);
    else if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) need = 2;
    else if (c === 0xed) (need = 2), (hi = 0x9f);
    else if (c === 0xf0) (need = 3), (lo = 0x90);
    else if (c >= 0xf1 && c <= 0xf3) need = 3;
    else if (c === 0xf4) (need = 3), (hi = 0x8f);
    else return i;
    for (let j = 1; j <= need; j++) {
      if (i + j >= n) return i;
      const d = b[i + j];
      if (j === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Edge lists

const CSV_OPTS = { relax_column_count: true, record_delimiter: '\n' } as const;

interface EdgeState {
  /** A non-empty row was seen (so the header rule no longer applies). */
  sawRow: boolean;
}

const columns = (n: number) => `${n} column${n === 1 ? '' : 's'}`;

/**
 * Fields of one CSV line (no line break in it) in the strict RFC 4180 form, which is what csv-parse
 * accepts with its default options: fields separated by ',', a field either unquoted without any
 * '"', or wholly quoted with '""' standing for '"'. Returns null for anything else (a stray quote,
 * text after a closing quote, an unclosed quote), which then goes to csv-parse for its verdict.
 * csv-parse itself runs at a few MB/s, far too slow for the common case; the tests check that the
 * two agree.
 */
function splitCsvLine(text: string): string[] | null {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === 34) {
      let val = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) return null;
        if (text.charCodeAt(q + 1) === 34) {
          val += text.slice(j, q + 1);
          j = q + 2;
          continue;
        }
        val += text.slice(j, q);
        i = q + 1;
        break;
      }
      out.push(val);
      if (i === n) return out;
      if (text.charCodeAt(i) !== 44) return null;
      i++;
    } else {
      const c = text.indexOf(',', i);
      const f = c === -1 ? text.slice(i) : text.slice(i, c);
      if (f.includes('"')) return null;
      out.push(f);
      if (c === -1) return out;
      i = c + 1;
    }
  }
}

/** Parses one CSV line with csv-parse; throws a DatasetError naming the line when it is not valid CSV. */
function parseCsvLine(name: string, line: number, text: string): string[] {
  let rows: string[][];
  try {
    rows = parseCsv(text, CSV_OPTS) as string[][];
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
      throw dsErr(name, `: line ${line} has a quoted id that is not closed on the same line (ids cannot contain line breaks)`);
    }
    throw dsErr(name, `: line ${line} is not valid CSV: ${err.message.replace(/ at line \d+/, '')}`);
  }
  if (rows.length !== 1) throw dsErr(name, `: line ${line} is not one CSV row`);
  return rows[0];
}

/** The normalized `src\tdst\n` line of one parsed row, or a DatasetError naming the line. */
function edgeLine(name: string, line: number, row: string[]): string {
  if (row.length !== 2) throw dsErr(name, `: line ${line} has ${columns(row.length)}, expected 2 (src,dst)`);
  const [src, dst] = row;
  if (src === '') throw dsErr(name, `: line ${line} has an empty src id`);
  if (dst === '') throw dsErr(name, `: line ${line} has an empty dst id`);
  for (const id of row) {
    if (id.includes('\t')) throw dsErr(name, `: line ${line}: id ${JSON.stringify(id)} contains a TAB, which ids cannot contain`);
    if (/[\r\n]/.test(id)) throw dsErr(name, `: line ${line}: id ${JSON.stringify(id)} contains a line break, which ids cannot contain`);
  }
  return `${src}\t${dst}\n`;
}

/**
 * The header rule: the first non-empty row is a header, and is skipped, exactly when it has two
 * fields that are `src` and `dst` after trimming spaces, in any letter case (`src,dst`, `SRC, DST`,
 * `"src","dst"`). Any other first row is an edge.
 */
function isHeader(text: string): boolean {
  let fields = splitCsvLine(text);
  if (!fields) {
    try {
      const rows = parseCsv(text, CSV_OPTS) as string[][];
      if (rows.length !== 1) return false;
      fields = rows[0];
    } catch {
      return false;
    }
  }
  return fields.length === 2 && fields[0].trim().toLowerCase() === 'src' && fields[1].trim().toLowerCase() === 'dst';
}

/**
 * Normalizes a chunk of whole CSV lines (ending with '\n', valid UTF-8, no NUL) to `src\tdst\n`,
 * in place: buf is overwritten and the result is a prefix of it.
 * Lines without a quote, nearly all of them in practice, go through a byte loop that validates them
 * and rewrites the comma in place, since for them CSV is exactly "split at the one comma"; runs of
 * such lines are then moved as a whole. Lines with a quote are parsed one by one
 * (splitCsvLine, csv-parse for anything irregular). Errors name the first bad line.
 */
function normalizeEdges(
  name: string,
  st: EdgeState,
  buf: Buffer,
  firstLine: number,
): { out: Buffer; records: number; lines: number } {
  const n = buf.length;
  // The output is compacted in place into buf[0, w): a line's output is never longer than the
  // line, so w never passes the line being read. Runs of kept plain lines [runStart, runEnd) are
  // moved down in one copy when the run ends.
  let w = 0;
  let runStart = 0;
  let runEnd = 0;
  const flushRun = () => {
    if (runEnd > runStart) {
      if (w !== runStart) buf.copyWithin(w, runStart, runEnd);
      w += runEnd - runStart;
    }
    runStart = runEnd;
  };
  let records = 0;
  let line = firstLine;
  let lineStart = 0;
  let commas = 0;
  let comma = -1;
  let crs = 0;
  let quote = false;
  let tab = false;
  const fail = (msg: string): never => {
    throw dsErr(name, `: line ${line} ${msg}`);
  };

  for (let i = 0; i < n; i++) {
    const b = buf[i];
    if (b > 44) continue;
    if (b === 44) {
      if (commas++ === 0) comma = i;
      continue;
    }
    if (b === 34) {
      quote = true;
      continue;
    }
    if (b === 9) {
      tab = true;
      continue;
    }
    if (b === 13) {
      crs++;
      continue;
    }
    if (b !== 10) continue;
    // The line is [lineStart, end); a CR right before the '\n' is a CRLF line ending.
    let end = i;
    if (crs > 0 && i > lineStart && buf[i - 1] === 13) {
      end = i - 1;
      crs--;
    }
    const first = !st.sawRow && end > lineStart;
    if (first) st.sawRow = true;
    if (end === lineStart) {
      // empty line: skipped
    } else if (first && isHeader(buf.toString('utf8', lineStart, end))) {
      // header: skipped
    } else if (quote) {
      const text = buf.toString('utf8', lineStart, end);
      const e = edgeLine(name, line, splitCsvLine(text) ?? parseCsvLine(name, line, text));
      flushRun();
      w += buf.write(e, w, 'utf8');
      records++;
    } else if (crs > 0) {
      fail('contains a carriage return inside an id (ids cannot contain line breaks)');
    } else if (tab) {
      fail('contains a TAB, which ids cannot contain');
    } else if (commas !== 1) {
      fail(`has ${columns(commas + 1)}, expected 2 (src,dst)`);
    } else if (comma === lineStart) {
      fail('has an empty src id');
    } else if (comma === end - 1) {
      fail('has an empty dst id');
    } else {
      buf[comma] = 9;
      let keptEnd = i + 1;
      if (end !== i) {
        buf[end] = 10; // CRLF -> LF: keep [lineStart, end], drop the original '\n'
        keptEnd = end + 1;
      }
      if (lineStart === runEnd) runEnd = keptEnd;
      else {
        flushRun();
        runStart = lineStart;
        runEnd = keptEnd;
      }
      records++;
    }
    line++;
    lineStart = i + 1;
    commas = 0;
    crs = 0;
    quote = false;
    tab = false;
  }
  flushRun();
  return { out: buf.subarray(0, w), records, lines: line - firstLine };
}

// ---------------------------------------------------------------------------------------------
// Upload

/**
 * Checks and stores the splits of one upload, in order. Input byte offsets and line numbers are
 * of the input file (1-based lines), for error messages.
 */
class Ingest {
  /** Input lines consumed so far (all lines, including an edge list's header and empty lines). */
  lines = 0;
  records = 0;
  bytes = 0;
  readonly splitRecords: number[] = [];
  readonly hash = createHash('sha256');
  private readonly edges: EdgeState = { sawRow: false };

  constructor(
    private readonly name: string,
    private readonly format: DatasetFormat,
    private readonly writer: SplitWriter,
  ) {}

  /**
   * raw: whole lines, ending with '\n'; offset: input byte offset of raw[0]; owned: raw is memory
   * of ours (not the caller's chunk), which edge normalization may overwrite.
   */
  async add(raw: Buffer, offset: number, owned: boolean): Promise<void> {
    const nul = raw.indexOf(0);
    if (nul !== -1) {
      throw dsErr(
        this.name,
        `: line ${this.lines + 1 + countNewlines(raw, 0, nul)} contains a NUL byte (byte offset ${offset + nul}); this looks like a binary file, only UTF-8 text is supported`,
      );
    }
    if (!isUtf8(raw)) this.failUtf8(raw, offset);
    let data = raw;
    let records: number;
    if (this.format === 'text') {
      records = countNewlines(raw);
      this.lines += records;
    } else {
      const r = normalizeEdges(this.name, this.edges, owned ? raw : Buffer.from(raw), this.lines + 1);
      data = r.out;
      records = r.records;
      this.lines += r.lines;
    }
    if (records === 0) return;
    this.records += records;
    this.bytes += data.length;
    this.splitRecords.push(records);
    this.hash.update(data);
    await this.writer.write(data);
  }

  private failUtf8(raw: Buffer, offset: number): never {
    let start = 0;
    let line = this.lines + 1;
    while (start < raw.length) {
      let end = raw.indexOf(10, start);
      if (end === -1) end = raw.length;
      const bad = firstInvalidUtf8(raw.subarray(start, end));
      if (bad !== -1) {
        throw dsErr(this.name, `: line ${line} is not valid UTF-8 (byte offset ${offset + start + bad}); only UTF-8 text is supported`);
      }
      start = end + 1;
      line++;
    }
    throw dsErr(this.name, `: not valid UTF-8 near byte offset ${offset}`);
  }
}

export async function putDataset(
  redis: Redis,
  k: Keys,
  input: AsyncIterable<Buffer | Uint8Array>,
  opts: PutOptions,
): Promise<DatasetMeta> {
  const { name, format, splitBytes } = opts;
  validateDatasetName(name);
  if (format !== 'text' && format !== 'edges') {
    throw dsErr(name, `: unknown format ${JSON.stringify(format)} (expected text or edges)`);
  }
  if (!Number.isSafeInteger(splitBytes) || splitBytes < MIN_SPLIT_BYTES) {
    throw dsErr(name, `: split size must be an integer of at least ${MIN_SPLIT_BYTES} bytes, got ${splitBytes}`);
  }
  const metaKey = k.datasetMeta(name);
  if (!opts.replace && (await redis.exists(metaKey))) throw existsError(name);

  const version = randomUUID().replaceAll('-', '');
  const source = createHash('sha256');
  const writer = new SplitWriter(redis, k, name, version);
  const ing = new Ingest(name, format, writer);
  let published = false;
  let old: { version: string; splits: number } | null = null;
  let meta: DatasetMeta;
  try {
    let bytesRead = 0;
    let lastProgress = 0;
    // Unconsumed input: pend holds pendLen bytes starting at input offset pendOff; pendOwned when
    // it is a single buffer of ours (the rest of a concatenation) rather than a caller's chunk.
    let pend: Buffer[] = [];
    let pendOwned = false;
    let pendLen = 0;
    let pendOff = 0;
    let bomChecked = false;
    // Set once a line longer than splitBytes is found: the rest of that line is only measured.
    let long: { line: number; offset: number; length: number } | null = null;
    const tooLong = (l: { line: number; offset: number; length: number }) =>
      dsErr(
        name,
        `: line ${l.line} is ${l.length} bytes long (starting at byte offset ${l.offset}), longer than the split size of ${splitBytes} bytes; lines are never cut, so use a larger split size or check that this is a line-oriented text file`,
      );

    for await (const chunk of input) {
      const b = toBuffer(chunk);
      if (b.length === 0) continue;
      source.update(b);
      bytesRead += b.length;
      if (long) {
        const nl = b.indexOf(10);
        if (nl !== -1) {
          long.length += nl;
          throw tooLong(long);
        }
        long.length += b.length;
        continue;
      }
      if (pend.length === 0) pendOwned = false;
      pend.push(b);
      pendLen += b.length;
      if (pendLen > splitBytes) {
        const owned: boolean = pend.length > 1 || pendOwned;
        const buf = pend.length === 1 ? pend[0] : Buffer.concat(pend, pendLen);
        pend = [];
        let pos = 0;
        if (!bomChecked) {
          bomChecked = true;
          if (hasBom(buf)) pos = 3;
        }
        // Cut the largest run of whole lines that fits in splitBytes (one line of exactly
        // splitBytes bytes plus its '\n' is allowed too).
        while (buf.length - pos > splitBytes) {
          let cut = buf.lastIndexOf(10, pos + splitBytes - 1);
          if (cut < pos) {
            if (buf[pos + splitBytes] === 10) cut = pos + splitBytes;
            else {
              const nul = buf.indexOf(0, pos);
              if (nul !== -1 && nul <= pos + splitBytes) {
                throw dsErr(
                  name,
                  `: line ${ing.lines + 1} contains a NUL byte (byte offset ${pendOff + nul}); this looks like a binary file, only UTF-8 text is supported`,
                );
              }
              const nl = buf.indexOf(10, pos);
              const l = { line: ing.lines + 1, offset: pendOff + pos, length: (nl === -1 ? buf.length : nl) - pos };
              if (nl !== -1) throw tooLong(l);
              long = l;
              pos = buf.length;
              break;
            }
          }
          await ing.add(buf.subarray(pos, cut + 1), pendOff + pos, owned);
          pos = cut + 1;
        }
        pendOff += pos;
        pendLen = buf.length - pos;
        if (pendLen > 0) pend.push(buf.subarray(pos));
        pendOwned = owned;
      }
      if (opts.onProgress && bytesRead - lastProgress >= splitBytes) {
        lastProgress = bytesRead;
        opts.onProgress(bytesRead);
      }
    }
    if (long) throw tooLong(long);
    if (pendLen > 0) {
      let owned = pend.length > 1 || pendOwned;
      const buf = pend.length === 1 ? pend[0] : Buffer.concat(pend, pendLen);
      let last = !bomChecked && hasBom(buf) ? buf.subarray(3) : buf;
      const off = pendOff + (buf.length - last.length);
      if (last.length > 0) {
        if (last[last.length - 1] !== 10) {
          last = Buffer.concat([last, NL]);
          owned = true;
        }
        await ing.add(last, off, owned);
      }
    }
    opts.onProgress?.(bytesRead);

    if (ing.records === 0) {
      if (ing.lines === 0) {
        throw dsErr(name, `: the file is empty (${bytesRead === 0 ? '0 bytes' : 'nothing but a byte order mark'})`);
      }
      throw dsErr(name, `: the file has no edges (${ing.lines} line${ing.lines === 1 ? '' : 's'}: only a header or empty lines)`);
    }
    await writer.persist();
    meta = {
      name,
      format,
      version,
      bytes: ing.bytes,
      records: ing.records,
      splits: ing.splitRecords.length,
      splitRecords: ing.splitRecords,
      splitBytes,
      sha256: ing.hash.digest('hex'),
      sourceSha256: source.digest('hex'),
      created: new Date().toISOString(),
    };
    const res = (await runScript(redis, 'publish-dataset', [metaKey, k.datasetIndex()], [opts.replace ? '1' : '0', name, ...metaFields(meta)])) as string[];
    if (res[0] === 'exists') throw existsError(name);
    published = true;
    if (res[1]) old = { version: res[1], splits: Number(res[2]) || 0 };
  } catch (err) {
    if (!published) await writer.discard();
    throw err;
  }
  if (old && old.version !== version) {
    // Jobs still reading the old version may finish; the splits go away on their own.
    try {
      await expireAll(redis, versionKeys(k, name, old.version, old.splits), datasetStoreTuning.replacedTtlMs);
    } catch {
      /* published already; the old splits merely stay until removed by hand */
    }
  }
  return meta;
}

function metaFields(m: DatasetMeta): string[] {
  return [
    'name', m.name,
    'format', m.format,
    'version', m.version,
    'bytes', String(m.bytes),
    'records', String(m.records),
    'splits', String(m.splits),
    'splitRecords', JSON.stringify(m.splitRecords),
    'splitBytes', String(m.splitBytes),
    'sha256', m.sha256,
    'sourceSha256', m.sourceSha256,
    'created', m.created,
  ];
}

function parseMeta(h: Record<string, string>): DatasetMeta | null {
  if (!h || !h.version) return null;
  return {
    name: h.name,
    format: h.format as DatasetFormat,
    version: h.version,
    bytes: Number(h.bytes),
    records: Number(h.records),
    splits: Number(h.splits),
    splitRecords: JSON.parse(h.splitRecords ?? '[]') as number[],
    splitBytes: Number(h.splitBytes),
    sha256: h.sha256,
    sourceSha256: h.sourceSha256 ?? '',
    created: h.created,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading

export async function getDataset(redis: Redis, k: Keys, name: string): Promise<DatasetMeta | null> {
  validateDatasetName(name);
  return parseMeta(await redis.hgetall(k.datasetMeta(name)));
}

export async function requireDataset(redis: Redis, k: Keys, name: string): Promise<DatasetMeta> {
  const meta = await getDataset(redis, k, name);
  if (meta) return meta;
  const names = (await redis.smembers(k.datasetIndex())).sort();
  let hint: string;
  if (names.length === 0) hint = ' (there are no datasets yet)';
  else if (names.length <= 10) hint = ` (datasets: ${names.join(', ')})`;
  else hint = ` (${names.length} datasets exist; see "tandem dataset ls")`;
  throw new DatasetError(`dataset "${name}" does not exist${hint}`);
}

export async function listDatasets(redis: Redis, k: Keys): Promise<DatasetMeta[]> {
  const names = await redis.smembers(k.datasetIndex());
  if (names.length === 0) return [];
  const pipe = redis.pipeline();
  for (const n of names) pipe.hgetall(k.datasetMeta(n));
  const res = checkPipeline(await pipe.exec()) as Record<string, string>[];
  return res
    .map(parseMeta)
    .filter((m): m is DatasetMeta => m !== null)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Removes the dataset and deletes its splits at once. Returns false if it did not exist. */
export async function removeDataset(redis: Redis, k: Keys, name: string): Promise<boolean> {
  validateDatasetName(name);
  const res = (await runScript(redis, 'remove-dataset', [k.datasetMeta(name), k.datasetIndex()], [name])) as string[];
  if (res.length === 0) return false;
  await unlinkAll(redis, versionKeys(k, name, res[0], Number(res[1]) || 0));
  return true;
}

function checkSplitIndex(meta: DatasetMeta, s: number): void {
  if (!Number.isInteger(s) || s < 0 || s >= meta.splits) {
    throw new DatasetError(`dataset "${meta.name}" has ${meta.splits} splits; there is no split ${s}`);
  }
}

const missingSplit = (meta: DatasetMeta, s: number) =>
  new DatasetError(
    `dataset "${meta.name}": split ${s} of version ${meta.version} is gone (the dataset was replaced or removed)`,
  );

export async function readSplit(redis: Redis, k: Keys, meta: DatasetMeta, s: number): Promise<Buffer> {
  checkSplitIndex(meta, s);
  const buf = await redis.getBuffer(k.split(meta.name, meta.version, s));
  if (!buf) throw missingSplit(meta, s);
  return buf;
}

/** 1-based number, in the whole dataset, of split s's first record. */
/** The 1-based number of each split's first record (a map task's `firstRecord`). */
export function splitFirstRecords(meta: DatasetMeta): number[] {
  const first: number[] = [];
  let next = 1;
  for (const n of meta.splitRecords) {
    first.push(next);
    next += n;
  }
  return first;
}

/** The first n lines (records), without their '\n'. Reads only as much of each split as needed. */
export async function headDataset(redis: Redis, k: Keys, meta: DatasetMeta, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let s = 0; s < meta.splits && out.length < n; s++) {
    const key = k.split(meta.name, meta.version, s);
    for (let window = 64 * 1024; ; window *= 8) {
      const buf = await redis.getrangeBuffer(key, 0, window - 1);
      if (buf.length === 0) throw missingSplit(meta, s);
      const whole = buf.length < window;
      const end = whole ? buf.length : buf.lastIndexOf(10) + 1;
      const lines = buf.toString('utf8', 0, end).split('\n');
      lines.pop(); // after the last '\n'
      if (whole || lines.length >= n - out.length) {
        out.push(...lines.slice(0, n - out.length));
        break;
      }
    }
  }
  return out;
}

/** The key of a dataset version's split, for the workers, which read it as ranges (bulk.ts). */
export const splitKey = (k: Keys, dataset: { name: string; version: string }, index: number): string => k.split(dataset.name, dataset.version, index);
