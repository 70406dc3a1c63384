/**
 * The view service's process logic: holds the rules' state, applies pings as they arrive and ticks
 * on a timer, records the state in Redis before any view it decides is revealed, and reports status
 * (views, servers, queues, alerts). HTTP lives in api.ts.
 */
import { LamportClock, TandemError, type Logger, type ServerStatus, type View, type ViewLease, type ViewStatus } from '@tandem/shared';
import { closeGap, durablePart, hear, heardSeq, initialState, isAlive, ping, resume, tick, type DurableViewState, type RulesConfig, type ViewState } from './view-rules.ts';
import { queueAlerts, type QueueReport } from './queue-monitor.ts';
import type { ViewStateStore } from './view-store.ts';

/**
 * Whether this service may decide and reveal views: it holds the view-service lease (lease.ts). A
 * service that does not answers every ping, lookup and status with `standby()`.
 */
export interface ViewAuthority {
  authoritative(): boolean;
  standby(): TandemError;
  readonly lease: ViewLease | undefined;
}

const alwaysAuthoritative: ViewAuthority = {
  authoritative: () => true,
  standby: () => new TandemError('unavailable', 'the view service is not deciding views'),
  lease: undefined,
};

export class ViewService {
  private state: ViewState = initialState();
  /** The state last written to Redis: its view is the newest anyone may see. */
  private recorded: DurableViewState = durablePart(initialState());
  private recordedJson = JSON.stringify(this.recorded);
  private writes = 0;
  private recordedWrite = 0;
  /** Set while Redis refuses the writes, so an outage is logged once. */
  private recordError: string | null = null;
  private viewSince = 0;
  /**
   * Until then, after the stored view was loaded, the service hears pings but changes no view: the
   * members get one detection window to ping this service before it acts on their silence or adds
   * a backup. Without it, a standby taking over from a service whose masters never ping it would
   * at once add its own idle master as backup of a primary that can never acknowledge that view,
   * and be stuck (rule 4).
   */
  private quietUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Lamport clock: pings carry the master's time, answers carry this service's. */
  readonly clock = new LamportClock();
  /** GET /view requests served (clients asking where the primary is). */
  lookups = 0;

  constructor(
    /** `onViewChange`: called each time the rules decide a view with another number (tandem_view_changes_total). */
    private cfg: RulesConfig & { ackAlertMs: number; onViewChange?: () => void },
    private store: ViewStateStore,
    private log: Logger,
    private queues: () => QueueReport | null = () => null,
    private now: () => number = Date.now,
    private authority: ViewAuthority = alwaysAuthoritative,
  ) {}

  /** Throws the standby refusal unless this service holds the lease (checked before every answer). */
  private requireAuthority(): void {
    if (!this.authority.authoritative()) throw this.authority.standby();
  }

  /** The lease this service decides views under, if it holds one. */
  get lease(): ViewLease | undefined {
    return this.authority.lease;
  }

  /** Resumes the stored state, if any; throws while Redis cannot be read. */
  async restore(): Promise<DurableViewState | null> {
    const stored = await this.store.load();
    if (stored === null) return null;
    // The highest log batch a master held is a witness that only grows: a Redis that rolled back
    // (the very loss it exists to reveal) hands back an older one than this process heard.
    this.state = { ...resume(stored, this.now()), logSeq: Math.max(this.state.logSeq, stored.logSeq ?? 0) };
    this.recorded = stored;
    this.recordedJson = JSON.stringify(stored);
    this.viewSince = this.now();
    this.quietUntil = this.now() + this.cfg.pingIntervalMs * this.cfg.deadPings;
    return stored;
  }

  private update(next: ViewState): void {
    if (next.view.viewnum !== this.state.view.viewnum) {
      this.viewSince = this.now();
      this.log.info({ view: next.view, previous: this.state.view }, 'new view decided');
      this.cfg.onViewChange?.();
    }
    this.state = next;
  }

