/**
 * The one owner of a master's state: nothing else assigns it. Every change is an op through
 * `apply`, and so is replacing the state wholesale (`reset`, an `install` op), which only the
 * replication paths do: a backup installing the primary's snapshot, a master dropping its state, a
 * master named primary without the replicated state. Primary and backup both change their state
 * through this one door, so the same ops in the same order leave them with the same state.
 */
import { apply, emptyState, type MasterState, type Op, type Reply } from './state.ts';

/** What one op did: the state before and after (the same object when nothing changed). */
export interface Change {
  before: MasterState;
  after: MasterState;
  changed: boolean;
  reply?: Reply;
}

export class StateHolder {
  private current: MasterState = emptyState();

  get state(): MasterState {
    return this.current;
  }

  apply(op: Op): Change {
    const before = this.current;
    const { state, reply } = apply(before, op);
    this.current = state;
    return { before, after: state, changed: state !== before, reply };
  }

  /** Replaces the state with a snapshot (as the backup received it), or with an empty one. */
  reset(snapshot: MasterState = emptyState()): void {
    this.apply({ op: 'install', state: snapshot });
  }
}
