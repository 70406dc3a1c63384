/**
 * Redis losing data (a restart without persistence, a flush, a failover to an empty replica) must
 * not leave jobs waiting forever for tasks and inputs that no longer exist. Redis holds a random
 * epoch value that the primary sets once (SET NX) and records in its replicated state; on every
 * reconcile it reads it back:
 *
 * - gone or changed: Redis lost (or replaced) its data. Every running job fails, saying so.
 * - the same: a running job's own data is checked (its round's commit markers when the state has
 *   seen commits, its inputs), and a job missing one fails naming it. On the slower
 *   failure-reconcile cadence, so are the queue entries of its queued and running tasks, and done
 *   jobs' outputs: a done job without them is marked output lost.
 *
 * Each loss is also kept in the state's `dataLoss` list, which the masters' /health alerts show.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import type { RedisConnection } from '@tandem/shared';
import { EPOCH_SHARDS, checkTaskJobId, eachKey, keySlot, hasCommits, hasJobValue, roundOutput, isCommitted, isFinishedPhase, missingOutputsOf, missingRoundOutputs, splitKey, taskJobId, type Keys, type Logger, type QueueName } from '@tandem/shared';
import { MAX_BATCH } from './op-pipeline.ts';
import { currentTasks, latestTime, type JobRecord, type MasterState, type Op } from './state.ts';
import { jobIdTime } from './submit.ts';

export interface DataLossDeps {
  redis: RedisConnection;
  keys: Keys;
  log: Logger;
  queues: Record<QueueName, Queue>;
  /** Whether this process added (or found) the task's queue entry since it became primary (task-enqueue.ts). */
  added: (taskJobId: string) => boolean;
  state: () => MasterState;
  propose: (op: Op) => Promise<unknown>;
}

const runningJobs = (s: MasterState): JobRecord[] => Object.values(s.jobs).filter((j) => !isFinishedPhase(j.phase));

/** What a job that lost its data should tell its user to do. */
const RESUBMIT = 'resubmit the job (upload its dataset again if it is gone too)';

/** Reads the epoch and records it; a missing or changed one fails every running job. True when Redis lost data. */
export async function checkEpoch(d: DataLossDeps): Promise<boolean> {
  if (d.redis instanceof Cluster) return checkShardEpochs(d);
  const key = d.keys.epoch();
  const found = await d.redis.get(key);
  const known = d.state().epoch;
  if (found !== null && found === known) return false;
  if (found === null) await d.redis.set(key, randomUUID(), 'NX');
  const epoch = await d.redis.get(key);
  if (epoch === null) throw new Error(`the epoch key ${key} vanished right after it was set; Redis is losing data, retrying at the next reconcile`);
  if (known === undefined) {
    await d.propose({ op: 'epoch', epoch });
    return false;
  }
  const what = found === null
    ? `Redis lost its data (the epoch key ${key} is gone: Redis restarted without persistence, or was flushed)`
    : `Redis holds other data than before (the epoch key ${key} changed: restored from an older copy, or another server)`;
  await failRunning(d, what, epoch, { key, was: known, now: epoch });
  return true;
}

/**
 * On a Redis Cluster the epoch lives under EPOCH_SHARDS keys spread over the slot space, so a
 * primary that comes back empty (restarted without persistence, or replaced by a replica that had
 * not synced) loses at least one of them even while the others live on.
 */
async function checkShardEpochs(d: DataLossDeps): Promise<boolean> {
  const names = Array.from({ length: EPOCH_SHARDS }, (_, i) => d.keys.epoch(i));
  const found = (await eachKey(d.redis, names, (p, key) => p.get(key))) as (string | null)[];
  const known = d.state().epoch;
  if (known !== undefined && found.every((v) => v === known)) return false;
  if (known === undefined) {
    // The first check on this cluster (or after an upgrade from one Redis): one value everywhere.
    const epoch = found.find((v) => v !== null) ?? randomUUID();
    await eachKey(d.redis, names.filter((_, i) => found[i] !== epoch), (p, key) => p.set(key, epoch));
    await d.propose({ op: 'epoch', epoch });
    return false;
  }
  const gone = names.filter((_, i) => found[i] === null);
  const changed = names.filter((_, i) => found[i] !== null && found[i] !== known);
  const epoch = randomUUID();
  await eachKey(d.redis, names, (p, key) => p.set(key, epoch));
  const at = (list: string[]) => list.map((k) => `${k} (slot ${keySlot(k)})`).join(', ');
  const what = [
    gone.length > 0 ? `Redis lost data on part of the cluster (epoch keys ${at(gone)} are gone: the primary serving those slots restarted without persistence, or was replaced by a replica that had not synced)` : '',
    changed.length > 0 ? `Redis holds other data than before on part of the cluster (epoch keys ${at(changed)} changed)` : '',
  ].filter(Boolean).join('; ');
  await failRunning(d, what, epoch, { gone, changed, was: known, now: epoch });
  return true;
}

