/**
 * A job's data in Redis: the one module that writes, reads, commits and deletes it (keys.ts spells
 * the keys, and nothing but this module calls the job-key functions). Per job and round:
 *
 * - shuffle blobs: what task `sender` sent partition p: a map task's output for p, or, after a
 *   chained round, what reduce task `sender` of the round before sent p. Intermediate (with a TTL).
 * - round outputs: partition p's result: the job's sorted output in its last round, an iterative
 *   job's input for the next round (with a TTL) in the others.
 * - the commit hash: one field per committed task (the commit protocol, below).
 *
 * Values never change once written: tasks are deterministic, and a rerun writes the same bytes to the
 * same keys. So a worker may serve a value it wrote from memory, and a half-written attempt does no
 * harm as long as nobody reads what an uncommitted task wrote.
 */
import type { RedisConnection } from './redis.ts';
import { scanKeys } from './redis-slots.ts';
import { getLarge, type LargeValue } from './bulk.ts';
import { perKey, redisBlobs, type BlobStore } from './blob-store.ts';
import type { ContentCache } from './content-cache.ts';
import { commitField, type Keys, type QueueName } from './keys.ts';
import { runScript } from './scripts.ts';

/** What a process moves a job's data with; a worker also passes its cache of what it wrote. */
export interface JobDataIO {
  /** For commits and the like; the values themselves go through `blobs`. */
  redis: RedisConnection;
  keys: Keys;
  /** The raw client (bulk-client.ts) in workers, ioredis (redisBlobs) elsewhere. */
  blobs: BlobStore;
  /**
   * Values this process wrote, kept for the task that reads them next (TaskDeps.written). A read
   * takes a value out; a write through an IO without it caches nothing.
   */
  written?: ContentCache;
}

/** Where one value of a job lives: a shuffle blob (with its sender) or a round output (without). */
export interface JobValue {
  round: number;
  partition: number;
  sender?: number;
}

/** A JobDataIO over an ioredis connection alone (no cache). */
export const jobDataIO = (redis: RedisConnection, keys: Keys): JobDataIO => ({ redis, keys, blobs: redisBlobs(redis) });

/** What task `sender` of `round` sent `partition`. */
export const shuffleBlob = (round: number, partition: number, sender: number): JobValue => ({ round, partition, sender });
/** Partition `partition`'s output of `round`. */
/**
 * What a task says when a value its input needs is gone although the task that wrote it committed.
 * Only a running job's failure reaches its user (a cancelled or finished job ignores its tasks'
 * failures), and nothing deletes a running job's data, so the cause is Redis losing writes.
 */
export const missingJobData = (what: string): string =>
  `${what} is missing from Redis although the task that wrote it committed: Redis lost it (a restart or crash that did not keep its last writes; \`tandem view\` shows the masters' data-loss alert once they see it); resubmit the job`;

export const roundOutput = (round: number, partition: number): JobValue => ({ round, partition });

const keyOf = (k: Keys, jobId: string, v: JobValue) =>
  v.sender === undefined ? k.reduceOutput(jobId, v.partition, v.round) : k.mapOutput(jobId, v.partition, v.round, v.sender);

/** Whole values (null where missing): those this process wrote itself from its `written` cache, the rest from the store. */
export async function getJobValues(io: JobDataIO, jobId: string, at: JobValue[]): Promise<(Buffer | null)[]> {
  const keys = at.map((v) => keyOf(io.keys, jobId, v));
  const out: (Buffer | null)[] = keys.map((k) => io.written?.take<Buffer>(k) ?? null);
  const missing = keys.filter((_, i) => out[i] === null);
  if (missing.length === 0) return out;
  const fetched = await io.blobs.getMany(missing);
  let j = 0;
  return out.map((v) => v ?? fetched[j++]);
}

