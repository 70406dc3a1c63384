/** What every task runner shares: its dependencies, its result shape, reading large inputs, errors. */
import { UnrecoverableError } from 'bullmq';
import type { RedisConnection } from '@tandem/shared';
import {
  SHUFFLE_BLOCK_BYTES, getLarge, lostOutputText, missingJobData, splitKey, type BlobStore, type CommitRecord, type ContentCache, type JobDataIO, type Keys, type LargeValue, type QueueName, type TaskPayload,
} from '@tandem/shared';
import type { Registry } from '@tandem/jobs';

/** A task's dependencies; they are also the IO that job-data.ts moves the job's values with. */
export interface TaskDeps extends JobDataIO {
  redis: RedisConnection;
  /** Moves large values: splits as parallel ranges, an iterative job's blobs whole (the raw client, bulk-client.ts). */
  blobs: BlobStore;
  /** The same over ioredis (redisBlobs): a key/value job's blobs and every job's final output (see viaIoredis). */
  redisBlobs: BlobStore;
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
  /** Bytes a key/value reduce task reads of one sender's blob at a time (TANDEM_REDUCE_RANGE_KB; shuffleBlockBytes follows from it). */
  reduceRangeBytes?: number;
  /** A key/value reduce task whose input is at most this many bytes reads it whole; larger, it streams (TANDEM_REDUCE_MEMORY_MB). */
  reduceMemoryBytes?: number;
  /** Whether a worker other than `me` listens on the queue (a verified task's runs prefer two workers, verify-run.ts). */
  othersOnline?: (queue: QueueName, me: string) => Promise<boolean>;
}

/** The default reduce range: TANDEM_REDUCE_RANGE_KB's default. */
export const REDUCE_RANGE_BYTES = 256 << 10;

/** The default in-memory reduce budget: TANDEM_REDUCE_MEMORY_MB's default. */
export const REDUCE_MEMORY_BYTES = 128 << 20;

/** The blocks map tasks cut shuffle blobs into: a quarter of the reduce range (a few blocks a range), at most 64 KiB. */
export const shuffleBlockBytes = (deps: Pick<TaskDeps, 'reduceRangeBytes'>) =>
  Math.max(64, Math.min(SHUFFLE_BLOCK_BYTES, Math.floor((deps.reduceRangeBytes ?? REDUCE_RANGE_BYTES) / 4)));

/** An error in a task's input or code; the message says which task, split and record. */
export class TaskError extends Error {}

export type IO = Pick<CommitRecord, 'recordsIn' | 'recordsOut' | 'bytesIn' | 'bytesOut' | 'stats' | 'heldBytes'> & { phases: Phases };

/** Milliseconds spent reading input, running the job's code, and writing output (for logs). */
export interface Phases {
  readMs: number;
  computeMs: number;
  writeMs: number;
}

/**
 * Reads a large value (a split, a round's output) with `read` into one of the worker's reusable
 * buffers and calls fn with it; the buffer goes back to the pool when fn is done, so fn must not keep
 * the input.
 */
export async function withLargeValue<T>(
  deps: TaskDeps, read: (into: Buffer | undefined) => Promise<LargeValue | null>, fn: (value: Buffer | null, readMs: number) => Promise<T>,
): Promise<T> {
  // Read buffers are reused across tasks, one per task running at once in this process.
  const scratch = deps.buffers.pop();
  let keep = scratch;
  try {
    const t0 = performance.now();
    const value = await read(scratch);
    if (value?.backing && value.backing !== scratch) keep = value.backing;
    return await fn(value?.data ?? null, performance.now() - t0);
  } finally {
    if (keep) deps.buffers.push(keep);
  }
}

/** Reads a map task's split, through the dataset store's key. */
export const readSplit = (deps: TaskDeps, p: TaskPayload) => (into: Buffer | undefined) =>
  getLarge(deps.blobs, splitKey(deps.keys, p.dataset, p.index), { into });

/**
 * ioredis (one pipeline, one MGET per slot) and no `written` cache: the IO for a key/value job's
 * blobs and for a job's final output, which no later task reads back from this worker's memory.
 */
export const viaIoredis = (deps: TaskDeps): JobDataIO => ({ redis: deps.redis, keys: deps.keys, blobs: deps.redisBlobs });

export const missingSplit = (p: TaskPayload) =>
  new TaskError(
    `map task ${p.index}: split ${p.index} of dataset "${p.dataset.name}" (version ${p.dataset.version}) is missing; ` +
      'the dataset was removed or replaced while the job ran',
  );

/**
 * A reduce task's input from sender `sender` is gone although the sender committed: Redis lost it.
 * Retrying cannot bring it back, so the task fails at once (UnrecoverableError: BullMQ does not
 * retry it), and its reason ends with the loss in a form the master parses (task.ts
 * `parseLostOutput`), so the master can rerun the sender instead of failing the job (§3.4).
 */
export const lostOutput = (p: TaskPayload, sender: number, what: string) =>
  new UnrecoverableError(`reduce task ${p.index}${p.round > 0 ? ` of round ${p.round}` : ''}: ${missingJobData(what)} ${lostOutputText({ round: p.round, sender, partition: p.index })}`);
