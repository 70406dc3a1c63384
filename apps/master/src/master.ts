/**
 * The master process's orchestrator. It wires the modules that do the work:
 *
 * - state-holder.ts owns the state; every change is an op (state.ts `apply`);
 * - op-pipeline.ts is the primary's door for ops: group commit into the durable op log
 *   (durable-log.ts), then through the backup, then apply;
 * - the scheduler (scheduler.ts `plan`) decides, and `act` below carries each action out:
 *   task-enqueue.ts adds tasks (after their op), cleanup.ts deletes a finished job's data (before
 *   its `cleaned` op; docs/DESIGN.md §2);
 * - queue-intake.ts and reconcile.ts feed what workers did back in as ops;
 * - event-stamping.ts logs what each op did, long-polls.ts wakes the clients that wait for it;
 * - submit.ts validates submits; replication.ts calls back in through `ReplicaHost`.
 *
 * Only the primary proposes, and only the primary runs the scheduler, the queue-event readers and
 * reconcile: they start when replication names this master primary and stop when it steps down.
 */
import type { Queue } from 'bullmq';
import type { RedisConnection } from '@tandem/shared';
import { hostname } from 'node:os';
import { LamportClock, durabilityWatch, isFinishedPhase, sleep, uncommitTask, type Config, type GcReport, type Keys, type Logger, type Metrics, type QueueName } from '@tandem/shared';
import type { Registry } from '@tandem/jobs';
import { alertsOf, type Alert } from './alerts.ts';
import { cleanUpJob, type CleanupDeps } from './cleanup.ts';
import { DurableLog, LogDivergedError, LogFencedError, LogGapError } from './durable-log.ts';
import { dataLossAlerts, lostJob, reseedLoss, restoredOp, rollbackLoss } from './data-loss.ts';
import { EventStamper, describeChange } from './event-stamping.ts';
import { collectGarbage } from './gc.ts';
import { LongPolls } from './long-polls.ts';
import { OpPipeline, type FollowUp, type Journal } from './op-pipeline.ts';
import { QueueIntake } from './queue-intake.ts';
import { Reconciler } from './reconcile.ts';
import { NotPrimaryError, Replication, type ReplicaHost } from './replication.ts';
import { plan, readyToEnqueue, type Action } from './scheduler.ts';
import { StateHolder, type Change } from './state-holder.ts';
import type { MasterState, Op, Reply, TaskKind } from './state.ts';
import { answered, clientRef, type ClientRef } from './sessions.ts';
import { jobSpecFor, newJobId, type SubmitDeps, type SubmitRequest } from './submit.ts';
import { TaskEnqueuer, keepFinished } from './task-enqueue.ts';

export { STARTED_DELAY_MS } from './queue-intake.ts';

export interface MasterDeps {
  cfg: Config;
  log: Logger;
  redis: RedisConnection;
  keys: Keys;
  registry: Registry;
  queues: Record<QueueName, Queue>;
  /** Separate connections for the queue-event readers (blocking XREAD). */
  eventConnection: () => RedisConnection;
  /** This master's name in views: its URL. */
  me: string;
  /** Its metrics (master-metrics.ts reads the rest at each scrape); none, or off: nothing is measured. */
  metrics?: Metrics;
}

/** Ops after which new work may be ready (a job submitted, a phase finished): plan now, not at the next interval. */
/** Events that are a job's story, logged at info: how it ended, and each finished round. */
const JOB_LEVEL = /^(job (done|failed|cancelled|removed)|round \d+ done|map task rerun.*)$/;
const SCHEDULING_OPS = new Set<Op['op']>(['submit', 'committed', 'cancel', 'failed', 'rerun']);

/** How often the scheduler runs when no op prompts it (it also runs after each op that may free work). */
const TICK_MS = 100;

/** How long `stop` waits for a batch in flight to reach the backup. */
const STOP_WAIT_MS = 1000;

