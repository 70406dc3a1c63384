/**
 * Queue intake: the primary learns what workers did from BullMQ's queue events (workers never talk
 * to the master). `active` may record a task's start, `completed` collects the task's commit
 * marker, `failed` fails the job. The event streams are trimmed and best-effort, so reconcile.ts
 * catches up on anything missed; acting on an event twice changes nothing.
 */
import { QueueEvents } from 'bullmq';
import type { RedisConnection } from '@tandem/shared';
import { QUEUES, checkTaskJobId, errorsOncePerOutage, type CommitRecord, hasJobValue, isFinishedPhase, parseLostOutput, parseTaskJobId, readCommit, shuffleBlob, taskJobId, type Keys, type Logger, type LostOutput, type QueueName } from '@tandem/shared';
import { missingTaskInput } from './data-loss.ts';
import { NotPrimaryError } from './replication.ts';
import { rerunRule, type MasterState, type Op } from './state.ts';

/**
 * A task's start is recorded (an op, forwarded to the backup) only if it has not committed this
 * long after its worker took it: most tasks of an iterative job take a few milliseconds, and
 * recording each start cost the master and its backup as much as the rest of the task's bookkeeping.
 * Only backup attempts (TANDEM_SPECULATE_MIN_MS, seconds) and status displays use start times.
 */
/**
 * The reason BullMQ records when it fails a task that stalled more than maxStalledCount times
 * (a constant in its moveStalledJobsToWait-9.lua): the only sign of that case its failed event
 * carries, so it is matched whole, as BullMQ's own constant, not searched for in free text.
 */
const BULLMQ_STALLED_REASON = 'job stalled more than allowable limit';

export const STARTED_DELAY_MS = 100;

/**
 * A commit that does not complete its job's phase (other tasks of the round have not committed)
 * waits this long at most for the one that does, and goes out with it: the round's commits and the
 * next round's `enqueued` op (op-pipeline.ts follow-ups) then make one batch, one trip to the durable
 * log and the backup, and the last commit never waits behind the batch of the one before. Off the
 * barrier's path: the phase cannot end before its last commit.
 */
export const COMMIT_HOLD_MS = 20;

type CommittedOp = Extract<Op, { op: 'committed' }>;

const taskKey = (t: { jobId: string; round: number; kind: QueueName; index: number }) => `${t.jobId}/${t.round}/${t.kind}/${t.index}`;

/** A task attempt as its BullMQ id names it. */
export type TaskAttempt = NonNullable<ReturnType<typeof parseTaskJobId>>;

/** The BullMQ id of a task attempt. */
const taskJobIdOf = (t: TaskAttempt) => (t.check ? checkTaskJobId(t.jobId, t.round, t.kind, t.index, t.rerun) : taskJobId(t.jobId, t.round, t.kind, t.index, t.speculative, t.rerun));

export interface QueueIntakeDeps {
  redis: RedisConnection;
  keys: Keys;
  log: Logger;
  /** A new connection per reader (each blocks in XREAD). */
  eventConnection: () => RedisConnection;
  state: () => MasterState;
  propose: (op: Op) => Promise<unknown>;
  /** Proposes ops to go out in one batch (op-pipeline.ts `proposeAll`); without it, one by one. */
  proposeAll?: (ops: Op[]) => Promise<unknown>[];
  /** STARTED_DELAY_MS unless a test says otherwise. */
  startedDelayMs?: number;
  /** COMMIT_HOLD_MS unless a test says otherwise. */
  commitHoldMs?: number;
}

export class QueueIntake {
  private readers: QueueEvents[] = [];
  /** Pending start records (see STARTED_DELAY_MS). */
  private startTimers = new Set<NodeJS.Timeout>();
  private seen: Partial<Record<QueueName, string>> = {};
  /** Per job, commits held back (COMMIT_HOLD_MS) and the timer that sends them on their own. */
  private held = new Map<string, { ops: CommittedOp[]; timer: NodeJS.Timeout }>();
  /** Tasks whose commit is held or proposed and not yet answered (taskKey). */
  private commitsUnderWay = new Set<string>();

  constructor(private d: QueueIntakeDeps) {}

  /** Id of the last queue event read, per queue (reconcile records it in the state). */
  get lastSeen(): Partial<Record<QueueName, string>> {
    return this.seen;
  }

  /** Pending start records; for tests. */
  get pendingStarts(): number {
    return this.startTimers.size;
  }

  /** Starts reading each queue's events after `from` (the replicated position), or from now on. */
  start(from: Partial<Record<QueueName, string>>): void {
    this.seen = { ...from };
    for (const queue of QUEUES) this.listen(queue, from[queue] ?? '$');
  }

  /** Commits held back now (COMMIT_HOLD_MS); for tests. */
  get heldCommits(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.ops.length;
    return n;
  }

  /** Stops reading and drops the start records not yet made and the commits held back (reconcile finds them again). */
  async stop(): Promise<void> {
    for (const t of this.startTimers) clearTimeout(t);
    this.startTimers.clear();
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
    this.commitsUnderWay.clear();
    const readers = this.readers;
    this.readers = [];
    await Promise.all(readers.map((r) => r.close()));
  }

