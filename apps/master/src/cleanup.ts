/**
 * Clean-up of a finished job. A done job keeps its output; a failed or cancelled job, or a removed
 * one, loses everything: output, commit markers and queue entries. Intermediate keys also carry a
 * TTL, so a straggler that writes after clean-up cannot leak memory forever.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, deleteJobData, taskJobId, type Keys, type QueueName } from '@tandem/shared';
import { sendersInRound, type JobRecord } from './state.ts';

export interface CleanupDeps {
  redis: Redis;
  keys: Keys;
  queues: Record<QueueName, Queue>;
}

/**
 * Removes the current round's task entries (first and backup attempts) from the queues. With
 * `keepFailed`, a failed entry stays: it is what explains a failed job in bull-board's failed tab,
 * and BullMQ bounds the failed entries it keeps (TANDEM_KEEP_FAILED_TASKS, by count and age).
 */
export async function removeQueueEntries(queues: Record<QueueName, Queue>, job: JobRecord, keepFailed = false): Promise<void> {
  for (const kind of QUEUES) {
    const n = kind === 'map' ? job.maps.length : job.spec.partitions;
    for (let i = 0; i < n; i++) {
      for (let s = 0; s <= 1; s++) {
        const id = taskJobId(job.id, job.round, kind, i, s);
        if (keepFailed && (await queues[kind].getJobState(id).catch(() => 'unknown')) === 'failed') continue;
        // Active tasks are locked by their worker and cannot be removed; they finish into keys with a TTL.
        await queues[kind].remove(id).catch(() => 0);
      }
    }
  }
}

/**
 * Deletes intermediate data (the keys belong to shared/src/job-data.ts); with `all`, also the
 * output, commit markers and queue entries. A failed job's clean-up keeps its failed queue entries
 * (removeQueueEntries); a removed or expired one (`all` and not `keepFailed`) loses them too.
 */
export async function cleanUpJob(d: CleanupDeps, job: JobRecord, all: boolean, keepFailed = false): Promise<void> {
  await deleteJobData(d.redis, d.keys, { id: job.id, round: job.round, partitions: job.spec.partitions, sendersInRound: (r) => sendersInRound(job, r) }, all);
  if (all) await removeQueueEntries(d.queues, job, keepFailed);
}
