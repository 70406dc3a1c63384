/**
 * The cluster page's live throughput: every few seconds the console samples the workers' task
 * counters (cumulative, in their reports: jobs/src/report.ts) and the queues' counts, and keeps the
 * last minutes as rates in a ring buffer of fixed size, so its memory is bounded however long it
 * runs. The rates between two samples come from `advance`, pure: a worker that restarted starts its
 * counters from 0 again, so a counter that went down (or a new start time) means all it counts is new.
 */
import type { Queue } from 'bullmq';
import type { Keys, RedisConnection, TaskCounters } from '@tandem/shared';
import { readJobTypesReports } from '@tandem/jobs';

/** One sample: the rates since the previous one, and the queues as they were. */
export interface ThroughputPoint {
  at: number;
  tasksPerS: number;
  bytesInPerS: number;
  bytesOutPerS: number;
  /** Tasks a worker could take now (waiting and prioritized), and tasks running, both queues. */
  waiting: number;
  running: number;
}

/** What the sampler reads each time. */
export interface ThroughputSample {
  workers: { name: string; counters: TaskCounters }[];
  waiting: number;
  running: number;
}

/** A worker's counters as last seen, and when. */
export interface Seen {
  counters: TaskCounters;
  at: number;
}

export type Totals = Pick<TaskCounters, 'tasks' | 'bytesIn' | 'bytesOut'>;

/** How long a worker's last counters are remembered after its report was last read: over a lapsed report or two. */
export const FORGET_AFTER_MS = 60_000;

const FIELDS = ['tasks', 'bytesIn', 'bytesOut'] as const;

/**
 * What the workers did between the previous sample (at `prevAt`) and this one (at `at`): for each
 * worker, the increase of its counters since last seen. A restarted worker (a counter lower than
 * last seen, or another start time) counts all it has counted. A worker not seen before counts all
 * of it when it started after the previous sample, else it only sets its baseline (what it did
 * before is not this interval's; its start is by its clock, the sample's by the console's, so a
 * skew between them misplaces at most that one worker's first interval). Returns the sums and what to remember, less the workers unseen
 * for FORGET_AFTER_MS, so the memory holds no more than the workers of the last minute.
 */
export function advance(seen: ReadonlyMap<string, Seen>, workers: ThroughputSample['workers'], prevAt: number | null, at: number): { delta: Totals; seen: Map<string, Seen> } {
  const delta: Totals = { tasks: 0, bytesIn: 0, bytesOut: 0 };
  const next = new Map<string, Seen>();
  for (const [name, s] of seen) if (at - s.at <= FORGET_AFTER_MS) next.set(name, s);
  for (const { name, counters } of workers) {
    const last = next.get(name);
    const restarted = last !== undefined && (last.counters.since !== counters.since || FIELDS.some((f) => counters[f] < last.counters[f]));
    const fresh = last === undefined && prevAt !== null && counters.since > prevAt;
    for (const f of FIELDS) {
      if (last && !restarted) delta[f] += counters[f] - last.counters[f];
      else if (restarted || fresh) delta[f] += counters[f];
    }
    next.set(name, { counters, at });
  }
  return { delta, seen: next };
}

/** A fixed number of the latest items; pushing past it drops the oldest. */
export class Ring<T> {
  private items: T[] = [];
  private start = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`a ring holds at least 1 item, not ${capacity}`);
  }

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  get size(): number {
    return this.items.length;
  }
}

/** The console's sampler: `tick` every `everyMs`, the last `windowMs` of rates kept. */
export class Throughput {
  private readonly ring: Ring<ThroughputPoint>;
  private seen = new Map<string, Seen>();
  private prevAt: number | null = null;

  constructor(private readonly sample: () => Promise<ThroughputSample>, readonly everyMs = 5000, readonly windowMs = 10 * 60_000) {
    this.ring = new Ring(Math.ceil(windowMs / everyMs));
  }

  /** Takes a sample now; a failed read (Redis down) is skipped, and the next rate spans the gap. */
  async tick(now = Date.now()): Promise<void> {
    let s: ThroughputSample;
    try {
      s = await this.sample();
    } catch {
      return;
    }
    const { delta, seen } = advance(this.seen, s.workers, this.prevAt, now);
    if (this.prevAt !== null && now > this.prevAt) {
      const secs = (now - this.prevAt) / 1000;
      this.ring.push({ at: now, tasksPerS: delta.tasks / secs, bytesInPerS: delta.bytesIn / secs, bytesOutPerS: delta.bytesOut / secs, waiting: s.waiting, running: s.running });
    }
    this.seen = seen;
    this.prevAt = now;
  }

  /** Samples now and every `everyMs`; returns the function that stops it. */
  start(): () => void {
    let busy = false;
    // One sample at a time: a slow read (Redis busy) skips a tick rather than overlapping it.
    const tick = () => {
      if (busy) return;
      busy = true;
      void this.tick().finally(() => (busy = false));
    };
    tick();
    const timer = setInterval(tick, this.everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The kept samples, oldest first. */
  points(): ThroughputPoint[] {
    return this.ring.toArray();
  }
}

/** The sample from Redis: every live worker's report, and the task queues' counts. */
export function sampleCluster(redis: RedisConnection, keys: Keys, queues: Queue[]): () => Promise<ThroughputSample> {
  return async () => {
    const [reports, counts] = await Promise.all([
      readJobTypesReports(redis, keys, { prune: false }),
      Promise.all(queues.map((q) => q.getJobCounts('waiting', 'prioritized', 'active'))),
    ]);
    const workers = reports.flatMap((r) => (r.role === 'worker' && r.counters ? [{ name: r.name, counters: r.counters }] : []));
    const sum = (f: (c: Record<string, number>) => number) => counts.reduce((n, c) => n + f(c), 0);
    return { workers, waiting: sum((c) => (c.waiting ?? 0) + (c.prioritized ?? 0)), running: sum((c) => c.active ?? 0) };
  };
}
