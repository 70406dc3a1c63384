/**
 * The cluster event log (docs/DESIGN.md §6): job and task events in one capped Redis stream, each with the
 * Lamport time and the job's vector clock at the process that recorded it, so a job's timeline can
 * be shown in one causal order with concurrent events marked.
 */
import type { RedisConnection } from './redis.ts';
import { vcCompare, type VectorClock } from './clock.ts';
import type { Keys } from './keys.ts';

export interface ClockStamp {
  lamport: number;
  vc: VectorClock;
}

export interface ClusterEvent extends ClockStamp {
  job: string;
  /** The process that recorded it (`master:<host>:<pid>`, `worker:<host>:<pid>`). */
  proc: string;
  /** What happened, in a few words: "job submitted", "task committed", ... */
  what: string;
  task?: string;
  detail?: string;
  /** Wall-clock time, for people; ordering uses the clocks. */
  at: number;
}

/** The stream keeps about this many events (XADD MAXLEN ~). */
export const EVENT_LOG_CAP = 100_000;

export async function appendEvent(redis: RedisConnection, k: Keys, ev: ClusterEvent): Promise<void> {
  await redis.xadd(k.events(), 'MAXLEN', '~', EVENT_LOG_CAP, '*', 'e', JSON.stringify(ev));
}

/** Appends events in order, in one pipeline (one key, so one slot): one write to Redis for all of them. */
export async function appendEvents(redis: RedisConnection, k: Keys, evs: ClusterEvent[]): Promise<void> {
  if (evs.length === 0) return;
  if (evs.length === 1) return appendEvent(redis, k, evs[0]);
  const p = redis.pipeline();
  for (const ev of evs) p.xadd(k.events(), 'MAXLEN', '~', EVENT_LOG_CAP, '*', 'e', JSON.stringify(ev));
  const replies = (await p.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
}

/** A job's events, in the order they were appended. */
/**
 * A job's events. `sinceMs` (the job's submit time) skips what the stream held before it: stream ids
 * start with their time in ms, so the scan starts there instead of at the oldest of ~100,000 events.
 */
export async function readJobEvents(redis: RedisConnection, k: Keys, jobId: string, sinceMs?: number): Promise<ClusterEvent[]> {
  const out: ClusterEvent[] = [];
  // A second of slack: ids come from Redis's clock, submit times from the master's.
  let start = sinceMs === undefined ? '-' : `${Math.max(0, Math.floor(sinceMs) - 1000)}-0`;
  for (;;) {
    const batch = (await redis.xrange(k.events(), start, '+', 'COUNT', 5000)) as [string, string[]][];
    for (const [, fields] of batch) {
      const ev = JSON.parse(fields[1]) as ClusterEvent;
      if (ev.job === jobId) out.push(ev);
    }
    if (batch.length < 5000) return out;
    start = `(${batch[batch.length - 1][0]}`;
  }
}

export interface TimelineEntry {
  event: ClusterEvent;
  /** Positions (in this timeline) of earlier events that are concurrent with this one. */
  concurrentWith: number[];
}

/**
 * One causal order: by Lamport time, ties by process name (any order consistent with Lamport time
 * respects happens-before). Vector clocks then mark which earlier events were concurrent.
 */
export function causalTimeline(events: ClusterEvent[]): TimelineEntry[] {
  const sorted = [...events].sort((a, b) => a.lamport - b.lamport || (a.proc < b.proc ? -1 : a.proc > b.proc ? 1 : 0));
  return sorted.map((event, i) => ({
    event,
    concurrentWith: sorted.slice(0, i).flatMap((e, j) => (vcCompare(e.vc, event.vc) === 'concurrent' ? [j] : [])),
  }));
}
