/**
 * Primary-backup replication of the master's state (docs/DESIGN.md §5.2), wiring replica-rules.ts to the view
 * service and to the other master over HTTP:
 *
 * - a pinger tells the view service the view this master acknowledges and learns the current view;
 * - named primary, it has the master claim the durable op log and catch up with it
 *   (`becomePrimary`) before it serves or acknowledges the view;
 * - as primary, `forward(ops, seq)` sends each batch of operations to the backup (a snapshot first
 *   when the backup is new) and resolves only on its OK, retrying through backup failures and view
 *   changes; it rejects with NotPrimaryError when this master is no longer primary;
 * - as backup, `receiveSnapshot` and `receiveOps` check the sender against the current view.
 *
 * Primary and backup talk over one persistent stream per backup (replica-channel.ts); the messages
 * on it are declared here, not in protocol.ts: as TypeScript types and again as the zod schema the
 * backup parses with (docs/DESIGN.md §7).
 *
 * The state lives in state-holder.ts; this module calls back into the master (master.ts) through
 * `ReplicaHost`.
 */
import { z } from 'zod';
import {
  LamportClock, TandemError, formatIssues, pingReplySchema, requestJson, sleep, type Logger, type PingRequest, type View,
} from '@tandem/shared';
import { ReplicaChannel } from './replica-channel.ts';
import {
  backupOf, checkMessage, initialReplica, installed, isServing, learnView, pingViewnum, suspend, synced,
  type MessageKind, type ReplicaState, type ViewAction,
} from './replica-rules.ts';
import type { MasterState, Op } from './state.ts';
import { LogFencedError } from './durable-log.ts';
import type { Alert } from './alerts.ts';

/** This master is not the primary (any more): the client should ask the view service. */
export class NotPrimaryError extends TandemError {
  override name = 'NotPrimaryError';

  constructor(readonly view: View, why: string) {
    super('not_primary', `not primary: ${why}`, { view });
  }
}

/** What replication needs from the master that owns the state. */
export interface ReplicaHost {
  /**
   * Brings the state up to the durable log for view `viewnum`; replication serves only once it
   * resolves. `logSeq`: the highest batch any master told the view service it held (§3.4).
   */
  becomePrimary(withState: boolean, viewnum: number, logSeq: number): Promise<void>;
  /** The last durable-log batch the state includes. */
  heldSeq(): number;
  stepDown(err: NotPrimaryError): void;
  dropState(): void;
  /** Starts a confirmation round through the commit loop (which runs `forward`, and so any pending sync). */
  requestSync(): void;
  /** The state to send a new backup, and the last batch it includes (called only from inside `forward`). */
  snapshot(): { state: MasterState; seq: number };
  install(state: MasterState, seq: number): void;
  applyReplicated(ops: Op[], seq: number): void;
}

export interface ReplicationConfig {
  me: string;
  viewUrl: string;
  /** The cluster secret, sent with pings and on the replica channel. */
  secret?: string;
  pingIntervalMs: number;
  deadPings: number;
  /** Called each time this master learns a view with another number (tandem_view_changes_total). */
  onViewChange?(): void;
}

interface Envelope {
  from: string;
  viewnum: number;
  clock: number;
}
export interface SnapshotMessage extends Envelope {
  seq: number;
  state: MasterState;
}
export interface OpsMessage extends Envelope {
  seq: number;
  ops: Op[];
}
export type ReplicaAnswer = { ok: true; clock: number } | { ok: false; refused: string; clock: number };

const envelope = { from: z.string().min(1), viewnum: z.number().int().min(0), clock: z.number().int().min(0), seq: z.number().int().min(0) };
const messageSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('snapshot'), ...envelope,
    // passthrough: the state's other fields (epoch, dataLoss) must reach the backup too, or a failover forgets Redis's losses.
    state: z.object({ jobs: z.record(z.string(), z.unknown()), clients: z.record(z.string(), z.unknown()), lastEventIds: z.record(z.string(), z.string()) }).passthrough(),
  }),
  z.object({ kind: z.literal('ops'), ...envelope, ops: z.array(z.object({ op: z.string() }).passthrough()) }),
]);

