/**
 * The view service's rules (docs/DESIGN.md §5.1; MIT 6.824 2015, Lab 2 part A), as a pure state machine
 * driven by `ping` and `tick`. No clock, no I/O: the caller passes `now`, so tests drive it tick by
 * tick and the process wires it to HTTP and a timer.
 *
 * - A server silent for `deadPings` ping intervals is dead.
 * - A ping with viewnum 0 means "I (re)started and hold no state". A primary or backup that had
 *   pinged a real view number and then pings 0 has restarted and counts as dead.
 * - The service moves from view v to v+1 only after the primary of v has acknowledged v (pinged
 *   with viewnum v). Until then it is stuck, even if the primary dies: the known price of this design.
 * - The primary of v+1 is the primary or the backup of v. A backup is promoted only if it has pinged
 *   the view that made it backup (or a later one), so a server that never held state never becomes
 *   primary.
 * - A server that is neither primary nor backup is idle; an idle server becomes backup when there
 *   is none. A dead or restarted backup is removed (replaced by an idle server if there is one).
 */
import type { View } from '@tandem/shared';

export interface ServerSeen {
  /** When it last pinged (ms). */
  at: number;
  /** The view number of its last ping. */
  viewnum: number;
  /** It pinged 0 after having pinged a real view: whatever it held is gone. */
  restarted: boolean;
}

export interface ViewState {
  view: View;
  /** The primary of `view` has pinged with `view.viewnum`. */
  acked: boolean;
  /** The view in which the current backup was made backup. */
  backupSince: number;
  servers: Record<string, ServerSeen>;
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
});

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

function moveTo(s: ViewState, primary: string, backup: string): ViewState {
  const viewnum = s.view.viewnum + 1;
  // A restarted server that holds no role any more is simply idle: it may be given a role again,
  // and the primary then sends it a fresh snapshot.
  const servers = { ...s.servers };
  for (const [name, seen] of Object.entries(servers)) {
    if (seen.restarted && name !== primary && name !== backup) servers[name] = { ...seen, restarted: false };
  }
  return {
    ...s,
    view: { viewnum, primary, backup },
    acked: false,
    backupSince: backup === s.view.backup && backup !== '' ? s.backupSince : viewnum,
    servers,
  };
}

export function ping(s: ViewState, server: string, viewnum: number, now: number, cfg: RulesConfig): ViewState {
  const before = s.servers[server];
  // Only a restart of a server with a role matters: an idle server holds nothing to lose.
  const hasRole = server === s.view.primary || server === s.view.backup;
  // Once a server with a role has restarted, it stays marked until it loses the role: its next
  // ping (with the view number it then learns) must not make it look as if it held state again.
  const restarted = hasRole && ((viewnum === 0 && (before?.viewnum ?? 0) > 0) || (before?.restarted ?? false));
  let next: ViewState = { ...s, servers: { ...s.servers, [server]: { at: now, viewnum, restarted } } };
  if (next.view.viewnum === 0) {
    // The very first server becomes primary of view 1 (it holds the initial, empty state).
    return moveTo(next, server, '');
  }
  if (server === next.view.primary && viewnum === next.view.viewnum) next = { ...next, acked: true };
  return tick(next, now, cfg);
}

export function tick(s: ViewState, now: number, cfg: RulesConfig): ViewState {
  const v = s.view;
  if (v.viewnum === 0 || !s.acked) return s;
  const ok = (x: string) => x !== '' && isAlive(s, x, now, cfg) && !s.servers[x].restarted;
  const idle = idleServers(s, now, cfg);
  if (!ok(v.primary)) {
    const backupHasState = ok(v.backup) && s.servers[v.backup].viewnum >= s.backupSince;
    // Without a backup that holds state the service cannot move on.
    return backupHasState ? moveTo(s, v.backup, idle[0] ?? '') : s;
  }
  if (v.backup !== '' && !ok(v.backup)) return moveTo(s, v.primary, idle[0] ?? '');
  if (v.backup === '' && idle.length > 0) return moveTo(s, v.primary, idle[0]);
  return s;
}
