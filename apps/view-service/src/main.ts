/** View service process: decides the masters' view from their pings, and watches the queues. */
import { ServiceConnections, createLogger, keys, listenOrExit, loadConfig, startService, type Config } from '@tandem/shared';
import { createViewApi } from './api.ts';
import { QueueMonitor } from './queue-monitor.ts';
import { ViewService } from './service.ts';

let cfg!: Config;
await startService('view-service', async () => {
  cfg = loadConfig();
});
const log = createLogger('view-service', cfg.TANDEM_LOG_LEVEL);
const connections = new ServiceConnections(cfg.REDIS_URL, log);
const monitor = new QueueMonitor({ connection: connections.connect('tandem-view-queues'), prefix: keys(cfg.TANDEM_PREFIX).bullPrefix });
const vs = new ViewService(
  { pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS, ackAlertMs: 10 * cfg.TANDEM_DEAD_PINGS * cfg.TANDEM_PING_INTERVAL_MS },
  () => monitor.report,
);
vs.start();
monitor.start();
const where = { host: cfg.TANDEM_VIEW_HOST, port: cfg.TANDEM_VIEW_PORT, portVar: 'TANDEM_VIEW_PORT' };
const server = listenOrExit(createViewApi(vs, log), where, log, () => {
  log.info({ url: `http://${where.host}:${where.port}`, pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS }, 'view service ready');
});

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