export class Replication {
  private s: ReplicaState;
  /** Backup: the seq of the last batch received (batches are numbered as in the durable log). */
  private seq = 0;
  /** Named primary, it is still bringing its state up to the durable log: it neither serves nor acknowledges. */
  private restoring = false;
  private lastPingOk = 0;
  /** The highest log batch the view service heard of, from its last ping reply. */
  private viewLogSeq = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private channel: ReplicaChannel | null = null;
  /**
   * Backup: ops received and acknowledged but not yet applied. The backup answers OK as soon as it
   * holds a batch (in memory, as it holds its state) and applies it right after, off the primary's
   * critical path; anything that reads the state first applies what waits (`settle`).
   */
  private backlog: { ops: Op[]; seq: number }[] = [];
  /**
   * The highest view-service lease epoch seen in a ping reply: a reply under an older lease comes
   * from a view service that lost its lease (docs/DESIGN.md §5.1, rule 12) and is ignored.
   */
  private leaseEpoch = 0;
  /** The last ping that failed, and why (for /health while the view service gives no view). */
  private pingFailure: { why: string; since: number } | null = null;
  /**
   * The durable log refused this master's claim or append: the view whose primary claimed it. While
   * the view service names this master primary of a view no newer, it does not claim again (it
   * would be refused again); it pings that view's number instead, so the service numbers its next
   * view past it (rule 9).
   */
  private fence: { fence: number; viewnum: number; at: number } | null = null;
  /** Restoring from the log failed for another reason (Redis unreachable): when to try again. */
  private restoreRetry = { failures: 0, at: 0 };
  /** Batches the backup has confirmed, and the time they took (for /health). */
  readonly forwarded = { batches: 0, ops: 0, ms: 0 };

  constructor(
    private cfg: ReplicationConfig,
    private host: ReplicaHost,
    private log: Logger,
    readonly clock: LamportClock,
  ) {
    this.s = initialReplica(cfg.me);
  }

  get state(): ReplicaState {
    return this.s;
  }

  get view(): View {
    return this.s.view;
  }

  get serving(): boolean {
    return isServing(this.s) && !this.restoring;
  }

  notPrimary(why = `${this.cfg.me} is ${this.s.role} in view ${this.s.view.viewnum}`): NotPrimaryError {
    return new NotPrimaryError(this.s.view, why);
  }

  start(): void {
    const loop = async () => {
      await this.ping();
      if (!this.stopped) this.pingTimer = setTimeout(loop, this.cfg.pingIntervalMs);
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pingTimer);
    this.channel?.close();
  }

