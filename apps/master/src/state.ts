/**
 * The master's whole state and the one function that changes it.
 *
 * Every change is an operation applied by `apply(state, op)`: pure (no clock, no I/O, no
 * randomness: times and ids travel inside the op) and immutable (it returns a new state and leaves
 * the old one untouched). A backup master that applies the same ops in the same order therefore
 * holds the same state, which is what primary-backup replication forwards.
 */
import { answered, remember, type ClientRef, type Sessions } from './sessions.ts';
import { isFinishedPhase, type CommitRecord, type JobPhase, type PhaseCounters, type QueueName, type RoundPlan, type RoundStats } from '@tandem/shared';

export type { CommitRecord, RoundPlan };
export { MAX_CLIENTS, MAX_REPLIES_PER_CLIENT } from './sessions.ts';

export type TaskKind = QueueName;
export type TaskState = 'pending' | 'queued' | 'running' | 'committed';

export interface TaskRecord {
  kind: TaskKind;
  index: number;
  state: TaskState;
  enqueuedAt?: number;
  startedAt?: number;
  committedAt?: number;
  /** Backup attempts enqueued for this task (MapReduce paper, section 3.6). */
  speculative: number;
  commit?: CommitRecord;
  /** Times the task was put back to run again after Redis lost what it committed (§3.4); its BullMQ ids carry it (`.a<n>`). */
  reruns?: number;
  /** Attempts whose commit records Redis lost the output of: such a record never counts again, though Redis may still hold it. */
  discarded?: string[];
}

export type Counters = PhaseCounters;

export interface JobSpec {
  type: string;
  /** A jobs-folder type: the content hash of its file when the job was submitted; workers run that version only. */
  typeHash?: string;
  params: Record<string, unknown>;
  partitions: number;
  /**
   * An iterative job's rounds (see RoundPlan): setup rounds, then iterations until the limit or until
   * a round's summed `delta` statistic falls below `tol`, then an output round. Absent: one round.
   */
  rounds?: RoundPlan;
  /** Every task runs twice and counts as committed only when both runs wrote the same bytes (docs/DESIGN.md §3.6). */
  verify?: true;
  dataset: {
    name: string;
    version: string;
    format: string;
    bytes: number;
    /** 1-based number of each split's first record; one map task per split. */
    firstRecords: number[];
    /** Records in the whole dataset. */
    records: number;
  };
}

export interface JobRecord {
  id: string;
  spec: JobSpec;
  submittedAt: number;
  round: number;
  phase: JobPhase;
  maps: TaskRecord[];
  reduces: TaskRecord[];
  counters: { map: Counters; reduce: Counters };
  error?: string;
  finishedAt?: number;
  /** Intermediate data deleted and leftover queue entries removed. */
  cleaned: boolean;
  /** Bumped by every op that changes the job; replicated, so it never goes backwards across a failover. */
  version: number;
  /** The request that created the job (a history checker matches submits to jobs by it). */
  submittedBy: { clientId: string; requestId: string };
  /** Finished rounds of an iterative job, with their summed statistics (convergence history). */
  rounds: RoundRecord[];
  /** An iterative job's last round is running: reduce tasks that write the output. */
  outputRound: boolean;
  /** A done job whose output keys vanished from Redis (partitions missing): it says "output lost", not "done". */
  outputLost?: { at: number; partitions: number[] };
  /** Redis rolled back the durable op log past this job's last changes (§3.4): it failed, and says "lost". */
  lost?: { at: number };
  /** Map tasks run again because Redis lost their committed output (§3.4), oldest first: at most MAX_RERUNS. */
  reruns?: Rerun[];
}

export interface Rerun {
  at: number;
  round: number;
  map: number;
  reason: string;
}

/** Map tasks a job reruns after losses of their output; one more loss fails it, so a Redis that keeps losing data cannot loop a job forever. */
export const MAX_RERUNS = 3;

/** A loss of Redis data the primary detected, kept for the alerts. */
export interface DataLoss {
  at: number;
  message: string;
  /** A rollback of the op log: job ids issued from `jobsSince` until `at` (or `jobsUntil`) that the table lacks were lost with it. */
  jobsSince?: number;
  /** The end of that window when it closed before the loss was detected (an unwitnessed rollback: data-loss.ts `unwitnessedLoss`). */
  jobsUntil?: number;
  /** One done job's output gone: kept apart, so a crash that takes many outputs cannot push out the loss that explains them. */
  output?: true;
}

