/**
 * A master's side of primary-backup replication (docs/DESIGN.md §5.2), as pure rules: what a master does
 * when it learns a view, what it pings, and whether it accepts a message from another master.
 * No I/O and no clock; `replication.ts` wires these rules to HTTP and timers.
 *
 * - A master learns the view from its pings. Named primary, it serves; it acknowledges a view (pings
 *   its number) only once the view's backup holds a snapshot of its state, or at once when the view
 *   has no backup. Any other master pings the number of the newest view it knows, and 0 before it
 *   has learned one ("I restarted with no state").
 * - A master that is no longer primary stops serving at once. One that is neither primary nor backup
 *   drops its state: it will receive a fresh snapshot if it becomes backup again.
 * - The backup takes a snapshot or an operation only from the primary of its current view, for that
 *   exact view number, and operations only after it holds that view's snapshot. A message naming a
 *   newer view than the backup knows makes it ask the view service first (it may just be behind).
 */
import type { View } from '@tandem/shared';

export type Role = 'primary' | 'backup' | 'idle';

export interface ReplicaState {
  /** This master's name in views (its URL). */
  me: string;
  /** Newest view this master knows. */
  view: View;
  role: Role;
  /**
   * Primary: the newest view whose backup holds a snapshot (or that has no backup), i.e. the view it
   * may acknowledge. Backup: the view whose snapshot it holds. 0: none.
   */
  synced: number;
  /**
   * The newest view this master acknowledged as primary. A suspended primary that is named primary
   * again pings it while it re-syncs its backup: a ping of 0 would tell the view service it had
   * restarted without state, and the view would move although nothing was lost.
   */
  acked: number;
  /** It holds the replicated state (a primary, or a backup with this view's snapshot). */
  hasState: boolean;
}

export const initialReplica = (me: string): ReplicaState => ({
  me,
  view: { viewnum: 0, primary: '', backup: '' },
  role: 'idle',
  synced: 0,
  acked: 0,
  hasState: false,
});

export type ViewAction =
  /** Start serving: queue events, scheduler, reconcile. */
  | { type: 'becomePrimary'; withState: boolean }
  /** Stop serving and fail whatever waits for replication. */
  | { type: 'stepDown' }
  /** Send the backup a full snapshot before acknowledging `viewnum`. */
  | { type: 'sync'; backup: string; viewnum: number }
  /** Forget the replicated state (it will come again as a snapshot). */
  | { type: 'dropState' };

/** The master learned `view` (from a ping reply or a lookup). Older views are ignored. */
export function learnView(s: ReplicaState, view: View): { state: ReplicaState; actions: ViewAction[] } {
  if (view.viewnum < s.view.viewnum) return { state: s, actions: [] };
  const actions: ViewAction[] = [];
  let next: ReplicaState = { ...s, view };
  if (view.primary === s.me) {
    if (s.role !== 'primary') {
      // A backup promoted with the snapshot of the view before; the primary of view 1 starts empty.
      actions.push({ type: 'becomePrimary', withState: s.hasState || view.viewnum === 1 });
      next = { ...next, role: 'primary', hasState: true };
    }
    if (view.backup === '') next = { ...next, synced: view.viewnum, acked: view.viewnum };
    else if (next.synced !== view.viewnum) actions.push({ type: 'sync', backup: view.backup, viewnum: view.viewnum });
    return { state: next, actions };
  }
  if (s.role === 'primary') actions.push({ type: 'stepDown' });
  if (view.backup === s.me) {
    const holds = s.role === 'backup' && s.synced === view.viewnum;
    if (!holds && s.hasState) actions.push({ type: 'dropState' });
    next = { ...next, role: 'backup', hasState: holds, synced: holds ? s.synced : 0 };
  } else {
    if (s.hasState) actions.push({ type: 'dropState' });
    next = { ...next, role: 'idle', hasState: false, synced: 0 };
  }
  return { state: next, actions };
}

/** The view number this master pings with. */
export function pingViewnum(s: ReplicaState): number {
  return s.role === 'primary' ? s.synced || s.acked : s.view.viewnum;
}

/** The primary finished sending the snapshot for `viewnum` to its backup. */
export function synced(s: ReplicaState, viewnum: number): ReplicaState {
  return s.role === 'primary' && s.view.viewnum === viewnum ? { ...s, synced: viewnum, acked: viewnum } : s;
}

/**
 * The primary lost touch with the view service for longer than it takes to be declared dead: it
 * stops serving, since another master may be primary by now. It keeps its state in case the view
 * still names it, but must send its backup a fresh snapshot before serving again (an operation it
 * gave up on may have reached the backup).
 */
export function suspend(s: ReplicaState): ReplicaState {
  return s.role === 'primary' ? { ...s, role: 'idle', synced: 0 } : s;
}

/** It may apply operations and answer reads (still subject to the backup's confirmation). */
export const isServing = (s: ReplicaState) => s.role === 'primary';

/** The primary must forward to this backup, or '' when the view has none. */
export const backupOf = (s: ReplicaState) => (s.role === 'primary' ? s.view.backup : '');

export type MessageKind = 'snapshot' | 'ops';

export type Verdict =
  | { type: 'accept' }
  /** The message names a newer view than this master knows: ask the view service, then check again. */
  | { type: 'refresh' }
  | { type: 'refuse'; reason: string };

/** Whether this master, as backup, takes a message from `from` sent in view `viewnum`. */
export function checkMessage(s: ReplicaState, msg: { kind: MessageKind; viewnum: number; from: string }, refreshed = false): Verdict {
  const v = s.view;
  if (msg.viewnum > v.viewnum) {
    return refreshed ? { type: 'refuse', reason: `view ${msg.viewnum} is not known to ${s.me} (it knows view ${v.viewnum})` } : { type: 'refresh' };
  }
  if (msg.viewnum < v.viewnum) return { type: 'refuse', reason: `view ${msg.viewnum} is stale: the current view is ${v.viewnum}` };
  if (v.primary !== msg.from) return { type: 'refuse', reason: `${msg.from} is not the primary of view ${v.viewnum} (${v.primary || 'none'} is)` };
  if (v.backup !== s.me) return { type: 'refuse', reason: `${s.me} is not the backup of view ${v.viewnum}` };
  if (msg.kind === 'ops' && s.synced !== v.viewnum) return { type: 'refuse', reason: `${s.me} has no snapshot for view ${v.viewnum} yet` };
  return { type: 'accept' };
}

/** The backup installed the primary's snapshot for `viewnum`. */
export function installed(s: ReplicaState, viewnum: number): ReplicaState {
  return s.role === 'backup' && s.view.viewnum === viewnum ? { ...s, synced: viewnum, hasState: true } : s;
}