/** Each value's length in bytes, 0 where missing: those in the `written` cache without a round trip, the rest in one (STRLENs side by side). */
export async function getJobValueSizes(io: JobDataIO, jobId: string, at: JobValue[]): Promise<number[]> {
  const keys = at.map((v) => keyOf(io.keys, jobId, v));
  const out = keys.map((k) => io.written?.peek<Buffer>(k)?.length ?? -1);
  const ask = keys.filter((_, i) => out[i] < 0);
  if (ask.length === 0) return out;
  const got = await io.blobs.sizes(ask);
  let j = 0;
  return out.map((n) => (n < 0 ? got[j++] : n));
}

/**
 * Writes values (expiring after ttlSeconds when given: intermediate data must not outlive a
 * clean-up that ran before a straggler wrote it), and keeps them in the `written` cache when the
 * IO has one.
 */
export async function setJobValues(io: JobDataIO, jobId: string, entries: { at: JobValue; value: Buffer }[], ttlSeconds?: number): Promise<void> {
  const keyed = entries.map(({ at, value }) => ({ key: keyOf(io.keys, jobId, at), value }));
  await io.blobs.setMany(keyed, ttlSeconds === undefined ? undefined : ttlSeconds * 1000);
  if (io.written) for (const { key, value } of keyed) io.written.set(key, value, value.length);
}

/** A possibly large value, read as parallel ranges (bulk.ts), into `into` when it fits. */
export function getLargeJobValue(io: JobDataIO, jobId: string, at: JobValue, into?: Buffer): Promise<LargeValue | null> {
  return getLarge(io.blobs, keyOf(io.keys, jobId, at), { into });
}

/** Bytes [from, to) of a value (one GETRANGE): fewer at its end, none when it is missing. */
export function getJobValueRange(io: JobDataIO, jobId: string, at: JobValue, from: number, to: number): Promise<Buffer> {
  return io.blobs.range(keyOf(io.keys, jobId, at), from, to);
}

/** The first `bytes` bytes of a value (a header), or null when it is missing or empty. */
export async function getJobValueHead(io: JobDataIO, jobId: string, at: JobValue, bytes: number): Promise<Buffer | null> {
  const h = await io.blobs.head(keyOf(io.keys, jobId, at), bytes);
  return h && h.head.length > 0 ? h.head : null;
}

/*
 * The commit protocol. A task writes its outputs to their deterministic keys first, then sets its
 * field in its round's commit hash with HSETNX (lua/commit-task-1.lua). The first attempt to commit
 * wins; a later attempt (a rerun after a crash, a backup attempt) has written the same bytes to the
 * same keys, and its commit changes nothing. Readers trust only tasks whose field is set, so a
 * crashed attempt's partial writes are never read. Round numbers are in the hash's key, so a late
 * commit from an earlier round cannot count in a later one.
 */

export interface CommitRecord {
  attempt: string;
  worker: string;
  startedAt: number;
  ms: number;
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  /**
   * A key/value reduce task: the most bytes of its senders' blobs its merge held at once (the ranges
   * it read and had not passed yet; apps/worker/src/shuffle-run.ts), against `bytesIn` in all.
   */
  heldBytes?: number;
  /** Earlier attempts of this task that threw (BullMQ attemptsMade) and that lost their worker (stalls). */
  failedAttempts: number;
  stalls: number;
  /**
   * Figures an iterative job's reduce task reports for its round (e.g. PageRank's L1 `delta` and
   * dangling mass); the master sums them over the round's reduce tasks.
   */
  stats?: Record<string, number>;
  /** The worker's clock when it committed, so the master's next event for the job comes after it. */
  clock?: { lamport: number; vc: Record<string, number> };
  /** A verified job's task (shared/src/verify-data.ts): its second run, whose outputs were identical. */
  verify?: VerifiedBy;
}

/** The second run of a verified task: its worker and time, and the digest of the outputs both runs wrote. */
export interface VerifiedBy {
  worker: string;
  ms: number;
  digest: string;
}

export interface TaskAddress {
  jobId: string;
  round: number;
  kind: QueueName;
  index: number;
}

/**
 * Commits a task; true when this attempt's commit is the one that counts. The hash's expiry is set
 * again with every commit, so a straggler committing after the job was cleaned up leaks nothing for
 * long.
 */