export class Master implements ReplicaHost {
  readonly replication: Replication;
  private holder = new StateHolder();
  /** Null when TANDEM_DURABLE_LOG=off (the benchmark's baseline only). */
  private durable: DurableLog | null;
  private pipeline: OpPipeline;
  private polls: LongPolls;
  private stamper: EventStamper;
  private enqueuer: TaskEnqueuer;
  private intake: QueueIntake;
  private reconciler: Reconciler;
  private cleanup: CleanupDeps;
  private submitDeps: SubmitDeps;
  /** What the Redis in use cannot promise about acknowledged ops (its fsync policy), re-read now and then. */
  private durability: ReturnType<typeof durabilityWatch>;
  private timers: NodeJS.Timeout[] = [];
  /** The restores (by time) whose unwitnessed loss is being reported (lostJob). */
  private reporting = new Set<number>();
  private ticking = false;
  private tickAgain = false;

  constructor(private d: MasterDeps) {
    const { cfg, log, redis, keys, queues } = d;
    const clock = new LamportClock();
    // With metrics off the hooks are absent: the hot paths do not even read the clock.
    const metrics = d.metrics?.enabled ? d.metrics : null;
    const viewChanges = metrics?.counter('viewChanges');
    this.replication = new Replication(
      {
        me: d.me, viewUrl: cfg.TANDEM_VIEW_URL, secret: cfg.TANDEM_SECRET, pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS,
        ...(viewChanges ? { onViewChange: () => viewChanges.inc() } : {}),
      },
      this, log, clock,
    );
    const state = () => this.holder.state;
    const propose = (op: Op) => this.propose(op);
    this.durable = cfg.TANDEM_DURABLE_LOG === 'on' ? new DurableLog({ redis, keys, log, snapshotEvery: cfg.TANDEM_LOG_SNAPSHOT_EVERY, replicas: cfg.TANDEM_LOG_REPLICAS, replicaWaitMs: cfg.TANDEM_LOG_REPLICA_WAIT_MS }) : null;
    this.pipeline = new OpPipeline({
      holder: this.holder, replication: this.replication, journal: this.journal(),
      onApplied: (c, op) => this.applied(c, op),
      onBatch: (seq) => this.durable?.compact(this.replication.view.viewnum, seq, this.holder.state),
      followUps: (after, ops) => this.followUps(after, ops),
      ...(metrics ? { commitSeconds: metrics.histogram('opCommit') } : {}),
    });
    this.polls = new LongPolls((jobId) => this.version(jobId), (jobId) => {
      const job = this.holder.state.jobs[jobId];
      return !job || isFinishedPhase(job.phase);
    });
    this.stamper = new EventStamper({ redis, keys, log, clock, proc: `master:${hostname()}:${process.pid}` });
    this.enqueuer = new TaskEnqueuer({ queues, attempts: cfg.TANDEM_TASK_ATTEMPTS, retryDelayMs: cfg.TANDEM_RETRY_DELAY_MS, keep: keepFinished(cfg), stamp: (jobId) => this.stamper.stamp(jobId),
      origin: () => ({ master: d.me, viewnum: this.replication.view.viewnum }),
      uncommit: (t, attempts) => uncommitTask(redis, keys, t, attempts),
    });
    this.intake = new QueueIntake({ redis, keys, log, eventConnection: d.eventConnection, state, propose, proposeAll: (ops) => this.proposeAll(ops) });
    this.reconciler = new Reconciler({
      redis, keys, log, queues, state, propose,
      serving: () => this.replication.serving,
      lastSeen: () => this.intake.lastSeen,
      added: (id) => this.enqueuer.added(id),
      taskFailed: (t, reason) => this.intake.taskFailed(t, reason),
    });
    this.cleanup = { redis, keys, queues };
    this.durability = durabilityWatch(redis);
    this.submitDeps = { registry: d.registry, redis, keys, workersOnline: () => queues.map.getWorkersCount(), redisMemoryBytes: d.cfg.TANDEM_REDIS_MEMORY_MB * 2 ** 20 };
  }

