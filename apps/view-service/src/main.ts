/** View service process: decides the masters' view from their pings, and watches the queues. */
import { createServer } from 'node:http';
import type { Redis } from 'ioredis';
import { EXIT_CONFIG, createLogger, keys, loadConfig, serviceRedis, startService, type Config } from '@tandem/shared';
import { createViewApi } from './api.ts';
import { QueueMonitor } from './queue-monitor.ts';
import { ViewService } from './service.ts';

let cfg!: Config;
await startService('view-service', async () => {
  cfg = loadConfig();
});
const log = createLogger('view-service', cfg.TANDEM_LOG_LEVEL);
const connections: Redis[] = [];
const connect = (name: string) => {
  const c = serviceRedis(cfg.REDIS_URL, log, name);
  connections.push(c);
  return c;
};
const monitor = new QueueMonitor({ connection: connect('tandem-view-queues'), eventConnection: () => connect('tandem-view-events'), prefix: keys(cfg.TANDEM_PREFIX).bullPrefix });
const vs = new ViewService(
  { pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS, ackAlertMs: 10 * cfg.TANDEM_DEAD_PINGS * cfg.TANDEM_PING_INTERVAL_MS },
  () => monitor.report,
);
vs.start();
monitor.start();
const server = createServer(createViewApi(vs, log)).listen(cfg.TANDEM_VIEW_PORT, cfg.TANDEM_VIEW_HOST, () => {
  log.info({ url: `http://${cfg.TANDEM_VIEW_HOST}:${cfg.TANDEM_VIEW_PORT}`, pingIntervalMs: cfg.TANDEM_PING_INTERVAL_MS, deadPings: cfg.TANDEM_DEAD_PINGS }, 'view service ready');
});
server.on('error', (err: NodeJS.ErrnoException) => {
  const why = err.code === 'EADDRINUSE' ? `port ${cfg.TANDEM_VIEW_PORT} is already in use (set TANDEM_VIEW_PORT)` : err.message;
  log.fatal({ err: err.message }, `cannot listen on ${cfg.TANDEM_VIEW_HOST}:${cfg.TANDEM_VIEW_PORT}: ${why}`);
  process.exit(EXIT_CONFIG);
});

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'view service stopping');
  server.close();
  vs.stop();
  await monitor.stop();
  for (const c of connections) c.disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
