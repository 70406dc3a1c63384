/**
 * A Tandem cluster spread over network namespaces (netns.ts): redis-server, the view service, two
 * masters and two workers, each in its own host's namespace, started as `ip netns exec NS node
 * --import tsx apps/<app>/src/main.ts` with their logs under test-output/<name>/. The services
 * listen on 0.0.0.0 (so with TANDEM_SECRET set, as a cluster on several machines must be); the
 * masters advertise their control-network address, the view service is reached on its own, and
 * everything reaches Redis over the data network. The test process looks from the observer host.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MasterClient, authHeader, keys, redisAnswers, writeOutput, type Keys, type MasterClientOptions } from '@tandem/shared';
import { appEntry, repoRoot, type AppName } from '../../apps/cli/src/processes.ts';
import { fixtureJobsDir, kill, testTimings } from './cluster.ts';
import { createNetns, type HostName, type Netns } from './netns.ts';
import { waitFor } from './wait.ts';

export const REDIS_PORT = 6390;
export const VIEW_PORT = 7000;
export const MASTER_PORT = 7100;

export type MasterHost = 'ma' | 'mb';
export type WorkerHost = 'w1' | 'w2';

export interface NetCluster {
  net: Netns;
  prefix: string;
  keys: Keys;
  secret: string;
  env: NodeJS.ProcessEnv;
  viewUrl: string;
  /** A connection to Redis from the observer (closed by stop). */
  redis: Redis;
  /** Each master's name in views (its control-network URL). */
  masterUrl: Record<MasterHost, string>;
  /** Where the observer reaches each master over the data network. */
  masterDataUrl: Record<MasterHost, string>;
  procs: Partial<Record<HostName, ChildProcess>>;
  /** BullMQ's name for a worker process (`<host>:<pid>`, as in its commit records and `processedBy`). */
  workerName(w: WorkerHost): string;
  startWorker(w: WorkerHost, env?: Record<string, string>): Promise<ChildProcess>;
  stopWorker(w: WorkerHost): Promise<void>;
  /** The view service's view and whether its primary acknowledged it, as the observer sees it. */
  viewStatus(): Promise<{ view: { viewnum: number; primary: string; backup: string }; acked: boolean }>;
  /** A master's role from its /health, over the control network. */
  role(m: MasterHost): Promise<string>;
  /** Waits until the view has a primary and a backup that holds its state. */
  replicated(timeoutMs?: number): Promise<{ primary: MasterHost; backup: MasterHost; viewnum: number }>;
  client(opts?: Omit<MasterClientOptions, 'viewUrl' | 'secret'>): MasterClient;
  /** A finished job's whole output. */
  output(s: { id: string; round: number; partitions: number }): Promise<string>;
  /** Spawns a TypeScript script (repo-relative) in a host's namespace with the cluster's env, stdio piped. */
  spawnScript(host: HostName, script: string, args: string[], label: string): ChildProcess;
  stop(): Promise<void>;
}