export async function commitTask(redis: RedisConnection, k: Keys, t: TaskAddress, record: CommitRecord, ttlSeconds: number): Promise<boolean> {
  const won = await runScript(redis, 'commit-task', [k.commits(t.jobId, t.round)], [commitField(t.kind, t.index), JSON.stringify(record), ttlSeconds]);
  return won === 1;
}

/**
 * Takes back the commit of a task whose output Redis lost (docs/DESIGN.md §3.4), so its rerun's
 * commit counts: only while the record is one of `attempts` (lua/uncommit-task-1.lua). True when it
 * was taken back.
 */
export async function uncommitTask(redis: RedisConnection, k: Keys, t: TaskAddress, attempts: string[]): Promise<boolean> {
  if (attempts.length === 0) return false;
  return (await runScript(redis, 'uncommit-task', [k.commits(t.jobId, t.round)], [commitField(t.kind, t.index), ...attempts])) === 1;
}

export async function isCommitted(redis: RedisConnection, k: Keys, t: TaskAddress): Promise<boolean> {
  return (await redis.hexists(k.commits(t.jobId, t.round), commitField(t.kind, t.index))) === 1;
}

export async function readCommit(redis: RedisConnection, k: Keys, t: TaskAddress): Promise<CommitRecord | null> {
  const v = await redis.hget(k.commits(t.jobId, t.round), commitField(t.kind, t.index));
  return v ? (JSON.parse(v) as CommitRecord) : null;
}

/** Every commit of one round, keyed by commit field (`m3`, `r0`). */
export async function readCommits(redis: RedisConnection, k: Keys, jobId: string, round: number): Promise<Map<string, CommitRecord>> {
  const all = await redis.hgetall(k.commits(jobId, round));
  return new Map(Object.entries(all).map(([f, v]) => [f, JSON.parse(v) as CommitRecord]));
}

/** What deleteJobData needs to know of a job: its rounds so far and how many tasks sent shuffle blobs in each. */
export interface JobDataExtent {
  id: string;
  /** The job's current (for a finished job: last) round. */
  round: number;
  partitions: number;
  sendersInRound: (round: number) => number;
}

/** The keys a job's data may have up to its current round (all: everything, else all but the current round's output). */
function* jobDataKeys(k: Keys, job: JobDataExtent, all: boolean): Generator<string[]> {
  for (let r = 0; r < job.partitions; r++) {
    const names: string[] = [];
    for (let round = 0; round <= job.round; round++) {
      const senders = job.sendersInRound(round);
      for (let i = 0; i < senders; i++) names.push(keyOf(k, job.id, shuffleBlob(round, r, i)));
      if (all || round < job.round) names.push(keyOf(k, job.id, roundOutput(round, r)));
    }
    // A job stopped during a chained round may already have the next round's shuffle blobs (a
    // reduce task of round n writes round n+1's): they are its data too.
    if (all) for (let i = 0; i < job.partitions; i++) names.push(keyOf(k, job.id, shuffleBlob(job.round + 1, r, i)));
    yield names;
  }
  if (all) yield Array.from({ length: job.round + 1 }, (_, round) => k.commits(job.id, round));
}

/** Keys handed to the store's delete at once, so a huge job's key names are not all held together. */
const DELETE_BATCH = 16 * 300;

/**
 * Deletes a job's data up to its current round: every shuffle blob and every round output but the
 * current round's, which is a finished job's output; with `all` (a failed or cancelled job, or one
 * removed) that output and the commit hashes too. The keys are named, not scanned (they follow from
 * the job's rounds, partitions and senders); the store's delete names up to 300 keys of one slot to
 * an UNLINK, 16 at a time (UNLINKs of 1,000 keys measured slower, scripts/bench/bounds-micro.ts).
 * Deleting a key that a round already dropped (dropJobValues) costs nothing.
 */
export async function deleteJobData(redis: RedisConnection, k: Keys, job: JobDataExtent, all: boolean): Promise<void> {
  const store = redisBlobs(redis);
  let batch: string[] = [];
  for (const names of jobDataKeys(k, job, all)) {
    batch.push(...names);
    if (batch.length >= DELETE_BATCH) {
      await store.delete(batch);
      batch = [];
    }
  }
  await store.delete(batch);
}

