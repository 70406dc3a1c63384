/**
 * Clean-up of a finished job. A done job keeps its output; a failed or cancelled job, or a removed
 * one, loses everything: output, commit markers and queue entries (a failed job's failed entries
 * stay, for bull-board), and what its running tasks write after that (a sweep once they finish). Intermediate keys also carry a TTL, so a straggler
 * that writes after clean-up cannot leak memory forever.
 */
import type { Queue } from 'bullmq';
import type { RedisConnection } from '@tandem/shared';
import { QUEUES, checkTaskJobId, deleteJobData, deleteVerifyData, sleep, taskJobId, type Keys, type QueueName } from '@tandem/shared';
import { sendersInRound, type JobRecord } from './state.ts';

export interface CleanupDeps {
  redis: RedisConnection;
  keys: Keys;
  queues: Record<QueueName, Queue>;
}

/** The current round's task ids (first and backup attempts) in each queue. */
function roundTasks(job: JobRecord): [QueueName, string][] {
  const ids: [QueueName, string][] = [];
  for (const kind of QUEUES) {
    const n = kind === 'map' ? job.maps.length : job.spec.partitions;
    const tasks = kind === 'map' ? job.maps : job.reduces;
    for (let i = 0; i < n; i++) {
      // Every rerun's ids too (§3.4): each rerun is a new entry.
      for (let a = 0; a <= (tasks[i]?.reruns ?? 0); a++) {
        for (let s = 0; s <= 1; s++) ids.push([kind, taskJobId(job.id, job.round, kind, i, s, a)]);
        if (job.spec.verify) ids.push([kind, checkTaskJobId(job.id, job.round, kind, i, a)]);
      }
    }
  }
  return ids;
}

/**
 * Removes the current round's task entries (first and backup attempts) from the queues. With
 * `keepFailed`, a failed entry stays: it is what explains a failed job in bull-board's failed tab,
 * and BullMQ bounds the failed entries it keeps (TANDEM_KEEP_FAILED_TASKS, by count and age).
 */
export async function removeQueueEntries(queues: Record<QueueName, Queue>, job: JobRecord, keepFailed = false): Promise<void> {
  await Promise.all(roundTasks(job).map(async ([kind, id]) => {
    if (keepFailed && (await queues[kind].getJobState(id).catch(() => 'unknown')) === 'failed') return;
    // Active tasks are locked by their worker and cannot be removed; see sweepAfterRunningTasks.
    await queues[kind].remove(id).catch(() => 0);
  }));
}

/** How long the sweep after a failed or cancelled job's clean-up waits for the tasks still running. */
export const SWEEP_WAIT_MS = 60_000;

/**
 * A task running when its job was cancelled or failed cannot be stopped, and it writes its outputs
 * (and, in a chained round, the next round's shuffle) after the clean-up deleted the job's keys. So
 * once none of the round's tasks is active (or after SWEEP_WAIT_MS), the job's keys are deleted
 * again. Not awaited by the scheduler: the keys it deletes carry the intermediate TTL anyway.
 */
export async function sweepAfterRunningTasks(d: CleanupDeps, job: JobRecord, pollMs = 200): Promise<void> {
  // Only the tasks active at the last look are asked again (one query per active task, not per task
  // of the round, every poll): the others were removed with the queue entries or have ended; one
  // that starts anyway (its removal failed) writes keys with the intermediate TTL.
  let tasks = roundTasks(job);
  const deadline = Date.now() + SWEEP_WAIT_MS;
  for (;;) {
    const states = await Promise.all(tasks.map(([kind, id]) => d.queues[kind].getJobState(id).catch(() => 'unknown')));
    tasks = tasks.filter((_, i) => states[i] === 'active');
    if (tasks.length === 0 || Date.now() > deadline) break;
    await sleep(pollMs);
  }
  await deleteJobData(d.redis, d.keys, extent(job), true);
  if (job.spec.verify) await deleteVerifyData(d.redis, d.keys, extent(job));
}

const extent = (job: JobRecord) => ({ id: job.id, round: job.round, partitions: job.spec.partitions, sendersInRound: (r: number) => sendersInRound(job, r) });

/**
 * Deletes intermediate data (the keys belong to shared/src/job-data.ts); with `all`, also the
 * output, commit markers and queue entries. A failed job's clean-up keeps its failed queue entries
 * (removeQueueEntries); a removed or expired one (`all` and not `keepFailed`) loses them too.
 */
export async function cleanUpJob(d: CleanupDeps, job: JobRecord, all: boolean, keepFailed = false): Promise<void> {
  await deleteJobData(d.redis, d.keys, extent(job), all);
  // The second runs' copies and records served only to compare; a done job's commit records keep the verdict.
  if (job.spec.verify) await deleteVerifyData(d.redis, d.keys, extent(job));
  if (!all) return;
  await removeQueueEntries(d.queues, job, keepFailed);
  void sweepAfterRunningTasks(d, job).catch(() => undefined); // The keys' TTL is the fallback.
}
