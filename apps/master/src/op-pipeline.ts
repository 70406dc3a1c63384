/**
 * The primary's op pipeline: the single door through which its ops reach the state.
 *
 * Proposed ops wait in a queue; one commit loop at a time takes all that wait (at most MAX_BATCH)
 * as batch number seq (group commit: under load one round trip carries many ops), appends it to the
 * durable op log (durable-log.ts), then has replication forward it to the backup, and only on the
 * backup's OK applies it here in the same order and answers its callers. The append comes strictly
 * first, so the backup never holds a batch the log lacks; a primary fenced out of the log learns
 * there that it was replaced. A batch in the log is applied here even when the forward then fails
 * (the state must stay the log's), but its callers are refused: they retry, and dedupe answers.
 *
 * A read's confirmation (`confirmRead`) joins the same queue as an empty entry: nothing to append,
 * but the backup's answer tells a primary that has been replaced so before it answers from stale state.
 * While a batch waits for its append (Redis slow or down), confirmations do not wait behind it: they
 * go to the backup on their own, at the seq the state is at, as the batch has no effect yet. Only one
 * message is ever in flight to the backup, in order.
 *
 * Follow-ups: before a batch goes out, the master may add ops to it for the state the batch leads
 * to (`followUps`: the `enqueued` op of the tasks a commit makes ready, the next round's), so a
 * barrier costs one batch, not two. They are applied, logged and replicated like the rest, and their
 * side effects (adding the tasks) wait for the batch's confirmation like any other op's.
 */
import type { Change, StateHolder } from './state-holder.ts';
import { apply, type MasterState, type Op, type Reply } from './state.ts';

/** What the pipeline needs from replication (replication.ts `Replication`; a backup double in tests). */
export interface Forwarder {
  readonly serving: boolean;
  notPrimary(): Error;
  /**
   * Resolves once the backup holds batch `seq` (or, for no ops, confirms the view at the current
   * seq); rejects when this master is not primary.
   */
  forward(ops: Op[], seq: number): Promise<void>;
}

/** Where batches are made durable before anything else sees them (durable-log.ts through master.ts). */
export interface Journal {
  /** Resolves once batch `seq` is in the log; rejects when it is not (fenced, or this master gave up). */
  append(seq: number, ops: Op[]): Promise<void>;
}

export interface OpPipelineDeps {
  holder: StateHolder;
  replication: Forwarder;
  /** Null when the durable log is off (the benchmark's baseline): a batch is then only forwarded. */
  journal: Journal | null;
  /** Called after each batch applied here (compaction of the log). */
  onBatch?(seq: number): void;
  /** Called after each op that changed the state (event log, long polls, scheduling). */
  onApplied(change: Change, op: Op): void;
  /**
   * Ops that join a batch, given the state its proposed ops lead to and those ops (applied to the
   * state before the batch, as the batch will be); each with what to do once it is applied and
   * confirmed, or refused. Dropped when they would make the batch exceed MAX_BATCH.
   */
  followUps?(after: MasterState, ops: Op[]): FollowUp[];
  /**
   * Given only with metrics on: each batch applied here, seconds from its proposal (the commit
   * taking it) through the log append and the backup's OK to its apply (tandem_op_commit_seconds).
   */
  commitSeconds?: { observe(seconds: number): void };
}

/** An op the pipeline adds to a batch on its own proposer's behalf (OpPipelineDeps.followUps). */
export interface FollowUp {
  op: Op;
  resolve(reply: Reply | undefined): void;
  reject(err: Error): void;
}

