/**
 * Worker process: pulls map and reduce tasks from BullMQ and runs them one at a time per queue.
 * Stateless; a SIGKILLed worker's task is handed to another worker when its lock lapses, a SIGTERMed
 * one finishes its tasks or hands them back (drain.ts). Serves /metrics and /health on its own
 * small listener (worker-http.ts).
 */
import { hostname } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DelayedError, MetricsTime, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import {
  ContentCache, BulkClient, Metrics, createLogger, redisBlobs, logDurabilityAtStart, errorsOncePerOutage, keys, loadConfig, loadTls, requireSecretToBind, ServiceConnections, startService, taskPayloadSchema, QUEUES,
  type Config, type QueueName, type RedisConnection, type ServerTls, type TaskCounters,
} from '@tandem/shared';
import type { Registry } from '@tandem/jobs';
import { loadRegistry, startJobTypesReport } from '@tandem/jobs';
import { Drain } from './drain.ts';
import { isQuiet } from './queue-watchdog.ts';
import { runTask, type Phases, type TaskResult } from './run-task.ts';
import { TaskMetrics } from './task-metrics.ts';
import { startWorkerHttp, workerRoutes } from './worker-http.ts';

/** Memory for values this worker wrote and may read back (see TaskDeps.written): a few rounds' worth. */
const WRITTEN_CACHE_BYTES = 64 << 20;
/**
 * A worker with no task for this long drops its caches and read buffers and collects its garbage,
 * so an idle worker gives back what a finished or cancelled job made it hold (docs/DESIGN.md §3.5).
 */
const IDLE_DROP_MS = 10_000;

// A full collection on demand, for the idle drop: without it, V8 may keep a dropped cache for long.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const roundPhases = (p: Phases) => ({ readMs: Math.round(p.readMs), computeMs: Math.round(p.computeMs), writeMs: Math.round(p.writeMs) });

let cfg!: Config;
let registry!: Registry;
let tls: ServerTls | undefined;
await startService('worker', async () => {
  cfg = loadConfig();
  requireSecretToBind({ host: cfg.TANDEM_METRICS_HOST, hostVar: 'TANDEM_METRICS_HOST' });
  tls = loadTls(cfg);
  registry = await loadRegistry(cfg.TANDEM_JOBS_DIR);
});
const log = createLogger('worker', cfg.TANDEM_LOG_LEVEL);
const k = keys(cfg.TANDEM_PREFIX);
const name = `${hostname()}:${process.pid}`;
const metrics = new Metrics('worker', cfg.TANDEM_METRICS === 'on');
/** This worker's finished task attempts and their bytes, in its report (the console's throughput charts). */
const counters: TaskCounters = { since: Date.now(), tasks: 0, bytesIn: 0, bytesOut: 0 };
const taskMetrics = new TaskMetrics(metrics, counters);
const drain = new Drain();
/** Tasks running in this process now. */
let running = 0;
// Listening before Redis answers, so probes and scrapes see a worker that waits for it.
await startWorkerHttp(
  workerRoutes(metrics, cfg.TANDEM_SECRET, () => ({ name, running, stopping: drain.stopping })),
  { host: cfg.TANDEM_METRICS_HOST, port: cfg.TANDEM_METRICS_PORT, tls },
  log,
);
// One Redis or a Redis Cluster, as Redis says; a worker started before Redis waits for it.
const redisConnections = await ServiceConnections.open(cfg, log);
const redis = redisConnections.connect('tandem-worker-data');
logDurabilityAtStart(redis, log);
metrics.redisRtt(() => redis.ping());
// TANDEM_READ_CONNECTIONS connections to Redis, or to each primary of a Redis Cluster.
const bulk = BulkClient.forUrl(cfg, cfg.TANDEM_READ_CONNECTIONS);
// Only to list who else listens (a verified task's runs prefer two workers): CLIENT LIST, as the view service counts workers.
const listeners = Object.fromEntries(QUEUES.map((q) => {
  const queue = new Queue(q, { connection: redis, prefix: k.bullPrefix(q) });
  // It shares the data connection, whose own handler (serviceRedis) says what went wrong, once per
  // outage; unheard, BullMQ would print every error raw.
  queue.on('error', () => {});
  return [q, queue];
})) as Record<QueueName, Queue>;
const othersOnline = async (queue: QueueName, me: string) =>
  (await listeners[queue].getWorkers()).some((w) => String(w.rawname ?? '').replace(/^.*:w:/, '') !== me);
