/**
 * The master process's logic: owns the state (only through ops), turns scheduler actions into ops
 * and then side effects (BullMQ enqueues, clean-up), and feeds queue events and commit markers back
 * in as ops.
 *
 * Every op goes through `propose`. Ops wait in a queue; one commit loop at a time takes all that
 * wait, has replication forward them to the backup (group commit), and only on the backup's OK
 * applies them here in the same order and answers their callers. A read (`confirmRead`) joins the
 * same queue as an empty entry, so it too is confirmed by the backup. Only the primary proposes;
 * only the primary runs the scheduler, the queue-event readers and reconcile.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  LamportClock, QUEUES, appendEvent, commitField, getDataset, isIterative, parseTaskJobId, splitFirstRecords, readCommit, readCommits, taskJobId,
  vcMerge, vcTick, type ClockStamp, type Config, type VectorClock, type Keys, type Logger, type QueueName, type TaskPayload,
} from '@tandem/shared';
import { JobTypeError, type Registry } from '@tandem/jobs';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { NotPrimaryError, Replication, type ReplicaHost } from './replication.ts';
import { plan, type Action } from './scheduler.ts';
import { isFinishedPhase } from '@tandem/shared';
import { apply, chains, currentTasks, emptyState, mapsInRound, type JobRecord, type MasterState, type Op, type Reply } from './state.ts';

export interface MasterDeps {
  cfg: Config;
  log: Logger;
  redis: Redis;
  keys: Keys;
  registry: Registry;
  queues: Record<QueueName, Queue>;
  /** Separate connections for the queue-event readers (blocking XREAD). */
  eventConnection: () => Redis;
  /** This master's name in views: its URL. */
  me: string;
}

export interface SubmitRequest {
  clientId: string;
  requestId: string;
  type: string;
  dataset: string;
  params: Record<string, string>;
  partitions?: number;
}

/** A request the master refuses, with a message for the user. */
export class RequestError extends Error {}

/**
 * Partitions when the user names none: one per 32 MiB of input, at least 1, at most 16. An iterative
 * job keeps its R partitions for every round, so it gets at least one per worker online.
 */
export const defaultPartitions = (bytes: number, workers = 0) => Math.min(16, Math.max(1, workers, Math.ceil(bytes / (32 << 20))));

const newJobId = (now: number) => `j${now.toString(36)}${randomBytes(3).toString('hex')}`;

/**
 * A task's start is recorded (an op, forwarded to the backup) only if it has not committed this
 * long after its worker took it: most tasks of an iterative job take a few milliseconds, and
 * recording each start cost the master and its backup as much as the rest of the task's bookkeeping.
 * Only backup attempts (TANDEM_SPECULATE_MIN_MS, seconds) and status displays use start times.
 */
export const STARTED_DELAY_MS = 100;

interface Pending {
  /** Undefined for a read's confirmation. */
  op?: Op;
  resolve: (r: Reply | undefined) => void;
  reject: (err: Error) => void;
}

export class Master implements ReplicaHost {
  state: MasterState = emptyState();
  readonly replication: Replication;
  /** Emits a job's id whenever an op changes it; lets clients wait for a change instead of polling. */
  private changes = new EventEmitter();
  private pending: Pending[] = [];
  private committing = false;
  private timers: NodeJS.Timeout[] = [];
  /** Pending start records (see STARTED_DELAY_MS). */
  private startTimers = new Set<NodeJS.Timeout>();
  private events: QueueEvents[] = [];
  private lastSeenEvent: Partial<Record<QueueName, string>> = {};
  /** BullMQ ids this process has added (or found present) since it started; others are (re-)added idempotently. */
  private confirmed = new Set<string>();
  private ticking = false;
  private clock = new LamportClock();
  /** Each job's vector clock as this process knows it (for the event log; not replicated). */
  private jobClocks = new Map<string, VectorClock>();
  private readonly procName: string;
  private tickAgain = false;
  private reconciles = 0;

