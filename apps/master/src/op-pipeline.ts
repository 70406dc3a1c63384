/**
 * The primary's op pipeline: the single door through which its ops reach the state.
 *
 * Proposed ops wait in a queue; one commit loop at a time takes all that wait (at most MAX_BATCH),
 * has replication forward them to the backup as one batch (group commit: under load one round trip
 * carries many ops), and only on the backup's OK applies them here in the same order and answers
 * their callers. A read's confirmation (`confirmRead`) joins the same queue as an empty entry, so a
 * primary that has been replaced learns it from the backup before it answers from stale state.
 */
import type { Change, StateHolder } from './state-holder.ts';
import type { Op, Reply } from './state.ts';

/** What the pipeline needs from replication (replication.ts `Replication`; a backup double in tests). */
export interface Forwarder {
  readonly serving: boolean;
  notPrimary(): Error;
  /** Resolves once the backup holds `ops` (possibly none); rejects when this master is not primary. */
  forward(ops: Op[]): Promise<void>;
}

export interface OpPipelineDeps {
  holder: StateHolder;
  replication: Forwarder;
  /** Called after each op that changed the state (event log, long polls, scheduling). */
  onApplied(change: Change, op: Op): void;
}

/** Ops forwarded in one batch at most, so one message to the backup stays bounded. */
export const MAX_BATCH = 1000;

interface Pending {
  /** Undefined for a read's confirmation. */
  op?: Op;
  resolve: (r: Reply | undefined) => void;
  reject: (err: Error) => void;
}

export class OpPipeline {
  private pending: Pending[] = [];
  private committing = false;
  /** The last commit loop started; settles when it ends. */
  private loop: Promise<void> = Promise.resolve();

  constructor(private d: OpPipelineDeps) {}

  /** Proposes one op; it is applied (and its reply returned) once the backup holds it. */
  propose(op: Op): Promise<Reply | undefined> {
    return this.enqueue(op);
  }

  /** Resolves once the backup confirms this master is still primary: a read that follows sees no stale state. */
  async confirmRead(): Promise<void> {
    await this.enqueue(undefined);
  }

  /** Fails everything that waits (this master stepped down); nothing of it is applied. */
  rejectAll(err: Error): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  /** Resolves when no commit loop runs, or after `timeoutMs` (a loop may wait for an unreachable backup). */
  async settled(timeoutMs: number): Promise<void> {
    if (!this.committing) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private enqueue(op: Op | undefined): Promise<Reply | undefined> {
    if (!this.d.replication.serving) return Promise.reject(this.d.replication.notPrimary());
    return new Promise((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      if (!this.committing) this.loop = this.commitLoop();
    });
  }

  /** One loop at a time; the flag is cleared in the same step that finds the queue empty, so no op is left waiting. */
  private async commitLoop(): Promise<void> {
    this.committing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        const ops = batch.flatMap((p) => (p.op ? [p.op] : []));
        try {
          await this.d.replication.forward(ops);
        } catch (err) {
          for (const p of batch) p.reject(err as Error);
          continue;
        }
        for (const p of batch) p.resolve(p.op ? this.applyLocal(p.op) : undefined);
      }
    } finally {
      this.committing = false;
    }
  }

  private applyLocal(op: Op): Reply | undefined {
    const change = this.d.holder.apply(op);
    if (change.changed) this.d.onApplied(change, op);
    return change.reply;
  }
}
