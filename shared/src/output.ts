/**
 * A job's final output: R reduce outputs, each sorted by key, merged into one sorted stream of lines.
 * Each reduce output blob holds the partition's keys and formatted lines (codec.ts's output codec,
 * any version); job-data.ts reads them.
 */
import { createWriteStream, openSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { RedisConnection } from './redis.ts';
import { decodeOutput } from './codec.ts';
import { getJobValues, jobDataIO, roundOutput } from './job-data.ts';
import type { Keys } from './keys.ts';
import { compareCodePoints } from './order.ts';

export interface OutputRef {
  jobId: string;
  round: number;
  partitions: number;
}

export class OutputMissingError extends Error {}

async function loadPartitions(redis: RedisConnection, k: Keys, ref: OutputRef) {
  const parts = [];
  for (let r = 0; r < ref.partitions; r++) {
    // One partition at a time: the first missing one ends the read.
    const [blob] = await getJobValues(jobDataIO(redis, k), ref.jobId, [roundOutput(ref.round, r)]);
    if (!blob) throw new OutputMissingError(`job ${ref.jobId}: output of reduce partition ${r} is missing (job not done, or removed)`);
    try {
      parts.push(decodeOutput(blob));
    } catch (err) {
      throw new Error(`job ${ref.jobId}: output of reduce partition ${r} cannot be read: ${(err as Error).message}`);
    }
  }
  return parts;
}

/** Merges the sorted partitions; calls emit for each line in key order. */
export function mergeSorted(parts: { keys: string[]; values: string[] }[], emit: (line: string) => void): void {
  for (const line of mergedLines(parts)) emit(line);
}

/** The sorted partitions' lines in key order (ties: the lower partition first), one at a time. */
export function* mergedLines(parts: { keys: string[]; values: string[] }[]): Generator<string> {
  // A binary heap of partition cursors ordered by their current key.
  const heap: { p: number; i: number }[] = [];
  const key = (c: { p: number; i: number }) => parts[c.p].keys[c.i];
  const less = (a: { p: number; i: number }, b: { p: number; i: number }) => {
    const d = compareCodePoints(key(a), key(b));
    return d < 0 || (d === 0 && a.p < b.p);
  };
  const push = (c: { p: number; i: number }) => {
    heap.push(c);
    let j = heap.length - 1;
    while (j > 0) {
      const up = (j - 1) >> 1;
      if (!less(heap[j], heap[up])) break;
      [heap[j], heap[up]] = [heap[up], heap[j]];
      j = up;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        const r = l + 1;
        let m = j;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === j) break;
        [heap[j], heap[m]] = [heap[m], heap[j]];
        j = m;
      }
    }
    return top;
  };
  parts.forEach((part, p) => part.keys.length > 0 && push({ p, i: 0 }));
  while (heap.length > 0) {
    const c = pop();
    yield parts[c.p].values[c.i];
    if (c.i + 1 < parts[c.p].keys.length) push({ p: c.p, i: c.i + 1 });
  }
}

/**
 * A finished job's output lines in key order, without their '\n' (the partitions are read first, as
 * for writeOutput; the lines are then merged as they are taken).
 */
export async function* outputLines(redis: RedisConnection, k: Keys, ref: OutputRef): AsyncGenerator<string> {
  yield* mergedLines(await loadPartitions(redis, k, ref));
}

/** Lines are written in pieces of about this many characters. */
const PIECE = 1 << 20;

/**
 * Writes the whole output to a stream as it is merged, in pieces of about 1 MiB, waiting for the
 * stream to drain (so no more than a piece is held beyond the decoded partitions); returns lines
 * and bytes written.
 */
export async function writeOutput(redis: RedisConnection, k: Keys, ref: OutputRef, out: Writable): Promise<{ lines: number; bytes: number }> {
  const parts = await loadPartitions(redis, k, ref);
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
    for (const line of mergedLines(parts)) {
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
  for (const line of mergedLines(await loadPartitions(redis, k, ref))) {
    res.push(line);
    if (res.length >= n) break;
  }
  return res;
}