const deps = {
  redis, blobs: bulk, redisBlobs: redisBlobs(redis), buffers: [] as Buffer[], keys: k, registry, intermediateTtlS: cfg.TANDEM_INTERMEDIATE_TTL_S,
  reduceRangeBytes: cfg.TANDEM_REDUCE_RANGE_KB * 1024,
  reduceMemoryBytes: cfg.TANDEM_REDUCE_MEMORY_MB * 1024 * 1024,
  cache: new ContentCache(cfg.TANDEM_WORKER_CACHE_MB * 1024 * 1024),
  written: new ContentCache(WRITTEN_CACHE_BYTES),
  othersOnline,
};

let lastTaskAt = Date.now();
let dropped = true;
const idleTimer = setInterval(() => {
  if (running > 0 || dropped || Date.now() - lastTaskAt < IDLE_DROP_MS) return;
  deps.cache.clear();
  deps.written.clear();
  deps.buffers.length = 0;
  collectGarbage();
  dropped = true;
  log.debug({ rss: process.memoryUsage.rss() }, 'idle: caches dropped');
}, IDLE_DROP_MS / 4);
idleTimer.unref();

/** This worker's memory, in its job-types report (the console's cluster page shows it). */
const memory = () => {
  const m = process.memoryUsage();
  return {
    rss: m.rss, heapUsed: m.heapUsed, external: m.external,
    cacheBytes: deps.cache.bytes + deps.written.bytes, cacheLimit: deps.cache.maxBytes + deps.written.maxBytes,
  };
};

const connections: RedisConnection[] = [redis];
/** Per queue: this worker's running tasks, when it last took one, when its BullMQ worker was last replaced. */
const activity = Object.fromEntries(QUEUES.map((q) => [q, { running: 0, lastTakenAt: Date.now(), lastRestartAt: 0 }])) as Record<QueueName, { running: number; lastTakenAt: number; lastRestartAt: number }>;
const startWorker = (queue: QueueName) => {
  const connection = redisConnections.connect(`tandem-worker-${queue}`);
  connections.push(connection);
  const w = new Worker(
    queue,
    async (job: Job, token?: string) => {
      activity[queue].running++;
      activity[queue].lastTakenAt = Date.now();
      try {
        return await drain.finishOrHandBack(processTask(job, token), job, token, () => log.info({ task: job.id, queue }, 'task handed back: this worker is stopping'));
      } finally {
        activity[queue].running--;
      }
    },
    {
      connection,
      prefix: k.bullPrefix(queue),
      concurrency: cfg.TANDEM_WORKER_CONCURRENCY,
      name,
      lockDuration: cfg.TANDEM_LOCK_MS,
      stalledInterval: cfg.TANDEM_STALLED_MS,
      maxStalledCount: cfg.TANDEM_MAX_STALLS,
      // bull-board's throughput chart (jobs per minute): it draws the last hour, and reads the whole list each time.
      metrics: { maxDataPoints: MetricsTime.ONE_HOUR },
    },
  );
  w.on('failed', (job, err) => log.warn({ task: job?.id, attemptsMade: job?.attemptsMade, err: err.message }, 'task attempt failed'));
  w.on('error', errorsOncePerOutage(connection, (err) => log.warn({ err, queue }, 'worker error')));
  return { w, connection };
};