  /** One ping: reports the acknowledged view and acts on the view the service answers with. */
  async ping(): Promise<boolean> {
    try {
      const viewnum = Math.max(pingViewnum(this.s), this.s.role === 'primary' ? 0 : (this.fence?.fence ?? 0));
      // Every batch this master holds was in the durable log first: the view service keeps the highest as a witness.
      const seq = Math.max(this.seq, this.host.heldSeq());
      const ping: PingRequest = { server: this.cfg.me, viewnum, clock: this.clock.tick(), seq };
      const r = await requestJson(new URL('/ping', this.cfg.viewUrl).href, { body: ping, timeoutMs: this.cfg.pingIntervalMs * this.cfg.deadPings, secret: this.cfg.secret });
      const reply = pingReplySchema.safeParse(r.body);
      if (!reply.success) {
        const message = (r.body as { error?: unknown })?.error;
        throw new Error(`the view service at ${this.cfg.viewUrl} refused the ping (${r.status}): ${typeof message === 'string' ? message : JSON.stringify(r.body).slice(0, 200)}`);
      }
      const lease = reply.data.lease;
      if (lease && lease.epoch < this.leaseEpoch) {
        throw new Error(`the view service at ${this.cfg.viewUrl} answered under view-service lease ${lease.epoch}, older than lease ${this.leaseEpoch} seen before; ignoring its view`);
      }
      if (lease) this.leaseEpoch = lease.epoch;
      this.clock.receive(reply.data.clock);
      this.lastPingOk = Date.now();
      this.pingFailure = null;
      this.viewLogSeq = Math.max(this.viewLogSeq, reply.data.logSeq ?? 0);
      await this.learn(reply.data.view);
      return true;
    } catch (err) {
      const why = (err as Error).message;
      if (this.pingFailure?.why !== why) this.log.warn({ err: why }, 'the view service gives no view');
      if (this.pingFailure === null || this.pingFailure.why !== why) this.pingFailure = { why, since: this.pingFailure?.since ?? Date.now() };
      const silentMs = Date.now() - this.lastPingOk;
      if (this.s.role === 'primary' && silentMs >= this.cfg.pingIntervalMs * this.cfg.deadPings) {
        this.log.warn({ err: (err as Error).message, silentMs }, 'cannot reach the view service: another master may be primary by now; not serving until it answers');
        this.s = suspend(this.s);
        this.host.stepDown(this.notPrimary(`${this.cfg.me} cannot reach the view service to confirm its view`));
      }
      return false;
    }
  }

  /** Backup: applies every batch received so far, in order. */
  settle(): void {
    if (this.backlog.length === 0) return;
    const batches = this.backlog;
    this.backlog = [];
    for (const b of batches) this.host.applyReplicated(b.ops, b.seq);
  }

  /**
   * The durable log refused this primary (a newer view claimed it): it stops serving at once, and
   * asks the view service for the view that replaced it.
   */
  fenced(fencedBy: LogFencedError): NotPrimaryError {
    const err = this.notPrimary(fencedBy.message);
    this.noteFence(fencedBy);
    if (this.s.role === 'primary') {
      this.s = suspend(this.s);
      this.host.stepDown(err);
      void this.ping();
    }
    return err;
  }

  /**
   * The log holds a batch this primary never applied (an append it gave up on landed later): it
   * stops serving, and once it next learns its view it becomes primary again, which catches its
   * state up from the log and sends its backup a fresh snapshot before it serves.
   */
  behindLog(err: Error): NotPrimaryError {
    const e = this.notPrimary(err.message);
    if (this.s.role === 'primary') {
      this.log.error({ err: err.message }, 'the durable op log is ahead of this primary; catching up from it before serving again');
      this.s = suspend(this.s);
      this.host.stepDown(e);
      void this.ping();
    }
    return e;
  }

  private noteFence(err: LogFencedError): void {
    if (this.fence?.fence === err.fence && this.fence.viewnum === err.viewnum) return;
    this.fence = { fence: err.fence, viewnum: err.viewnum, at: Date.now() };
    this.log.error({ viewnum: err.viewnum, fence: err.fence }, `view ${err.fence} claimed the durable op log: this master (primary of view ${err.viewnum}) stepped down, and waits for a view newer than ${err.fence} (it was replaced, or another view service decided views for this Redis and prefix)`);
  }

  /** Why this master, or the cluster as it sees it, is not serving: for /health. */
  alerts(): Alert[] {
    const out: Alert[] = [];
    const detectionMs = this.cfg.pingIntervalMs * this.cfg.deadPings;
    if (this.pingFailure && Date.now() - this.pingFailure.since >= detectionMs) {
      out.push({ kind: 'view_service', text: `${this.cfg.me} gets no view from the view service for ${Math.round((Date.now() - this.pingFailure.since) / 1000)} s: ${this.pingFailure.why}` });
    }
    if (this.fence && !this.serving) {
      out.push({ kind: 'fenced', text: `${this.cfg.me} was primary of view ${this.fence.viewnum} but view ${this.fence.fence} claimed the durable op log (another master under another view service?); it is not serving until the view service names it primary of a newer view` });
    }
    if (this.restoreRetry.failures > 0 && !this.serving) {
      out.push({ kind: 'log_restore', text: `${this.cfg.me} is named primary of view ${this.s.view.viewnum} but cannot bring its state up to the durable log (${this.restoreRetry.failures} attempts); no primary serves until it can` });
    }
    return out;
  }

