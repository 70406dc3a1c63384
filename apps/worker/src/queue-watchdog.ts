/**
 * A worker whose queue connection went quiet: BullMQ workers have been reported to stop taking
 * tasks after a Redis failover while the process lives on. The rule, per queue: tasks wait, this
 * worker runs none of that queue's, and it has taken none for `quietMs`, nor been restarted within
 * it; then its BullMQ worker and connection are replaced. A worker that is merely idle (nothing
 * waits) or busy is left alone.
 */
export interface QueueLook {
  /** Tasks waiting in the queue now. */
  waiting: number;
  /** This worker's tasks of that queue running now. */
  runningHere: number;
  /** When this worker last took a task of that queue (or started listening). */
  lastTakenAt: number;
  /** When its BullMQ worker for that queue was last replaced (0: never). */
  lastRestartAt: number;
}

export function isQuiet(l: QueueLook, now: number, quietMs: number): boolean {
  return l.waiting > 0 && l.runningHere === 0 && now - l.lastTakenAt >= quietMs && now - l.lastRestartAt >= quietMs;
}