async function failRunning(d: DataLossDeps, what: string, epoch: string, detail: object): Promise<void> {
  const jobs = runningJobs(d.state()).map((j) => j.id);
  const message = `${what}; the job's task state and inputs went with it: ${RESUBMIT}`;
  d.log.error({ ...detail, jobs: jobs.length }, 'Redis lost data: failing every running job');
  await d.propose({ op: 'dataLost', at: Date.now(), message, jobIds: jobs, epoch });
}

/** What of a running job's data is gone, in words, or null when all is there. */
export async function missingData(d: DataLossDeps, job: JobRecord): Promise<string | null> {
  if (currentTasks(job).some((t) => t.state === 'committed') && !(await hasCommits(d.redis, d.keys, job.id, job.round))) {
    return `the commit markers of round ${job.round}`;
  }
  if (job.phase === 'map' && job.round === 0) {
    const gone = await missingSplits(d, job);
    if (gone.length > 0) return `its input, splits ${gone.join(', ')} of dataset ${job.spec.dataset.name} version ${job.spec.dataset.version}`;
  } else if (job.phase === 'map') {
    const gone = await missingRoundOutputs(d.redis, d.keys, job.id, job.round - 1, job.spec.partitions);
    if (gone.length > 0) return `its input, round ${job.round - 1}'s output of partitions ${gone.join(', ')}`;
  }
  return null;
}

/**
 * What of map task `index` of round `round`'s input is gone, in words, or null when it is there:
 * its split in round 0, else partition `index` of the round before's output. Asked before that task
 * is rerun (queue-intake.ts, §3.4).
 */
export async function missingTaskInput(redis: RedisConnection, k: Keys, job: JobRecord, round: number, index: number): Promise<string | null> {
  if (round === 0) {
    const { name, version } = job.spec.dataset;
    return (await redis.exists(splitKey(k, job.spec.dataset, index))) === 1 ? null : `its input, split ${index} of dataset ${name} version ${version}, is gone too`;
  }
  return (await hasJobValue(redis, k, job.id, roundOutput(round - 1, index))) ? null : `its input, round ${round - 1}'s output of partition ${index}, is gone too`;
}

/**
 * Splits of the pinned dataset version that uncommitted map tasks still need and that are gone. A
 * replaced version's splits outlive its replacement for a while (the dataset store lets them
 * expire), so only a real loss, or a dataset removed by hand, finds one missing.
 */
async function missingSplits(d: DataLossDeps, job: JobRecord): Promise<number[]> {
  const need = job.maps.filter((t) => t.state !== 'committed').map((t) => t.index);
  const res = await eachKey(d.redis, need.map((i) => splitKey(d.keys, job.spec.dataset, i)), (p, key) => p.exists(key));
  return need.filter((_, j) => res[j] === 0);
}

/**
 * Queued and running tasks whose BullMQ entry is gone although this process added it and the task
 * has not committed. A task that completed committed first, so an entry BullMQ removed after
 * completion is found committed by the second look; one this process has not added yet (its op
 * is applied before the add) is not looked at.
 */