/** The durable op log ended before a batch a master had held: batches `from`..`to` (at least) are gone. */
export interface Rollback {
  from: number;
  to: number;
  /** Ids of jobs submitted from then on (ms; the newest time the surviving state knows, less a margin) may be lost. */
  jobsSince: number;
  /** Added to every job's version, so no client sees a version go back (more than the lost batches can have bumped it). */
  versionBump: number;
}

export interface RoundRecord {
  round: number;
  stats: RoundStats;
  finishedAt: number;
}

export type Reply =
  | { ok: true; jobId: string; phase?: JobPhase }
  /** A refused change: the job is not there (not_found), or its state forbids the change (conflict). */
  | { ok: false; code: 'not_found' | 'conflict'; error: string };

export interface MasterState {
  jobs: Record<string, JobRecord>;
  /** Per client, the replies to its recent requests, so a retried request gets the first answer (sessions.ts). */
  clients: Sessions;
  /** Id of the last BullMQ queue event the primary has acted on, per queue. */
  lastEventIds: Partial<Record<QueueName, string>>;
  /** The Redis epoch key's value when the primary last checked (data-loss.ts); a different one means Redis lost its data. */
  epoch?: string;
  /** The newest detected losses of Redis data (at most MAX_DATA_LOSSES), oldest first. */
  dataLoss?: DataLoss[];
  /**
   * The newest restores of the state from the durable log alone (at most MAX_DATA_LOSSES), oldest
   * first: ids issued in a window the log may have lost unseen (docs/DESIGN.md §3.4).
   */
  restores?: Restore[];
}

/**
 * A primary restored the state from the durable log alone at `at`, finding no rollback; batches of
 * the last ping interval before were unwitnessed, so ids issued from `jobsSince` until `at` that the
 * table lacks were lost with them.
 */
export interface Restore {
  at: number;
  jobsSince: number;
}

interface TaskRef {
  jobId: string;
  round: number;
  kind: TaskKind;
  index: number;
}

export type Op =
  | ({ op: 'submit'; at: number; jobId: string; spec: JobSpec } & ClientRef)
  | ({ op: 'cancel'; at: number; jobId: string } & ClientRef)
  | ({ op: 'remove'; at: number; jobId: string } & ClientRef)
  | ({ op: 'enqueued'; at: number; indices: number[] } & Omit<TaskRef, 'index'>)
  | ({ op: 'started'; at: number } & TaskRef)
  | ({ op: 'speculated'; at: number } & TaskRef)
  | ({ op: 'committed'; at: number; commit: CommitRecord } & TaskRef)
  /**
   * `attempts`: how many attempts of the task ran and failed (BullMQ's count; 1 when unknown), counted
   * in the job's counters. `rerun`: the failed attempt's rerun number (its id's `.a<n>`); a failure of
   * an attempt from before the task's latest rerun changes nothing.
   */
  | ({ op: 'failed'; at: number; reason: string; attempts?: number; rerun?: number } & TaskRef)
  /**
   * Reduce task `reduce` (in its rerun `reduceRerun`) of round `round` failed because what map task
   * `map` committed is gone from Redis, and that map task's input is still there (§3.4, `rerunRule`):
   * the map task goes back to pending, uncommitted (its lost commit record never counts again), the
   * job back to its map phase, and the reduce task back to pending. `map` null: the map task's output
   * is there again (its rerun wrote it), so only the reduce task goes back to pending.
   */
  | { op: 'rerun'; at: number; jobId: string; round: number; map: number | null; reduce: number; reduceRerun: number; reason: string }
  | { op: 'cleaned'; at: number; jobId: string }
  | { op: 'eventsRead'; queue: QueueName; id: string }
  /** The retention period of a finished, cleaned-up job ran out: its record goes (its data is deleted after). */
  | { op: 'expired'; at: number; jobId: string }
  /** The primary recorded the Redis epoch it found. */
  | { op: 'epoch'; epoch: string }
  /**
   * Redis lost data (`message` says what): the listed jobs, if still running, fail with it; `epoch` is
   * the new one, if it changed. With `rollback`, the op log lost batches: every job's version jumps
   * past what clients may have seen, and the failed jobs are marked lost. With `lostJobs`, ids issued
   * in that window that the table lacks were lost (an unwitnessed rollback, found by such an id).
   */
  | { op: 'dataLost'; at: number; message: string; jobIds: string[]; epoch?: string; rollback?: Rollback; lostJobs?: { since: number; until: number } }
  /** The primary restored the state from the durable log alone (no master held it): `Restore`. */
  | { op: 'restored'; at: number; jobsSince: number }
  /** A done job's output keys of these partitions are gone. */
  | { op: 'outputLost'; at: number; jobId: string; partitions: number[] }
  /**
   * Replaces the whole state: a backup installing the primary's snapshot, or a master dropping what
   * it held (an empty state). Only the replication paths apply it (state-holder.ts `reset`); the
   * primary never proposes it, and a backup that received one in a batch would replace its state
   * exactly as the primary did.
   */
  | { op: 'install'; state: MasterState };

