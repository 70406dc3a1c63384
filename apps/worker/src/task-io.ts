/** What every task runner shares: its dependencies, its result shape, reading inputs, writing outputs, errors. */
import type { Redis } from 'ioredis';
import { getLarge, type CommitRecord, type ContentCache, type Keys, type BulkClient, type TaskPayload } from '@tandem/shared';
import type { Registry } from '@tandem/jobs';

export interface TaskDeps {
  redis: Redis;
  /** Moves large values: splits as parallel ranges, shuffle blobs whole (bulk-client.ts); null where it cannot (TLS). */
  bulk: BulkClient | null;
  /** Used instead of the bulk client where there is none; may be just [redis]. */
  readPool: Redis[];
  /** Free read buffers for splits (see withLargeValue). */
  buffers: Buffer[];
  keys: Keys;
  registry: Registry;
  intermediateTtlS: number;
  /** Immutable data iterative job types decode once and reuse (e.g. PageRank's adjacency). */
  cache: ContentCache;
  /**
   * Values this worker wrote that a later task reads once (an iterative job's shuffle blobs and
   * round outputs), keyed by their Redis key: they never change once written (tasks are
   * deterministic), so when the same worker runs the reading task it skips the round trip.
   */
  written: ContentCache;
}

/** An error in a task's input or code; the message says which task, split and record. */
export class TaskError extends Error {}

export type IO = Pick<CommitRecord, 'recordsIn' | 'recordsOut' | 'bytesIn' | 'bytesOut' | 'stats'> & { phases: Phases };

/** Milliseconds spent reading input, running the job's code, and writing output (for logs). */
export interface Phases {
  readMs: number;
  computeMs: number;
  writeMs: number;
}

/**
 * Reads a large value (a split) into one of the worker's reusable buffers and calls fn with it; the
 * buffer goes back to the pool when fn is done, so fn must not keep the input.
 */
export async function withLargeValue<T>(deps: TaskDeps, key: string, fn: (value: Buffer | null, readMs: number) => Promise<T>): Promise<T> {
  // Read buffers are reused across tasks, one per task running at once in this process.
  const scratch = deps.buffers.pop();
  let keep = scratch;
  try {
    const t0 = performance.now();
    const read = await getLarge(deps.redis, key, { into: scratch, reader: deps.bulk, pool: deps.readPool });
    if (read?.backing && read.backing !== scratch) keep = read.backing;
    return await fn(read?.data ?? null, performance.now() - t0);
  } finally {
    if (keep) deps.buffers.push(keep);
  }
}

export const missingSplit = (p: TaskPayload) =>
  new TaskError(
    `map task ${p.index}: split ${p.index} of dataset "${p.dataset.name}" (version ${p.dataset.version}) is missing; ` +
      'the dataset was removed or replaced while the job ran',
  );

export async function execOrThrow(p: ReturnType<Redis['pipeline']>): Promise<void> {
  const res = await p.exec();
  for (const [err] of res ?? []) if (err) throw err;
}

/**
 * Whole values of several keys (null where missing): those this worker wrote itself from its
 * `written` cache, the rest over the bulk client's connections (or one MGET without it).
 */
export async function getValues(deps: TaskDeps, keys: string[]): Promise<(Buffer | null)[]> {
  const out: (Buffer | null)[] = keys.map((k) => deps.written.take<Buffer>(k) ?? null);
  const missing = keys.filter((_, i) => out[i] === null);
  if (missing.length === 0) return out;
  const fetched = deps.bulk ? await deps.bulk.getMany(missing) : await deps.redis.mgetBuffer(...missing);
  let j = 0;
  return out.map((v) => v ?? fetched[j++]);
}

/**
 * Writes several values, with an expiry when ttlSeconds is given, and keeps them in the `written`
 * cache for the task that reads them next, if it runs here.
 */
export async function setValues(deps: TaskDeps, entries: { key: string; value: Buffer }[], ttlSeconds?: number): Promise<void> {
  if (deps.bulk) await deps.bulk.setMany(entries, ttlSeconds);
  else {
    const write = deps.redis.pipeline();
    for (const { key, value } of entries) {
      if (ttlSeconds === undefined) write.set(key, value);
      else write.set(key, value, 'EX', ttlSeconds);
    }
    await execOrThrow(write);
  }
  for (const { key, value } of entries) deps.written.set(key, value, value.length);
}
