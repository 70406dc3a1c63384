/**
 * A worker's task metrics (names in shared/src/metrics.ts): one observation per task attempt, from
 * the figures runTask already keeps (its phases, bytes and records), so no record's path pays for them.
 * The same attempt also counts in the worker's report counters (the console's throughput charts),
 * which hold whether or not Prometheus metrics are on.
 */
import { countTask } from '@tandem/jobs';
import type { Metrics, QueueName, TaskCounters } from '@tandem/shared';
import type { TaskResult } from './run-task.ts';

export type AttemptOutcome = 'won' | 'lost' | 'skipped' | 'failed';

/** A finished attempt's outcome: a verified task's run that recorded itself (won null) counts as won, its output being one of the two compared. */
export const outcomeOf = (res: TaskResult): AttemptOutcome => (res.skipped ? 'skipped' : res.won === false ? 'lost' : 'won');

export class TaskMetrics {
  private readonly duration;
  private readonly part;
  private readonly attempts;
  private readonly bytes;
  private readonly records;

  constructor(metrics: Metrics, private readonly counters?: TaskCounters) {
    this.duration = metrics.histogram('taskDuration');
    this.part = metrics.histogram('taskPart');
    this.attempts = metrics.counter('taskAttempts');
    this.bytes = metrics.counter('taskBytes');
    this.records = metrics.counter('taskRecords');
  }

  /** An attempt of job type `type` on `queue` that took `seconds`, ending with `res`, or failed (res undefined). */
  attempt(queue: QueueName, type: string, seconds: number, res?: TaskResult): void {
    this.duration.observe({ queue, type }, seconds);
    this.attempts.inc({ queue, outcome: res ? outcomeOf(res) : 'failed' });
    if (!res || res.skipped) return;
    if (this.counters) countTask(this.counters, res);
    const { readMs, computeMs, writeMs } = res.phases;
    this.part.observe({ queue, type, part: 'read' }, readMs / 1000);
    this.part.observe({ queue, type, part: 'compute' }, computeMs / 1000);
    this.part.observe({ queue, type, part: 'write' }, writeMs / 1000);
    this.bytes.inc({ direction: 'read' }, res.bytesIn);
    this.bytes.inc({ direction: 'written' }, res.bytesOut);
    this.records.inc({ direction: 'in' }, res.recordsIn);
    this.records.inc({ direction: 'out' }, res.recordsOut);
  }
}