export const emptyState = (): MasterState => ({ jobs: {}, clients: {}, lastEventIds: {} });

const zeroCounters = (): Counters => ({
  recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, attempts: 0, failures: 0, speculative: 0,
});

const newTasks = (kind: TaskKind, n: number): TaskRecord[] =>
  Array.from({ length: n }, (_, index) => ({ kind, index, state: 'pending' as const, speculative: 0 }));

export interface Applied {
  state: MasterState;
  reply?: Reply;
}

export function apply(state: MasterState, op: Op): Applied {
  switch (op.op) {
    case 'submit': {
      const seen = answered(state.clients, op);
      if (seen) return { state, reply: seen };
      if (state.jobs[op.jobId]) {
        return { state, reply: { ok: false, code: 'conflict', error: `job ${op.jobId} already exists` } };
      }
      const job: JobRecord = {
        id: op.jobId,
        spec: op.spec,
        submittedAt: op.at,
        round: 0,
        phase: 'map',
        maps: newTasks('map', op.spec.dataset.firstRecords.length),
        reduces: newTasks('reduce', op.spec.partitions),
        counters: { map: zeroCounters(), reduce: zeroCounters() },
        cleaned: false,
        version: 1,
        submittedBy: { clientId: op.clientId, requestId: op.requestId },
        rounds: [],
        outputRound: false,
      };
      const reply: Reply = { ok: true, jobId: op.jobId, phase: job.phase };
      return {
        state: { ...state, jobs: { ...state.jobs, [job.id]: job }, clients: remember(state.clients, op, reply, op.at) },
        reply,
      };
    }
    case 'cancel':
    case 'remove': {
      const seen = answered(state.clients, op);
      if (seen) return { state, reply: seen };
      const job = state.jobs[op.jobId];
      let reply: Reply;
      let jobs = state.jobs;
      if (!job) {
        reply = { ok: false, code: 'not_found', error: `job ${op.jobId} does not exist` };
      } else if (op.op === 'cancel') {
        if (isFinishedPhase(job.phase)) {
          reply = { ok: false, code: 'conflict', error: `job ${op.jobId} already ${job.phase}; nothing to cancel` };
        } else {
          jobs = { ...jobs, [job.id]: { ...job, phase: 'cancelled', finishedAt: op.at, version: job.version + 1 } };
          reply = { ok: true, jobId: job.id, phase: 'cancelled' };
        }
      } else if (!isFinishedPhase(job.phase) || !job.cleaned) {
        reply = { ok: false, code: 'conflict', error: `job ${op.jobId} is ${job.phase}; cancel it and wait for clean-up before removing it` };
      } else {
        jobs = { ...jobs };
        delete jobs[job.id];
        reply = { ok: true, jobId: job.id };
      }
      return { state: { ...state, jobs, clients: remember(state.clients, op, reply, op.at) }, reply };
    }
    case 'enqueued':
      return updateJob(state, op.jobId, (job) => {
        if (job.round !== op.round || job.phase !== op.kind) return job;
        const key = op.kind === 'map' ? 'maps' : 'reduces';
        const tasks = job[key].slice();
        for (const i of op.indices) {
          const t = tasks[i];
          if (t && t.state === 'pending') tasks[i] = { ...t, state: 'queued', enqueuedAt: op.at };
        }
        return { ...job, [key]: tasks };
      });
    case 'started':
      return updateTask(state, op, (t) =>
        t.state === 'committed' ? t : { ...t, state: 'running', startedAt: op.at });
    case 'speculated':
      return updateTask(state, op, (t) => (t.state === 'committed' ? t : { ...t, speculative: t.speculative + 1 }));
    case 'committed': {
      const next = updateTask(state, op, (t) =>
        t.state === 'committed' || t.discarded?.includes(op.commit.attempt) ? t : { ...t, state: 'committed', committedAt: op.at, commit: op.commit });
      return next.state === state ? next : updateJob(next.state, op.jobId, (job) => advance(job, op.at));
    }
    case 'failed':
      return updateJob(state, op.jobId, (job) => {
        if (isFinishedPhase(job.phase) || job.round !== op.round) return job;
        if ((op.rerun ?? 0) < ((op.kind === 'map' ? job.maps : job.reduces)[op.index]?.reruns ?? 0)) return job;
        // The failed task never commits, so its attempts are counted here (a commit counts its own).
        const n = Math.max(1, op.attempts ?? 1);
        const c = job.counters[op.kind];
        const counters = { ...job.counters, [op.kind]: { ...c, attempts: c.attempts + n, failures: c.failures + n } };
        return { ...job, phase: 'failed', error: op.reason, finishedAt: op.at, counters };
      });
    case 'rerun':
      return updateJob(state, op.jobId, (job) => (rerunRule(job, op) === 'rerun' ? rerun(job, op) : job));
    case 'cleaned':
      return updateJob(state, op.jobId, (job) => (isFinishedPhase(job.phase) ? { ...job, cleaned: true } : job));
    case 'eventsRead':
      return { state: { ...state, lastEventIds: { ...state.lastEventIds, [op.queue]: op.id } } };
    case 'install':
      return { state: op.state };
    case 'expired': {
      const job = state.jobs[op.jobId];
      if (!job || !isFinishedPhase(job.phase) || !job.cleaned) return { state };
      const jobs = { ...state.jobs };
      delete jobs[op.jobId];
      return { state: { ...state, jobs } };
    }
    case 'epoch':
      return { state: { ...state, epoch: op.epoch } };
    case 'dataLost': {
      const window = op.rollback ? { jobsSince: op.rollback.jobsSince } : op.lostJobs ? { jobsSince: op.lostJobs.since, jobsUntil: op.lostJobs.until } : {};
      const loss: DataLoss = { at: op.at, message: op.message, ...window };
      let next: MasterState = { ...state, epoch: op.epoch ?? state.epoch, dataLoss: noteLoss(state, loss) };
      const bump = op.rollback?.versionBump ?? 0;
      if (bump > 0) {
        const jobs: Record<string, JobRecord> = {};
        for (const [id, job] of Object.entries(next.jobs)) jobs[id] = { ...job, version: job.version + bump };
        next = { ...next, jobs };
      }
      const lost = op.rollback ? { lost: { at: op.at } } : {};
      for (const id of op.jobIds) {
        next = updateJob(next, id, (job) => (isFinishedPhase(job.phase) ? job : { ...job, phase: 'failed', error: op.message, finishedAt: op.at, ...lost })).state;
      }
      return { state: next };
    }
    case 'restored':
      return { state: { ...state, restores: [...(state.restores ?? []), { at: op.at, jobsSince: op.jobsSince }].slice(-MAX_DATA_LOSSES) } };
    case 'outputLost': {
      const next = updateJob(state, op.jobId, (job) => (job.phase !== 'done' || job.outputLost ? job : { ...job, outputLost: { at: op.at, partitions: op.partitions } }));
      if (next.state === state) return next;
      const message = `the output of job ${op.jobId} (partitions ${op.partitions.join(', ')}) is gone from Redis`;
      return { state: { ...next.state, dataLoss: noteLoss(state, { at: op.at, message, output: true }) } };
    }
  }
}

