/**
 * The view service's rules (docs/DESIGN.md §5.1; MIT 6.824 2015, Lab 2 part A), as a pure state machine
 * driven by `ping` and `tick`. No clock, no I/O: the caller passes `now`, so tests drive it tick by
 * tick and the process wires it to HTTP, a timer and Redis.
 *
 * - A server silent for `deadPings` ping intervals is dead.
 * - A ping with viewnum 0 means "I (re)started and hold no state". A primary or backup that had
 *   pinged a real view number and then pings 0 has restarted and counts as dead, until it loses its
 *   role or, as primary, acknowledges its view (it acknowledges only once it has restored the state).
 * - The service moves from view v to a new view only after the primary of v has acknowledged v
 *   (pinged with viewnum v). Until then it is stuck, even if the primary dies: the known price of
 *   this design.
 * - The primary of the new view is the primary or the backup of v. A backup is promoted only if it
 *   has pinged the view that made it backup (or a later one), so a server that never held state is
 *   not preferred over one that does.
 * - Both lost (the primary dead or restarted, the backup absent, dead, restarted or never synced):
 *   the new view's primary is a live server, idle ones first, then restarted ones, with no backup.
 *   It restores the job table from the durable log, so "holds state" means "can restore".
 * - A server that is neither primary nor backup is idle; an idle server becomes backup when there
 *   is none. A dead or restarted backup is removed (replaced by an idle server if there is one).
 * - No view number is ever issued at or below a number some master pinged: a service that lost its
 *   state numbers its views past what the masters know, since they ignore older views.
 * - A gap in the service's own activity (it was paused, or its host stalled) is no evidence against
 *   the masters: their last-seen times move forward by the gap.
 */
import type { View } from '@tandem/shared';

export interface ServerSeen {
  /** When it last pinged (ms). */
  at: number;
  /** The view number of its last ping. */
  viewnum: number;
  /** It pinged 0 after having pinged a real view: whatever it held is gone. */
  restarted: boolean;
  /**
   * Counted as seen when the service resumed its stored state, and silent since. No new view keeps
   * such a primary: it might never acknowledge it (it may be dead), and a view change waits for the
   * primary's acknowledgement, so the service would be stuck; it waits to hear it or to declare it dead.
   */
  resumed?: boolean;
}

export interface ViewState {
  view: View;
  /** The primary of `view` has pinged with `view.viewnum`. */
  acked: boolean;
  /** The view in which the current backup was made backup. */
  backupSince: number;
  servers: Record<string, ServerSeen>;
  /** The highest view number any master has pinged with. */
  highestPinged: number;
  /** When the rules last ran (a ping or a tick), to tell the service's own pauses from the masters' silence. */
  lastRun: number;
  /**
   * The highest durable-log batch a master said it held. It never goes down: a master named primary
   * that finds the log ending before it knows Redis rolled the log back (docs/DESIGN.md §3.4).
   */
  logSeq: number;
}

export interface RulesConfig {
  pingIntervalMs: number;
  deadPings: number;
}

export const initialState = (): ViewState => ({
  view: { viewnum: 0, primary: '', backup: '' },
  acked: false,
  backupSince: 0,
  servers: {},
  highestPinged: 0,
  lastRun: 0,
  logSeq: 0,
});

/** A master's ping said it holds the log up to batch `seq`: remembered if it is the highest yet. */
export const heardSeq = (s: ViewState, seq: number | undefined): ViewState =>
  seq !== undefined && seq > s.logSeq ? { ...s, logSeq: seq } : s;

export function isAlive(s: ViewState, server: string, now: number, cfg: RulesConfig): boolean {
  const seen = s.servers[server];
  return server !== '' && seen !== undefined && now - seen.at < cfg.deadPings * cfg.pingIntervalMs;
}

/** Live servers with no role, in name order (a deterministic choice). */
export function idleServers(s: ViewState, now: number, cfg: RulesConfig): string[] {
  return Object.keys(s.servers)
    .filter((x) => x !== s.view.primary && x !== s.view.backup && isAlive(s, x, now, cfg))
    .sort();
}

/**
 * More than two ping intervals since the rules last ran means the service itself was not running
 * (SIGSTOP, a stalled host): the masters' pings of that time were never heard, so every last-seen
 * time moves forward by the gap, never past now.
 */
export function closeGap(s: ViewState, now: number, cfg: RulesConfig): ViewState {
  const gap = now - s.lastRun;
  if (gap <= 2 * cfg.pingIntervalMs) return { ...s, lastRun: now };
  const servers: Record<string, ServerSeen> = {};
  for (const [name, seen] of Object.entries(s.servers)) servers[name] = { ...seen, at: Math.min(now, seen.at + gap) };
  return { ...s, servers, lastRun: now };
}

function moveTo(s: ViewState, primary: string, backup: string): ViewState {
  const viewnum = Math.max(s.view.viewnum, s.highestPinged) + 1;
  // The mark of a restart belongs to the old view's roles: in the new one a restarted server may hold
  // a role again, receiving a fresh snapshot as backup or restoring from the durable log as primary.
  const servers = { ...s.servers };
  for (const [name, seen] of Object.entries(servers)) {
    if (seen.restarted) servers[name] = { ...seen, restarted: false };
  }
  return {
    ...s,
    view: { viewnum, primary, backup },
    acked: false,
    backupSince: backup === s.view.backup && backup !== '' ? s.backupSince : viewnum,
    servers,
  };
}

