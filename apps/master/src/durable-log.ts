/**
 * The master's durable op log in Redis: every batch the primary commits, in order, so the job table
 * outlives both masters. Three keys (shared/src/keys.ts, one hash tag): a stream of batches with ids
 * `<seq>-1`, a snapshot {seq, state} that the stream is compacted into, and the fence.
 *
 * - `append` is fenced by view number: it is refused when a primary of a newer view has claimed the
 *   log, so a primary cut off from the others can neither add to the log nor, since every op is
 *   appended before it has any effect, advance a job. A retry of a batch already there succeeds.
 * - `claim` raises the fence to the claimer's view; a master named primary claims, then brings its
 *   state up to the log (`read` + `catchUp`) before it serves.
 * - `compact` writes a snapshot every TANDEM_LOG_SNAPSHOT_EVERY batches, off the hot path, and trims
 *   the entries it covers, so recovery time does not grow with history.
 *
 * The atomic steps are shared/src/lua/{append-ops,claim-log,save-snapshot}-*.lua.
 */
import { Cluster } from 'ioredis';
import type { RedisConnection } from '@tandem/shared';
import { TandemError, runScript, sleep, type Keys, type Logger } from '@tandem/shared';
import type { StateHolder } from './state-holder.ts';
import type { MasterState, Op } from './state.ts';

/** A newer view's primary claimed the log: this master is not primary any more. */
export class LogFencedError extends TandemError {
  override name = 'LogFencedError';

  constructor(readonly fence: number, readonly viewnum: number, what: string) {
    super('not_primary', `not primary: the durable op log refused the ${what} of view ${viewnum}: view ${fence} claimed it, so another master is primary`);
  }
}

/** A batch that would leave a hole in the log: the appender's state is not the log's. */
export class LogGapError extends Error {
  override name = 'LogGapError';

  /** `head`: the log's last batch, when an append found it. */
  constructor(message: string, readonly head?: number) {
    super(message);
  }
}

/**
 * The log already holds another batch under this seq: an append whose outcome this master never
 * learned landed after all, so its state is one batch behind the log. It must catch up from the log
 * (become primary again) before it proposes anything.
 */
export class LogDivergedError extends Error {
  override name = 'LogDivergedError';
}

export interface LogEntry {
  seq: number;
  /** The view of the primary that appended it. */
  view: number;
  ops: Op[];
}

/** What a master needs to bring its state at `afterSeq` up to the log. */
export interface LogTail {
  /** The stored snapshot, when it covers more than `afterSeq`. */
  snapshot: { seq: number; state: MasterState } | null;
  /** Every entry after `afterSeq` (or after the snapshot), in order. */
  entries: LogEntry[];
  /** The log's last seq (0: empty). */
  head: number;
}

export interface DurableLogDeps {
  redis: RedisConnection;
  keys: Keys;
  log: Logger;
  /** A snapshot after this many batches. */
  snapshotEvery: number;
  /** Replicas of the log's Redis primary that must hold a batch (WAIT), capped at those it has; 0 or absent: none. */
  replicas?: number;
  /** How long a batch waits for them (default 1000 ms). */
  replicaWaitMs?: number;
}

/** How often the number of replicas the log's primary has is read again (INFO replication). */
const REPLICA_COUNT_MS = 5000;

/** Waits between attempts of an append whose outcome is unknown (Redis unreachable). */
const RETRY_MS = [10, 50, 100, 250, 500];

const seqOf = (id: string) => Number(id.slice(0, id.indexOf('-')));

type StreamEntry = [id: string, fields: string[]];

/** The replies of a MULTI, or the first command's error. */
function replies(r: [Error | null, unknown][] | null): unknown[] {
  if (!r) throw new Error('durable op log: the read transaction was aborted');
  for (const [err] of r) if (err) throw err;
  return r.map(([, v]) => v);
}

function parseEntry([id, fields]: StreamEntry): LogEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  return { seq: seqOf(id), view: Number(f.view), ops: JSON.parse(f.ops) as Op[] };
}

export class DurableLog {
  /** The seq of the newest snapshot this master knows of (read or written). */
  private snapshotSeq = 0;
  private compacting = false;

  private replicaCount: { n: number; at: number } | null = null;
  /** The last batch that reached fewer replicas than asked for, or null once one reached them all. */
  shortfall: { seq: number; acked: number; wanted: number; at: number } | null = null;

  constructor(private d: DurableLogDeps) {}

