/**
 * Event stamping: what an applied op did, as entries of the cluster event log, each stamped with
 * this process's Lamport clock and the job's vector clock. A commit carries the worker's clock,
 * which is merged first, so the master's "commit seen" comes after the worker's commit. The job
 * clocks live only in this process's memory: the log is an observation, not replicated state.
 */
import type { RedisConnection } from '@tandem/shared';
import { appendEvents, vcMerge, vcTick, type ClockStamp, type Keys, type LamportClock, type Logger, type VectorClock, type ClusterEvent } from '@tandem/shared';
import type { MasterState, Op } from './state.ts';

/** One event, before it is stamped. `received`: the clock of the message that caused it. */
export interface EventDraft {
  what: string;
  task?: string;
  detail?: string;
  received?: ClockStamp;
}

const finishWords = { failed: 'failed', cancel: 'cancelled', remove: 'removed', cleaned: 'cleaned up' } as const;

type JobRecordOf = MasterState['jobs'][string];

/** True when the op finished (or removed, or cleaned up) the job it names, rather than being refused or stale. */
function finished(op: keyof typeof finishWords, was: JobRecordOf | undefined, job: JobRecordOf | undefined): boolean {
  if (!was) return false;
  if (op === 'remove') return !job;
  if (!job) return false;
  if (op === 'cleaned') return job.cleaned && !was.cleaned;
  return job.phase === finishWords[op] && was.phase !== job.phase;
}

/** The events an op that changed the state (from `before` to `after`) stands for. Pure. */
export function describeChange(before: MasterState, after: MasterState, op: Op): EventDraft[] {
  if (!('jobId' in op)) return [];
  const job = after.jobs[op.jobId];
  const was = before.jobs[op.jobId];
  const events: EventDraft[] = [];
  switch (op.op) {
    case 'submit':
      events.push({ what: 'job submitted', detail: `${op.spec.type} on ${op.spec.dataset.name}, ${op.spec.dataset.firstRecords.length} maps, ${op.spec.partitions} partitions` });
      break;
    case 'enqueued':
      events.push({ what: 'tasks enqueued', task: `${op.kind} ${op.indices.length === 1 ? op.indices[0] : `${op.indices[0]}..${op.indices[op.indices.length - 1]}`}` });
      break;
    case 'speculated':
      events.push({ what: 'backup attempt enqueued', task: `${op.kind} ${op.index}` });
      break;
    case 'committed':
      events.push({ what: 'task commit seen', task: `${op.kind} ${op.index}`, received: op.commit.clock });
      break;
    case 'rerun':
      if (op.map !== null && job?.reruns && job.reruns.length > (was?.reruns?.length ?? 0)) {
        events.push({ what: 'map task rerun: Redis lost its committed output', task: `map ${op.map}`, detail: op.reason });
      }
      events.push({ what: 'task to run again', task: `reduce ${op.reduce}` });
      break;
    case 'failed':
    case 'cancel':
    case 'remove':
    case 'cleaned':
      // Only what happened: a refused cancel (no such job, already finished) or a stale failure changed no job.
      if (finished(op.op, was, job)) events.push({ what: `job ${finishWords[op.op]}`, detail: op.op === 'failed' ? op.reason : undefined });
      break;
    default:
      break;
  }
  if (job && was && job.rounds.length > was.rounds.length) {
    const r = job.rounds[job.rounds.length - 1];
    events.push({ what: `round ${r.round} done`, detail: Object.entries(r.stats).map(([k, v]) => `${k}=${v}`).join(' ') });
  }
  if (job && was && job.phase !== was.phase && op.op !== 'failed' && op.op !== 'cancel') {
    events.push({ what: job.phase === 'done' ? 'job done' : `phase ${job.phase}` });
  }
  return events;
}

export interface EventStamperDeps {
  redis: RedisConnection;
  keys: Keys;
  log: Logger;
  /** This process's Lamport clock (shared with replication, whose messages it also stamps). */
  clock: LamportClock;
  /** This process's name in the log and in vector clocks (`master:<host>:<pid>`). */
  proc: string;
}

export class EventStamper {
  /** Each job's vector clock as this process knows it. */
  private jobClocks = new Map<string, VectorClock>();
  /** Events stamped and not yet sent, and the write that will send them (at the next turn of the event loop). */
  private unwritten: ClusterEvent[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private d: EventStamperDeps) {}

  /**
   * Appends what the op did to the event log; resolves when written (a failed append is logged, never
   * thrown). The events of the ops applied in one go (a batch) are written together, in one pipeline.
   */
  record(before: MasterState, after: MasterState, op: Op): Promise<void> {
    if (!('jobId' in op)) return Promise.resolve();
    for (const e of describeChange(before, after, op)) {
      const lamport = e.received ? this.d.clock.receive(e.received.lamport) : this.d.clock.tick();
      const known = this.jobClocks.get(op.jobId) ?? {};
      const vc = vcTick(e.received ? vcMerge(known, e.received.vc) : known, this.d.proc);
      this.jobClocks.set(op.jobId, vc);
      this.unwritten.push({ job: op.jobId, proc: this.d.proc, what: e.what, task: e.task, detail: e.detail, lamport, vc, at: Date.now() });
    }
    if (op.op === 'remove') this.jobClocks.delete(op.jobId);
    // Sent after the rest of the batch's effects (a task add, answers): the log is an observation, never on the barrier's path.
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const evs = this.unwritten.splice(0);
      this.flushing = null;
      return appendEvents(this.d.redis, this.d.keys, evs).catch((err) => this.d.log.warn({ err: (err as Error).message }, 'event log append failed'));
    });
    return this.flushing;
  }

  /** The clock a task payload carries, so the worker's events come after the master's. */
  stamp(jobId: string): ClockStamp {
    return { lamport: this.d.clock.tick(), vc: this.jobClocks.get(jobId) ?? {} };
  }

  /** Forgets every job's clock (the state they described was dropped). */
  forget(): void {
    this.jobClocks.clear();
  }
}