export async function startNetCluster(opts: { name: string; env?: Record<string, string>; workerEnv?: Partial<Record<WorkerHost, Record<string, string>>> }): Promise<NetCluster> {
  const net = createNetns();
  const outDir = join(repoRoot, 'test-output', opts.name);
  mkdirSync(outDir, { recursive: true });
  const redisDir = mkdtempSync(join(tmpdir(), 'tandem-netns-redis-'));
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const secret = randomBytes(24).toString('hex');
  const redisUrl = `redis://${net.addr('redis', 'data')}:${REDIS_PORT}`;
  const viewUrl = `http://${net.addr('view', 'ctrl')}:${VIEW_PORT}`;
  const masterUrl = { ma: `http://${net.addr('ma', 'ctrl')}:${MASTER_PORT}`, mb: `http://${net.addr('mb', 'ctrl')}:${MASTER_PORT}` };
  const masterDataUrl = { ma: `http://${net.addr('ma', 'data')}:${MASTER_PORT}`, mb: `http://${net.addr('mb', 'data')}:${MASTER_PORT}` };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...testTimings,
    REDIS_URL: redisUrl,
    TANDEM_PREFIX: prefix,
    TANDEM_SECRET: secret,
    TANDEM_VIEW_HOST: '0.0.0.0',
    TANDEM_VIEW_PORT: String(VIEW_PORT),
    TANDEM_VIEW_URL: viewUrl,
    TANDEM_MASTER_HOST: '0.0.0.0',
    TANDEM_MASTER_PORT: String(MASTER_PORT),
    TANDEM_JOBS_DIR: fixtureJobsDir,
    ...opts.env,
  };
  const headers = authHeader(secret);
  const procs: NetCluster['procs'] = {};
  const clients: Redis[] = [];
  let mapQueue: Queue | undefined;
  let n = 0;
  const log = (label: string) => join(outDir, `${label}-${++n}.log`);
  const app = (host: HostName, name: AppName, extra: Record<string, string> = {}) => {
    const p = net.spawn(host, [process.execPath, '--import', 'tsx', appEntry(name)], { ...env, ...extra }, log(host));
    procs[host] = p;
    return p;
  };
  const get = async (url: string, timeoutMs = 2000) => {
    const r = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    return (await r.json()) as Record<string, unknown>;
  };
  const hostOf = (url: string): MasterHost | undefined => (url === masterUrl.ma ? 'ma' : url === masterUrl.mb ? 'mb' : undefined);

  const c: NetCluster = {
    net, prefix, keys: keys(prefix), secret, env, viewUrl, masterUrl, masterDataUrl, procs,
    redis: undefined as unknown as Redis,
    workerName: (w) => `${hostname()}:${procs[w]!.pid}`,
    async startWorker(w, extra = {}) {
      const p = app(w, 'worker', { ...opts.workerEnv?.[w], ...extra });
      const name = `${hostname()}:${p.pid}`;
      // Listening: BullMQ lists the worker's map-queue connection under the worker's name.
      await waitFor(async () => (await mapQueue!.getWorkers()).some((x) => String(x.rawname).endsWith(`:w:${name}`)), { what: `worker ${w} (${name}) to listen`, timeoutMs: 60_000 });
      return p;
    },
    async stopWorker(w) {
      const p = procs[w];
      if (p) await kill(p, 'SIGTERM');
    },
    viewStatus: async () => (await get(new URL('/status', viewUrl).href)) as Awaited<ReturnType<NetCluster['viewStatus']>>,
    role: async (m) => (await get(new URL('/health', masterUrl[m]).href)).role as string,
    async replicated(timeoutMs = 60_000) {
      let r = { primary: 'ma' as MasterHost, backup: 'mb' as MasterHost, viewnum: 0 };
      await waitFor(async () => {
        const s = await c.viewStatus();
        const primary = hostOf(s.view.primary);
        const backup = hostOf(s.view.backup);
        if (!s.acked || !primary || !backup) return false;
        r = { primary, backup, viewnum: s.view.viewnum };
        return (await c.role(primary)) === 'primary';
      }, { what: 'a primary with a backup that holds its state', timeoutMs });
      return r;
    },
    client: (o = {}) => new MasterClient({ viewUrl, secret, ...o }),
    async output(s) {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk, _enc, cb) {
          chunks.push(Buffer.from(chunk));
          cb();
        },
      });
      await writeOutput(c.redis, c.keys, { jobId: s.id, round: s.round, partitions: s.partitions }, sink);
      return Buffer.concat(chunks).toString('utf8');
    },
    spawnScript(host, script, args, label) {
      const p = net.spawn(host, [process.execPath, '--import', 'tsx', join(repoRoot, script), ...args], env, log(label), { pipeStdio: true });
      return p;
    },
    async stop() {
      await mapQueue?.close().catch(() => {});
      for (const r of clients) r.disconnect();
      await net.shutdown();
      rmSync(redisDir, { recursive: true, force: true });
    },
  };

  try {
    net.spawn('redis', ['redis-server', '--port', String(REDIS_PORT), '--bind', net.addr('redis', 'data'), '--protected-mode', 'no', '--dir', redisDir,
      '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'], env, log('redis'));
    await waitFor(() => redisAnswers(redisUrl), { timeoutMs: 10_000, what: `redis-server at ${redisUrl} (from the observer)` });
    c.redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    clients.push(c.redis);
    mapQueue = new Queue('map', { connection: c.redis, prefix: c.keys.bullPrefix('map') });
    app('view', 'view-service');
    await waitFor(async () => typeof (await get(new URL('/view', viewUrl).href)).view === 'object', { what: `view service at ${viewUrl}`, timeoutMs: 30_000 });
    // Master a first, primary before b starts, so the roles are known; the workers start meanwhile.
    app('ma', 'master', { TANDEM_MASTER_ADVERTISE_URL: masterUrl.ma });
    const workers = Promise.all((['w1', 'w2'] as const).map((w) => c.startWorker(w)));
    await waitFor(async () => (await c.viewStatus()).view.primary === masterUrl.ma && (await c.role('ma')) === 'primary', { what: 'master a to become primary', timeoutMs: 30_000 });
    app('mb', 'master', { TANDEM_MASTER_ADVERTISE_URL: masterUrl.mb });
    await workers;
    await c.replicated();
    return c;
  } catch (err) {
    await c.stop();
    throw err;
  }
}

