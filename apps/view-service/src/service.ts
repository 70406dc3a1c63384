/**
 * The view service's process logic: holds the rules' state, applies pings as they arrive and ticks
 * on a timer, and reports status (views, servers, queues, alerts). HTTP lives in api.ts.
 */
import { LamportClock, type ServerStatus, type View, type ViewStatus } from '@tandem/shared';
import { initialState, isAlive, ping, tick, type RulesConfig, type ViewState } from './view-rules.ts';
import { queueAlerts, type QueueReport } from './queue-monitor.ts';

export class ViewService {
  private state: ViewState = initialState();
  private viewSince = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Lamport clock: pings carry the master's time, answers carry this service's. */
  readonly clock = new LamportClock();
  /** GET /view requests served (clients asking where the primary is). */
  lookups = 0;

  constructor(
    private cfg: RulesConfig & { ackAlertMs: number },
    private queues: () => QueueReport | null = () => null,
    private now: () => number = Date.now,
  ) {}

  private update(next: ViewState): void {
    if (next.view.viewnum !== this.state.view.viewnum) this.viewSince = this.now();
    this.state = next;
  }

  ping(server: string, viewnum: number): View {
    this.update(ping(this.state, server, viewnum, this.now(), this.cfg));
    return this.state.view;
  }

  get view(): View {
    return this.state.view;
  }

  start(): void {
    this.timer = setInterval(() => this.update(tick(this.state, this.now(), this.cfg)), this.cfg.pingIntervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  status(): ViewStatus {
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
    if (waitingForAckMs !== null && waitingForAckMs >= this.cfg.ackAlertMs) {
      alerts.push(`the primary (${s.view.primary}) has not acknowledged view ${s.view.viewnum} for ${Math.round(waitingForAckMs / 1000)} s; the view cannot change until it does`);
    }
    const primary = servers.find((x) => x.role === 'primary');
    if (primary && !primary.alive) alerts.push(`the primary (${primary.name}) is not pinging`);
    const q = this.queues();
    if (q) alerts.push(...queueAlerts(q));
    return { view: s.view, acked: s.acked, waitingForAckMs, servers, queues: q, alerts, lookups: this.lookups };
  }
}