  /**
   * A task attempt failed for good (BullMQ gave up retrying): fails the job, unless the job is over,
   * the task committed anyway, it was a backup attempt (the original may still commit), or an
   * attempt from before the task's latest rerun. A reduce task that failed because Redis lost a
   * map task's committed output reruns that map task instead, when it can (`rerunLost`).
   */
  async taskFailed(t: TaskAttempt, reason: string): Promise<void> {
    const job = this.d.state().jobs[t.jobId];
    if (!job || isFinishedPhase(job.phase)) return;
    if (t.speculative > 0) return;
    const task = (t.kind === 'map' ? job.maps : job.reduces)[t.index];
    if (task?.state === 'committed' || this.commitsUnderWay.has(taskKey(t))) return;
    if (t.rerun < (task?.reruns ?? 0)) return;
    const lost = t.kind === 'reduce' && !t.check ? parseLostOutput(reason) : null;
    if (lost && lost.round === t.round && lost.partition === t.index) {
      const why = await this.rerunLost(t, lost, reason);
      if (why === null) return;
      reason += `; not rerun: ${why}`;
    }
    const what = `${t.kind} task ${t.index}${t.check ? "'s second run" : ''}`;
    if (reason === BULLMQ_STALLED_REASON) {
      reason = "its worker died or stopped renewing the task's lock more times than TANDEM_MAX_STALLS allows " +
        '(out of memory? CPU work without a pause longer than TANDEM_LOCK_MS?)';
    }
    // A loss of Redis data seen while the job ran is the likely cause of whatever the task missed.
    const loss = (this.d.state().dataLoss ?? []).filter((l) => l.at >= job.submittedAt).at(-1);
    if (loss) reason += `; Redis lost data while the job ran (at ${new Date(loss.at).toISOString()}: see the alerts), which is the likely cause`;
    this.d.log.error({ job: t.jobId, task: what, reason }, 'task failed for good; failing the job');
    const attempts = await this.attemptsOf(t);
    await this.d.propose({ op: 'failed', at: Date.now(), jobId: t.jobId, round: t.round, kind: t.kind, index: t.index, reason: `${what} failed: ${reason}`, attempts, rerun: t.rerun });
  }

  /**
   * Reduce task attempt `t` found what sender `lost.sender` committed gone (docs/DESIGN.md §3.4).
   * Proposes a `rerun` when `rerunRule` allows it and the map task's input is still in Redis; when
   * the map task's output is there again (its rerun wrote it), only the reduce task runs again.
   * Null when a rerun was proposed or there is nothing to do, else why the job must fail.
   */
  private async rerunLost(t: TaskAttempt, lost: LostOutput, reason: string): Promise<string | null> {
    const job = this.d.state().jobs[t.jobId];
    const base = { round: t.round, reduce: t.index, reduceRerun: t.rerun };
    const back = await hasJobValue(this.d.redis, this.d.keys, t.jobId, shuffleBlob(t.round, t.index, lost.sender));
    const map = back && job.maps[lost.sender]?.state === 'committed' ? null : lost.sender;
    const rule = rerunRule(job, { ...base, map });
    if (rule === 'stale') return null;
    if (rule !== 'rerun') return rule;
    if (map !== null) {
      const gone = await missingTaskInput(this.d.redis, this.d.keys, job, t.round, map);
      if (gone) return gone;
    }
    const at = Date.now();
    this.d.log.warn({ job: t.jobId, round: t.round, map, reduce: t.index }, map === null
      ? "a reduce task failed on a map task's lost output, which its rerun has written again: running the reduce task again"
      : "Redis lost a map task's committed output: rerunning it (its input is still there) and the reduce task that needed it");
    await this.d.propose({ op: 'rerun', at, jobId: t.jobId, ...base, map, reason: `reduce task ${t.index} failed: ${reason}` });
    // The state may have moved between the check and the op (a commit, another rerun): then the rule decides again.
    const now = this.d.state().jobs[t.jobId];
    if (!now || isFinishedPhase(now.phase) || (now.reduces[t.index]?.reruns ?? 0) > t.rerun) return null;
    const again = rerunRule(now, { ...base, map });
    return again === 'rerun' || again === 'stale' ? null : again;
  }

  /** How many attempts of the task ran, from its BullMQ record (attempts started, else made); undefined when it is gone. */
  private async attemptsOf(t: TaskAttempt): Promise<number | undefined> {
    const id = taskJobIdOf(t);
    const [started, made] = await this.d.redis.hmget(`${this.d.keys.bullPrefix(t.kind)}:${t.kind}:${id}`, 'ats', 'atm').catch(() => [null, null]);
    const n = Number(started ?? made);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  }