  /**
   * Waits until `wanted` replicas of the log's primary hold everything written so far. WAIT has no
   * key: on a Cluster it is sent in a pipeline with a read of the log key, which routes it to the
   * primary holding the log, over the connection the append went through.
   */
  private async replicate(seq: number): Promise<void> {
    const asked = this.d.replicas ?? 0;
    if (asked <= 0) return;
    const log = this.d.keys.masterLog();
    const now = Date.now();
    if (!this.replicaCount || now - this.replicaCount.at > REPLICA_COUNT_MS) {
      const [, info] = replies(await this.d.redis.pipeline().exists(log).info('replication').exec());
      this.replicaCount = { n: Number(/^connected_slaves:(\d+)/m.exec(String(info))?.[1] ?? 0), at: now };
    }
    const wanted = Math.min(asked, this.replicaCount.n);
    if (wanted === 0) {
      // One Redis without replicas is a choice (its AOF is what keeps the log); a cluster primary
      // without one (its replica died, or took over and left none) is a gap to report.
      if (this.d.redis instanceof Cluster) this.fallShort(seq, 0, asked, now);
      return;
    }
    const [, acked] = replies(await this.d.redis.pipeline().exists(log).call('WAIT', wanted, this.d.replicaWaitMs ?? 1000).exec());
    if (Number(acked) >= wanted) {
      this.shortfall = null;
      return;
    }
    this.fallShort(seq, Number(acked), wanted, now);
  }

  private fallShort(seq: number, acked: number, wanted: number, at: number): void {
    if (!this.shortfall) this.d.log.warn({ seq, acked, wanted }, 'an op-log batch reached fewer Redis replicas than asked for in time; it counts on the primary alone, and a Redis failover now could lose it');
    this.shortfall = { seq, acked, wanted, at };
    // Read the replica count again at the next batch: one may have gone, or come back.
    this.replicaCount = null;
  }

  private get fenceKeys(): string[] {
    const k = this.d.keys;
    return [k.masterFence(), k.masterSnapshot(), k.masterLog()];
  }

  /** Raises the fence to `viewnum`; throws LogFencedError when a newer view holds it. */
  async claim(viewnum: number): Promise<void> {
    const [outcome, fence] = (await runScript(this.d.redis, 'claim-log', [this.d.keys.masterFence()], [viewnum])) as [string, number];
    if (outcome === 'fenced') throw new LogFencedError(fence, viewnum, 'claim');
  }

  /** One attempt: appends batch `seq`. Throws LogFencedError, or an Error for a batch that would leave a hole. */
  async append(viewnum: number, seq: number, ops: Op[]): Promise<'appended' | 'duplicate'> {
    const [outcome, n] = (await runScript(this.d.redis, 'append-ops', this.fenceKeys, [viewnum, seq, JSON.stringify(ops)])) as [string, number];
    if (outcome === 'fenced') throw new LogFencedError(n, viewnum, `append of batch ${seq}`);
    if (outcome === 'diverged') throw new LogDivergedError(`durable op log: batch ${seq} of view ${viewnum} is already in the log with other ops (an earlier append whose outcome was unknown landed); this master's state is behind the log and must catch up from it`);
    if (outcome === 'gap') throw new LogGapError(`durable op log: batch ${seq} of view ${viewnum} would leave a hole after batch ${n}; this master's state is not the log's (it must restore from the log)`, n);
    await this.replicate(seq);
    return outcome as 'appended' | 'duplicate';
  }

