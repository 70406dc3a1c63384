/**
 * Task commits: the one atomic step that makes a task's output count (DESIGN §3).
 *
 * A task writes its outputs to deterministic keys first, then sets its field in the iteration's
 * commit hash with HSETNX. The first attempt to commit wins; a later attempt (crash re-run,
 * speculative backup) has written the same bytes to the same keys, and its commit is a no-op.
 * Readers trust only tasks whose field is set, so a crashed attempt's partial writes are never read.
 */
import type { Redis } from 'ioredis';
import { commitField, type Keys, type QueueName } from './keys.ts';

export interface CommitRecord {
  attempt: string;
  worker: string;
  startedAt: number;
  ms: number;
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
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
}

export interface TaskAddress {
  jobId: string;
  round: number;
  kind: QueueName;
  index: number;
}

export async function commitTask(redis: Redis, k: Keys, t: TaskAddress, record: CommitRecord, ttlSeconds: number): Promise<boolean> {
  const key = k.commits(t.jobId, t.round);
  const [[, won]] = (await redis
    .multi()
    .hsetnx(key, commitField(t.kind, t.index), JSON.stringify(record))
    .expire(key, ttlSeconds)
    .exec()) as [[Error | null, number]];
  return won === 1;
}

export async function isCommitted(redis: Redis, k: Keys, t: TaskAddress): Promise<boolean> {
  return (await redis.hexists(k.commits(t.jobId, t.round), commitField(t.kind, t.index))) === 1;
}

export async function readCommit(redis: Redis, k: Keys, t: TaskAddress): Promise<CommitRecord | null> {
  const v = await redis.hget(k.commits(t.jobId, t.round), commitField(t.kind, t.index));
  return v ? (JSON.parse(v) as CommitRecord) : null;
}

/** Every commit of one iteration, keyed by commit field (`m3`, `r0`). */
export async function readCommits(redis: Redis, k: Keys, jobId: string, round: number): Promise<Map<string, CommitRecord>> {
  const all = await redis.hgetall(k.commits(jobId, round));
  return new Map(Object.entries(all).map(([f, v]) => [f, JSON.parse(v) as CommitRecord]));
}