  private listen(queue: QueueName, lastEventId: string): void {
    const connection = this.d.eventConnection();
    const ev = new QueueEvents(queue, { connection, prefix: this.d.keys.bullPrefix(queue), lastEventId, blockingTimeout: 1000 });
    const seen = (id: string) => (this.seen[queue] = id);
    ev.on('active', ({ jobId }, id) => {
      seen(id);
      const t = parseTaskJobId(jobId);
      if (t) this.recordStartLater(t, Date.now());
    });
    ev.on('completed', ({ jobId, returnvalue }, id) => {
      seen(id);
      const t = parseTaskJobId(jobId);
      if (t) void this.collectCommit(t, returnvalue).catch((err) => this.d.log.warn({ err: err.message, task: jobId }, 'reading commit failed; reconcile will retry'));
    });
    ev.on('failed', ({ jobId, failedReason }, id) => {
      seen(id);
      const t = parseTaskJobId(jobId);
      if (t) this.taskFailed(t, failedReason).catch(this.dropped);
    });
    ev.on('error', errorsOncePerOutage(connection, (err) => this.d.log.warn({ err, queue }, 'queue events error')));
    this.readers.push(ev);
  }

  private recordStartLater(t: TaskAttempt, at: number): void {
    const timer = setTimeout(() => {
      this.startTimers.delete(timer);
      const job = this.d.state().jobs[t.jobId];
      const task = job?.round === t.round && job.phase === t.kind ? (t.kind === 'map' ? job.maps : job.reduces)[t.index] : undefined;
      // Committed already, or a retry or backup attempt of a task whose first start is recorded.
      if (!task || task.state === 'committed' || task.state === 'running' || t.rerun !== (task.reruns ?? 0) || this.commitsUnderWay.has(taskKey(t))) return;
      this.d.propose({ op: 'started', at, jobId: t.jobId, round: t.round, kind: t.kind, index: t.index }).catch(this.dropped);
    }, this.d.startedDelayMs ?? STARTED_DELAY_MS);
    this.startTimers.add(timer);
  }

  /**
   * The task's commit record: the one its completed event carries (`returnvalue.commit`, set by a
   * worker whose attempt won the commit: the record it wrote), else read from the commit hash.
   */
  private async collectCommit(t: TaskAttempt, returned?: unknown): Promise<void> {
    const carried = (returned as { won?: unknown; commit?: CommitRecord } | null)?.commit;
    const commit = carried && (returned as { won?: unknown }).won === true && carried.attempt === taskJobIdOf(t) ? carried : await readCommit(this.d.redis, this.d.keys, t);
    const job = this.d.state().jobs[t.jobId];
    // A record Redis lost the output of, still there until the rerun is added: it never counts again.
    if (commit && job && (t.kind === 'map' ? job.maps : job.reduces)[t.index]?.discarded?.includes(commit.attempt)) return;
    if (commit) this.offerCommit({ op: 'committed', at: Date.now(), jobId: t.jobId, round: t.round, kind: t.kind, index: t.index, commit });
  }

  /** Proposes a commit now if it completes its job's phase (with the job's held ones), else holds it (COMMIT_HOLD_MS). */
  private offerCommit(op: CommittedOp): void {
    const key = taskKey(op);
    if (this.commitsUnderWay.has(key)) return;
    this.commitsUnderWay.add(key);
    const held = this.held.get(op.jobId);
    if (this.completesPhase(op)) {
      if (held) {
        clearTimeout(held.timer);
        this.held.delete(op.jobId);
      }
      this.proposeCommits([...(held?.ops ?? []), op]);
      return;
    }
    if (held) {
      held.ops.push(op);
      return;
    }
    const timer = setTimeout(() => {
      const h = this.held.get(op.jobId);
      if (!h) return;
      this.held.delete(op.jobId);
      this.proposeCommits(h.ops);
    }, this.d.commitHoldMs ?? COMMIT_HOLD_MS);
    this.held.set(op.jobId, { ops: [op], timer });
  }

  /** Whether every other task of the op's phase has committed, or has its commit held or under way. Stale ops count as completing (apply ignores them at once). */
  private completesPhase(op: CommittedOp): boolean {
    const job = this.d.state().jobs[op.jobId];
    if (!job || job.round !== op.round || job.phase !== op.kind) return true;
    const tasks = op.kind === 'map' ? job.maps : job.reduces;
    return tasks.every((t) => t.index === op.index || t.state === 'committed' || this.commitsUnderWay.has(taskKey({ ...op, index: t.index })));
  }

  private proposeCommits(ops: CommittedOp[]): void {
    const answers = this.d.proposeAll ? this.d.proposeAll(ops) : ops.map((op) => this.d.propose(op));
    answers.forEach((answer, i) => {
      const key = taskKey(ops[i]);
      answer.catch(this.dropped).finally(() => this.commitsUnderWay.delete(key));
    });
  }

  /** An op that could not be proposed because this master stopped being primary is dropped quietly. */
  private readonly dropped = (err: Error) => {
    if (!(err instanceof NotPrimaryError)) this.d.log.warn({ err: err.message }, 'op failed');
  };
}