/**
 * Ops forwarded in one batch at most, follow-ups included, so one message to the backup stays
 * bounded (and no job's version moves by more in one batch: docs/DESIGN.md §3.4's rollback counts on it).
 */
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
  /** A batch waits for the durable log: confirmations queue in `reads` instead. */
  private appending = false;
  private reads: Pending[] = [];
  private confirming = false;
  /** The last forward to the backup; the next one starts after it. */
  private forwarding: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  /** The last commit loop started; settles when it ends. */
  private loop: Promise<void> = Promise.resolve();

  constructor(private d: OpPipelineDeps) {}

  /** Proposes one op; it is applied (and its reply returned) once the backup holds it. */
  propose(op: Op): Promise<Reply | undefined> {
    return this.enqueue(op);
  }

  /**
   * Proposes ops together: they go out in one batch (unless it would exceed MAX_BATCH), as ops
   * proposed one by one do only while a batch is in flight. Each promise is as `propose`'s.
   */
  proposeAll(ops: Op[]): Promise<Reply | undefined>[] {
    if (!this.d.replication.serving) return ops.map(() => Promise.reject(this.d.replication.notPrimary()));
    const answers = ops.map((op) => new Promise<Reply | undefined>((resolve, reject) => this.pending.push({ op, resolve, reject })));
    if (!this.committing && ops.length > 0) this.loop = this.commitLoop();
    return answers;
  }

  /** Resolves once the backup confirms this master is still primary: a read that follows sees no stale state. */
  async confirmRead(): Promise<void> {
    await this.enqueue(undefined);
    // The backup's confirmation may come back after this master stepped down and dropped its state
    // (a new view made it idle while the confirmation was on its way): the read would then answer
    // from the empty state, not_found for a job it had acknowledged (seen in the chaos test's set-up).
    if (!this.d.replication.serving) throw this.d.replication.notPrimary();
  }

  /** Fails everything that waits (this master stepped down); nothing of it is applied. */
  rejectAll(err: Error): void {
    for (const p of [...this.pending.splice(0), ...this.reads.splice(0)]) p.reject(err);
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
      if (!op && this.appending) {
        this.reads.push({ resolve, reject });
        if (!this.confirming) void this.confirmLoop();
        return;
      }
      this.pending.push({ op, resolve, reject });
      if (!this.committing) this.loop = this.commitLoop();
    });
  }

  private forward(ops: Op[], seq: number): Promise<void> {
    const send = () => this.d.replication.forward(ops, seq);
    const sent = this.inFlight++ === 0 ? send() : this.forwarding.then(send);
    this.forwarding = sent.catch(() => {}).finally(() => this.inFlight--);
    return sent;
  }

  /** Confirms the reads that arrived while a batch waits for its append, all at once. */
  private async confirmLoop(): Promise<void> {
    this.confirming = true;
    try {
      while (this.reads.length > 0) {
        const batch = this.reads.splice(0);
        try {
          await this.forward([], this.d.holder.seq);
          for (const p of batch) p.resolve(undefined);
        } catch (err) {
          for (const p of batch) p.reject(err as Error);
        }
      }
    } finally {
      this.confirming = false;
    }
  }

  /** One loop at a time; the flag is cleared in the same step that finds the queue empty, so no op is left waiting. */
  private async commitLoop(): Promise<void> {
    this.committing = true;
    try {
      while (this.pending.length > 0) {
        await this.commit(this.pending.splice(0, MAX_BATCH));
      }
    } finally {
      this.committing = false;
    }
  }

  /** The batch with its follow-ups (OpPipelineDeps.followUps), computed on the state the batch starts from. */
  private withFollowUps(batch: Pending[]): Pending[] {
    const proposed = batch.flatMap((p) => (p.op ? [p.op] : []));
    if (!this.d.followUps || proposed.length === 0) return batch;
    let after = this.d.holder.state;
    for (const op of proposed) after = apply(after, op).state;
    const extra = this.d.followUps(after, proposed);
    return extra.length > 0 && proposed.length + extra.length <= MAX_BATCH ? [...batch, ...extra] : batch;
  }

  private async commit(taken: Pending[]): Promise<void> {
    const t0 = this.d.commitSeconds ? performance.now() : 0;
    const batch = this.withFollowUps(taken);
    const ops = batch.flatMap((p) => (p.op ? [p.op] : []));
    const { holder, journal, replication } = this.d;
    const seq = ops.length === 0 ? holder.seq : holder.seq + 1;
    try {
      if (!replication.serving) throw replication.notPrimary();
      if (journal && ops.length > 0) {
        this.appending = true;
        await journal.append(seq, ops);
      }
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    } finally {
      this.appending = false;
    }
    let refused: Error | null = null;
    try {
      await this.forward(ops, seq);
    } catch (err) {
      refused = err as Error;
    }
    // Without the log, a batch the backup lacks is applied nowhere. With it, the batch is in the log:
    // applied here too, unless the state was replaced meanwhile (it then comes back from the log).
    // Replaced while the backup answered (a new view made this master idle, which drops its state):
    // not applied here either, and its callers are told to ask the primary, whose dedupe table has
    // their replies (applying it to the dropped state threw, and the master died: chaos test).
    const replaced = ops.length > 0 && holder.seq !== seq - 1;
    if (replaced && refused === null) refused = replication.notPrimary();
    const apply = ops.length > 0 && !replaced && (refused === null || journal !== null);
    const changes = apply ? holder.applyBatch(ops, seq) : [];
    if (apply) this.d.commitSeconds?.observe((performance.now() - t0) / 1000);
    let i = 0;
    for (const p of batch) {
      const change = p.op && apply ? changes[i++] : undefined;
      if (change?.changed) this.d.onApplied(change, p.op!);
      if (refused) p.reject(refused);
      else p.resolve(change?.reply);
    }
    if (apply) this.d.onBatch?.(seq);
  }
}
