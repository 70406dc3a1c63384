/**
 * Reconcile: queue events are trimmed and best-effort, so every TANDEM_RECONCILE_MS the primary
 * catches up with the commit markers (the truth about which tasks are done), every fifth time with
 * the queues' failed lists too, and records how far it has read the queue events.
 *
 * Each reconcile also checks that Redis still holds the jobs' data (data-loss.ts).
 *
 * That position is replicated so a new primary resumes the streams there. It may lag by one
 * reconcile interval, which only means a new primary reads those events again, and acting on a
 * queue event twice changes nothing.
 */
import type { Queue } from 'bullmq';
import type { RedisConnection } from '@tandem/shared';
import { QUEUES, commitField, isFinishedPhase, parseTaskJobId, readCommits, type Keys, type Logger, type QueueName } from '@tandem/shared';
import { checkEpoch, checkOutputs, checkRunningJobs } from './data-loss.ts';
import type { TaskAttempt } from './queue-intake.ts';
import { NotPrimaryError } from './replication.ts';
import { currentTasks, type MasterState, type Op } from './state.ts';

/** Failed lists are read on every this-many-th reconcile: they change rarely and cost a scan. */
export const FAILURES_EVERY = 5;

/** Failed entries read per queue, the newest first (BullMQ keeps TANDEM_KEEP_FAILED_TASKS of them, 5000 by default). */
const FAILED_PAGE = 1000;

export interface ReconcileDeps {
  redis: RedisConnection;
  keys: Keys;
  log: Logger;
  queues: Record<QueueName, Queue>;
  serving: () => boolean;
  state: () => MasterState;
  propose: (op: Op) => Promise<unknown>;
  /** Where the queue-event readers are (queue-intake.ts `lastSeen`). */
  lastSeen: () => Partial<Record<QueueName, string>>;
  /** Whether this process added the task's queue entry (task-enqueue.ts `added`). */
  added: (taskJobId: string) => boolean;
  /** What a final task failure does (queue-intake.ts `taskFailed`). */
  taskFailed: (t: TaskAttempt, reason: string) => Promise<void>;
}

export class Reconciler {
  private runs = 0;

  constructor(private d: ReconcileDeps) {}

  /** One reconcile; errors are logged and the next interval tries again. */
  async run(): Promise<void> {
    if (!this.d.serving()) return;
    this.runs++;
    try {
      // Data loss first: after one, nothing else Redis says about a job means anything.
      const lost = await checkEpoch(this.d);
      await this.recordPositions();
      await this.catchUpCommits();
      const slow = this.runs % FAILURES_EVERY === 0;
      if (!lost) await checkRunningJobs(this.d, slow);
      if (slow) {
        await this.catchUpFailures();
        await checkOutputs(this.d);
      }
    } catch (err) {
      if (!(err instanceof NotPrimaryError)) this.d.log.warn({ err: (err as Error).message }, 'reconcile failed; retrying');
    }
  }

  /** Records, per queue, the last event read, if it moved. */
  async recordPositions(): Promise<void> {
    const seen = this.d.lastSeen();
    for (const queue of QUEUES) {
      const id = seen[queue];
      if (id && id !== this.d.state().lastEventIds[queue]) await this.d.propose({ op: 'eventsRead', queue, id });
    }
  }

  /** Proposes every commit marker of a running job's current round that the state has not seen. */
  async catchUpCommits(): Promise<void> {
    for (const job of Object.values(this.d.state().jobs)) {
      if (isFinishedPhase(job.phase)) continue;
      const kind = job.phase as QueueName;
      const commits = await readCommits(this.d.redis, this.d.keys, job.id, job.round);
      for (const t of currentTasks(job)) {
        const c = t.state !== 'committed' && commits.get(commitField(kind, t.index));
        // A record Redis lost the output of (§3.4), until the rerun's enqueue takes it back.
        if (c && t.discarded?.includes(c.attempt)) continue;
        if (c) await this.d.propose({ op: 'committed', at: Date.now(), jobId: job.id, round: job.round, kind, index: t.index, commit: c });
      }
    }
  }

  /** Hands every failed queue entry of a running job to `taskFailed`. */
  async catchUpFailures(): Promise<void> {
    const running = (jobId: string) => {
      const job = this.d.state().jobs[jobId];
      return job !== undefined && !isFinishedPhase(job.phase);
    };
    if (!Object.keys(this.d.state().jobs).some(running)) return;
    for (const queue of QUEUES) {
      const failed = await this.d.queues[queue].getJobs(['failed'], 0, FAILED_PAGE);
      for (const j of failed) {
        const t = j?.id ? parseTaskJobId(j.id) : null;
        if (t && running(t.jobId)) await this.d.taskFailed(t, j.failedReason);
      }
    }
  }
}
