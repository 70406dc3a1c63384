/**
 * What a master's /metrics reads at each scrape (shared/src/metrics.ts names every metric): the
 * primary's jobs by phase and BullMQ's task counts, the view as this master knows it, whether it is
 * primary, its alerts by kind, its Redis round trip. Only the primary that serves exports jobs and
 * tasks: a backup's state is a copy and two masters counting the same queues would double them.
 * The hot-path instruments (op commits, view changes) are master.ts's. With metrics off nothing is
 * registered and nothing runs.
 */
import type { Queue } from 'bullmq';
import { QUEUES, jobPhaseSchema, readWithin, type JobPhase, type Metrics, type QueueName, type RedisConnection } from '@tandem/shared';
import { alertCounts, type Alert } from './alerts.ts';
import type { Master } from './master.ts';
import type { MasterState } from './state.ts';

/** The task states tandem_tasks counts: what waits for a worker, and what runs. */
export const TASK_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;
export type TaskCounts = Record<QueueName, Record<(typeof TASK_STATES)[number], number>>;

/** How long a scrape waits for BullMQ's counts before it leaves the task series out. */
const READ_MS = 1000;

/** Jobs in the state by phase, every phase present. */
export function jobsByPhase(state: MasterState): Record<JobPhase, number> {
  const out = Object.fromEntries(jobPhaseSchema.options.map((p) => [p, 0])) as Record<JobPhase, number>;
  for (const job of Object.values(state.jobs)) out[job.phase]++;
  return out;
}

/** Tasks a new worker could take now: waiting and prioritized, both queues (not delayed: their retry wait runs). */
export const pendingTasks = (c: TaskCounts): number => QUEUES.reduce((n, q) => n + c[q].waiting + c[q].prioritized, 0);

async function readTaskCounts(queues: Record<QueueName, Queue>): Promise<TaskCounts> {
  const out = {} as TaskCounts;
  for (const q of QUEUES) {
    const c = await queues[q].getJobCounts(...TASK_STATES);
    out[q] = Object.fromEntries(TASK_STATES.map((s) => [s, c[s] ?? 0])) as TaskCounts[QueueName];
  }
  return out;
}

/** `read` shared by the collectors of one scrape (prom-client starts them all at once): one read, not one each. */
function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => (inFlight ??= read().finally(() => (inFlight = null)));
}

export interface MasterScrape {
  master: Pick<Master, 'state' | 'replication' | 'alerts'>;
  queues: Record<QueueName, Queue>;
  redis: RedisConnection;
  /** This master's name in views (its advertised URL): tandem_primary's label. */
  me: string;
  /** The process's own alerts (main.ts), besides the master's. */
  processAlerts: () => Alert[];
}

/** Registers the master's scrape-time metrics on `metrics` (nothing when metrics are off). */
export function watchMaster(metrics: Metrics, w: MasterScrape): void {
  if (!metrics.enabled) return;
  const serving = () => w.master.replication.serving;
  metrics.gauge('jobs', (g) => {
    g.reset();
    if (!serving()) return;
    for (const [phase, n] of Object.entries(jobsByPhase(w.master.state))) g.set({ phase }, n);
  });
  const counts = oncePerScrape(async () => (serving() ? readWithin(() => readTaskCounts(w.queues), READ_MS) : undefined));
  metrics.gauge('tasks', async (g) => {
    const c = await counts();
    g.reset();
    for (const q of c ? QUEUES : []) for (const state of TASK_STATES) g.set({ queue: q, state }, c![q][state]);
  });
  metrics.gauge('tasksPending', async (g) => {
    const c = await counts();
    if (c) g.set(pendingTasks(c));
    else g.remove(); // no sample: a backup, or counts Redis did not give in time
  });
  metrics.gauge('viewNumber', (g) => g.set(w.master.replication.view.viewnum));
  metrics.gauge('primary', (g) => g.set({ master: w.me }, serving() ? 1 : 0));
  metrics.gauge('alerts', (g) => {
    for (const [kind, n] of Object.entries(alertCounts([...w.processAlerts(), ...w.master.alerts()]))) g.set({ kind }, n);
  });
  metrics.redisRtt(() => w.redis.ping());
}
