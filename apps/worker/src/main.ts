/**
 * Worker process: pulls map and reduce tasks from BullMQ and runs them one at a time per queue.
 * Stateless; a SIGKILLed worker's task is handed to another worker when its lock lapses.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { ContentCache, BulkClient, createLogger, logDurabilityAtStart, errorsOncePerOutage, keys, loadConfig, serviceRedis, startService, taskPayloadSchema, QUEUES, type Config } from '@tandem/shared';
import type { Registry } from '@tandem/jobs';
import { loadRegistry, startJobTypesReport } from '@tandem/jobs';
import { runTask, type Phases } from './run-task.ts';

/** Memory for values this worker wrote and may read back (see TaskDeps.written): a few rounds' worth. */
const WRITTEN_CACHE_BYTES = 64 << 20;

const roundPhases = (p: Phases) => ({ readMs: Math.round(p.readMs), computeMs: Math.round(p.computeMs), writeMs: Math.round(p.writeMs) });

let cfg!: Config;
let registry!: Registry;
await startService('worker', async () => {
  cfg = loadConfig();
  registry = await loadRegistry(cfg.TANDEM_JOBS_DIR);
});
const log = createLogger('worker', cfg.TANDEM_LOG_LEVEL);
const k = keys(cfg.TANDEM_PREFIX);
const redis = serviceRedis(cfg, log, 'tandem-worker-data');
logDurabilityAtStart(redis, log);
const bulk = BulkClient.forUrl(cfg, cfg.TANDEM_READ_CONNECTIONS);
const readPool = bulk ? [redis] : [redis, ...Array.from({ length: cfg.TANDEM_READ_CONNECTIONS - 1 }, (_, i) => serviceRedis(cfg, log, `tandem-worker-read-${i + 1}`))];
const deps = {
  redis, bulk, readPool, buffers: [] as Buffer[], keys: k, registry, intermediateTtlS: cfg.TANDEM_INTERMEDIATE_TTL_S,
  cache: new ContentCache(cfg.TANDEM_WORKER_CACHE_MB * 1024 * 1024),
  written: new ContentCache(WRITTEN_CACHE_BYTES),
};
const name = `${hostname()}:${process.pid}`;

const connections: Redis[] = [...readPool];
const workers = QUEUES.map((queue) => {
  const connection = serviceRedis(cfg, log, `tandem-worker-${queue}`);
  connections.push(connection);
  const w = new Worker(
    queue,
    async (job: Job) => {
      const parsed = taskPayloadSchema.safeParse(job.data);
      if (!parsed.success) {
        // Retrying cannot fix a malformed descriptor: fail it at once, saying what is wrong.
        const what = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'data'}: ${i.message}`).join('; ');
        throw new UnrecoverableError(`task ${job.id} is not a Tandem task descriptor (${what})`);
      }
      const payload = parsed.data;
      const tlog = log.child({ job: payload.jobId, task: job.id, kind: payload.kind });
      tlog.debug('task started');
      const res = await runTask(payload, deps, {
        attempt: job.id ?? '?',
        failedAttempts: job.attemptsMade,
        stalls: job.stalledCounter ?? 0,
      });
      tlog.debug(
        res.skipped
          ? { skipped: true }
          : { ms: res.ms, ...roundPhases(res.phases), won: res.won, recordsIn: res.recordsIn, recordsOut: res.recordsOut },
        'task finished',
      );
      return res.skipped ? { skipped: true } : { won: res.won, ms: res.ms };
    },
    {
      connection,
      prefix: k.bullPrefix,
      concurrency: cfg.TANDEM_WORKER_CONCURRENCY,
      name,
      lockDuration: cfg.TANDEM_LOCK_MS,
      stalledInterval: cfg.TANDEM_STALLED_MS,
      maxStalledCount: cfg.TANDEM_MAX_STALLS,
    },
  );
  w.on('failed', (job, err) => log.warn({ task: job?.id, attemptsMade: job?.attemptsMade, err: err.message }, 'task attempt failed'));
  w.on('error', errorsOncePerOutage(connection, (err) => log.warn({ err, queue }, 'worker error')));
  return w;
});
// What this worker runs, for the primary's GET /job-types; re-reading the jobs folder as it goes.
const stopReport = startJobTypesReport(redis, k, 'worker', name, registry);
log.info({ queues: QUEUES, name, types: registry.names() }, 'worker ready');

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'worker stopping; finishing the current task');
  stopReport();
  await Promise.all(workers.map((w) => w.close()));
  for (const c of connections) c.disconnect();
  bulk?.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
