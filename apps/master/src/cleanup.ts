/**
 * Clean-up of a finished job. A done job keeps its output; a failed or cancelled job, or a removed
 * one, loses everything: output, commit markers and queue entries. Intermediate keys also carry a
 * TTL, so a straggler that writes after clean-up cannot leak memory forever.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, taskJobId, type Keys, type QueueName } from '@tandem/shared';
import { mapsInRound, type JobRecord } from './state.ts';

export interface CleanupDeps {
  redis: Redis;
  keys: Keys;
  queues: Record<QueueName, Queue>;
}

/** Keys deleted per DEL, so one command stays small however many tasks the job had. */
const DEL_BATCH = 1000;

/**
 * Deletes the job's keys in Redis: every round's map outputs and, of an iterative job, the reduce
 * outputs of every round but the last (the output). With `all`, also the output and the commit
 * markers.
 */
export async function deleteJobKeys(redis: Redis, k: Keys, job: JobRecord, all: boolean): Promise<void> {
  const R = job.spec.partitions;
  for (let round = 0; round <= job.round; round++) {
    const M = mapsInRound(job, round);
    const output = round === job.round;
    for (let r = 0; r < R; r++) {
      const names = Array.from({ length: M }, (_, i) => k.mapOutput(job.id, r, round, i));
      if (all || !output) names.push(k.reduceOutput(job.id, r, round));
      for (let i = 0; i < names.length; i += DEL_BATCH) await redis.del(...names.slice(i, i + DEL_BATCH));
    }
    if (all) await redis.del(k.commits(job.id, round));
  }
}

/** Removes the current round's task entries (first and backup attempts) from the queues. */
export async function removeQueueEntries(queues: Record<QueueName, Queue>, job: JobRecord): Promise<void> {
  for (const kind of QUEUES) {
    const n = kind === 'map' ? job.maps.length : job.spec.partitions;
    for (let i = 0; i < n; i++) {
      for (let s = 0; s <= 1; s++) {
        // Active tasks are locked by their worker and cannot be removed; they finish into keys with a TTL.
        await queues[kind].remove(taskJobId(job.id, job.round, kind, i, s)).catch(() => 0);
      }
    }
  }
}

/** Deletes intermediate data; with `all`, also the output, commit markers and queue entries. */
export async function deleteJobData(d: CleanupDeps, job: JobRecord, all: boolean): Promise<void> {
  await deleteJobKeys(d.redis, d.keys, job, all);
  if (all) await removeQueueEntries(d.queues, job);
}