/**
 * Deletes values no task will read again (an iterative job's consumed shuffle blobs and old round
 * outputs, docs/DESIGN.md §3.5), and forgets them in the `written` cache, so a long job holds about
 * two rounds of data, not all of them.
 */
export async function dropJobValues(io: JobDataIO, jobId: string, at: JobValue[]): Promise<void> {
  if (at.length === 0) return;
  const names = at.map((v) => keyOf(io.keys, jobId, v));
  for (const key of names) io.written?.take(key);
  await io.blobs.delete(names);
}

/** Job data found in Redis: per job id, its keys. */
export type JobKeys = Map<string, string[]>;

/** Every job key in Redis (SCAN, so Redis keeps serving), grouped by job id. */
export async function scanJobKeys(redis: RedisConnection, k: Keys): Promise<JobKeys> {
  const found: JobKeys = new Map();
  // Every primary of a Redis Cluster: a SCAN covers only the node it is sent to.
  for await (const batch of scanKeys(redis, k.jobKeyPattern(), 1000)) {
    for (const key of batch) {
      const id = k.jobIdOfKey(key);
      if (id === null) continue;
      const list = found.get(id);
      if (list) list.push(key);
      else found.set(id, [key]);
    }
  }
  // SCAN may return a key twice (a rehash during the scan).
  for (const [id, list] of found) found.set(id, [...new Set(list)]);
  return found;
}

/** Bytes Redis uses for these keys (MEMORY USAGE; a key gone meanwhile counts 0). */
export async function jobKeyBytes(redis: RedisConnection, names: string[]): Promise<number> {
  const sizes = await perKey(redis, names.length, (p, i) => p.memory('USAGE', names[i]), (i) => redis.memory('USAGE', names[i]));
  return sizes.reduce<number>((sum, n) => sum + Number(n ?? 0), 0);
}

/** Deletes job keys found by scanJobKeys (UNLINK frees memory off Redis's main thread). */
export async function deleteJobKeys(redis: RedisConnection, names: string[]): Promise<void> {
  await redisBlobs(redis).delete(names);
}

/** Partitions of `round` whose output key is gone. */
export async function missingRoundOutputs(redis: RedisConnection, k: Keys, jobId: string, round: number, partitions: number): Promise<number[]> {
  return (await missingOutputsOf(redis, k, [{ id: jobId, round, partitions }])).get(jobId) ?? [];
}

/**
 * For many jobs at once, the partitions whose round output is gone, keyed by job id (jobs missing
 * none are left out): pipelined (on a cluster, side by side), so checking every done job stays
 * cheap.
 */
export async function missingOutputsOf(redis: RedisConnection, k: Keys, jobs: { id: string; round: number; partitions: number }[]): Promise<Map<string, number[]>> {
  const names = jobs.flatMap((j) => Array.from({ length: j.partitions }, (_, r) => keyOf(k, j.id, roundOutput(j.round, r))));
  const res = await perKey(redis, names.length, (p, i) => p.exists(names[i]), (i) => redis.exists(names[i]));
  const gone = new Map<string, number[]>();
  let i = 0;
  for (const j of jobs) {
    const missing: number[] = [];
    for (let r = 0; r < j.partitions; r++) if (res[i++] === 0) missing.push(r);
    if (missing.length > 0) gone.set(j.id, missing);
  }
  return gone;
}

/** Whether one value of a job (a shuffle blob, a round output) is in Redis. */
export async function hasJobValue(redis: RedisConnection, k: Keys, jobId: string, at: JobValue): Promise<boolean> {
  return (await redis.exists(keyOf(k, jobId, at))) === 1;
}

/** Whether a round's commit hash exists (a round with a committed task has one). */
export async function hasCommits(redis: RedisConnection, k: Keys, jobId: string, round: number): Promise<boolean> {
  return (await redis.exists(k.commits(jobId, round))) === 1;
}
