/** Master process: owns job and task state, enqueues tasks, serves clients over HTTP. */
import { Queue } from 'bullmq';
import { Metrics, QUEUES, ServiceConnections, createLogger, errorsOncePerOutage, redactUrl, listenOrExit, keys, loadConfig, loadTls, redisAddress, redisRunId, requireSecretToBind, startService, urlScheme, type Config, type QueueName, type ServerTls } from '@tandem/shared';
import type { Registry } from '@tandem/jobs';
import { jobTypesAlerts, loadRegistry, readJobTypesReports, startJobTypesReport, REPORT_EVERY_MS } from '@tandem/jobs';
import { alertsOf, type Alert } from './alerts.ts';
import { createApi } from './api.ts';
import { watchMaster } from './master-metrics.ts';
import { acceptReplicaStreams } from './replica-channel.ts';
import { Master } from './master.ts';

let cfg!: Config;
let registry!: Registry;
let tls: ServerTls | undefined;
await startService('master', async () => {
  cfg = loadConfig();
  requireSecretToBind({ host: cfg.TANDEM_MASTER_HOST, hostVar: 'TANDEM_MASTER_HOST' });
  tls = loadTls(cfg);
  registry = await loadRegistry(cfg.TANDEM_JOBS_DIR);
});
const log = createLogger('master', cfg.TANDEM_LOG_LEVEL);
const k = keys(cfg.TANDEM_PREFIX);
// One Redis or a Redis Cluster, as Redis says (started before Redis, it waits for it).
const connections = await ServiceConnections.open(cfg, log);
const redis = connections.connect('tandem-master');
const queueConnection = connections.connect('tandem-master-queues');
const queues = Object.fromEntries(
  QUEUES.map((q) => [q, new Queue(q, { connection: queueConnection, prefix: k.bullPrefix(q) })]),
) as Record<QueueName, Queue>;
// Without a listener BullMQ prints each error object to the console, at every reconnect.
for (const [name, q] of Object.entries(queues)) q.on('error', errorsOncePerOutage(queueConnection, (err) => log.warn({ err, queue: name }, 'queue error')));

const scheme = urlScheme(cfg);
const me = cfg.TANDEM_MASTER_ADVERTISE_URL ?? `${scheme}://${cfg.TANDEM_MASTER_HOST === '0.0.0.0' ? '127.0.0.1' : cfg.TANDEM_MASTER_HOST}:${cfg.TANDEM_MASTER_PORT}`;
const metrics = new Metrics('master', cfg.TANDEM_METRICS === 'on');
const master = new Master({ cfg, log, redis, keys: k, registry, queues, eventConnection: () => connections.connect('tandem-master-events'), me, metrics });
// The job types every live process reports (jobs/src/report.ts), read again as often as they are written.
const stopReport = startJobTypesReport(redis, k, 'master', me, registry);
let typeAlerts: string[] = [];
const jobTypes = async () => {
  const processes = await readJobTypesReports(redis, k);
  typeAlerts = jobTypesAlerts(processes);
  const hashes = registry.hashes();
  return { ok: true as const, master: me, types: registry.describe().map((t) => (hashes[t.name] ? { ...t, hash: hashes[t.name] } : t)), processes, alerts: typeAlerts };
};
const typesTimer = setInterval(() => void jobTypes().catch(() => undefined), REPORT_EVERY_MS);
typesTimer.unref();
const alerts = (): Alert[] => {
  const types = alertsOf('job_types', typeAlerts);
  const since = connections.downSince();
  if (since === null) return types;
  const why = connections.downBecause();
  // An outage reads as before; a refused password or an untrusted certificate says which.
  const problem = why && !why.startsWith('cannot reach') ? `: ${why}` : '';
  return [{ kind: 'redis_unreachable', text: `the master cannot reach Redis at ${redactUrl(cfg.REDIS_URL)} (for ${Math.round((Date.now() - since) / 1000)} s)${problem}; jobs wait until it is back` }, ...types];
};
watchMaster(metrics, { master, queues, redis, me, processAlerts: alerts });
// Which cluster this master serves, for /health: clients warn when theirs differs. The run_id is
// read again now and then, as a Redis restarted in place gets a new one.
let runId: string | null = null;
let runIdAt = 0;
const cluster = () => {
  if (Date.now() - runIdAt > 10_000) {
    runIdAt = Date.now();
    void redisRunId(redis).then((id) => (runId = id ?? runId));
  }
  return { prefix: cfg.TANDEM_PREFIX, redis: { address: redisAddress(cfg.REDIS_URL), runId } };
};
const where = { host: cfg.TANDEM_MASTER_HOST, port: cfg.TANDEM_MASTER_PORT, portVar: 'TANDEM_MASTER_PORT', tls };
const server = listenOrExit(createApi(master, log, alerts, cfg.TANDEM_SECRET, cluster, jobTypes, metrics), where, log, () => {
  log.info({ url: `${scheme}://${where.host}:${where.port}`, name: me, viewService: cfg.TANDEM_VIEW_URL, types: registry.names() }, 'master listening; waiting for the view service to give it a role');
  master.start();
});

acceptReplicaStreams(server, (msg) => master.replication.receive(msg), log, cfg.TANDEM_SECRET);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'master stopping');
  server.close();
  clearInterval(typesTimer);
  stopReport();
  await master.stop();
  await Promise.all(Object.values(queues).map((q) => q.close()));
  connections.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