export async function missingQueueEntries(d: DataLossDeps, job: JobRecord): Promise<string | null> {
  const kind = job.phase as QueueName;
  const tasks = currentTasks(job).filter((t) => (t.state === 'queued' || t.state === 'running') && d.added(taskJobId(job.id, job.round, kind, t.index, 0, t.reruns)));
  if (tasks.length === 0) return null;
  const p = d.redis.pipeline();
  // A verified task's first run may complete (and BullMQ drop its entry) before the task commits:
  // its second run commits it, so the task is lost only when both entries are gone (docs/DESIGN.md §3.6).
  const ids = (i: number, rerun = 0) => [taskJobId(job.id, job.round, kind, i, 0, rerun), ...(job.spec.verify ? [checkTaskJobId(job.id, job.round, kind, i, rerun)] : [])];
  for (const t of tasks) p.exists(...ids(t.index, t.reruns).map((id) => d.queues[kind].toKey(id)));
  const res = (await p.exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  const gone: number[] = [];
  for (const [j, t] of tasks.entries()) {
    if (res[j][1] === 0 && !(await isCommitted(d.redis, d.keys, { jobId: job.id, round: job.round, kind, index: t.index }))) gone.push(t.index);
  }
  return gone.length > 0 ? `the queue entries of ${kind} tasks ${gone.join(', ')} of round ${job.round}` : null;
}

/** Fails every running job whose data is partly gone, naming what; with `queues`, its tasks' queue entries are checked too. */
export async function checkRunningJobs(d: DataLossDeps, queues = false): Promise<void> {
  for (const job of runningJobs(d.state())) {
    const what = (await missingData(d, job)) ?? (queues ? await missingQueueEntries(d, job) : null);
    // The state may have moved on while Redis was read (the job finished, or entered its next round).
    const now = d.state().jobs[job.id];
    if (what === null || now?.version !== job.version) continue;
    // Redis may have lost everything since the epoch was read at the start of this reconcile: then
    // that is what each job is told (checkEpoch fails them all), not this job's first missing piece.
    if (await checkEpoch(d)) return;
    d.log.error({ job: job.id, missing: what }, 'a running job lost data in Redis: failing it');
    await d.propose({ op: 'dataLost', at: Date.now(), message: `Redis lost ${what} of job ${job.id}: ${RESUBMIT}`, jobIds: [job.id] });
  }
}

/** Marks every done job whose output keys are gone. */
export async function checkOutputs(d: DataLossDeps): Promise<void> {
  const done = Object.values(d.state().jobs).filter((job) => job.phase === 'done' && !job.outputLost);
  const lost = await missingOutputsOf(d.redis, d.keys, done.map((job) => ({ id: job.id, round: job.round, partitions: job.spec.partitions })));
  for (const [id, gone] of lost) {
    const job = d.state().jobs[id];
    // Removed or expired meanwhile: its output was deleted on purpose.
    if (!job) continue;
    d.log.error({ job: job.id, partitions: gone }, "a done job's output is gone from Redis: marking it output lost");
    await d.propose({ op: 'outputLost', at: Date.now(), jobId: job.id, partitions: gone });
  }
}

/**
 * Op times are not quite in log order (an op is timed just before it is proposed; clocks step), so
 * the lost window starts this much before the newest time the surviving state records.
 */
export const LOST_WINDOW_MARGIN_MS = 1000;

const iso = (t: number) => new Date(t).toISOString();

/**
 * A master named primary caught up with a log that ends at batch `seq`, while a master once held
 * batch `logSeq` (the view service's witness): Redis rolled the log back (a crash that lost its
 * last writes, under appendfsync everysec or no). The op that says so, or null when nothing is
 * missing. Everything the lost batches did is gone: jobs submitted in them no longer exist (reads of
 * their ids answer `lost`), and jobs still running in the surviving state may have gone further
 * (even finished and been read): they fail as lost. Every job's version jumps by more than the lost
 * batches can have added (MAX_BATCH ops each, one more batch for the last ping interval, which the
 * witness may not have heard of), so no client sees a version go back.
 */
export function rollbackLoss(state: MasterState, seq: number, logSeq: number, now: number): Extract<Op, { op: 'dataLost' }> | null {
  if (seq >= logSeq) return null;
  const latest = latestTime(state);
  const jobsSince = Math.max(0, latest - LOST_WINDOW_MARGIN_MS);
  const message = `Redis lost acknowledged writes in a crash: the durable op log ends at batch ${seq} but a master held batch ${logSeq}, so batches ${seq + 1}-${logSeq} (at least) are gone, ` +
    `with everything they recorded after ${iso(latest)} (Redis's appendfsync is weaker than "always"?); jobs submitted since then are lost, and jobs that were running are marked lost: ${RESUBMIT}`;
  return {
    op: 'dataLost', at: now, message, jobIds: runningJobs(state).map((j) => j.id),
    rollback: { from: seq + 1, to: logSeq, jobsSince, versionBump: (logSeq - seq + 1) * MAX_BATCH },
  };
}

/**
 * The primary's append found the log ending at batch `head` although it holds batch `held`: RedisConnection
 * lost its last writes while this primary lived, and the primary rewrote the log from its state
 * (DurableLog.reseed), so no job was lost. An alert says so; what the same moments lost of the
 * running jobs' own data (commits, queue entries) is found by the reconcile checks.
 */
export function reseedLoss(head: number, held: number, now: number): Extract<Op, { op: 'dataLost' }> {
  const message = `Redis lost acknowledged writes: the durable op log ended at batch ${head} while the primary held batch ${held}; ` +
    `the primary wrote the log again from its state, so the job table is whole, but tasks' commits and queue entries of those moments may be gone (a running job missing them fails saying so) (Redis's appendfsync is weaker than "always"?)`;
  return { op: 'dataLost', at: now, message, jobIds: [] };
}

/**
 * A master named primary restored its state from the durable log alone (no master held it) and
 * found no rollback: the witness is only as new as the last ping, so the log may still lack the
 * batches of the last ping interval before the masters died. The op that records the window whose
 * ids the table lacks answer `lost` (the newest time the state records, less the margin, until now);
 * null for an empty state (a new cluster: nothing to lose).
 */
export function restoredOp(state: MasterState, now: number): Extract<Op, { op: 'restored' }> | null {
  const latest = latestTime(state);
  return latest === 0 ? null : { op: 'restored', at: now, jobsSince: Math.max(0, latest - LOST_WINDOW_MARGIN_MS) };
}

const lostText = (id: string, detected: number) => `job ${id} is lost: Redis lost its record in a crash (detected at ${iso(detected)}); resubmit it`;

/** Why a job id the table lacks is not simply unknown: it was issued in a window whose ops Redis lost. */
export function lostJobText(state: MasterState, id: string): string | null {
  const t = jobIdTime(id);
  if (t === null) return null;
  const loss = (state.dataLoss ?? []).find((l) => l.jobsSince !== undefined && t >= l.jobsSince && t <= (l.jobsUntil ?? l.at));
  return loss ? lostText(id, loss.at) : null;
}

/**
 * An id the table lacks, issued in a restore's window (`restoredOp`) and in no detected loss's: a
 * client holds it, so its submit was acknowledged, and the log lost it unseen (an unwitnessed
 * rollback). The op that reports the loss (an alert, and a window that answers `lost` from then on),
 * or null when the id is simply unknown.
 */
export function unwitnessedLoss(state: MasterState, id: string, now: number): Extract<Op, { op: 'dataLost' }> | null {
  const t = jobIdTime(id);
  if (t === null || lostJobText(state, id) !== null) return null;
  const r = (state.restores ?? []).find((w) => t >= w.jobsSince && t <= w.at);
  if (!r) return null;
  const message = `Redis lost acknowledged writes in a crash: job ${id}, acknowledged before the masters restored the job table from the durable op log at ${iso(r.at)}, is not in it, ` +
    `so the log lost its last batches before any master reported them to the view service (Redis's appendfsync is weaker than "always"?); jobs submitted from ${iso(r.jobsSince)} until then that the table lacks are lost, ` +
    `and jobs that ran then may have lost their last steps: ${RESUBMIT}`;
  return { op: 'dataLost', at: now, message, jobIds: [], lostJobs: { since: r.jobsSince, until: r.at } };
}

/** Why a job id the table lacks is lost (lostJobText, or an unwitnessed loss: `unwitnessedLoss`'s op, to propose, found it). */
export function lostJob(state: MasterState, id: string, now: number): { text: string; report: Extract<Op, { op: 'dataLost' }> | null } | null {
  const text = lostJobText(state, id);
  if (text) return { text, report: null };
  const report = unwitnessedLoss(state, id, now);
  return report ? { text: lostText(id, now), report } : null;
}

/** The losses of the last `windowMs`, as alerts. */
export function dataLossAlerts(state: MasterState, now: number, windowMs: number): string[] {
  return (state.dataLoss ?? [])
    .filter((l) => now - l.at <= windowMs)
    .map((l) => `data loss at ${new Date(l.at).toISOString()}: ${l.message}`);
}
