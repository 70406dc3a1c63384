import { createHash } from 'node:crypto';
import type { DatasetFormat } from '../job-type.ts';
import { firstInvalidUtf8 } from '../utf8.ts';
import { Chunker, type Cut } from './chunker.ts';
import { type EdgeState, type HeaderMode, type HeaderNote, normalizeEdges } from './edges.ts';
import { dsErr, nulError } from './errors.ts';

export interface IngestOptions {
  name: string;
  format: DatasetFormat;
  splitBytes: number;
  /** An edge list's first row: by the header rule (auto, the default), or always a header (yes) or an edge (no). */
  header?: HeaderMode;
  onProgress?: (bytesRead: number) => void;
}

/** What an upload stored, once its input is read: the metadata's counts and hashes. */
export interface IngestResult {
  bytes: number;
  records: number;
  splits: number;
  splitRecords: number[];
  sha256: string;
  sourceSha256: string;
  /** An edge list's first row, when it was a header or looked like one. */
  firstRow?: HeaderNote;
}

/**
 * One upload's input turned into the bytes of its splits, pure (no Redis): the chunker cuts the
 * input, each cut is checked (no NUL byte, valid UTF-8) and, for an edge list, normalised, and its
 * records are counted. The counts and hashes the metadata needs are this object's state. Input
 * byte offsets and (1-based) line numbers in error messages are those of the input file.
 */
export class Ingest {
  /** Input lines taken so far (all lines, including an edge list's header and empty lines). */
  private lines = 0;
  private records = 0;
  private bytes = 0;
  private bytesRead = 0;
  private readonly splitRecords: number[] = [];
  private readonly hash = createHash('sha256');
  private readonly source = createHash('sha256');
  private readonly edges: EdgeState;
  private readonly chunker: Chunker;
  private lastProgress = 0;

  constructor(private readonly opts: IngestOptions) {
    this.chunker = new Chunker(opts.name, opts.splitBytes, () => this.lines);
    this.edges = { sawRow: false, header: opts.header };
  }

  /** The stored bytes of each split, in order, as the input is read. */
  async *splits(input: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer> {
    const { onProgress, splitBytes } = this.opts;
    for await (const chunk of input) {
      const b = toBuffer(chunk);
      if (b.length === 0) continue;
      this.source.update(b);
      this.bytesRead += b.length;
      for (const cut of this.chunker.push(b)) {
        const data = this.take(cut);
        if (data) yield data;
      }
      if (onProgress && this.bytesRead - this.lastProgress >= splitBytes) {
        this.lastProgress = this.bytesRead;
        onProgress(this.bytesRead);
      }
    }
    const last = this.chunker.end();
    if (last) {
      const data = this.take(last);
      if (data) yield data;
    }
    onProgress?.(this.bytesRead);
  }

  /** The totals, after splits() has run to its end; an input with nothing to store is an error. */
  result(): IngestResult {
    const { name } = this.opts;
    if (this.records === 0) {
      if (this.lines === 0) {
        throw dsErr(name, `: the file is empty (${this.bytesRead === 0 ? '0 bytes' : 'nothing but a byte order mark'})`);
      }
      throw dsErr(name, `: the file has no edges (${this.lines} line${this.lines === 1 ? '' : 's'}: only a header or empty lines)`);
    }
    return {
      bytes: this.bytes,
      records: this.records,
      splits: this.splitRecords.length,
      splitRecords: this.splitRecords,
      sha256: this.hash.digest('hex'),
      sourceSha256: this.source.digest('hex'),
      ...(this.edges.firstRow ? { firstRow: this.edges.firstRow } : {}),
    };
  }

  /** The split one cut becomes, or null when it holds no record (an edge list's header, empty lines). */
  private take({ data: raw, offset, owned }: Cut): Buffer | null {
    const { name } = this.opts;
    const nul = raw.indexOf(0);
    if (nul !== -1) throw nulError(name, this.lines + 1 + countNewlines(raw, 0, nul), offset + nul);
    const bad = firstInvalidUtf8(raw);
    if (bad !== -1) {
      throw dsErr(name, `: line ${this.lines + 1 + countNewlines(raw, 0, bad)} is not valid UTF-8 (byte offset ${offset + bad}); only UTF-8 text is supported`);
    }
    let data = raw;
    let records: number;
    if (this.opts.format === 'text') {
      records = countNewlines(raw);
      this.lines += records;
    } else {
      // A caller's chunk is not ours to overwrite.
      const r = normalizeEdges(name, this.edges, owned ? raw : Buffer.from(raw), this.lines + 1);
      data = r.out;
      records = r.records;
      this.lines += r.lines;
    }
    if (records === 0) return null;
    this.records += records;
    this.bytes += data.length;
    this.splitRecords.push(records);
    this.hash.update(data);
    return data;
  }
}

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
