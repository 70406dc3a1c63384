/**
 * A sender's shuffle blob read as a sorted run (run-merge.ts): ranges of `rangeBytes` fetched as the
 * merge needs them (GETRANGE), cut into blocks (codec.ts's version 2 layout), one block decoded at a
 * time. The next range is asked for as soon as one arrives, so the merge rarely waits on Redis. It
 * holds what it fetched and has not passed yet: the range being read, the rest of the block before
 * it and the range asked for next, about two ranges (more only when one block is larger than a
 * range), counted in a `HeldBytes` shared by a task's runs (the range asked for from when it is asked).
 */
import { BLOCK_HEADER, CodecError, compareCodePoints, SHUFFLE_HEADER, decodeShuffleBlock, shuffleBlockLength, shuffleHeader } from '@tandem/shared';
import type { SortedRun } from './run-merge.ts';

/** The bytes a task's readers hold now, and the most they held at once. */
export interface HeldBytes {
  now: number;
  peak: number;
}

/** Bytes [from, to) of the blob: fewer at its end, none when it is missing. */
export type FetchRange = (from: number, to: number) => Promise<Buffer>;

/** The blob is not there at all (its first range came back empty: a shuffle blob always has a header). */
export class MissingRunError extends Error {
  constructor(readonly run: SortedRun<unknown>, what: string) {
    super(`${what} is missing`);
  }
}

const EMPTY = Buffer.alloc(0);

export class ShuffleRunReader<V> implements SortedRun<V> {
  keys: string[] = [];
  values: ArrayLike<V> = [];
  plain = true;
  at = 0;
  /** Records the header announced; bytes fetched in all. */
  records = 0;
  fetchedBytes = 0;
  private window: Buffer = EMPTY;
  private pos = 0;
  private blocksLeft = -1;
  /** The blob is one block in any key order (a small partition: codec.ts's `unsorted`). */
  private unsorted = false;
  /** The next byte to ask for; whether a reply came back short (the blob's end). */
  private next = 0;
  private ended = false;
  /** The range asked for ahead, and the bytes it was asked for (counted as held). */
  private ahead: Promise<Buffer> | null = null;
  private aheadBytes = 0;

  constructor(private readonly fetch: FetchRange, private readonly rangeBytes: number, private readonly held: HeldBytes, private readonly what: string) {}

  async advance(): Promise<boolean> {
    if (this.blocksLeft < 0) {
      await this.need(SHUFFLE_HEADER);
      const h = shuffleHeader(this.window.subarray(this.pos, this.pos + SHUFFLE_HEADER), this.what);
      this.records = h.records;
      this.blocksLeft = h.blocks;
      this.unsorted = h.unsorted;
      this.pos += SHUFFLE_HEADER;
    }
    while (this.blocksLeft > 0) {
      await this.need(BLOCK_HEADER);
      const len = shuffleBlockLength(this.window, this.pos, this.what);
      await this.need(len);
      const d = decodeShuffleBlock<V>(this.window.subarray(this.pos, this.pos + len), this.what);
      this.pos += len;
      this.blocksLeft--;
      if (d.keys.length === 0) continue;
      if (this.unsorted) {
        // A small partition the map task left unsorted (one block): sorted here, as a permutation.
        const order = Array.from(d.keys, (_, i) => i).sort((a, b) => compareCodePoints(d.keys[a], d.keys[b]));
        this.keys = order.map((i) => d.keys[i]);
        this.values = order.map((i) => d.values[i]);
      } else {
        this.keys = d.keys;
        this.values = d.values;
      }
      this.plain = d.plain;
      this.at = 0;
      return true;
    }
    this.keys = [];
    this.values = [];
    this.ahead = null;
    this.count(-this.aheadBytes);
    this.aheadBytes = 0;
    this.hold(EMPTY);
    return false;
  }

  /** Asks for `bytes` more bytes, counted as held from now. */
  private ask(bytes: number): Promise<Buffer> {
    const p = this.fetch(this.next, this.next + bytes);
    this.next += bytes;
    this.count(bytes);
    return p;
  }

  /** Makes sure `n` bytes from `pos` are in the window: the unread rest, then the range asked for ahead, or one more (larger when a block needs it). */
  private async need(n: number): Promise<void> {
    while (this.window.length - this.pos < n) {
      const have = this.window.length - this.pos;
      if (this.ended) throw new CodecError(`${this.what}: cut short at byte ${this.fetchedBytes}, in the middle of its header or a block`);
      let asked: number;
      let reply: Promise<Buffer>;
      if (this.ahead) {
        reply = this.ahead;
        asked = this.aheadBytes;
        this.ahead = null;
        this.aheadBytes = 0;
      } else {
        asked = Math.max(this.rangeBytes, n - have);
        reply = this.ask(asked);
      }
      const more = await reply;
      this.count(-asked);
      if (this.fetchedBytes === 0 && more.length === 0) throw new MissingRunError(this, this.what);
      this.fetchedBytes += more.length;
      this.hold(have > 0 ? Buffer.concat([this.window.subarray(this.pos), more]) : more);
      if (more.length < asked) this.ended = true;
      else {
        this.aheadBytes = this.rangeBytes;
        this.ahead = this.ask(this.rangeBytes);
        // Awaited when needed; a run that ends first drops it, and its error with it.
        this.ahead.catch(() => {});
      }
    }
  }

  private count(bytes: number): void {
    this.held.now += bytes;
    if (this.held.now > this.held.peak) this.held.peak = this.held.now;
  }

  private hold(next: Buffer): void {
    this.count(next.length - this.window.length);
    this.window = next;
    this.pos = 0;
  }
}