/**
 * Losses kept for the alerts: the newest few are enough to tell an operator what happened. Counted
 * apart for rollbacks: their windows make lost ids answer `lost` (lostJobText), and a burst of later
 * losses (one per done job whose output the same crash took) must not turn those into not_found.
 */
export const MAX_DATA_LOSSES = 20;

function noteLoss(state: MasterState, loss: DataLoss): DataLoss[] {
  const all = [...(state.dataLoss ?? []), loss];
  // The newest of each kind: rollbacks (their windows must keep answering `lost`), lost outputs of
  // done jobs (one per job: a crash may take many), and the rest (the losses that explain them).
  const kind = (l: DataLoss) => (l.jobsSince !== undefined ? 'rollback' : l.output ? 'output' : 'other');
  const keep = new Set((['rollback', 'output', 'other'] as const).flatMap((k) => all.filter((l) => kind(l) === k).slice(-MAX_DATA_LOSSES)));
  return all.filter((l) => keep.has(l));
}

/**
 * The newest time (ms) the state records: op times kept in jobs, tasks, rounds, sessions and losses.
 * After a rollback of the op log, what happened later than this was in the lost batches.
 */
export function latestTime(state: MasterState): number {
  let t = 0;
  const see = (x: number | undefined) => {
    if (x !== undefined && x > t) t = x;
  };
  for (const job of Object.values(state.jobs)) {
    see(job.submittedAt);
    see(job.finishedAt);
    for (const task of [...job.maps, ...job.reduces]) {
      see(task.enqueuedAt);
      see(task.startedAt);
      see(task.committedAt);
    }
    for (const r of job.rounds) see(r.finishedAt);
  }
  for (const c of Object.values(state.clients)) see(c.at);
  for (const l of state.dataLoss ?? []) see(l.at);
  for (const r of state.restores ?? []) see(r.at);
  return t;
}