  /**
   * Writes what the rules decided, if it is not written yet. Writes go out in order on one
   * connection, so the last one issued is the one Redis keeps; `recorded` follows the newest that
   * succeeded.
   */
  private async record(): Promise<void> {
    const want = durablePart(this.state);
    const json = JSON.stringify(want);
    if (json === this.recordedJson) return;
    const write = ++this.writes;
    try {
      await this.store.save(want);
    } catch (err) {
      // The lease refused the write: this service lost it, which is not a Redis outage.
      if (err instanceof TandemError) throw err;
      const why = (err as Error).message;
      // Only the log's high mark changed: it is kept in memory and written with the next write, so
      // an outage of Redis does not turn the masters' pings away (their log cannot grow meanwhile).
      if (JSON.stringify({ ...want, logSeq: this.recorded.logSeq }) === this.recordedJson) return;
      if (this.recordError === null) this.log.error({ err: why, view: want.view }, 'cannot record the view-service state in Redis; no new view is revealed until it can');
      this.recordError = why;
      throw new TandemError('unavailable', `the view service cannot record view ${want.view.viewnum} in Redis (${why}); it reveals no view it has not recorded: retry once Redis answers`);
    }
    if (this.recordError !== null) this.log.info({ view: want.view }, 'view-service state recorded in Redis again');
    this.recordError = null;
    if (write > this.recordedWrite) {
      this.recordedWrite = write;
      this.recorded = want;
      this.recordedJson = json;
    }
  }

  async ping(server: string, viewnum: number, seq?: number): Promise<View> {
    this.requireAuthority();
    const now = this.now();
    const next = now < this.quietUntil ? hear(this.state, server, viewnum, now, this.cfg) : ping(this.state, server, viewnum, now, this.cfg);
    this.update(heardSeq(next, seq));
    await this.record();
    return this.recorded.view;
  }

  /** The highest durable-log batch any master said it held (in memory: newer than what Redis may hold). */
  get logSeq(): number {
    return this.state.logSeq;
  }

  /** The newest recorded view: never one that a restart could take back. */
  get view(): View {
    return this.recorded.view;
  }

  /** Whether this service decides views now (it holds the lease): a standby's view is no one's. */
  get deciding(): boolean {
    return this.authority.authoritative();
  }

  /** The view for a lookup (GET /view): refused by a service that does not hold the lease. */
  lookup(): View {
    this.requireAuthority();
    this.lookups++;
    return this.recorded.view;
  }

  start(): void {
    this.timer = setInterval(() => {
      // A standby decides nothing: its state is the holder's business until it takes the lease.
      if (!this.authority.authoritative()) return;
      // Quiet: only the service's own pauses are tracked (rule 10), so the window is not one of them.
      if (this.now() < this.quietUntil) {
        this.state = closeGap(this.state, this.now(), this.cfg);
        return;
      }
      this.update(tick(this.state, this.now(), this.cfg));
      // A failed write is logged by record() and retried on the next tick or ping.
      this.record().catch(() => {});
    }, this.cfg.pingIntervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  status(): ViewStatus {
    this.requireAuthority();
    const now = this.now();
    const s = this.state;
    const servers: ServerStatus[] = Object.entries(s.servers).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, seen]) => ({
      name,
      role: name === s.view.primary ? 'primary' : name === s.view.backup ? 'backup' : 'idle',
      alive: isAlive(s, name, now, this.cfg),
      lastPingAgoMs: now - seen.at,
      viewnum: seen.viewnum,
      restarted: seen.restarted,
    }));
    const waitingForAckMs = s.view.viewnum > 0 && !s.acked ? now - this.viewSince : null;
    const alerts: string[] = [];
    if (s.view.viewnum === 0) alerts.push('no master has pinged yet: no primary');
    if (this.recordError !== null && this.recorded.view.viewnum !== s.view.viewnum) {
      alerts.push(`view ${s.view.viewnum} is decided but cannot be recorded in Redis (${this.recordError}): the masters are told view ${this.recorded.view.viewnum} until it is`);
    }
    if (waitingForAckMs !== null && waitingForAckMs >= this.cfg.ackAlertMs) {
      alerts.push(`the primary (${s.view.primary}) has not acknowledged view ${s.view.viewnum} for ${Math.round(waitingForAckMs / 1000)} s; the view cannot change until it does`);
    }
    const primary = servers.find((x) => x.role === 'primary');
    if (primary && !primary.alive) alerts.push(`the primary (${primary.name}) is not pinging`);
    const q = this.queues();
    if (q) alerts.push(...queueAlerts(q));
    return { view: s.view, acked: s.acked, waitingForAckMs, servers, queues: q, alerts, lookups: this.lookups, lease: this.authority.lease, logSeq: s.logSeq };
  }
}