/** What a ping tells the service, before it decides anything: liveness, a restart, an ack. */
export function hear(s: ViewState, server: string, viewnum: number, now: number, cfg: RulesConfig): ViewState {
  s = closeGap(s, now, cfg);
  const before = s.servers[server];
  // Only a restart of a server with a role matters: an idle server holds nothing to lose.
  const hasRole = server === s.view.primary || server === s.view.backup;
  // Once a server with a role has restarted, it stays marked until it loses the role: its next
  // ping (with the view number it then learns) must not make it look as if it held state again.
  const restarted = hasRole && ((viewnum === 0 && (before?.viewnum ?? 0) > 0) || (before?.restarted ?? false));
  let next: ViewState = {
    ...s,
    servers: { ...s.servers, [server]: { at: now, viewnum, restarted } },
    highestPinged: Math.max(s.highestPinged, viewnum),
  };
  if (viewnum > next.view.viewnum) {
    // A master knows a newer view than this service: the service lost its state (or Redis handed
    // back an older one). Its view means nothing to the masters, so it starts over past theirs.
    next = { ...next, view: initialState().view, acked: false, backupSince: 0 };
  }
  if (server === next.view.primary && viewnum === next.view.viewnum) {
    // A primary acknowledges only once it holds the state (restored from the durable log after a
    // restart), so its acknowledgement also ends its restart.
    next = { ...next, acked: true, servers: { ...next.servers, [server]: { at: now, viewnum, restarted: false } } };
  }
  return next;
}

export function ping(s: ViewState, server: string, viewnum: number, now: number, cfg: RulesConfig): ViewState {
  const next = hear(s, server, viewnum, now, cfg);
  // The first server to ping becomes primary (of view 1 on a new cluster).
  return next.view.viewnum === 0 ? moveTo(next, server, '') : decide(next, now, cfg);
}

export function tick(s: ViewState, now: number, cfg: RulesConfig): ViewState {
  return decide(closeGap(s, now, cfg), now, cfg);
}

/** Alive and still holding what its role gave it. */
const ok = (s: ViewState, x: string, now: number, cfg: RulesConfig) => x !== '' && isAlive(s, x, now, cfg) && !s.servers[x].restarted;

/** The primary is dead or restarted, and the backup is absent, dead, restarted or never synced. */
export function bothLost(s: ViewState, now: number, cfg: RulesConfig): boolean {
  const { primary, backup } = s.view;
  return !ok(s, primary, now, cfg) && !(ok(s, backup, now, cfg) && s.servers[backup].viewnum >= s.backupSince);
}

function decide(s: ViewState, now: number, cfg: RulesConfig): ViewState {
  const v = s.view;
  if (v.viewnum === 0 || !s.acked) return s;
  const idle = idleServers(s, now, cfg);
  if (bothLost(s, now, cfg)) {
    const restarted = [v.primary, v.backup].filter((x) => isAlive(s, x, now, cfg) && s.servers[x].restarted).sort();
    const primary = [...idle, ...restarted][0];
    return primary === undefined ? s : moveTo(s, primary, '');
  }
  if (!ok(s, v.primary, now, cfg)) return moveTo(s, v.backup, idle[0] ?? '');
  if (s.servers[v.primary]?.resumed) return s;
  if (v.backup !== '' && !ok(s, v.backup, now, cfg)) return moveTo(s, v.primary, idle[0] ?? '');
  if (v.backup === '' && idle.length > 0) return moveTo(s, v.primary, idle[0]);
  return s;
}

/**
 * What must outlive the service: the view and what the rules know of its two servers. Liveness is
 * soft state, rebuilt from the pings after a restart.
 */
export interface DurableViewState {
  view: View;
  acked: boolean;
  backupSince: number;
  /** The view's primary and backup: the view number each last pinged, and whether it restarted. */
  members: Record<string, { viewnum: number; restarted: boolean }>;
  /** ViewState.logSeq (absent in a state stored before it existed). */
  logSeq?: number;
}

export function durablePart(s: ViewState): DurableViewState {
  const members: DurableViewState['members'] = {};
  for (const name of [s.view.primary, s.view.backup].filter((x) => x !== '').sort()) {
    const seen = s.servers[name];
    if (seen) members[name] = { viewnum: seen.viewnum, restarted: seen.restarted };
  }
  return { view: s.view, acked: s.acked, backupSince: s.backupSince, members, logSeq: s.logSeq };
}

/**
 * The state after a restart of the service: every member of the stored view counts as just seen, so
 * the masters get a full detection window to ping again before anyone is declared dead, and is
 * marked `resumed` until it pings (no view keeps a resumed primary: it may never acknowledge it).
 */
export function resume(d: DurableViewState, now: number): ViewState {
  const servers: Record<string, ServerSeen> = {};
  for (const [name, m] of Object.entries(d.members)) servers[name] = { at: now, ...m, resumed: true };
  return { view: d.view, acked: d.acked, backupSince: d.backupSince, servers, highestPinged: d.view.viewnum, lastRun: now, logSeq: d.logSeq ?? 0 };
}