function updateJob(state: MasterState, jobId: string, f: (job: JobRecord) => JobRecord): Applied {
  const job = state.jobs[jobId];
  if (!job) return { state };
  const next = f(job);
  if (next === job) return { state };
  return { state: { ...state, jobs: { ...state.jobs, [jobId]: { ...next, version: job.version + 1 } } } };
}

/** Applies f to one task of the job's current phase and iteration; ops for any other are stale and ignored. */
function updateTask(state: MasterState, ref: TaskRef, f: (t: TaskRecord) => TaskRecord): Applied {
  return updateJob(state, ref.jobId, (job) => {
    if (job.round !== ref.round || job.phase !== ref.kind) return job;
    const key = ref.kind === 'map' ? 'maps' : 'reduces';
    const t = job[key][ref.index];
    if (!t) return job;
    const nt = f(t);
    if (nt === t) return job;
    const tasks = job[key].slice();
    tasks[ref.index] = nt;
    let counters = job.counters;
    if (nt.state === 'committed' && nt.commit) {
      const c = counters[ref.kind];
      const x = nt.commit;
      counters = {
        ...counters,
        [ref.kind]: {
          recordsIn: c.recordsIn + x.recordsIn,
          recordsOut: c.recordsOut + x.recordsOut,
          bytesIn: c.bytesIn + x.bytesIn,
          bytesOut: c.bytesOut + x.bytesOut,
          attempts: c.attempts + 1 + x.failedAttempts + x.stalls + nt.speculative,
          failures: c.failures + x.failedAttempts + x.stalls,
          speculative: c.speculative + nt.speculative,
        },
      };
    }
    return { ...job, [key]: tasks, counters };
  });
}

type RerunOp = Extract<Op, { op: 'rerun' }>;

/**
 * Whether a reduce task's failure on a lost shuffle blob (what map task `map` of its round
 * committed) may rerun that map task: 'rerun', 'stale' (the failure is of an attempt from before a
 * rerun, or the job moved on: nothing to do), or why not, in words (the job then fails as before).
 * Pure; the master also checks that the map task's input is still in Redis before it proposes the op.
 */
export function rerunRule(job: JobRecord, r: Pick<RerunOp, 'round' | 'map' | 'reduce' | 'reduceRerun'>): 'rerun' | 'stale' | string {
  if (isFinishedPhase(job.phase) || job.round !== r.round || job.outputRound) return 'stale';
  const reduce = job.reduces[r.reduce];
  if (!reduce || reduce.state === 'committed' || (reduce.reruns ?? 0) !== r.reduceRerun) return 'stale';
  if (r.map === null) return 'rerun';
  if (job.spec.verify) return 'a verified job does not rerun tasks';
  if (job.maps.length === 0) return `round ${r.round}'s shuffle was sent by the round before's reduce tasks (a chained round), which are not rerun`;
  const map = job.maps[r.map];
  if (!map) return `round ${r.round} has no map task ${r.map}`;
  if (map.state !== 'committed') return 'rerun';
  const n = job.reruns?.length ?? 0;
  if (n >= MAX_RERUNS) return `Redis lost committed task output of this job ${n} times already, the most a job reruns for (MAX_RERUNS)`;
  return 'rerun';
}

