/**
 * A verified job's data in Redis (docs/DESIGN.md §3.6): the one module that touches the keys of
 * its second runs. Per round:
 *
 * - copies: the outputs a task's second run (`check`) writes, beside the first run's (which
 *   job-data.ts owns, and which readers use); with a TTL, and deleted once the runs agree.
 * - the verify hash: per task, each run's record (its commit record and the digest of every output
 *   it wrote), which worker claimed each run, and how often the task's second run was deferred.
 *
 * The task's field in the commit hash (job-data.ts) is set only when both runs' digests agree: the
 * master, and every reader, see a verified task as committed only then.
 */
import { createHash } from 'node:crypto';
import type { RedisConnection } from './redis.ts';
import { commitField, type Keys } from './keys.ts';
import type { CommitRecord, JobDataExtent, JobDataIO, JobValue, TaskAddress } from './job-data.ts';
import { runScript } from './scripts.ts';
import { redisBlobs } from './blob-store.ts';

/** Which run of a verified task: the first writes the task's outputs, the check writes copies. */
export type VerifySlot = 'first' | 'check';

export const otherSlot = (s: VerifySlot): VerifySlot => (s === 'first' ? 'check' : 'first');

/** One run of a verified task: its commit record, and a digest of each output it wrote, in order. */
export interface VerifyRun {
  record: CommitRecord;
  digests: string[];
}

/** A digest of one output's bytes (sha256, 128 bits in hex: plenty to tell two outputs apart). */
export const digestOf = (value: Buffer): string => createHash('sha256').update(value).digest('hex').slice(0, 32);

/** One digest for a run's outputs together, for the commit record. */
export const digestOfAll = (digests: string[]): string => digestOf(Buffer.from(digests.join(',')));

const runField = (t: TaskAddress, slot: VerifySlot) => `${commitField(t.kind, t.index)}.${slot}`;

const copyKey = (k: Keys, jobId: string, v: JobValue) => k.verifyCopy(jobId, v.partition, v.round, v.sender);

/**
 * Claims a run for `worker`, or defers it: a worker that claimed the task's other run defers this
 * one while another worker is online (asked only then), at most `maxDeferrals` times per task, so
 * the two runs land on different workers where there are several (lua/claim-verify-run-1.lua).
 */
export async function claimRun(
  redis: RedisConnection, k: Keys, t: TaskAddress, slot: VerifySlot, worker: string,
  othersOnline: () => Promise<boolean>, maxDeferrals: number, ttlSeconds: number,
): Promise<{ deferred: number } | { claimed: true }> {
  const key = k.verifyRuns(t.jobId, t.round);
  const other = `${runField(t, otherSlot(slot))}.by`;
  // The CLIENT LIST behind othersOnline is asked only when a deferral is possible at all.
  const others = (await redis.hget(key, other)) === worker && (await othersOnline());
  const [claimed, n] = (await runScript(redis, 'claim-verify-run', [key], [
    `${runField(t, slot)}.by`, other, worker, `${commitField(t.kind, t.index)}.deferred`, maxDeferrals, others ? 1 : 0, ttlSeconds,
  ])) as [number, number | string | null];
  return claimed === 1 ? { claimed: true } : { deferred: Number(n) };
}

/** Records a run (the first record of a slot stays: a rerun after a crash found it and ran nothing). */
export async function recordRun(redis: RedisConnection, k: Keys, t: TaskAddress, slot: VerifySlot, run: VerifyRun, ttlSeconds: number): Promise<void> {
  const key = k.verifyRuns(t.jobId, t.round);
  await redis.multi().hsetnx(key, runField(t, slot), JSON.stringify(run)).expire(key, ttlSeconds).exec();
}

/** Both runs' records, where they exist. */
export async function readRuns(redis: RedisConnection, k: Keys, t: TaskAddress): Promise<Partial<Record<VerifySlot, VerifyRun>>> {
  const [first, check] = await redis.hmget(k.verifyRuns(t.jobId, t.round), runField(t, 'first'), runField(t, 'check'));
  return { ...(first ? { first: JSON.parse(first) as VerifyRun } : {}), ...(check ? { check: JSON.parse(check) as VerifyRun } : {}) };
}

/** Writes a second run's copies of its outputs, with a TTL. */
export async function setCopies(io: JobDataIO, jobId: string, entries: { at: JobValue; value: Buffer }[], ttlSeconds: number): Promise<void> {
  await io.blobs.setMany(entries.map(({ at, value }) => ({ key: copyKey(io.keys, jobId, at), value })), ttlSeconds * 1000);
}

/** A second run's copy of one output, or null where it is missing. */
export async function getCopy(io: JobDataIO, jobId: string, at: JobValue): Promise<Buffer | null> {
  const [copy] = await io.blobs.getMany([copyKey(io.keys, jobId, at)]);
  return copy;
}

/** Deletes a task's copies once its runs agreed: nothing reads them after that. */
export async function deleteCopies(redis: RedisConnection, k: Keys, jobId: string, at: JobValue[]): Promise<void> {
  await redisBlobs(redis).delete(at.map((v) => copyKey(k, jobId, v)));
}

/** Deletes every round's copies and verify hash of a verified job (its clean-up, whatever its end). */
export async function deleteVerifyData(redis: RedisConnection, k: Keys, job: JobDataExtent): Promise<void> {
  for (let round = 0; round <= job.round; round++) {
    const senders = job.sendersInRound(round);
    for (let r = 0; r < job.partitions; r++) {
      const names = [copyKey(k, job.id, { round, partition: r }), ...Array.from({ length: senders }, (_, i) => copyKey(k, job.id, { round, partition: r, sender: i }))];
      for (let i = 0; i < names.length; i += 1000) await redis.del(...names.slice(i, i + 1000));
    }
    await redis.del(k.verifyRuns(job.id, round));
  }
}
