/**
 * Clean-up of a finished job. A done job keeps its output; a failed or cancelled job, or a removed
 * one, loses everything: output, commit markers and queue entries. Intermediate keys also carry a
 * TTL, so a straggler that writes after clean-up cannot leak memory forever.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, checkTaskJobId, deleteJobData, deleteVerifyData, taskJobId, type Keys, type QueueName } from '@tandem/shared';
import { sendersInRound, type JobRecord } from './state.ts';

export interface CleanupDeps {
  redis: Redis;
  keys: Keys;
  queues: Record<QueueName, Queue>;
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
      if (job.spec.verify) await queues[kind].remove(checkTaskJobId(job.id, job.round, kind, i)).catch(() => 0);
    }
  }
}

/**
 * Deletes intermediate data (the keys belong to shared/src/job-data.ts); with `all`, also the
 * output, commit markers and queue entries.
 */
export async function cleanUpJob(d: CleanupDeps, job: JobRecord, all: boolean): Promise<void> {
  const extent = { id: job.id, round: job.round, partitions: job.spec.partitions, sendersInRound: (r: number) => sendersInRound(job, r) };
  await deleteJobData(d.redis, d.keys, extent, all);
  // The second runs' copies and records served only to compare; a done job's commit records keep the verdict.
  if (job.spec.verify) await deleteVerifyData(d.redis, d.keys, extent);
  if (all) await removeQueueEntries(d.queues, job);
}
