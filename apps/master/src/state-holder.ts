/**
 * The one owner of a master's state: nothing else assigns it. Every change is an op through
 * `apply`, and so is replacing the state wholesale (`reset`, an `install` op), which only the
 * replication and recovery paths do: a backup installing the primary's snapshot, a master dropping
 * its state, a primary restoring the durable log's snapshot. Primary and backup both change their
 * state through this one door, so the same ops in the same order leave them with the same state.
 *
 * `seq` is the number of the last op batch of the durable log the state includes (durable-log.ts):
 * primary, backup and log count batches alike, so a master knows where to catch up from.
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
  private batch = 0;

  get state(): MasterState {
    return this.current;
  }

  /** The last batch the state includes (0: none). */
  get seq(): number {
    return this.batch;
  }

  apply(op: Op): Change {
    const before = this.current;
    const { state, reply } = apply(before, op);
    this.current = state;
    return { before, after: state, changed: state !== before, reply };
  }

  /** Applies batch `seq` (the one after `this.seq`), op by op. */
  applyBatch(ops: Op[], seq: number): Change[] {
    if (seq !== this.batch + 1) throw new Error(`batch ${seq} cannot follow batch ${this.batch}: a batch is missing`);
    const changes = ops.map((op) => this.apply(op));
    this.batch = seq;
    return changes;
  }

  /** Replaces the state with a snapshot that includes batches up to `seq`, or with an empty one. */
  reset(snapshot: MasterState = emptyState(), seq = 0): void {
    this.apply({ op: 'install', state: snapshot });
    this.batch = seq;
  }
}
