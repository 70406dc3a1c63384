/**
 * One run of a verified job's task (docs/DESIGN.md §3.6). Both runs are queue entries of their own;
 * each claims its run (deferring it while it ran the other and another worker is online), writes
 * its outputs (the first run to the task's keys, the second to copies) with a digest of each, and
 * records itself. Whichever finds both records compares: equal digests commit the task
 * (job-data.ts, the first run's record with the second's worker and the digest); different ones
 * fail it for good, naming the first key that differs and both values.
 */
import { UnrecoverableError } from 'bullmq';
import {
  claimRun, commitTask, deleteCopies, digestOf, digestOfAll, firstDifference, getCopy, getJobValues, mismatchMessage, readRuns, recordRun,
  roundOutput, setCopies, setJobValues, shuffleBlob, type CommitRecord, type JobValue, type TaskAddress, type TaskPayload, type VerifyRun, type VerifySlot,
} from '@tandem/shared';
import { viaIoredis, type TaskDeps } from './task-io.ts';

/** Deferrals of a task's second run before it runs on the same worker anyway (another worker may be busy for long). */
export const MAX_DEFERRALS = 8;

/** How long the n-th deferral waits: long enough for another worker to take the run first. */
export const deferMs = (n: number) => Math.min(1000, 100 * n);

/** Where a task writes its outputs. */
export interface TaskOutput {
  write(entries: { at: JobValue; value: Buffer }[], ttlSeconds?: number): Promise<void>;
}

/** A task of a job without --verify writes straight to its keys. */
export const plainOutput = (p: TaskPayload, deps: TaskDeps): TaskOutput => ({
  write: (entries, ttlSeconds) => setJobValues(viaIoredis(deps), p.jobId, entries, ttlSeconds),
});

/** What a claim found: run the task, it already ran here and recorded itself (a rerun), or wait. */
export type Start = { run: true } | { recorded: true } | { deferMs: number };

/** The outputs a task writes, in the order it writes them (the digests' order). */
function outputsOf(p: TaskPayload): JobValue[] {
  return p.kind === 'map'
    ? Array.from({ length: p.partitions }, (_, r) => shuffleBlob(p.round, r, p.index))
    : [roundOutput(p.round, p.index)];
}

export class VerifiedRun implements TaskOutput {
  readonly slot: VerifySlot;
  private readonly t: TaskAddress;
  private digests: string[] = [];

  constructor(private p: TaskPayload, private deps: TaskDeps, private worker: string) {
    this.slot = p.verify!;
    this.t = { jobId: p.jobId, round: p.round, kind: p.kind, index: p.index };
  }

  /** The second run varies its input's order (verify-order.ts). */
  get varied(): boolean {
    return this.slot === 'check';
  }

  async start(): Promise<Start> {
    const { redis, keys, intermediateTtlS } = this.deps;
    if ((await readRuns(redis, keys, this.t))[this.slot]) return { recorded: true };
    const others = () => this.deps.othersOnline?.(this.p.kind, this.worker) ?? Promise.resolve(false);
    const c = await claimRun(redis, keys, this.t, this.slot, this.worker, others, MAX_DEFERRALS, intermediateTtlS);
    return 'deferred' in c ? { deferMs: deferMs(c.deferred) } : { run: true };
  }

  async write(entries: { at: JobValue; value: Buffer }[], ttlSeconds?: number): Promise<void> {
    for (const e of entries) this.digests.push(digestOf(e.value));
    if (this.slot === 'first') await setJobValues(viaIoredis(this.deps), this.p.jobId, entries, ttlSeconds);
    else await setCopies(viaIoredis(this.deps), this.p.jobId, entries, this.deps.intermediateTtlS);
  }

  /** Records this run, then settles the task if the other run has recorded too. */
  async finish(record: CommitRecord): Promise<boolean | null> {
    await recordRun(this.deps.redis, this.deps.keys, this.t, this.slot, { record, digests: this.digests }, this.deps.intermediateTtlS);
    return this.settle();
  }

  /**
   * With both runs recorded: commits the task if their outputs are identical (true when this call's
   * commit counted), or throws an UnrecoverableError naming the difference. Null while the other
   * run has not recorded itself: it settles the task when it does.
   */
  async settle(): Promise<boolean | null> {
    const { redis, keys, intermediateTtlS } = this.deps;
    const runs = await readRuns(redis, keys, this.t);
    const first = runs.first;
    const check = runs.check;
    if (!first || !check) return null;
    if (!sameOutputs(first, check)) throw new UnrecoverableError(await this.difference(first, check));
    const record: CommitRecord = { ...first.record, verify: { worker: check.record.worker, ms: check.record.ms, digest: digestOfAll(first.digests) } };
    const won = await commitTask(redis, keys, this.t, record, intermediateTtlS);
    await deleteCopies(redis, keys, this.p.jobId, outputsOf(this.p));
    return won;
  }

  /** The first output whose digests differ, read back from both runs, and its first differing key. */
  private async difference(first: VerifyRun, check: VerifyRun): Promise<string> {
    const outputs = outputsOf(this.p);
    const io = viaIoredis(this.deps);
    for (let i = 0; i < outputs.length; i++) {
      if (first.digests[i] === check.digests[i]) continue;
      const [a] = await getJobValues(io, this.p.jobId, [outputs[i]]);
      const b = await getCopy(io, this.p.jobId, outputs[i]);
      return mismatchMessage(this.p, outputs[i].partition, firstDifference(a, b));
    }
    return mismatchMessage(this.p, this.p.index, { key: null });
  }
}

const sameOutputs = (a: VerifyRun, b: VerifyRun) => a.digests.length === b.digests.length && a.digests.every((d, i) => d === b.digests[i]);