  private async learn(view: View): Promise<void> {
    this.settle();
    if (this.fence && view.viewnum > this.fence.fence) this.fence = null;
    const before = this.s;
    const { state, actions } = learnView(this.s, view);
    this.s = state;
    if (state.view.viewnum !== before.view.viewnum || state.role !== before.role) {
      this.log.info({ view: state.view, role: state.role }, 'view changed');
    }
    if (state.view.viewnum !== before.view.viewnum) this.cfg.onViewChange?.();
    for (const a of actions) await this.act(a);
  }

  private async act(a: ViewAction): Promise<void> {
    switch (a.type) {
      case 'becomePrimary': {
        const viewnum = this.s.view.viewnum;
        if (this.fence && viewnum <= this.fence.fence) {
          // A claim would be refused again: wait, pinging the fence, for the view service to move past it.
          this.s = suspend(this.s);
          return;
        }
        if (Date.now() < this.restoreRetry.at) {
          this.s = suspend(this.s);
          return;
        }
        // No ping goes out meanwhile (the ping loop waits for this), so the view is acknowledged
        // only after the state is the log's.
        this.restoring = true;
        try {
          await this.host.becomePrimary(a.withState, viewnum, this.viewLogSeq);
          this.restoreRetry = { failures: 0, at: 0 };
        } catch (err) {
          this.s = suspend(this.s);
          if (err instanceof LogFencedError) {
            this.noteFence(err);
          } else {
            // Backing off: a log that cannot be read now will not be readable ten times a second.
            const failures = this.restoreRetry.failures + 1;
            const waitMs = Math.min(5000, this.cfg.pingIntervalMs * 2 ** Math.min(failures, 6));
            this.restoreRetry = { failures, at: Date.now() + waitMs };
            if (failures === 1 || failures % 10 === 0) {
              this.log.error({ viewnum, failures, retryInMs: waitMs, err: (err as Error).message }, 'named primary but could not bring the state up to the durable log; not serving, trying again later');
            }
          }
          this.host.stepDown(this.notPrimary(`${this.cfg.me} could not restore the durable log: ${(err as Error).message}`));
        } finally {
          this.restoring = false;
        }
        return;
      }
      case 'stepDown':
        this.host.stepDown(this.notPrimary());
        return;
      case 'dropState':
        this.host.dropState();
        return;
      case 'sync':
        this.host.requestSync();
        return;
    }
  }

  private async send(backup: string, body: object): Promise<ReplicaAnswer> {
    if (this.channel?.url !== backup) {
      this.channel?.close();
      this.channel = new ReplicaChannel(backup, this.cfg.secret);
    }
    const a = await this.channel.request<ReplicaAnswer>(body, this.cfg.pingIntervalMs * this.cfg.deadPings);
    this.clock.receive(a.clock ?? 0);
    return a;
  }

