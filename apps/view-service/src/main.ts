/** View service process: decides the masters' view from their pings, and watches the queues. */
import { ServiceConnections, createLogger, logDurabilityAtStart, redactUrl, keys, listenOrExit, loadConfig, loadTls, requireSecretToBind, startService, urlScheme, type Config, type ServerTls } from '@tandem/shared';
import { createViewApi } from './api.ts';
import { QueueMonitor } from './queue-monitor.ts';
import { ViewService } from './service.ts';
import { UnreadableViewStateError, redisViewStore } from './view-store.ts';

let cfg!: Config;
let tls: ServerTls | undefined;
await startService('view-service', async () => {
  cfg = loadConfig();
  requireSecretToBind({ host: cfg.TANDEM_VIEW_HOST, hostVar: 'TANDEM_VIEW_HOST' });
  tls = loadTls(cfg);
});
const log = createLogger('view-service', cfg.TANDEM_LOG_LEVEL);
const connections = new ServiceConnections(cfg, log);
const queueRedis = connections.connect('tandem-view-queues');
const monitor = new QueueMonitor({ connection: queueRedis, prefix: keys(cfg.TANDEM_PREFIX).bullPrefix });
logDurabilityAtStart(queueRedis, log);
const detectionMs = cfg.TANDEM_PING_INTERVAL_MS * cfg.TANDEM_DEAD_PINGS;
// A write that cannot finish within the masters' ping timeout fails instead of queueing: the ping
// is answered `unavailable` rather than with a view Redis may not hold.
const stateKey = keys(cfg.TANDEM_PREFIX).viewService();
const stateRedis = connections.connect('tandem-view-state', { enableOfflineQueue: false, commandTimeout: detectionMs });
const store = redisViewStore(stateRedis, stateKey);
const vs = new ViewService(
  { pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS, ackAlertMs: 10 * detectionMs },
  store,
  log,
  () => monitor.report,
);
await restore();
vs.start();
monitor.start();
const where = { host: cfg.TANDEM_VIEW_HOST, port: cfg.TANDEM_VIEW_PORT, portVar: 'TANDEM_VIEW_PORT', tls };
const server = listenOrExit(createViewApi(vs, log, cfg.TANDEM_SECRET), where, log, () => {
  log.info({ url: `${urlScheme(cfg)}://${where.host}:${where.port}`, pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS, view: vs.view }, 'view service ready');
});

/** No ping is answered before the stored view is known: answering from an empty state would start view 1 again. */
async function restore(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // Without an offline queue a command sent before the connection is up fails at once.
    if (stateRedis.status !== 'ready') await readyOrSecond();
    try {
      const stored = await vs.restore();
      if (stored) log.info({ key: stateKey, view: stored.view, acked: stored.acked }, 'resumed the stored view');
      else log.info({ key: stateKey }, 'no stored view: starting a new one');
      return;
    } catch (err) {
      if (err instanceof UnreadableViewStateError) {
        // Safe to go on without it: views are numbered past whatever the masters ping.
        log.error({ err: err.message }, 'the stored view-service state is unreadable; starting without it (the next view overwrites it)');
        return;
      }
      if (attempt === 1) log.warn({ err: (err as Error).message, key: stateKey, redis: redactUrl(cfg.REDIS_URL) }, 'cannot read the stored view from Redis; retrying, answering no ping until it can');
    }
  }
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
  vs.stop();
  await monitor.stop();
  connections.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
