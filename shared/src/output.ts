/**
 * A job's final output: R reduce outputs, each sorted by key, merged into one sorted stream of lines.
 * Each reduce output blob holds the partition's keys and formatted lines (codec.ts's output codec,
 * any version); job-data.ts reads them.
 */
import { createWriteStream, openSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { RedisConnection } from './redis.ts';
import { arrayCursor, openOutput, type OutputCursor } from './codec.ts';
import { getJobValues, jobDataIO, roundOutput } from './job-data.ts';
import type { Keys } from './keys.ts';
import { compareCodePoints } from './order.ts';

export interface OutputRef {
  jobId: string;
  round: number;
  partitions: number;
}

export class OutputMissingError extends Error {}

/**
 * Opens every partition's output for reading record by record (codec.ts's openOutput: the blob's
 * bytes are held, its text decoded as it is read). One partition at a time: the first missing one
 * ends the read. A cursor's error names the job and the partition.
 */
async function openPartitions(redis: RedisConnection, k: Keys, ref: OutputRef): Promise<OutputCursor[]> {
  const parts: OutputCursor[] = [];
  for (let r = 0; r < ref.partitions; r++) {
    const [blob] = await getJobValues(jobDataIO(redis, k), ref.jobId, [roundOutput(ref.round, r)]);
    if (!blob) throw new OutputMissingError(`job ${ref.jobId}: output of reduce partition ${r} is missing (job not done, or removed)`);
    const where = `job ${ref.jobId}: output of reduce partition ${r} cannot be read`;
    let c: OutputCursor;
    try {
      c = openOutput(blob);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
    const cursor: OutputCursor = {
      key: '',
      line: '',
      next() {
        let more: boolean;
        try {
          more = c.next();
        } catch (err) {
          throw new Error(`${where}: ${(err as Error).message}`);
        }
        cursor.key = c.key;
        cursor.line = c.line;
        return more;
      },
    };
    parts.push(cursor);
  }
  return parts;
}

/** Merges the sorted partitions; calls emit for each line in key order. */
export function mergeSorted(parts: { keys: string[]; values: string[] }[], emit: (line: string) => void): void {
  for (const line of mergedLines(parts)) emit(line);
}

/** The sorted partitions' lines in key order (ties: the lower partition first), one at a time. */
export function mergedLines(parts: { keys: string[]; values: string[] }[]): Generator<string> {
  return mergeCursors(parts.map(arrayCursor));
}

/** The lines of sorted cursors (one per partition) in key order, ties to the lower partition, one at a time. */
export function* mergeCursors(cursors: OutputCursor[]): Generator<string> {
  // A binary heap of partitions ordered by their cursor's current key.
  const heap: number[] = [];
  const less = (a: number, b: number) => {
    const d = compareCodePoints(cursors[a].key, cursors[b].key);
    return d < 0 || (d === 0 && a < b);
  };
  const down = (j: number) => {
    for (;;) {
      const l = 2 * j + 1;
      const r = l + 1;
      let m = j;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === j) return;
      [heap[j], heap[m]] = [heap[m], heap[j]];
      j = m;
    }
  };
  cursors.forEach((c, p) => {
    if (!c.next()) return;
    heap.push(p);
    for (let j = heap.length - 1; j > 0 && less(heap[j], heap[(j - 1) >> 1]); j = (j - 1) >> 1) {
      [heap[j], heap[(j - 1) >> 1]] = [heap[(j - 1) >> 1], heap[j]];
    }
  });
  while (heap.length > 0) {
    const p = heap[0];
    yield cursors[p].line;
    if (!cursors[p].next()) {
      const last = heap.pop()!;
      if (heap.length === 0) return;
      heap[0] = last;
    }
    down(0);
  }
}

/**
 * A finished job's output lines in key order, without their '\n' (the partitions are read first, as
 * for writeOutput; the lines are then merged as they are taken).
 */
export async function* outputLines(redis: RedisConnection, k: Keys, ref: OutputRef): AsyncGenerator<string> {
  yield* mergeCursors(await openPartitions(redis, k, ref));
}

/** Lines are written in pieces of about this many characters. */
const PIECE = 1 << 20;

/**
 * Writes the whole output to a stream as it is merged, in pieces of about 1 MiB, waiting for the
 * stream to drain (so no more than a piece is held beyond the partitions' blobs); returns lines
 * and bytes written.
 */
export async function writeOutput(redis: RedisConnection, k: Keys, ref: OutputRef, out: Writable): Promise<{ lines: number; bytes: number }> {
  const parts = await openPartitions(redis, k, ref);
  let lines = 0;
  let bytes = 0;
  // A stream error (a full disk, a closed pipe) rejects here instead of being an unhandled 'error' event.
  let broken: Error | undefined;
  const onError = (err: Error) => (broken ??= err);
  out.on('error', onError);
  const write = async (s: string) => {
    if (broken) throw broken;
    bytes += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
    if (broken) throw broken;
  };
  try {
    let piece: string[] = [];
    let pieceLen = 0;
    for (const line of mergeCursors(parts)) {
      piece.push(line);
      pieceLen += line.length + 1;
      lines++;
      if (pieceLen > PIECE) {
        await write(piece.join('\n') + '\n');
        piece = [];
        pieceLen = 0;
      }
    }
    if (piece.length > 0) await write(piece.join('\n') + '\n');
  } finally {
    out.off('error', onError);
  }
  return { lines, bytes };
}

/** Writes the output to a file atomically: a temporary file beside it, renamed into place when complete. */
export async function writeOutputFile(redis: RedisConnection, k: Keys, ref: OutputRef, path: string): Promise<{ lines: number; bytes: number }> {
  const tmp = `${path}.tmp-${process.pid}`;
  // Opened here, so a missing or read-only folder is a thrown error, not a stream's 'error' event.
  const file = createWriteStream(tmp, { fd: openSync(tmp, 'w') });
  try {
    const res = await writeOutput(redis, k, ref, file);
    file.end();
    await once(file, 'finish');
    renameSync(tmp, path);
    return res;
  } catch (err) {
    file.destroy();
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The first n output lines, for previews. */
export async function headOutput(redis: RedisConnection, k: Keys, ref: OutputRef, n: number): Promise<string[]> {
  const res: string[] = [];
  if (n <= 0) return res;
  for (const line of mergeCursors(await openPartitions(redis, k, ref))) {
    res.push(line);
    if (res.length >= n) break;
  }
  return res;
}
