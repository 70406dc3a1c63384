/**
 * Task enqueue: turns tasks the state calls queued into BullMQ jobs. Ids are deterministic
 * (`taskJobId`), so adding a task that is already in its queue changes nothing; that is what lets a
 * new primary simply add again every task its state calls queued.
 */
import type { Queue } from 'bullmq';
import { checkTaskJobId, isFinishedPhase, taskJobId, type ClockStamp, type Config, type QueueName, type TaskAddress, type TaskPayload } from '@tandem/shared';
import { chains, currentTasks, sendersInRound, type JobRecord, type MasterState } from './state.ts';

/** Who adds a task: this master's name in views and the view it is primary in. */
export type EnqueuedBy = NonNullable<TaskPayload['enqueuedBy']>;

/**
 * Everything task `index` of the job's current round needs; `clock` is the master's stamp for the
 * job, `enqueuedBy` the adding master and its view.
 */
export function taskPayload(job: JobRecord, kind: QueueName, index: number, clock: ClockStamp, enqueuedBy?: EnqueuedBy): TaskPayload {
  const split = kind === 'map' && job.round === 0;
  const first = job.spec.dataset.firstRecords;
  return {
    jobId: job.id, round: job.round, kind, index, type: job.spec.type, ...(job.spec.typeHash ? { typeHash: job.spec.typeHash } : {}), params: job.spec.params,
    dataset: { name: job.spec.dataset.name, version: job.spec.dataset.version },
    firstRecord: split ? first[index] : undefined,
    records: split ? (first[index + 1] ?? job.spec.dataset.records + 1) - first[index] : undefined,
    clock, enqueuedBy,
    senders: job.outputRound ? 0 : sendersInRound(job, job.round), partitions: job.spec.partitions,
    previousStats: job.spec.rounds ? (job.rounds[job.rounds.length - 1]?.stats ?? {}) : undefined,
    output: job.outputRound || undefined,
    chained: (kind === 'reduce' && !job.outputRound && chains(job, job.round)) || undefined,
  };
}

/** BullMQ's KeepJobs: at most `count` entries, none older than `age` seconds. */
export interface KeepFinished {
  count: number;
  age: number;
}

export const keepFinished = (cfg: Config): TaskEnqueueDeps['keep'] => ({
  completed: { count: cfg.TANDEM_KEEP_COMPLETED_TASKS, age: cfg.TANDEM_KEEP_COMPLETED_TASKS_S },
  failed: { count: cfg.TANDEM_KEEP_FAILED_TASKS, age: cfg.TANDEM_KEEP_FAILED_TASKS_S },
});

export interface TaskEnqueueDeps {
  queues: Record<QueueName, Queue>;
  /** BullMQ attempts per task (TANDEM_TASK_ATTEMPTS) and the first retry's delay (TANDEM_RETRY_DELAY_MS). */
  attempts: number;
  retryDelayMs: number;
  /** Finished entries BullMQ keeps per queue (TANDEM_KEEP_*_TASKS): by count and by age. */
  keep: { completed: KeepFinished; failed: KeepFinished };
  /** The clock a task payload carries (event-stamping.ts). */
  stamp(jobId: string): ClockStamp;
  /** This master and the view it adds tasks in (replication's current view). */
  origin(): EnqueuedBy;
  /** Takes back a task's commit records of these attempts (job-data.ts `uncommitTask`): before a rerun is added. */
  uncommit?(t: TaskAddress, attempts: string[]): Promise<unknown>;
}

export class TaskEnqueuer {
  /** BullMQ ids this process has added (or found present) since it became primary. */
  private confirmed = new Set<string>();
  /** BullMQ ids whose add is under way: not added again meanwhile (a failed add leaves them to ensureQueued). */
  private adding = new Set<string>();

  constructor(private d: TaskEnqueueDeps) {}

  /**
   * Adds tasks `indices` of the job's current round; `speculative` > 0 adds that backup attempt
   * instead. A verified job's task is two entries: its first run and its second (docs/DESIGN.md §3.6).
   */
  async add(job: JobRecord, kind: QueueName, indices: number[], speculative: number): Promise<void> {
    const origin = this.d.origin();
    const tasks = kind === 'map' ? job.maps : job.reduces;
    const rerun = (index: number) => tasks[index]?.reruns ?? 0;
    const runs = job.spec.verify && speculative === 0
      ? indices.flatMap((index) => [{ index, id: taskJobId(job.id, job.round, kind, index, 0, rerun(index)), verify: 'first' as const }, { index, id: checkTaskJobId(job.id, job.round, kind, index, rerun(index)), verify: 'check' as const }])
      : indices.map((index) => ({ index, id: taskJobId(job.id, job.round, kind, index, speculative, rerun(index)), verify: undefined }));
    const jobs = runs.map(({ index, id, verify }) => ({
      name: `${job.spec.type}.${kind}`,
      data: { ...taskPayload(job, kind, index, this.d.stamp(job.id), origin), ...(verify ? { verify } : {}) },
      opts: {
        jobId: id,
        attempts: this.d.attempts,
        backoff: { type: 'exponential', delay: this.d.retryDelayMs },
        removeOnComplete: this.d.keep.completed,
        removeOnFail: this.d.keep.failed,
      },
    }));
    // In flight from here, before the first await: ensureQueued, in a tick that runs meanwhile, leaves them alone.
    for (const j of jobs) this.adding.add(j.opts.jobId);
    try {
      // A rerun's lost commit is taken back first: the task's first commit wins, and the worker skips a committed task.
      for (const index of indices) {
        const discarded = tasks[index]?.discarded ?? [];
        if (discarded.length > 0) await this.d.uncommit?.({ jobId: job.id, round: job.round, kind, index }, discarded);
      }
      await this.d.queues[kind].addBulk(jobs);
      for (const j of jobs) this.confirmed.add(j.opts.jobId);
    } finally {
      for (const j of jobs) this.adding.delete(j.opts.jobId);
    }
  }

  /**
   * Tasks the state calls queued but that this process has not itself seen added (it just started,
   * took over, or an add failed) are added again. `confirmRead` runs once before the first add, so a
   * deposed primary adds nothing.
   */
  async ensureQueued(state: MasterState, confirmRead: () => Promise<void>): Promise<void> {
    let confirmed = false;
    for (const job of Object.values(state.jobs)) {
      if (isFinishedPhase(job.phase)) continue;
      const kind = job.phase as QueueName;
      const missing = currentTasks(job)
        .filter((t) => {
          const id = taskJobId(job.id, job.round, kind, t.index, 0, t.reruns);
          return (t.state === 'queued' || t.state === 'running') && !this.confirmed.has(id) && !this.adding.has(id);
        })
        .map((t) => t.index);
      if (missing.length === 0) continue;
      if (!confirmed) {
        await confirmRead();
        confirmed = true;
      }
      await this.add(job, kind, missing, 0);
    }
  }

  /** Whether this process added (or found present) that BullMQ id since it became primary. */
  added(taskJobId: string): boolean {
    return this.confirmed.has(taskJobId);
  }

  /** Forgets what was added: a master that becomes primary checks every queued task again. */
  forget(): void {
    this.confirmed.clear();
    this.adding.clear();
  }
}