/** Applies a rerun that `rerunRule` allows. */
function rerun(job: JobRecord, op: RerunOp): JobRecord {
  let counters = job.counters;
  let maps = job.maps;
  let reruns = job.reruns;
  const m = op.map === null ? undefined : job.maps[op.map];
  if (m && m.state === 'committed') {
    maps = job.maps.slice();
    maps[m.index] = {
      kind: 'map', index: m.index, state: 'pending', speculative: 0, reruns: (m.reruns ?? 0) + 1,
      discarded: [...(m.discarded ?? []), ...(m.commit ? [m.commit.attempt] : [])],
    };
    // The rerun's commit counts its records again; the attempts that ran stay counted.
    const c = counters.map;
    const x = m.commit;
    if (x) counters = { ...counters, map: { ...c, recordsIn: c.recordsIn - x.recordsIn, recordsOut: c.recordsOut - x.recordsOut, bytesIn: c.bytesIn - x.bytesIn, bytesOut: c.bytesOut - x.bytesOut } };
    reruns = [...(job.reruns ?? []), { at: op.at, round: op.round, map: m.index, reason: op.reason }];
  }
  const r = job.reduces[op.reduce];
  const reduces = job.reduces.slice();
  reduces[op.reduce] = { kind: 'reduce', index: r.index, state: 'pending', speculative: 0, reruns: (r.reruns ?? 0) + 1 };
  // The failed reduce attempt never commits: counted here, as a `failed` op counts its task's.
  const c = counters.reduce;
  counters = { ...counters, reduce: { ...c, attempts: c.attempts + 1, failures: c.failures + 1 } };
  const phase = maps.every((t) => t.state === 'committed') ? job.phase : 'map';
  return { ...job, phase, maps, reduces, counters, ...(reruns ? { reruns } : {}) };
}

/**
 * The barrier: reduce starts only when every map task has committed. When every reduce task has,
 * the round is over. A one-round job is then done. An iterative job records the round's statistics
 * (summed over its map and reduce tasks) and starts the next round, which maps the R partitions the
 * round just reduced; after the last iteration (the limit, or a `delta` below the tolerance) comes
 * the output round, reduce tasks only, and after that the job is done.
 */
function advance(job: JobRecord, at: number): JobRecord {
  if (job.phase === 'map' && job.maps.every((t) => t.state === 'committed')) {
    return { ...job, phase: 'reduce' };
  }
  if (job.phase !== 'reduce' || !job.reduces.every((t) => t.state === 'committed')) return job;
  const plan = job.spec.rounds;
  if (!plan || job.outputRound) return { ...job, phase: 'done', finishedAt: at };
  const stats: RoundStats = {};
  for (const t of [...job.maps, ...job.reduces]) {
    for (const [k, v] of Object.entries(t.commit?.stats ?? {})) stats[k] = (stats[k] ?? 0) + v;
  }
  const rounds = [...job.rounds, { round: job.round, stats, finishedAt: at }];
  const R = job.spec.partitions;
  const converged = job.round >= plan.setup && stats.delta !== undefined && stats.delta < plan.tol;
  if (converged || job.round + 1 >= plan.setup + plan.iterations) {
    return { ...job, rounds, round: job.round + 1, phase: 'reduce', outputRound: true, maps: [], reduces: newTasks('reduce', R) };
  }
  // A round that chained into the next has done the next round's map work already.
  if (chains(job, job.round)) return { ...job, rounds, round: job.round + 1, phase: 'reduce', maps: [], reduces: newTasks('reduce', R) };
  return { ...job, rounds, round: job.round + 1, phase: 'map', maps: newTasks('map', R), reduces: newTasks('reduce', R) };
}

/** Round `round`'s reduce tasks also do the next round's map work (RoundPlan.chainFrom). */
export const chains = (job: JobRecord, round: number): boolean =>
  job.spec.rounds?.chainFrom !== undefined && round >= job.spec.rounds.chainFrom;

/**
 * Senders of round `round`'s shuffle, whose blobs its reduce tasks read: one map task per split in
 * round 0, one task (map, or reduce of a chained round) per partition after that; none in the output round.
 */
export const sendersInRound = (job: JobRecord, round: number): number =>
  round === 0 ? job.spec.dataset.firstRecords.length : job.spec.partitions;

/** Tasks of the phase the job is in, or none once it is finished. */
export function currentTasks(job: JobRecord): TaskRecord[] {
  return job.phase === 'map' ? job.maps : job.phase === 'reduce' ? job.reduces : [];
}
