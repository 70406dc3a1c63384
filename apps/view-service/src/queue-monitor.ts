/**
 * Watches the task queues for the view service's status page: counts per queue, workers online,
 * stalled tasks, and alerts in plain words.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, type QueueName } from '@tandem/shared';

export interface QueueCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
}

export interface QueueReport {
  queues: Record<QueueName, QueueCounts>;
  workersOnline: number;
  /** Stall events seen since the monitor started, and the tasks that stalled more than once. */
  stalled: number;
  repeatedlyStalled: { task: string; times: number }[];
  checkedAt: number;
  error: string | null;
}

export interface MonitorConnections {
  connection: Redis;
  eventConnection: () => Redis;
  prefix: string;
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

export class QueueMonitor {
  private queues: Record<QueueName, Queue>;
  private events: QueueEvents[] = [];
  private stalls = new Map<string, number>();
  private stalledTotal = 0;
  private timer: NodeJS.Timeout | undefined;
  report: QueueReport;

  constructor(private c: MonitorConnections, private intervalMs = 1000) {
    this.queues = Object.fromEntries(QUEUES.map((q) => [q, new Queue(q, { connection: c.connection, prefix: c.prefix })])) as Record<QueueName, Queue>;
    const zero = (): QueueCounts => ({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 });
    this.report = { queues: { map: zero(), reduce: zero() }, workersOnline: 0, stalled: 0, repeatedlyStalled: [], checkedAt: 0, error: null };
  }

  start(): void {
    for (const q of QUEUES) {
      const ev = new QueueEvents(q, { connection: this.c.eventConnection(), prefix: this.c.prefix, blockingTimeout: 1000 });
      ev.on('stalled', ({ jobId }) => {
        this.stalledTotal++;
        this.stalls.set(jobId, (this.stalls.get(jobId) ?? 0) + 1);
      });
      ev.on('error', () => {});
      this.events.push(ev);
    }
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
  }

  async check(): Promise<QueueReport> {
    try {
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
    await Promise.all(this.events.map((e) => e.close()));
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
  }
}
