/**
 * Watches the task queues for the view service's status page: counts per queue, workers online,
 * stalled tasks, and alerts in plain words.
 */
import { Queue } from 'bullmq';
import type { RedisConnection } from '@tandem/shared';
import { QUEUES, type QueueCounts, type QueueName, type QueueReport } from '@tandem/shared';

export type { QueueCounts, QueueReport };

export interface MonitorConnections {
  connection: RedisConnection;
  /** BullMQ's prefix for each queue (Keys.bullPrefix). */
  prefix: (queue: QueueName) => string;
}

/** Alerts that depend only on a queue report. */
export function queueAlerts(r: QueueReport): string[] {
  const alerts: string[] = [];
  if (r.error) alerts.push(`cannot read the queues: ${r.error}`);
  const waiting = QUEUES.reduce((n, q) => n + r.queues[q].waiting + r.queues[q].delayed, 0);
  if (waiting > 0 && r.workersOnline === 0) alerts.push(`${waiting} task(s) waiting and no worker online; start workers (tandem up, or apps/worker)`);
  for (const s of r.repeatedlyStalled) alerts.push(`task ${s.task} stalled ${s.times} times: its workers keep dying or blocking (out of memory? a CPU loop longer than the lock?)`);
  return alerts;
}

/**
 * One entry of a BullMQ queue's event stream as BullMQ's QueueEvents decodes it: the entry is
 * field/value pairs (`event`, `jobId`, then the event's own), read by name, so a field BullMQ adds
 * or moves changes nothing here.
 */
export function decodeQueueEvent(fields: string[]): Record<string, string> {
  const event: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) event[fields[i]] = fields[i + 1];
  return event;
}

/** Queue events read per XREAD call; BullMQ trims each queue's event stream to about 10,000. */
const EVENT_BATCH = 5000;

export class QueueMonitor {
  private queues: Record<QueueName, Queue>;
  /** Last event read from each queue's event stream. */
  private lastEventIds: Partial<Record<QueueName, string>> = {};
  private stalls = new Map<string, number>();
  private stalledTotal = 0;
  private timer: NodeJS.Timeout | undefined;
  report: QueueReport;

  constructor(private c: MonitorConnections, private intervalMs = 1000) {
    this.queues = Object.fromEntries(QUEUES.map((q) => [q, new Queue(q, { connection: c.connection, prefix: c.prefix(q) })])) as Record<QueueName, Queue>;
    // Without a listener BullMQ prints each error object to the console; check() reports the
    // failures it meets, and the connection's own handler (serviceRedis) logs the outage.
    for (const q of Object.values(this.queues)) q.on('error', () => {});
    const zero = (): QueueCounts => ({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 });
    this.report = { queues: { map: zero(), reduce: zero() }, workersOnline: 0, stalled: 0, repeatedlyStalled: [], checkedAt: 0, error: null };
  }

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
  }

  /**
   * Counts the stalls in what the queues' event streams gained since the last check. Read in
   * batches once per check rather than followed event by event (BullMQ's QueueEvents): a busy
   * iterative job emits hundreds of events a second, and following them cost this process more CPU
   * than the rest of its work.
   */
  private async readStalls(q: QueueName): Promise<void> {
    const key = this.queues[q].keys.events;
    let last: string | undefined = this.lastEventIds[q];
    if (last === undefined) {
      // Count from now on, as the report says ("since the monitor started").
      const newest = (await this.c.connection.xrevrange(key, '+', '-', 'COUNT', 1))[0];
      this.lastEventIds[q] = newest ? newest[0] : '0-0';
      return;
    }
    for (let batch = 0; batch < 10; batch++) {
      const res: [string, [string, string[]][]][] | null = await this.c.connection.xread('COUNT', EVENT_BATCH, 'STREAMS', key, last as string);
      const entries: [string, string[]][] = res?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        last = id;
        const { event, jobId } = decodeQueueEvent(fields);
        if (event !== 'stalled' || jobId === undefined) continue;
        this.stalledTotal++;
        this.stalls.set(jobId, (this.stalls.get(jobId) ?? 0) + 1);
      }
      this.lastEventIds[q] = last;
      if (entries.length < EVENT_BATCH) break;
    }
  }

  async check(): Promise<QueueReport> {
    try {
      for (const q of QUEUES) await this.readStalls(q);
      const queues = {} as Record<QueueName, QueueCounts>;
      const workers = new Set<string>();
      for (const q of QUEUES) {
        const counts = await this.queues[q].getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
        queues[q] = { waiting: counts.waiting ?? 0, active: counts.active ?? 0, completed: counts.completed ?? 0, failed: counts.failed ?? 0, delayed: counts.delayed ?? 0 };
        // A worker process serves both queues under one name: BullMQ's raw client name ends in `:w:<name>`.
        for (const w of await this.queues[q].getWorkers()) workers.add(String(w.rawname ?? w.id).replace(/^.*:w:/, ''));
      }
      this.report = {
        queues,
        workersOnline: workers.size,
        stalled: this.stalledTotal,
        repeatedlyStalled: [...this.stalls].filter(([, n]) => n > 1).map(([task, times]) => ({ task, times })),
        checkedAt: Date.now(),
        error: null,
      };
    } catch (err) {
      this.report = { ...this.report, error: (err as Error).message, checkedAt: Date.now() };
    }
    return this.report;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
  }
}