  /** The current state (read-only: it changes only through ops). */
  get state(): MasterState {
    return this.holder.state;
  }

  /** Proposes one op; it is applied (and its reply returned) once the backup holds it. */
  propose(op: Op): Promise<Reply | undefined> {
    return this.pipeline.propose(op);
  }

  /** Proposes ops to go out in one batch (op-pipeline.ts `proposeAll`). */
  proposeAll(ops: Op[]): Promise<Reply | undefined>[] {
    return this.pipeline.proposeAll(ops);
  }

  /**
   * Proposes an op that must not be dropped by a passing failure (a backup that does not answer for
   * a moment): tried again every second while this master serves, for a minute. A master that stops
   * serving first says so in its log; the op is then lost with its tenure.
   */
  private async proposeWhileServing(op: Op, what: string): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.propose(op);
        return;
      } catch (err) {
        if (!this.replication.serving || i >= 60) {
          this.d.log.error({ err: (err as Error).message }, `${what} could not be recorded in the job table`);
          return;
        }
        await sleep(1000);
      }
    }
  }

  /** Resolves once the backup confirms this master is still primary: a read that follows sees no stale state. */
  confirmRead(): Promise<void> {
    return this.pipeline.confirmRead();
  }

  /**
   * Why a job id the table lacks was lost with Redis data, or null when it is simply unknown. The
   * first id found lost in a restore's window reports the loss (data-loss.ts `unwitnessedLoss`).
   */
  lostJob(id: string): string | null {
    const lost = lostJob(this.holder.state, id, Date.now());
    const until = lost?.report?.lostJobs?.until;
    if (lost?.report && until !== undefined && !this.reporting.has(until)) {
      this.reporting.add(until);
      this.d.log.error({ job: id, restoredAt: new Date(until).toISOString() }, 'an acknowledged job is missing from the op log restored from Redis: Redis lost its last batches unseen; reporting the loss');
      void this.proposeWhileServing(lost.report, 'the alert that Redis lost acknowledged writes').finally(() => this.reporting.delete(until));
    }
    return lost?.text ?? null;
  }

  heldSeq(): number {
    return this.holder.seq;
  }

  /** A job's change counter (replicated: it never goes backwards across a failover). */
  version(jobId: string): number {
    return this.holder.state.jobs[jobId]?.version ?? 0;
  }

  /** Resolves when the job changes after `version`, or after `timeoutMs`. */
  waitForChange(jobId: string, version: number, timeoutMs: number, holdMs?: number): Promise<void> {
    return this.polls.waitForChange(jobId, version, timeoutMs, holdMs);
  }

  async submit(req: SubmitRequest): Promise<Reply> {
    const seen = answered(this.holder.state.clients, req);
    if (seen) return seen;
    const spec = await jobSpecFor(this.submitDeps, req);
    const now = Date.now();
    const reply = await this.propose({ op: 'submit', at: now, ...clientRef(req), jobId: newJobId(now), spec });
    if (reply?.ok) {
      this.d.log.info({ job: reply.jobId, type: spec.type, dataset: spec.dataset.name, maps: spec.dataset.firstRecords.length, partitions: spec.partitions }, 'job submitted');
    }
    return reply!;
  }

  async cancel(from: ClientRef, jobId: string): Promise<Reply> {
    return (await this.propose({ op: 'cancel', at: Date.now(), ...clientRef(from), jobId }))!;
  }

  /** Deletes a finished job's record and its output. */
  async remove(from: ClientRef, jobId: string): Promise<Reply> {
    const job = this.holder.state.jobs[jobId];
    const reply = (await this.propose({ op: 'remove', at: Date.now(), ...clientRef(from), jobId }))!;
    if (reply.ok && job) await cleanUpJob(this.cleanup, job, true);
    return reply;
  }

  /** Deletes (or lists, with dryRun) job data in Redis that no job in the table owns. */
  gc(dryRun: boolean): Promise<GcReport> {
    return collectGarbage({ ...this.cleanup, log: this.d.log, state: () => this.holder.state, confirmRead: () => this.confirmRead() }, dryRun);
  }

  /**
   * Why this master is not serving as it should (fenced, no view service), losses of Redis data
   * detected lately and, from the primary, a Redis that cannot promise to keep acknowledged ops: for /health.
   */
  alerts(): Alert[] {
    const lost = dataLossAlerts(this.holder.state, Date.now(), this.d.cfg.TANDEM_DATA_LOSS_ALERT_S * 1000);
    const primary = this.replication.state.role === 'primary';
    const weak = primary ? this.durability.problem() : null;
    const short = primary ? this.durable?.shortfall : null;
    // Shown while batches keep falling short, and for a minute after the last one did.
    const unreplicated = short && Date.now() - short.at < 60_000
      ? `op-log batch ${short.seq} reached ${short.acked} of ${short.wanted} Redis replicas within ${this.d.cfg.TANDEM_LOG_REPLICA_WAIT_MS} ms (at ${new Date(short.at).toISOString()}): it counts on the Redis primary alone, so a Redis failover now could lose acknowledged jobs; check the replicas of the primary holding the log`
      : null;
    return [
      ...this.replication.alerts(), ...alertsOf('data_loss', lost),
      ...alertsOf('durability', weak ? [weak] : []), ...alertsOf('replica_wait', unreplicated ? [unreplicated] : []),
    ];
  }

  /** Starts pinging the view service; the master serves once a view names it primary. */
  start(): void {
    this.replication.start();
  }

  async stop(): Promise<void> {
    this.replication.stop();
    this.stopTimers();
    await this.intake.stop();
    await this.pipeline.settled(STOP_WAIT_MS);
  }

  // ReplicaHost: called by replication.

  async becomePrimary(withState: boolean, viewnum: number, logSeq: number): Promise<void> {
    if (!withState) this.holder.reset();
    if (this.durable) {
      const from = this.holder.seq;
      const r = await this.durable.restore(this.holder, viewnum);
      this.d.log.info({ viewnum, from, ...r }, 'primary: claimed the durable op log and brought the state up to it');
      const loss = rollbackLoss(this.holder.state, this.holder.seq, logSeq, Date.now());
      if (loss) {
        // Recorded in the state before anything is served, and the log continues after the highest
        // batch ever held, so the next primary does not find the same loss again.
        this.d.log.error({ logEnds: this.holder.seq, held: logSeq, lostFrom: loss.rollback!.from, jobsSince: new Date(loss.rollback!.jobsSince).toISOString(), runningJobs: loss.jobIds.length },
          'Redis rolled the durable op log back: acknowledged ops are lost; marking running jobs lost');
        this.holder.apply(loss);
        this.holder.reset(this.holder.state, logSeq);
        await this.durable.saveSnapshot(viewnum, logSeq, this.holder.state);
      } else if (!withState) {
        // Restored from the log alone: the witness may have missed the last ping interval's batches.
        // Their ids answer `lost` (§3.4); recorded as the batch after the log's last, like a rollback.
        const restored = restoredOp(this.holder.state, Date.now());
        if (restored) {
          this.holder.apply(restored);
          this.holder.reset(this.holder.state, this.holder.seq + 1);
          await this.durable.saveSnapshot(viewnum, this.holder.seq, this.holder.state);
        }
      }
    } else if (!withState) {
      this.d.log.error({ viewnum }, 'named primary without holding the replicated state, and the durable log is off (TANDEM_DURABLE_LOG=off); starting with an empty job table');
    }
    if (this.replication.state.role !== 'primary') return;
    this.d.log.info({ jobs: Object.keys(this.holder.state.jobs).length, view: this.replication.view }, 'primary: resuming queue events, scheduling and reconcile');
    this.enqueuer.forget();
    this.intake.start(this.holder.state.lastEventIds);
    this.timers.push(setInterval(() => void this.tick(), TICK_MS));
    this.timers.push(setInterval(() => void this.reconciler.run(), this.d.cfg.TANDEM_RECONCILE_MS));
    this.kick();
    void this.reconciler.run();
  }

  stepDown(err: NotPrimaryError): void {
    this.stopTimers();
    this.intake.stop().catch(() => {});
    this.pipeline.rejectAll(err);
    this.polls.wakeAll();
    this.d.log.warn({ reason: err.message }, 'stopped serving');
  }

  dropState(): void {
    this.holder.reset();
    this.stamper.forget();
  }

  requestSync(): void {
    this.confirmRead().catch(() => {});
  }

  snapshot(): { state: MasterState; seq: number } {
    return { state: this.holder.state, seq: this.holder.seq };
  }

  install(state: MasterState, seq: number): void {
    this.holder.reset(state, seq);
  }

  applyReplicated(ops: Op[], seq: number): void {
    this.holder.applyBatch(ops, seq);
  }

  /** Appends to the durable log in the current view; a fenced append steps this master down. */
  private journal(): Journal | null {
    const durable = this.durable;
    if (!durable) return null;
    return {
      append: async (seq, ops) => {
        const view = this.replication.view.viewnum;
        const serving = () => this.replication.serving;
        try {
          try {
            await durable.appendUntilKnown(view, seq, ops, serving);
          } catch (err) {
            if (!(err instanceof LogGapError)) throw err;
            await durable.reseed(view, this.holder);
            await durable.appendUntilKnown(view, seq, ops, serving);
            // Said once the batch is in: proposing from inside the commit loop would wait on itself.
            const loss = reseedLoss(err.head ?? 0, seq - 1, Date.now());
            setImmediate(() => void this.proposeWhileServing(loss, 'the alert that Redis lost acknowledged writes'));
          }
        } catch (err) {
          if (err instanceof LogDivergedError) throw this.replication.behindLog(err);
          throw err instanceof LogFencedError ? this.replication.fenced(err) : err;
        }
      },
    };
  }

  /** What follows an op the primary applied: its events, its long polls, maybe a scheduler run. */
  private applied(c: Change, op: Op): void {
    void this.stamper.record(c.before, c.after, op);
    // The info log tells each job's story (submitted, rounds, how it ended); per-task events are in the event log and at debug.
    if (op.op !== 'submit' && op.op !== 'cleaned') {
      for (const e of describeChange(c.before, c.after, op)) {
        if (JOB_LEVEL.test(e.what)) this.d.log.info({ job: (op as { jobId: string }).jobId, ...(e.detail ? { detail: e.detail } : {}) }, e.what);
        else this.d.log.debug({ job: (op as { jobId: string }).jobId, task: e.task, detail: e.detail }, e.what);
      }
    }
    if ('jobId' in op) this.polls.changed(op.jobId);
    if (SCHEDULING_OPS.has(op.op)) this.kick();
  }

  /**
   * The `enqueued` ops of the tasks a batch's ops make ready (the next phase's or round's, a new job's
   * first), to go out in the same batch; once it is confirmed the tasks are added. Refused, or left
   * out, they stay pending or queued for the scheduler's next tick (plan, ensureQueued).
   */
  private followUps(after: MasterState, ops: Op[]): FollowUp[] {
    const at = Date.now();
    return readyToEnqueue(after, ops.flatMap((op) => ('jobId' in op ? [op.jobId] : []))).map((a) => ({
      op: { op: 'enqueued', at, jobId: a.jobId, round: a.round, kind: a.kind, indices: a.indices },
      // Called as the batch is applied, before any tick: the enqueuer marks the tasks in flight at once.
      resolve: () => this.addEnqueued(a.jobId, a.round, a.kind, a.indices),
      reject: () => undefined,
    }));
  }

  /** Adds the tasks an applied `enqueued` op made queued, if it did (the job may have moved on). */
  private addEnqueued(jobId: string, round: number, kind: TaskKind, indices: number[]): void {
    const job = this.holder.state.jobs[jobId];
    if (!job || isFinishedPhase(job.phase) || job.round !== round || job.phase !== kind) return;
    const tasks = kind === 'map' ? job.maps : job.reduces;
    const queued = indices.filter((i) => tasks[i]?.state === 'queued');
    if (queued.length === 0) return;
    this.enqueuer.add(job, kind, queued, 0).catch((err) => {
      if (!(err instanceof NotPrimaryError)) this.d.log.warn({ job: jobId, err: (err as Error).message }, 'adding tasks failed; the scheduler adds them again');
    });
  }

  private stopTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private kick(): void {
    setImmediate(() => void this.tick());
  }

  /** Runs the scheduler once and carries out its actions. Never runs twice at once; a call during a run makes it run again. */
  async tick(): Promise<void> {
    if (!this.replication.serving) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    this.tickAgain = false;
    try {
      // Enqueue, speculate and expire propose their op (confirmed by the backup) before their side
      // effect, and ensureQueued confirms before it re-adds anything: a deposed primary enqueues
      // nothing. Clean-up deletes first and records `cleaned` after (docs/DESIGN.md §2).
      const cfg = { speculateFactor: this.d.cfg.TANDEM_SPECULATE_FACTOR, speculateMinMs: this.d.cfg.TANDEM_SPECULATE_MIN_MS, retentionMs: this.d.cfg.TANDEM_JOB_RETENTION_S * 1000 };
      for (const action of plan(this.holder.state, Date.now(), cfg)) await this.act(action);
      await this.enqueuer.ensureQueued(this.holder.state, () => this.confirmRead());
    } catch (err) {
      if (!(err instanceof NotPrimaryError)) this.d.log.warn({ err: (err as Error).message }, 'scheduler tick failed; retrying');
    } finally {
      this.ticking = false;
    }
    if (this.tickAgain) this.kick();
  }

  private async act(a: Action): Promise<void> {
    switch (a.type) {
      case 'enqueue':
        // The op first: once the task is in a queue, the state must already say so.
        await this.propose({ op: 'enqueued', at: Date.now(), jobId: a.jobId, round: a.round, kind: a.kind, indices: a.indices });
        await this.enqueuer.add(this.holder.state.jobs[a.jobId], a.kind, a.indices, 0);
        return;
      case 'speculate': {
        await this.propose({ op: 'speculated', at: Date.now(), jobId: a.jobId, round: a.round, kind: a.kind, index: a.index });
        const job = this.holder.state.jobs[a.jobId];
        const t = (a.kind === 'map' ? job.maps : job.reduces)[a.index];
        this.d.log.info({ job: a.jobId, task: `${a.kind} ${a.index}` }, 'straggler: enqueuing a backup attempt');
        await this.enqueuer.add(job, a.kind, [a.index], t.speculative);
        return;
      }
      case 'cleanup': {
        const job = this.holder.state.jobs[a.jobId];
        // A failed job's failed tasks stay in their queue's failed list, for bull-board.
        await cleanUpJob(this.cleanup, job, job.phase !== 'done', job.phase === 'failed');
        await this.propose({ op: 'cleaned', at: Date.now(), jobId: a.jobId });
        this.d.log.info({ job: a.jobId, phase: job.phase }, 'job cleaned up');
        return;
      }
      case 'expire': {
        // The record goes first: a crash before the data is deleted leaves data `gc` can find.
        const job = this.holder.state.jobs[a.jobId];
        await this.propose({ op: 'expired', at: Date.now(), jobId: a.jobId });
        await cleanUpJob(this.cleanup, job, true);
        this.d.log.info({ job: a.jobId, phase: job.phase, finishedAt: job.finishedAt }, 'job expired: record and output deleted');
        return;
      }
    }
  }
}
