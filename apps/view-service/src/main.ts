/** View service process: decides the masters' view from their pings, and watches the queues. */
import { hostname } from 'node:os';
import { Metrics, ServiceConnections, TandemError, createLogger, logDurabilityAtStart, redactUrl, keys, listenOrExit, loadConfig, loadTls, requireSecretToBind, startService, urlScheme, type Config, type ServerTls } from '@tandem/shared';
import { createViewApi } from './api.ts';
import { QueueMonitor } from './queue-monitor.ts';
import { ViewService } from './service.ts';
import { ViewLeaseKeeper } from './lease.ts';
import { UnreadableViewStateError, redisViewStore } from './view-store.ts';

let cfg!: Config;
let tls: ServerTls | undefined;
await startService('view-service', async () => {
  cfg = loadConfig();
  requireSecretToBind({ host: cfg.TANDEM_VIEW_HOST, hostVar: 'TANDEM_VIEW_HOST' });
  tls = loadTls(cfg);
});
const log = createLogger('view-service', cfg.TANDEM_LOG_LEVEL);
const detectionMs = cfg.TANDEM_PING_INTERVAL_MS * cfg.TANDEM_DEAD_PINGS;
const stateKey = keys(cfg.TANDEM_PREFIX).viewService();
const where = { host: cfg.TANDEM_VIEW_HOST, port: cfg.TANDEM_VIEW_PORT, portVar: 'TANDEM_VIEW_PORT', tls };
const url = `${urlScheme(cfg)}://${where.host === '0.0.0.0' || where.host === '::' ? hostname() : where.host}:${where.port}`;
const cannotReach = 'cannot reach Redis to take the view-service lease and read the stored view; retrying, answering no ping (503) until it can';
// It listens at once: until Redis answers (and says whether it is one server or a cluster) every
// call but /health is a 503 that says so.
let vs: ViewService | undefined;
const metrics = new Metrics('view-service', cfg.TANDEM_METRICS === 'on');
const viewChanges = metrics.enabled ? metrics.counter('viewChanges') : null;
const notYet = new TandemError('unavailable', `no view service holds the view-service lease for prefix "${cfg.TANDEM_PREFIX}" yet (this one has not reached Redis; is it reachable?)`);
const server = listenOrExit(createViewApi(() => {
  if (!vs) throw notYet;
  return vs;
}, log, cfg.TANDEM_SECRET, metrics), where, log, () => {
  log.info({ url, pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS, leaseMs: cfg.TANDEM_VIEW_LEASE_MS }, 'view service listening; it answers pings once it holds the view-service lease');
});
const connections = await ServiceConnections.open(cfg, log, (why) => log.warn({ key: stateKey, redis: redactUrl(cfg.REDIS_URL), err: why }, cannotReach));
const queueRedis = connections.connect('tandem-view-queues');
const monitor = new QueueMonitor({ connection: queueRedis, prefix: keys(cfg.TANDEM_PREFIX).bullPrefix });
logDurabilityAtStart(queueRedis, log);
// A write that cannot finish within the masters' ping timeout fails instead of queueing: the ping
// is answered `unavailable` rather than with a view Redis may not hold.
const stateRedis = connections.connect('tandem-view-state', { enableOfflineQueue: false, commandTimeout: detectionMs });
// One view service per Redis and prefix decides views: the holder of the lease. Any other waits as
// a standby, answering 503 with the holder's name, and takes over once the lease lapses.
const lease = new ViewLeaseKeeper({ redis: stateRedis, keys: keys(cfg.TANDEM_PREFIX), log, url, cfg: { ttlMs: cfg.TANDEM_VIEW_LEASE_MS }, load });
const store = redisViewStore(stateRedis, stateKey, (json) => lease.saveState(json));
vs = new ViewService(
  {
    pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS, ackAlertMs: 10 * detectionMs,
    ...(viewChanges ? { onViewChange: () => viewChanges.inc() } : {}),
  },
  store,
  log,
  () => monitor.report,
  Date.now,
  lease,
);
vs.start();
monitor.start();
watchViewService(vs);
// Without an offline queue a command sent before the connection is up fails at once.
for (let waited = 0; stateRedis.status !== 'ready'; waited++) {
  if (waited === 1) log.warn({ key: stateKey, redis: redactUrl(cfg.REDIS_URL) }, cannotReach);
  await readyOrSecond();
}
void lease.start();

/**
 * A new tenure of the lease: the stored view, before any ping is answered (answering from an empty
 * state would start view 1 again, and a takeover must resume what the last holder decided).
 */
async function load(): Promise<void> {
  try {
    const stored = await vs!.restore();
    if (stored) log.info({ key: stateKey, view: stored.view, acked: stored.acked }, 'resumed the stored view');
    else log.info({ key: stateKey }, 'no stored view: starting a new one');
  } catch (err) {
    if (!(err instanceof UnreadableViewStateError)) {
      throw new Error(`cannot read the stored view at ${stateKey} from Redis ${redactUrl(cfg.REDIS_URL)}: ${(err as Error).message}`);
    }
    // Safe to go on without it: views are numbered past whatever the masters ping.
    log.error({ err: err.message }, 'the stored view-service state is unreadable; starting without it (the next view overwrites it)');
  }
}

/**
 * The view as this service decides it, read at each scrape (only while it holds the lease: a
 * standby's view is no one's), and its Redis round trip.
 */
function watchViewService(service: ViewService): void {
  if (!metrics.enabled) return;
  metrics.gauge('viewNumber', (g) => (service.deciding ? g.set(service.view.viewnum) : g.remove()));
  metrics.gauge('primary', (g) => {
    g.reset();
    const { primary, backup } = service.view;
    if (!service.deciding) return;
    if (primary) g.set({ master: primary }, 1);
    if (backup) g.set({ master: backup }, 0);
  });
  metrics.redisRtt(() => queueRedis.ping());
}

function readyOrSecond(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stateRedis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, 1000);
    stateRedis.once('ready', done);
  });
}

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'view service stopping');
  server.close();
  vs?.stop();
  await lease?.stop();
  await monitor?.stop();
  connections?.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
