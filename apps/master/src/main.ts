/** Master process: owns job and task state, enqueues tasks, serves clients over HTTP. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, createLogger, downSince, listenOrExit, keys, loadConfig, serviceRedis, startService, type Config, type QueueName } from '@tandem/shared';
import type { Registry } from '@tandem/jobs';
import { loadRegistry } from '@tandem/jobs';
import { createApi } from './api.ts';
import { acceptReplicaStreams } from './replica-channel.ts';
import { Master } from './master.ts';

let cfg!: Config;
let registry!: Registry;
await startService('master', async () => {
  cfg = loadConfig();
  registry = await loadRegistry(cfg.TANDEM_JOBS_DIR);
});
const log = createLogger('master', cfg.TANDEM_LOG_LEVEL);
const k = keys(cfg.TANDEM_PREFIX);
const connections: Redis[] = [];
const connect = (name: string) => {
  const c = serviceRedis(cfg.REDIS_URL, log, name);
  connections.push(c);
  return c;
};
const redis = connect('tandem-master');
const queueConnection = connect('tandem-master-queues');
const queues = Object.fromEntries(
  QUEUES.map((q) => [q, new Queue(q, { connection: queueConnection, prefix: k.bullPrefix })]),
) as Record<QueueName, Queue>;

const me = cfg.TANDEM_MASTER_ADVERTISE_URL ?? `http://${cfg.TANDEM_MASTER_HOST === '0.0.0.0' ? '127.0.0.1' : cfg.TANDEM_MASTER_HOST}:${cfg.TANDEM_MASTER_PORT}`;
const master = new Master({ cfg, log, redis, keys: k, registry, queues, eventConnection: () => connect('tandem-master-events'), me });
const alerts = () => {
  const since = Math.min(...connections.map((c) => downSince.get(c) ?? Infinity));
  return since === Infinity ? [] : [`the master cannot reach Redis at ${cfg.REDIS_URL} (for ${Math.round((Date.now() - since) / 1000)} s); jobs wait until it is back`];
};
const where = { host: cfg.TANDEM_MASTER_HOST, port: cfg.TANDEM_MASTER_PORT, portVar: 'TANDEM_MASTER_PORT' };
const server = listenOrExit(createApi(master, log, alerts), where, log, () => {
  log.info({ url: `http://${where.host}:${where.port}`, name: me, viewService: cfg.TANDEM_VIEW_URL, types: registry.names() }, 'master listening; waiting for the view service to give it a role');
  master.start();
});

acceptReplicaStreams(server, (msg) => master.replication.receive(msg), log);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'master stopping');
  server.close();
  await master.stop();
  await Promise.all(Object.values(queues).map((q) => q.close()));
  for (const c of connections) c.disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
