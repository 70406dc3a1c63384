import { dsErr, nulError } from './errors.ts';

/**
 * Cuts an upload's input into splits, without I/O: it takes the input's chunks as they come and
 * cuts runs of whole lines of at most `splitBytes` from them, greedily (each cut is the longest run
 * of lines that fits), so the cuts depend on the bytes alone, never on how they were chunked. A leading UTF-8 byte order
 * mark is dropped and a final '\n' added when the input lacks one; nothing else is changed. Lines
 * are never cut: a line longer than `splitBytes` is an error, and once one is found the rest of it
 * is only measured, so the message can tell its length.
 *
 * It counts no lines: whoever takes the cuts does, in the pass over every byte it makes anyway
 * (a text split's record count, the edge normaliser), and tells the chunker through `linesTaken`
 * for its messages. Counting here as well would add a second pass over an edge list, about half
 * the normaliser's own time.
 */

/** A run of whole input lines, the last ending with '\n'. */
export interface Cut {
  data: Buffer;
  /** Input byte offset of data[0] (for error messages). */
  offset: number;
  /** data is memory of ours, not a caller's chunk, so the taker may overwrite it in place. */
  owned: boolean;
}

interface LongLine {
  line: number;
  offset: number;
  length: number;
}

const NL = Buffer.from('\n');
const hasBom = (b: Buffer) => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

export class Chunker {
  // Unconsumed input: pend holds pendLen bytes starting at input offset pendOff; pendOwned when
  // it is a single buffer of ours (the rest of a concatenation) rather than a caller's chunk.
  private pend: Buffer[] = [];
  private pendOwned = false;
  private pendLen = 0;
  private pendOff = 0;
  private bomChecked = false;
  /** Set once a line longer than splitBytes is found: the rest of that line is only measured. */
  private long: LongLine | null = null;

  constructor(
    private readonly name: string,
    private readonly splitBytes: number,
    /** Lines in the cuts taken so far. */
    private readonly linesTaken: () => number,
  ) {}

  /**
   * The cuts that chunk b completes, lazily: the caller takes each before the next is looked for,
   * so a bad line in an earlier cut is reported before a long line after it.
   */
  *push(b: Buffer): Generator<Cut> {
    if (this.long) {
      const nl = b.indexOf(10);
      if (nl !== -1) {
        this.long.length += nl;
        throw this.tooLong(this.long);
      }
      this.long.length += b.length;
      return;
    }
    if (this.pend.length === 0) this.pendOwned = false;
    this.pend.push(b);
    this.pendLen += b.length;
    if (this.pendLen <= this.splitBytes) return;
    const owned = this.pend.length > 1 || this.pendOwned;
    const buf = this.pend.length === 1 ? this.pend[0] : Buffer.concat(this.pend, this.pendLen);
    this.pend = [];
    let pos = 0;
    if (!this.bomChecked) {
      this.bomChecked = true;
      if (hasBom(buf)) pos = 3;
    }
    // One line of exactly splitBytes bytes plus its '\n' is allowed too.
    while (buf.length - pos > this.splitBytes) {
      let cut = buf.lastIndexOf(10, pos + this.splitBytes - 1);
      if (cut < pos) {
        if (buf[pos + this.splitBytes] !== 10) {
          this.startLongLine(buf, pos);
          pos = buf.length;
          break;
        }
        cut = pos + this.splitBytes;
      }
      yield { data: buf.subarray(pos, cut + 1), offset: this.pendOff + pos, owned };
      pos = cut + 1;
    }
    this.pendOff += pos;
    this.pendLen = buf.length - pos;
    if (this.pendLen > 0) this.pend.push(buf.subarray(pos));
    this.pendOwned = owned;
  }

  /** The last cut, once the input has ended (null if nothing is left). */
  end(): Cut | null {
    if (this.long) throw this.tooLong(this.long);
    if (this.pendLen === 0) return null;
    let owned = this.pend.length > 1 || this.pendOwned;
    const buf = this.pend.length === 1 ? this.pend[0] : Buffer.concat(this.pend, this.pendLen);
    let last = !this.bomChecked && hasBom(buf) ? buf.subarray(3) : buf;
    const offset = this.pendOff + (buf.length - last.length);
    if (last.length === 0) return null;
    if (last[last.length - 1] !== 10) {
      last = Buffer.concat([last, NL]);
      owned = true;
    }
    return { data: last, offset, owned };
  }

  /**
   * No '\n' within splitBytes of pos: the line there is too long. Throws when its end is in buf,
   * else remembers it. A NUL byte in reach says "binary file", the likelier truth.
   */
  private startLongLine(buf: Buffer, pos: number): void {
    const line = this.linesTaken() + 1;
    const nul = buf.indexOf(0, pos);
    if (nul !== -1 && nul <= pos + this.splitBytes) throw nulError(this.name, line, this.pendOff + nul);
    const nl = buf.indexOf(10, pos);
    const l = { line, offset: this.pendOff + pos, length: (nl === -1 ? buf.length : nl) - pos };
    if (nl !== -1) throw this.tooLong(l);
    this.long = l;
  }

  private tooLong(l: LongLine) {
    return dsErr(
      this.name,
      `: line ${l.line} is ${l.length} bytes long (starting at byte offset ${l.offset}), longer than the split size of ${this.splitBytes} bytes; lines are never cut, so use a larger split size or check that this is a line-oriented text file`,
    );
  }
}