  /**
   * Primary: makes batch `seq` durable at the backup, in order, before the caller applies it; no
   * ops (a read's confirmation) carry the seq the state is at, which the backup holds already.
   * Runs one batch at a time (the caller serializes). Sends the backup a snapshot first when it has
   * none for the current view.
   */
  async forward(ops: Op[], seq: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (!this.serving) throw this.notPrimary();
      if (attempt > 0) await sleep(Math.min(this.cfg.pingIntervalMs, 10 * attempt));
      if (!this.serving) throw this.notPrimary();
      const backup = backupOf(this.s);
      if (backup === '') return;
      const viewnum = this.s.view.viewnum;
      try {
        if (this.s.synced !== viewnum) {
          const msg: SnapshotMessage = { from: this.cfg.me, viewnum, clock: this.clock.tick(), ...this.host.snapshot() };
          const a = await this.send(backup, { kind: 'snapshot', ...msg });
          if (!a.ok) {
            this.log.warn({ backup, viewnum, refused: a.refused }, 'backup refused the snapshot');
            await this.refuse(a.refused);
            continue;
          }
          this.s = synced(this.s, viewnum);
          this.log.info({ backup, viewnum, jobs: Object.keys(msg.state.jobs).length }, 'backup holds a snapshot; acknowledging the view');
          void this.ping();
        }
        const t0 = performance.now();
        const a = await this.send(backup, { kind: 'ops', from: this.cfg.me, viewnum, clock: this.clock.tick(), seq, ops } satisfies OpsMessage & { kind: 'ops' });
        if (a.ok) {
          this.forwarded.batches++;
          this.forwarded.ops += ops.length;
          this.forwarded.ms += performance.now() - t0;
          return;
        }
        this.log.warn({ backup, viewnum, refused: a.refused }, 'backup refused an operation');
        await this.refuse(a.refused);
      } catch (err) {
        // The backup is unreachable: wait for it, or for the view service to replace it.
        if (attempt % 50 === 0) this.log.warn({ backup, err: (err as Error).message }, 'backup does not answer; waiting for it or for a new view');
      }
    }
  }

  /** The backup refused: learn the current view; if it cannot be learned, stop serving. */
  private async refuse(reason: string): Promise<void> {
    if (!(await this.ping()) && this.s.role === 'primary') {
      this.s = suspend(this.s);
      this.host.stepDown(this.notPrimary(`the backup refused (${reason}) and the view service does not answer`));
    }
  }

  /** Backup: checks a message against the current view, asking the view service when the message names a newer view. */
  private async check(kind: MessageKind, msg: Envelope): Promise<string | null> {
    this.clock.receive(msg.clock);
    let v = checkMessage(this.s, { kind, viewnum: msg.viewnum, from: msg.from });
    if (v.type === 'refresh') {
      await this.ping();
      v = checkMessage(this.s, { kind, viewnum: msg.viewnum, from: msg.from }, true);
    }
    return v.type === 'accept' ? null : v.type === 'refuse' ? v.reason : 'unknown view';
  }

  /** Backup: one message from the replication stream. */
  async receive(raw: unknown): Promise<ReplicaAnswer> {
    const r = messageSchema.safeParse(raw);
    if (!r.success) return { ok: false, refused: `malformed message: ${formatIssues(r.error, { root: 'message' })}`, clock: this.clock.tick() };
    const { kind, ...msg } = r.data;
    return kind === 'snapshot' ? this.receiveSnapshot(msg as unknown as SnapshotMessage) : this.receiveOps(msg as unknown as OpsMessage);
  }

  async receiveSnapshot(msg: SnapshotMessage): Promise<ReplicaAnswer> {
    const refused = await this.check('snapshot', msg);
    if (refused) return { ok: false, refused, clock: this.clock.tick() };
    this.backlog = [];
    this.host.install(msg.state, msg.seq);
    this.seq = msg.seq;
    this.s = installed(this.s, msg.viewnum);
    this.log.info({ from: msg.from, viewnum: msg.viewnum, jobs: Object.keys(msg.state.jobs).length }, 'installed the primary\'s snapshot');
    return { ok: true, clock: this.clock.tick() };
  }

  async receiveOps(msg: OpsMessage): Promise<ReplicaAnswer> {
    const refused = await this.check('ops', msg);
    if (refused) return { ok: false, refused, clock: this.clock.tick() };
    if (msg.seq <= this.seq) return { ok: true, clock: this.clock.tick() }; // a retry of a batch already applied
    if (msg.seq !== this.seq + 1) return { ok: false, refused: `batch ${msg.seq} arrived after batch ${this.seq}; a batch is missing`, clock: this.clock.tick() };
    if (this.backlog.push({ ops: msg.ops, seq: msg.seq }) === 1) setImmediate(() => this.settle());
    this.seq = msg.seq;
    return { ok: true, clock: this.clock.tick() };
  }
}