  /**
   * Appends batch `seq`, retrying the same seq while its outcome is unknown (Redis unreachable), so
   * no later batch is ever appended before it. Gives up (rethrows) once `keepTrying` says no.
   */
  async appendUntilKnown(viewnum: number, seq: number, ops: Op[], keepTrying: () => boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.append(viewnum, seq, ops);
        return;
      } catch (err) {
        if (err instanceof LogFencedError || err instanceof LogGapError || err instanceof LogDivergedError || !keepTrying()) throw err;
        if (attempt % 20 === 0) this.d.log.warn({ seq, err: (err as Error).message }, 'appending to the durable op log failed; retrying the same batch');
        await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
      }
    }
  }

  /** What lies after `afterSeq`: the snapshot if it is newer, then the entries after it. */
  async read(afterSeq: number): Promise<LogTail> {
    const k = this.d.keys;
    const from = (seq: number) => `${seq + 1}-0`;
    let r = replies(await this.d.redis.multi()
      .hget(k.masterSnapshot(), 'seq')
      .xrevrange(k.masterLog(), '+', '-', 'COUNT', 1)
      .xrange(k.masterLog(), from(afterSeq), '+')
      .exec());
    let snapSeq = Number(r[0] ?? 0);
    let snapshot: LogTail['snapshot'] = null;
    if (snapSeq > afterSeq) {
      // Read again, atomically with the snapshot: a compaction may have run in between.
      r = replies(await this.d.redis.multi()
        .hmget(k.masterSnapshot(), 'seq', 'state')
        .xrevrange(k.masterLog(), '+', '-', 'COUNT', 1)
        .xrange(k.masterLog(), from(0), '+')
        .exec());
      const [seq, state] = r[0] as [string, string];
      snapSeq = Number(seq);
      snapshot = { seq: snapSeq, state: JSON.parse(state) as MasterState };
    }
    const last = r[1] as StreamEntry[];
    const after = snapshot ? snapSeq : afterSeq;
    const entries = (r[2] as StreamEntry[]).map(parseEntry).filter((e) => e.seq > after);
    this.snapshotSeq = Math.max(this.snapshotSeq, snapSeq);
    return { snapshot, entries, head: Math.max(snapSeq, last.length > 0 ? seqOf(last[0][0]) : 0) };
  }

  /** Stores `state` (the state after batch `seq`) as the snapshot and trims what it covers. */
  async saveSnapshot(viewnum: number, seq: number, state: MasterState): Promise<boolean> {
    const [outcome, n] = (await runScript(this.d.redis, 'save-snapshot', this.fenceKeys, [viewnum, seq, JSON.stringify(state)])) as [string, number];
    if (outcome === 'fenced') throw new LogFencedError(n, viewnum, `snapshot after batch ${seq}`);
    this.snapshotSeq = Math.max(this.snapshotSeq, outcome === 'saved' ? seq : n);
    return outcome === 'saved';
  }

  /**
   * A master named primary in view `viewnum`: claims the log, then brings `holder` up to it. When
   * the log is behind the state (Redis lost what it had), the state is written as a snapshot, so
   * the next append follows it.
   */
  async restore(holder: StateHolder, viewnum: number): Promise<{ applied: number; snapshot: boolean; seq: number }> {
    await this.claim(viewnum);
    for (let attempt = 1; ; attempt++) {
      const tail = await this.read(holder.seq);
      try {
        const applied = catchUp(holder, tail);
        if (tail.head < holder.seq) {
          this.d.log.warn({ head: tail.head, seq: holder.seq }, 'the durable op log ends before this master\'s state (Redis lost data?); writing the state as a snapshot');
          await this.saveSnapshot(viewnum, holder.seq, holder.state);
        }
        return { applied, snapshot: tail.snapshot !== null, seq: holder.seq };
      } catch (err) {
        // A compaction of this same view may have trimmed between the reads: read again.
        if (!(err instanceof LogGapError) || attempt >= 3) throw err;
      }
    }
  }

  /**
   * The primary's append found the log behind its state (a gap): Redis lost the log (it restarted
   * without persistence, or was flushed), since a fenced log never loses an appended batch. The
   * master, still primary, claims the log again and writes its state as the snapshot, so its next
   * append follows it. (The data loss itself is detected and reported by data-loss.ts.)
   */
  async reseed(viewnum: number, holder: StateHolder): Promise<void> {
    await this.claim(viewnum);
    this.d.log.warn({ seq: holder.seq, viewnum }, 'the durable op log is behind this primary\'s state (Redis lost data?); writing the state as a snapshot');
    this.snapshotSeq = 0;
    await this.saveSnapshot(viewnum, holder.seq, holder.state);
  }

  /**
   * Called after each batch the primary applied: when enough batches passed since the last
   * snapshot, writes one on a later turn of the event loop. `state` is immutable, so holding the
   * reference is the copy; serialising it happens off the commit path.
   */
  compact(viewnum: number, seq: number, state: MasterState): void {
    if (this.compacting || seq - this.snapshotSeq < this.d.snapshotEvery) return;
    this.compacting = true;
    setImmediate(() => {
      this.saveSnapshot(viewnum, seq, state)
        .then((saved) => saved && this.d.log.info({ seq, viewnum }, 'durable op log compacted into a snapshot'))
        .catch((err) => this.d.log.warn({ seq, err: (err as Error).message }, 'could not snapshot the durable op log; trying again later'))
        .finally(() => (this.compacting = false));
    });
  }
}

/**
 * Brings `holder` up to the log's tail: installs the snapshot if it is newer than the state, then
 * applies every entry after it, in order. Throws when the entries leave a hole (a compaction ran
 * between reads): read again.
 */
export function catchUp(holder: StateHolder, tail: LogTail): number {
  if (tail.snapshot && tail.snapshot.seq > holder.seq) holder.reset(tail.snapshot.state, tail.snapshot.seq);
  let applied = 0;
  for (const e of tail.entries) {
    if (e.seq <= holder.seq) continue;
    if (e.seq !== holder.seq + 1) throw new LogGapError(`durable op log: batch ${e.seq} follows batch ${holder.seq}; read the log again`);
    holder.applyBatch(e.ops, e.seq);
    applied++;
  }
  return applied;
}
