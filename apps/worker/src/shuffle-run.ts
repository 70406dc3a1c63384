/**
 * A sender's shuffle blob read as a sorted run (run-merge.ts): ranges of `rangeBytes` fetched as the
 * merge needs them (GETRANGE), cut into blocks (codec.ts's version 2 layout), one block decoded at a
 * time. It holds what it fetched and has not passed yet: at most a range plus the rest of a block
 * (more only when one block is larger than a range), counted in a `HeldBytes` shared by a task's runs.
 */
import { BLOCK_HEADER, CodecError, SHUFFLE_HEADER, decodeShuffleBlock, shuffleBlockLength, shuffleHeader } from '@tandem/shared';
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

  constructor(private readonly fetch: FetchRange, private readonly rangeBytes: number, private readonly held: HeldBytes, private readonly what: string) {}

  async advance(): Promise<boolean> {
    if (this.blocksLeft < 0) {
      await this.need(SHUFFLE_HEADER);
      const h = shuffleHeader(this.window.subarray(this.pos, this.pos + SHUFFLE_HEADER), this.what);
      this.records = h.records;
      this.blocksLeft = h.blocks;
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
      this.keys = d.keys;
      this.values = d.values;
      this.plain = d.plain;
      this.at = 0;
      return true;
    }
    this.keys = [];
    this.values = [];
    this.hold(EMPTY);
    return false;
  }

  /** Makes sure `n` bytes from `pos` are in the window: the unread rest, then one more range (larger when a block needs it). */
  private async need(n: number): Promise<void> {
    const have = this.window.length - this.pos;
    if (have >= n) return;
    const want = Math.max(this.rangeBytes, n - have);
    const more = await this.fetch(this.fetchedBytes, this.fetchedBytes + want);
    if (this.fetchedBytes === 0 && more.length === 0) throw new MissingRunError(this, this.what);
    if (more.length < n - have) throw new CodecError(`${this.what}: cut short at byte ${this.fetchedBytes + more.length}, in the middle of its header or a block`);
    this.fetchedBytes += more.length;
    this.hold(have > 0 ? Buffer.concat([this.window.subarray(this.pos), more]) : more);
  }

  private hold(next: Buffer): void {
    this.held.now += next.length - this.window.length;
    if (this.held.now > this.held.peak) this.held.peak = this.held.now;
    this.window = next;
    this.pos = 0;
  }
}
