/** Console process: the web UI (pages, JSON API, bull-board at /queues). */
import { Queue } from 'bullmq';
import { Metrics, QUEUES, ServiceConnections, createLogger, errorsOncePerOutage, keys, listenOrExit, loadConfig, loadTls, requireSecretToBind, masterClient, startService, urlScheme, type Config, type ServerTls } from '@tandem/shared';
import { loadRegistry, type Registry } from '@tandem/jobs';
import { createConsole } from './app.ts';
import { Platform } from './platform.ts';
import { makeGuard } from './security.ts';
import { ConsoleSessions } from './sessions.ts';
import { Throughput, sampleCluster } from './throughput.ts';
import { lazyContinue } from './upload.ts';

let cfg!: Config;
let registry!: Registry;
let tls: ServerTls | undefined;
await startService('console', async () => {
  cfg = loadConfig();
  requireSecretToBind({ host: cfg.TANDEM_CONSOLE_HOST, hostVar: 'TANDEM_CONSOLE_HOST' });
  tls = loadTls(cfg);
  registry = await loadRegistry(cfg.TANDEM_JOBS_DIR);
  registry.watch(2000); // a type added to the jobs folder gets its form without a restart
});
const log = createLogger('console', cfg.TANDEM_LOG_LEVEL);
const k = keys(cfg.TANDEM_PREFIX);
// One Redis or a Redis Cluster, as Redis says (started before Redis, it waits for it).
const connections = await ServiceConnections.open(cfg, log);
const redis = connections.connect('tandem-console');
const queues = QUEUES.map((q) => {
  const connection = connections.connect(`tandem-console-${q}`);
  const queue = new Queue(q, { connection, prefix: k.bullPrefix(q) });
  // Without a listener BullMQ prints each error object to the console, at every reconnect.
  queue.on('error', errorsOncePerOutage(connection, (err) => log.warn({ err, queue: q }, 'queue error')));
  return queue;
});
// A page waits a few seconds for a primary at most, then says there is none.
const client = masterClient(cfg, { retryForMs: 8000 });
const platform = new Platform({ redis, keys: k, client, registry, viewUrl: cfg.TANDEM_VIEW_URL, secret: cfg.TANDEM_SECRET });
const sessions = new ConsoleSessions(redis, k, { ttlS: cfg.TANDEM_CONSOLE_SESSION_S, maxFailures: cfg.TANDEM_CONSOLE_LOGIN_MAX_FAILURES, windowS: cfg.TANDEM_CONSOLE_LOGIN_WINDOW_S });
const guard = makeGuard(cfg.TANDEM_CONSOLE_TOKEN, sessions);
const metrics = new Metrics('console', cfg.TANDEM_METRICS === 'on');
if (metrics.enabled) metrics.redisRtt(() => redis.ping());
// The cluster page's charts: sampled from the start, so they show the last minutes when opened.
const throughput = new Throughput(sampleCluster(redis, k, queues));
const stopSampling = throughput.start();
const app = createConsole({
  platform, guard, queues, log, uploadMaxBytes: cfg.TANDEM_CONSOLE_UPLOAD_MAX_BYTES, splitBytes: cfg.TANDEM_SPLIT_BYTES,
  metrics: { metrics, secret: cfg.TANDEM_SECRET }, throughput,
});
const where = { host: cfg.TANDEM_CONSOLE_HOST, port: cfg.TANDEM_CONSOLE_PORT, portVar: 'TANDEM_CONSOLE_PORT', tls };
const server = listenOrExit(app, where, log, () => {
  const host = where.host === '0.0.0.0' || where.host === '::' ? '127.0.0.1' : where.host;
  log.info({ url: `${urlScheme(cfg)}://${host}:${where.port}/`, token: guard.locked ? 'required' : 'none (open console)', viewService: cfg.TANDEM_VIEW_URL }, 'console ready');
});
// `Expect: 100-continue`: an upload's go-ahead waits until its headers pass (upload.ts continueUpload).
server.on('checkContinue', lazyContinue((req, res) => app(req, res)));
// Long polls wait up to 20 s for a job to change.
server.requestTimeout = 0;
server.headersTimeout = 60_000;

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'console stopping');
  stopSampling();
  server.close();
  server.closeAllConnections();
  await Promise.all(queues.map((q) => q.close()));
  connections.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