/** Runs one task of BullMQ job `job`. */
async function processTask(job: Job, token?: string) {
  const parsed = taskPayloadSchema.safeParse(job.data);
  if (!parsed.success) {
    // Retrying cannot fix a malformed descriptor: fail it at once, saying what is wrong.
    const what = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'data'}: ${i.message}`).join('; ');
    throw new UnrecoverableError(`task ${job.id} is not a Tandem task descriptor (${what})`);
  }
  const payload = parsed.data;
  const tlog = log.child({ job: payload.jobId, task: job.id, kind: payload.kind });
  tlog.debug('task started');
  running++;
  dropped = false;
  const queue = job.queueName as QueueName;
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  let res: TaskResult;
  try {
    res = await runTask(payload, deps, { attempt: job.id ?? '?', failedAttempts: job.attemptsMade, stalls: job.stalledCounter ?? 0 });
  } catch (err) {
    taskMetrics.attempt(queue, payload.type, seconds());
    throw err;
  } finally {
    running--;
    lastTaskAt = Date.now();
  }
  taskMetrics.attempt(queue, payload.type, seconds(), res);
  if (res.skipped && res.deferMs !== undefined) {
    // This worker ran the task's other run: back to the queue for a while, for another worker to take.
    tlog.debug({ deferMs: res.deferMs }, 'verified task run deferred: this worker ran its other run');
    await job.moveToDelayed(Date.now() + res.deferMs, token);
    throw new DelayedError();
  }
  tlog.debug(
    res.skipped
      ? { skipped: true }
      : { ms: res.ms, ...roundPhases(res.phases), won: res.won, recordsIn: res.recordsIn, recordsOut: res.recordsOut },
    'task finished',
  );
  if (res.skipped) return { skipped: true };
  // The record this attempt committed, when it won: the master takes it from the completed event
  // instead of reading the commit hash (a verified task's commit holds both runs: read from the hash).
  const { skipped: _skipped, won, phases: _phases, ...record } = res;
  return { won, ms: res.ms, ...(won === true && !payload.verify ? { commit: record } : {}) };
}

const workers = QUEUES.map(startWorker);

// A queue connection gone quiet while tasks wait (queue-watchdog.ts) gets a new worker and connection.
const watchdog = setInterval(() => void (async () => {
  for (const [i, queue] of QUEUES.entries()) {
    const waiting = await listeners[queue].getWaitingCount().catch(() => 0);
    const a = activity[queue];
    const now = Date.now();
    if (!isQuiet({ waiting, runningHere: a.running, lastTakenAt: a.lastTakenAt, lastRestartAt: a.lastRestartAt }, now, cfg.TANDEM_WORKER_QUIET_MS)) continue;
    log.warn({ queue, waiting, quietMs: now - a.lastTakenAt }, 'tasks wait but this worker has taken none for a while: replacing its queue connection');
    a.lastRestartAt = now;
    const old = workers[i];
    workers[i] = startWorker(queue);
    await old.w.close(true).catch(() => undefined);
    old.connection.disconnect();
  }
})(), cfg.TANDEM_WORKER_QUIET_MS / 4);
watchdog.unref();
// What this worker runs, for the primary's GET /job-types; re-reading the jobs folder as it goes.
const stopReport = startJobTypesReport(redis, k, 'worker', name, registry, { memory, counters });
log.info({ queues: QUEUES, name, types: registry.names() }, 'worker ready');

async function stop(signal: string) {
  if (drain.stopping) return;
  drain.begin(cfg.TANDEM_WORKER_DRAIN_MS);
  log.info({ signal, running, drainMs: cfg.TANDEM_WORKER_DRAIN_MS }, 'worker stopping: taking no new task; finishing the running ones, or handing them back after the drain time');
  stopReport();
  clearInterval(watchdog);
  await Promise.all(workers.map(({ w }) => w.close()));
  await Promise.all(Object.values(listeners).map((q) => q.close()));
  for (const c of connections) c.disconnect();
  bulk.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