  constructor(private d: MasterDeps) {
    this.changes.setMaxListeners(0);
    this.procName = `master:${hostname()}:${process.pid}`;
    this.replication = new Replication(
      { me: d.me, viewUrl: d.cfg.TANDEM_VIEW_URL, pingIntervalMs: d.cfg.TANDEM_PING_INTERVAL_MS, deadPings: d.cfg.TANDEM_DEAD_PINGS },
      this, d.log, this.clock,
    );
  }

  /** Proposes one op; it is applied (and its reply returned) once the backup holds it. */
  propose(op: Op): Promise<Reply | undefined> {
    return this.enqueue(op);
  }

  /** Resolves once the backup confirms this master is still primary: a read that follows sees no stale state. */
  async confirmRead(): Promise<void> {
    await this.enqueue(undefined);
  }

  private enqueue(op: Op | undefined): Promise<Reply | undefined> {
    if (!this.replication.serving) return Promise.reject(this.replication.notPrimary());
    return new Promise((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      if (!this.committing) void this.commitLoop();
    });
  }

  /** Forwards what waits, as one batch, then applies it here in the same order. One loop at a time. */
  private async commitLoop(): Promise<void> {
    this.committing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, 1000);
        const ops = batch.flatMap((p) => (p.op ? [p.op] : []));
        try {
          await this.replication.forward(ops);
        } catch (err) {
          for (const p of batch) p.reject(err as Error);
          continue;
        }
        for (const p of batch) p.resolve(p.op ? this.applyLocal(p.op) : undefined);
      }
    } finally {
      this.committing = false;
    }
  }

  private applyLocal(op: Op): Reply | undefined {
    const before = this.state;
    const { state, reply } = apply(this.state, op);
    const changed = state !== this.state;
    this.state = state;
    if (changed) this.recordEvents(before, state, op);
    if (changed && 'jobId' in op) this.changes.emit(op.jobId);
    // New work may be ready (a job submitted, a phase finished): plan now, not at the next interval.
    if (changed && (op.op === 'submit' || op.op === 'committed' || op.op === 'cancel' || op.op === 'failed')) this.kick();
    return reply;
  }

  // ReplicaHost: called by replication.

  becomePrimary(withState: boolean): void {
    if (!withState) this.state = emptyState();
    this.d.log.info({ jobs: Object.keys(this.state.jobs).length, view: this.replication.view }, 'primary: resuming queue events, scheduling and reconcile');
    this.confirmed.clear();
    this.lastSeenEvent = { ...this.state.lastEventIds };
    for (const queue of QUEUES) this.listen(queue);
    this.timers.push(setInterval(() => void this.tick(), 100));
    this.timers.push(setInterval(() => void this.reconcile(), this.d.cfg.TANDEM_RECONCILE_MS));
    this.kick();
    void this.reconcile();
  }

  stepDown(err: NotPrimaryError): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const t of this.startTimers) clearTimeout(t);
    this.startTimers.clear();
    const events = this.events;
    this.events = [];
    for (const e of events) void e.close().catch(() => {});
    for (const p of this.pending.splice(0)) p.reject(err);
    // Wake every long poll now: each then fails its confirmation and answers "not primary".
    for (const id of this.changes.eventNames()) this.changes.emit(id);
    this.d.log.warn({ reason: err.message }, 'stopped serving');
  }

  dropState(): void {
    this.state = emptyState();
    this.jobClocks.clear();
  }

  requestSync(): void {
    this.confirmRead().catch(() => {});
  }

  snapshot(): MasterState {
    return this.state;
  }

  install(state: MasterState): void {
    this.state = state;
  }

  applyReplicated(ops: Op[]): void {
    for (const op of ops) this.state = apply(this.state, op).state;
  }

  /** Logs and drops an op that could not be proposed because this master stopped being primary. */
  private readonly dropped = (err: Error) => {
    if (!(err instanceof NotPrimaryError)) this.d.log.warn({ err: err.message }, 'op failed');
  };

  /**
   * Appends what an op did to the cluster event log, stamped with this process's Lamport clock and
   * the job's vector clock; a commit carries the worker's clock, which is merged first.
   */
  private recordEvents(before: MasterState, after: MasterState, op: Op): void {
    if (!('jobId' in op)) return;
    const job = after.jobs[op.jobId];
    const was = before.jobs[op.jobId];
    const events: { what: string; task?: string; detail?: string; received?: ClockStamp }[] = [];
    switch (op.op) {
      case 'submit':
        events.push({ what: 'job submitted', detail: `${op.spec.type} on ${op.spec.dataset.name}, ${op.spec.dataset.firstRecords.length} maps, ${op.spec.partitions} partitions` });
        break;
      case 'enqueued':
        events.push({ what: 'tasks enqueued', task: `${op.kind} ${op.indices.length === 1 ? op.indices[0] : `${op.indices[0]}..${op.indices[op.indices.length - 1]}`}` });
        break;
      case 'speculated':
        events.push({ what: 'backup attempt enqueued', task: `${op.kind} ${op.index}` });
        break;
      case 'committed':
        events.push({ what: 'task commit seen', task: `${op.kind} ${op.index}`, received: op.commit.clock });
        break;
      case 'failed':
      case 'cancel':
      case 'remove':
      case 'cleaned':
        events.push({ what: `job ${op.op === 'failed' ? 'failed' : op.op === 'cancel' ? 'cancelled' : op.op === 'remove' ? 'removed' : 'cleaned up'}`, detail: op.op === 'failed' ? op.reason : undefined });
        break;
      default:
        break;
    }
    if (job && was && job.rounds.length > was.rounds.length) {
      const r = job.rounds[job.rounds.length - 1];
      events.push({ what: `round ${r.round} done`, detail: Object.entries(r.stats).map(([k, v]) => `${k}=${v}`).join(' ') });
    }
    if (job && was && job.phase !== was.phase && op.op !== 'failed' && op.op !== 'cancel') {
      events.push({ what: job.phase === 'done' ? 'job done' : `phase ${job.phase}` });
    }
    for (const e of events) {
      const lamport = e.received ? this.clock.receive(e.received.lamport) : this.clock.tick();
      const vc = vcTick(e.received ? vcMerge(this.jobClocks.get(op.jobId) ?? {}, e.received.vc) : (this.jobClocks.get(op.jobId) ?? {}), this.procName);
      this.jobClocks.set(op.jobId, vc);
      const ev = { job: op.jobId, proc: this.procName, what: e.what, task: e.task, detail: e.detail, lamport, vc, at: Date.now() };
      appendEvent(this.d.redis, this.d.keys, ev).catch((err) => this.d.log.warn({ err: (err as Error).message }, 'event log append failed'));
    }
    if (op.op === 'remove') this.jobClocks.delete(op.jobId);
  }

  /** The clock a task payload carries, so the worker's events come after the master's. */
  private stamp(jobId: string): ClockStamp {
    return { lamport: this.clock.tick(), vc: this.jobClocks.get(jobId) ?? {} };
  }

  /** A job's change counter (replicated: it never goes backwards across a failover). */
  version(jobId: string): number {
    return this.state.jobs[jobId]?.version ?? 0;
  }

  /** Resolves when the job changes after `version`, or after `timeoutMs`. */
  waitForChange(jobId: string, version: number, timeoutMs: number): Promise<void> {
    if (this.version(jobId) !== version) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changes.off(jobId, done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.changes.on(jobId, done);
    });
  }

  async submit(req: SubmitRequest): Promise<Reply> {
    const seen = this.state.clients[req.clientId];
    if (seen && seen.requestId === req.requestId) return seen.reply;
    const { registry, redis, keys: k } = this.d;
    let params: Record<string, unknown>;
    let type;
    try {
      type = registry.require(req.type);
      params = registry.parseParams(type, req.params);
    } catch (err) {
      if (err instanceof JobTypeError) throw new RequestError(err.message);
      throw err;
    }
    const meta = await getDataset(redis, k, req.dataset);
    if (!meta) throw new RequestError(`dataset "${req.dataset}" does not exist; upload it with: tandem dataset put ${req.dataset} FILE`);
    if (!type.formats.includes(meta.format)) {
      throw new RequestError(`job type "${type.name}" reads ${type.formats.join(' or ')} datasets; dataset "${meta.name}" is ${meta.format}`);
    }
    const partitions = req.partitions ?? defaultPartitions(meta.bytes, isIterative(type) ? await this.d.queues.map.getWorkersCount() : 0);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) {
      throw new RequestError(`partitions must be a whole number from 1 to 1024 (got ${req.partitions})`);
    }
    const firstRecords = splitFirstRecords(meta);
    const now = Date.now();
    const reply = await this.propose({
      op: 'submit', at: now, clientId: req.clientId, requestId: req.requestId, jobId: newJobId(now),
      spec: {
        type: type.name, params, partitions,
        rounds: isIterative(type) ? type.rounds(params) : undefined,
        dataset: { name: meta.name, version: meta.version, format: meta.format, bytes: meta.bytes, firstRecords, records: meta.records },
      },
    });
    if (reply?.ok) this.d.log.info({ job: reply.jobId, type: type.name, dataset: meta.name, maps: firstRecords.length, partitions }, 'job submitted');
    return reply!;
  }

  async cancel(clientId: string, requestId: string, jobId: string): Promise<Reply> {
    return (await this.propose({ op: 'cancel', at: Date.now(), clientId, requestId, jobId }))!;
  }

  /** Deletes a finished job's record and its output. */
  async remove(clientId: string, requestId: string, jobId: string): Promise<Reply> {
    const job = this.state.jobs[jobId];
    const reply = (await this.propose({ op: 'remove', at: Date.now(), clientId, requestId, jobId }))!;
    if (reply.ok && job) await this.deleteJobData(job, true);
    return reply;
  }

  /** Starts pinging the view service; the master serves once a view names it primary. */
  start(): void {
    this.replication.start();
  }

  async stop(): Promise<void> {
    this.replication.stop();
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.events.map((e) => e.close()));
    for (let i = 0; i < 50 && this.committing; i++) await new Promise((r) => setTimeout(r, 20));
  }

  private listen(queue: QueueName): void {
    const connection = this.d.eventConnection();
    const ev = new QueueEvents(queue, {
      connection,
      prefix: this.d.keys.bullPrefix,
      lastEventId: this.state.lastEventIds[queue] ?? '$',
      blockingTimeout: 1000,
    });
    const seen = (id: string) => (this.lastSeenEvent[queue] = id);
    ev.on('active', ({ jobId }, id) => {
      seen(id);
      const t = parseTaskJobId(jobId);
      if (!t) return;
      const at = Date.now();
      const timer = setTimeout(() => {
        this.startTimers.delete(timer);
        const job = this.state.jobs[t.jobId];
        const task = job?.round === t.round && job.phase === t.kind ? (t.kind === 'map' ? job.maps : job.reduces)[t.index] : undefined;
        // Committed already, or a retry or backup attempt of a task whose first start is recorded.
        if (!task || task.state === 'committed' || task.state === 'running') return;
        this.propose({ op: 'started', at, jobId: t.jobId, round: t.round, kind: t.kind, index: t.index }).catch(this.dropped);
      }, STARTED_DELAY_MS);
      this.startTimers.add(timer);
    });
    ev.on('completed', ({ jobId }, id) => {
      seen(id);
      const t = parseTaskJobId(jobId);
      if (t) void this.collectCommit(t).catch((err) => this.d.log.warn({ err: err.message, task: jobId }, 'reading commit failed; reconcile will retry'));
    });
    ev.on('failed', ({ jobId, failedReason }, id) => {
      seen(id);
      const t = parseTaskJobId(jobId);
      if (t) this.taskFailed(t, failedReason).catch(this.dropped);
    });
    ev.on('error', (err) => this.d.log.warn({ err: err.message, queue }, 'queue events error'));
    this.events.push(ev);
  }

  private async collectCommit(t: { jobId: string; round: number; kind: QueueName; index: number }) {
    const commit = await readCommit(this.d.redis, this.d.keys, t);
    if (commit) await this.propose({ op: 'committed', at: Date.now(), ...t, commit });
  }

  private async taskFailed(t: { jobId: string; round: number; kind: QueueName; index: number; speculative: number }, reason: string) {
    const job = this.state.jobs[t.jobId];
    if (!job || isFinishedPhase(job.phase)) return;
    // A failed speculative attempt does not fail the job while the original may still commit.
    if (t.speculative > 0) return;
    const task = (t.kind === 'map' ? job.maps : job.reduces)[t.index];
    if (task?.state === 'committed') return;
    const what = `${t.kind} task ${t.index}`;
    if (/stalled more than allowable limit/.test(reason)) {
      reason = "its worker died or stopped renewing the task's lock more times than TANDEM_MAX_STALLS allows " +
        '(out of memory? CPU work without a pause longer than TANDEM_LOCK_MS?)';
    }
    this.d.log.error({ job: t.jobId, task: what, reason }, 'task failed for good; failing the job');
    await this.propose({ op: 'failed', at: Date.now(), ...t, reason: `${what} failed: ${reason}` });
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
      // Every action below proposes its op (confirmed by the backup) before its side effect, and
      // ensureQueued confirms before it re-adds anything: a deposed primary enqueues nothing.
      const cfg = { speculateFactor: this.d.cfg.TANDEM_SPECULATE_FACTOR, speculateMinMs: this.d.cfg.TANDEM_SPECULATE_MIN_MS };
      for (const action of plan(this.state, Date.now(), cfg)) await this.act(action);
      await this.ensureQueued();
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
        await this.addTasks(this.state.jobs[a.jobId], a.kind, a.indices, 0);
        return;
      case 'speculate': {
        await this.propose({ op: 'speculated', at: Date.now(), jobId: a.jobId, round: a.round, kind: a.kind, index: a.index });
        const job = this.state.jobs[a.jobId];
        const t = (a.kind === 'map' ? job.maps : job.reduces)[a.index];
        this.d.log.info({ job: a.jobId, task: `${a.kind} ${a.index}` }, 'straggler: enqueuing a backup attempt');
        await this.addTasks(job, a.kind, [a.index], t.speculative);
        return;
      }
      case 'cleanup': {
        const job = this.state.jobs[a.jobId];
        await this.deleteJobData(job, job.phase !== 'done');
        await this.propose({ op: 'cleaned', at: Date.now(), jobId: a.jobId });
        this.d.log.info({ job: a.jobId, phase: job.phase }, 'job cleaned up');
        return;
      }
    }
  }

  private payload(job: JobRecord, kind: QueueName, index: number): TaskPayload {
    const split = kind === 'map' && job.round === 0;
    const first = job.spec.dataset.firstRecords;
    return {
      jobId: job.id, round: job.round, kind, index, type: job.spec.type, params: job.spec.params,
      dataset: { name: job.spec.dataset.name, version: job.spec.dataset.version },
      firstRecord: split ? first[index] : undefined,
      records: split ? (first[index + 1] ?? job.spec.dataset.records + 1) - first[index] : undefined,
      clock: this.stamp(job.id),
      maps: job.outputRound ? 0 : mapsInRound(job, job.round), partitions: job.spec.partitions,
      previousStats: job.spec.rounds ? (job.rounds[job.rounds.length - 1]?.stats ?? {}) : undefined,
      output: job.outputRound || undefined,
      chained: (kind === 'reduce' && !job.outputRound && chains(job, job.round)) || undefined,
    };
  }

  private async addTasks(job: JobRecord, kind: QueueName, indices: number[], speculative: number): Promise<void> {
    const { cfg } = this.d;
    const jobs = indices.map((index) => ({
      name: `${job.spec.type}.${kind}`,
      data: this.payload(job, kind, index),
      opts: {
        jobId: taskJobId(job.id, job.round, kind, index, speculative),
        attempts: cfg.TANDEM_TASK_ATTEMPTS,
        backoff: { type: 'exponential', delay: cfg.TANDEM_RETRY_DELAY_MS },
        removeOnComplete: { count: 5000 },
        removeOnFail: { count: 5000 },
      },
    }));
    await this.d.queues[kind].addBulk(jobs);
    for (const j of jobs) this.confirmed.add(j.opts.jobId);
  }

  /**
   * Tasks the state calls queued but that this process has not itself seen added (it just started,
   * took over, or an add failed) are added again; deterministic ids make that harmless.
   */
  private async ensureQueued(): Promise<void> {
    let confirmed = false;
    for (const job of Object.values(this.state.jobs)) {
      if (isFinishedPhase(job.phase)) continue;
      const kind = job.phase as QueueName;
      const missing = currentTasks(job)
        .filter((t) => (t.state === 'queued' || t.state === 'running') && !this.confirmed.has(taskJobId(job.id, job.round, kind, t.index)))
        .map((t) => t.index);
      if (missing.length === 0) continue;
      if (!confirmed) {
        await this.confirmRead();
        confirmed = true;
      }
      await this.addTasks(job, kind, missing, 0);
    }
  }

  /**
   * Catches up with commits and failures whose queue events were missed, and records how far the
   * queue events have been read. That position is replicated so a new primary resumes the streams
   * there; it may lag by one reconcile interval, which only means a new primary reads those events
   * again, and acting on a queue event twice changes nothing.
   */
  async reconcile(): Promise<void> {
    if (!this.replication.serving) return;
    this.reconciles++;
    try {
      for (const queue of QUEUES) {
        const id = this.lastSeenEvent[queue];
        if (id && id !== this.state.lastEventIds[queue]) await this.propose({ op: 'eventsRead', queue, id });
      }
      for (const job of Object.values(this.state.jobs)) {
        if (isFinishedPhase(job.phase)) continue;
        const kind = job.phase as QueueName;
        const commits = await readCommits(this.d.redis, this.d.keys, job.id, job.round);
        for (const t of currentTasks(job)) {
          const c = t.state !== 'committed' && commits.get(commitField(kind, t.index));
          if (c) await this.propose({ op: 'committed', at: Date.now(), jobId: job.id, round: job.round, kind, index: t.index, commit: c });
        }
      }
      if (this.reconciles % 5 === 0) await this.reconcileFailures();
    } catch (err) {
      if (!(err instanceof NotPrimaryError)) this.d.log.warn({ err: (err as Error).message }, 'reconcile failed; retrying');
    }
  }

  private async reconcileFailures(): Promise<void> {
    const active = Object.values(this.state.jobs).filter((j) => !isFinishedPhase(j.phase));
    if (active.length === 0) return;
    for (const queue of QUEUES) {
      const failed = await this.d.queues[queue].getJobs(['failed'], 0, 1000);
      for (const j of failed) {
        const t = j?.id ? parseTaskJobId(j.id) : null;
        if (t && this.state.jobs[t.jobId] && !isFinishedPhase(this.state.jobs[t.jobId].phase)) await this.taskFailed(t, j.failedReason);
      }
    }
  }

  /**
   * Deletes intermediate data: every round's map outputs and, of an iterative job, the reduce
   * outputs of every round but the last (the output). With `all`, also the output, commit markers
   * and queue entries.
   */
  private async deleteJobData(job: JobRecord, all: boolean): Promise<void> {
    const { redis, keys: k } = this.d;
    const R = job.spec.partitions;
    for (let round = 0; round <= job.round; round++) {
      const M = mapsInRound(job, round);
      const output = round === job.round;
      for (let r = 0; r < R; r++) {
        const names = Array.from({ length: M }, (_, i) => k.mapOutput(job.id, r, round, i));
        if (all || !output) names.push(k.reduceOutput(job.id, r, round));
        for (let i = 0; i < names.length; i += 1000) await redis.del(...names.slice(i, i + 1000));
      }
      if (all) await redis.del(k.commits(job.id, round));
    }
    if (all) {
      for (const kind of QUEUES) {
        const n = kind === 'map' ? job.maps.length : R;
        for (let i = 0; i < n; i++) {
          for (let s = 0; s <= 1; s++) {
            const id = taskJobId(job.id, job.round, kind, i, s);
            // Active tasks are locked by their worker and cannot be removed; they finish into keys with a TTL.
            await this.d.queues[kind].remove(id).catch(() => 0);
          }
        }
      }
    }
  }
}
