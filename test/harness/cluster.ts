/**
 * A Tandem cluster made of real processes for tests: a private redis-server, the view service, one
 * or two masters and workers as child processes (each with its own log file under test-output/),
 * and helpers to run the CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { MasterClient, TandemError, keys, requestJson, writeOutput, type Keys, type MasterClientOptions, type RedisConnection } from '@tandem/shared';
import { repoRoot, spawnApp, type AppName } from '../../apps/cli/src/processes.ts';
import { startRedis, type TestRedis } from './redis.ts';
import { freePort, waitFor } from './wait.ts';

export const fixtureJobsDir = join(repoRoot, 'test', 'fixtures', 'jobs');

/** What the harness needs of a Redis: one redis-server (redis.ts) or a Redis Cluster (redis-cluster.ts). */
export interface TestRedisLike {
  url: string;
  target: { REDIS_URL: string; TANDEM_REDIS_CA?: string };
  client(): RedisConnection;
  stop(): Promise<void>;
}

export interface ClusterOptions<R extends TestRedisLike = TestRedis> {
  name: string;
  workers?: number;
  /** Master processes (1 or 2; default 1). */
  masters?: number;
  /** How many of them to start now (default: all); start the others with startMaster(i). */
  startMasters?: number;
  env?: Record<string, string>;
  redis?: R;
  /**
   * Serve every listener over HTTPS with this certificate and key (PEM paths), clients trusting
   * `ca`. The test process's own clients (the harness's looks, client()) read TANDEM_TLS_CA from
   * process.env: set it there too.
   */
  tls?: { cert: string; key: string; ca: string };
}

export interface ControlPlane {
  viewUrl: string;
  masterUrls: string[];
  procs: ChildProcess[];
  /** SIGKILLs all of it. */
  stop(): Promise<void>;
}

export interface MasterProcess {
  /** Its name in views, and where it listens. */
  url: string;
  port: number;
  proc: ChildProcess;
}

export interface Cluster<R extends TestRedisLike = TestRedis> {
  redis: R;
  prefix: string;
  keys: Keys;
  env: NodeJS.ProcessEnv;
  viewUrl: string;
  outDir: string;
  viewService: ChildProcess;
  masters: MasterProcess[];
  workers: ChildProcess[];
  startWorker(env?: Record<string, string>): ChildProcess;
  /** SIGKILLs the view service (if it runs) and starts it again; resolves once it answers. */
  restartViewService(): Promise<ChildProcess>;
  /** Starts a console on a free port; resolves once it answers. */
  startConsole(env?: Record<string, string>): Promise<{ url: string; proc: ChildProcess }>;
  /**
   * Starts a second control plane on this cluster's Redis, prefix and secret: a view service and
   * `masters` masters on other ports (what a second `tandem up` with the first one's export line
   * starts). Resolves once all of them answer HTTP, whatever they answer.
   */
  startControlPlane(masters: number): Promise<ControlPlane>;
  /** (Re)starts master i on its port; resolves when its HTTP server answers (whatever its role). */
  startMaster(i: number): Promise<MasterProcess>;
  /** Waits until the view names a primary that serves (answers /jobs); returns its index in `masters`. */
  primary(timeoutMs?: number): Promise<number>;
  /** Waits until the view has a primary and a backup, and the primary has acknowledged it (the backup holds a snapshot). */
  replicated(timeoutMs?: number): Promise<{ primary: number; backup: number; viewnum: number }>;
  client(opts?: Omit<MasterClientOptions, 'viewUrl'>): MasterClient;
  /** Runs the tandem CLI as a separate process. */
  cli(args: string[], opts?: { input?: Buffer | string; env?: Record<string, string> }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Fast failure detection for tests: a killed worker's task moves on within a few seconds. */
export const testTimings = {
  TANDEM_LOCK_MS: '2000',
  TANDEM_STALLED_MS: '1000',
  TANDEM_RECONCILE_MS: '300',
  TANDEM_RETRY_DELAY_MS: '50',
  TANDEM_LOG_LEVEL: 'info',
};

export async function startCluster<R extends TestRedisLike = TestRedis>(opts: ClusterOptions<R>): Promise<Cluster<R>> {
  const redis = opts.redis ?? ((await startRedis()) as unknown as R);
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const viewPort = await freePort();
  const ports: number[] = [];
  for (let i = 0; i < (opts.masters ?? 1); i++) ports.push(await freePort());
  const scheme = opts.tls ? 'https' : 'http';
  const outDir = join(repoRoot, 'test-output', opts.name);
  mkdirSync(outDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...testTimings,
    REDIS_URL: redis.url,
    ...(redis.target.TANDEM_REDIS_CA ? { TANDEM_REDIS_CA: redis.target.TANDEM_REDIS_CA } : {}),
    TANDEM_PREFIX: prefix,
    TANDEM_VIEW_PORT: String(viewPort),
    TANDEM_VIEW_URL: `${scheme}://127.0.0.1:${viewPort}`,
    TANDEM_JOBS_DIR: fixtureJobsDir,
    ...(opts.tls ? { TANDEM_TLS_CERT: opts.tls.cert, TANDEM_TLS_KEY: opts.tls.key, TANDEM_TLS_CA: opts.tls.ca } : {}),
    // Not the repository's .tandem: a `tandem up` run there would lend its secret and its Redis
    // password to the CLI commands of every test.
    TANDEM_DATA_DIR: join(outDir, 'no-data-dir'),
    ...opts.env,
  };
  const procs: ChildProcess[] = [];
  let n = 0;
  const launch = (app: AppName, extra: Record<string, string> = {}, label: string = app) => {
    const p = spawnApp(app, { ...env, ...extra }, ['ignore', 'ignore', 'pipe']);
    p.stderr!.pipe(createWriteStream(join(outDir, `${label}-${++n}.log`)));
    procs.push(p);
    return p;
  };
  try {
    return await startProcesses();
  } catch (err) {
    // Whatever started must not outlive a failed start: the test runner would wait for it forever.
    await Promise.all(procs.map((p) => kill(p)));
    if (!opts.redis) await redis.stop();
    throw err;
  }

  async function startProcesses(): Promise<Cluster<R>> {
    const viewUrl = env.TANDEM_VIEW_URL!;
    // A cluster started with TANDEM_SECRET refuses the harness's own looks without it. Through
    // shared's client, which verifies https: URLs like every Tandem client.
    // How long a process may take to answer after it is spawned: node and tsx loading the code take
    // seconds on a loaded 2-core machine (a master took over 30 s once, with other test runs beside it).
    const START_MS = 90_000;
    const look = <T>(base: string, path: string, timeoutMs = 5000) => requestJson<T>(new URL(path, base).href, { timeoutMs, secret: env.TANDEM_SECRET });
    const startViewService = async () => {
      const p = launch('view-service');
      await waitFor(async () => (await look(viewUrl, '/view')).status === 200, { what: 'view service /view', timeoutMs: START_MS });
      return p;
    };
    const viewService = await startViewService();
    const masters: MasterProcess[] = [];
    const startMaster = async (i: number) => {
      const url = `${scheme}://127.0.0.1:${ports[i]}`;
      const proc = launch('master', { TANDEM_MASTER_PORT: String(ports[i]), TANDEM_MASTER_ADVERTISE_URL: url }, `master-${'ab'[i]}`);
      masters[i] = { url, port: ports[i], proc };
      await waitFor(async () => (await look(url, '/health')).status === 200, { what: `master ${url} /health`, timeoutMs: START_MS });
      return masters[i];
    };
    const viewStatus = async () => (await look<{ view: { viewnum: number; primary: string; backup: string }; acked: boolean }>(viewUrl, '/status')).body;
    // With a time limit: a SIGSTOPped master accepts connections but never answers.
    const roleOf = async (url: string) => (await look<{ role: string }>(url, '/health', 2000)).body.role;
    for (let i = 0; i < (opts.startMasters ?? ports.length); i++) {
      await startMaster(i);
      // The first master becomes primary before the second starts, so the roles are predictable.
      if (i === 0) await waitFor(async () => (await viewStatus()).view.primary === masters[0].url && (await roleOf(masters[0].url)) === 'primary', { what: 'master a to become primary', timeoutMs: 30_000 });
    }
    const cluster: Cluster<R> = {
      redis, prefix, keys: keys(prefix), env, viewUrl, outDir, viewService, masters,
      workers: [],
      startWorker(extra) {
        const w = launch('worker', extra);
        cluster.workers.push(w);
        return w;
      },
      startMaster,
      async restartViewService() {
        await kill(cluster.viewService);
        cluster.viewService = await startViewService();
        return cluster.viewService;
      },
      async startControlPlane(count) {
        const port = await freePort();
        const viewUrl2 = `${scheme}://127.0.0.1:${port}`;
        const env2 = { TANDEM_VIEW_PORT: String(port), TANDEM_VIEW_URL: viewUrl2 };
        const plane: ControlPlane = { viewUrl: viewUrl2, masterUrls: [], procs: [], stop: async () => void (await Promise.all(plane.procs.map((p) => kill(p)))) };
        try {
          plane.procs.push(launch('view-service', env2, 'view-service-2'));
          for (let i = 0; i < count; i++) {
            const mport = await freePort();
            const url = `${scheme}://127.0.0.1:${mport}`;
            plane.masterUrls.push(url);
            plane.procs.push(launch('master', { ...env2, TANDEM_MASTER_PORT: String(mport), TANDEM_MASTER_ADVERTISE_URL: url }, `master-2${'ab'[i]}`));
          }
          // Any answer will do: a standby view service refuses with a 503.
          for (const url of [viewUrl2, ...plane.masterUrls]) {
            await waitFor(async () => (await look(url, '/health')).status > 0, { what: `the second control plane's ${url}`, timeoutMs: START_MS });
          }
          return plane;
        } catch (err) {
          await plane.stop();
          throw err;
        }
      },
      async startConsole(extra = {}) {
        const port = await freePort();
        const url = `${scheme}://127.0.0.1:${port}`;
        const proc = launch('console', { TANDEM_CONSOLE_PORT: String(port), ...extra });
        // A page, not JSON: any answer will do.
        const answers = () => look(url, '/login').then(() => true, (err) => (err instanceof TandemError ? true : Promise.reject(err)));
        await waitFor(answers, { what: `console ${url}`, timeoutMs: START_MS });
        return { url, proc };
      },
      async primary(timeoutMs = 30_000) {
        let index = -1;
        await waitFor(async () => {
          const { view } = await viewStatus();
          index = masters.findIndex((m) => m.url === view.primary);
          // Its role says primary as soon as it learns the view; it serves once its state is the log's.
          return index >= 0 && (await roleOf(view.primary)) === 'primary' && (await look(view.primary, '/jobs', 5000)).status === 200;
        }, { what: 'a primary master', timeoutMs });
        return index;
      },
      async replicated(timeoutMs = 30_000) {
        let r = { primary: -1, backup: -1, viewnum: 0 };
        await waitFor(async () => {
          const s = await viewStatus();
          r = { primary: masters.findIndex((m) => m.url === s.view.primary), backup: masters.findIndex((m) => m.url === s.view.backup), viewnum: s.view.viewnum };
          return s.acked && r.primary >= 0 && r.backup >= 0 && (await roleOf(s.view.primary)) === 'primary';
        }, { what: 'a primary with a backup that holds its state', timeoutMs });
        return r;
      },
      client: (o = {}) => new MasterClient({ viewUrl, secret: env.TANDEM_SECRET, ...o }),
      cli(args, o = {}) {
        return new Promise((resolve) => {
          const p = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps/cli/src/main.ts'), ...args], {
            cwd: repoRoot, env: { ...env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          p.stdout.on('data', (d) => (stdout += d));
          p.stderr.on('data', (d) => (stderr += d));
          p.stdin.end(o.input ?? '');
          p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
        });
      },
      async stop() {
        await Promise.all(procs.map((p) => {
          if (p.exitCode !== null || p.signalCode !== null) return;
          const exited = new Promise((r) => p.once('exit', r));
          p.kill('SIGKILL');
          return exited;
        }));
        if (!opts.redis) await redis.stop();
      },
    };
    for (let i = 0; i < (opts.workers ?? 2); i++) cluster.startWorker();
    // Tests that look for parallel work need every worker listening before the first job.
    await waitForWorkers(cluster);
    return cluster;
  }
}

/** Waits until BullMQ lists every started worker as listening. */
export async function waitForWorkers(c: Cluster<TestRedisLike>): Promise<void> {
  if (c.workers.length === 0) return;
  const q = new Queue('map', { connection: c.redis.client(), prefix: c.keys.bullPrefix('map') });
  try {
    await waitFor(async () => (await q.getWorkersCount()) >= c.workers.length, { what: `${c.workers.length} workers to listen`, timeoutMs: 60_000 });
  } finally {
    await q.close();
  }
}

/** The durable op log's last batch as Redis holds it (the snapshot's seq or the stream's last entry). */
export async function logHead(c: Cluster): Promise<number> {
  const r = c.redis.client();
  try {
    const snap = Number((await r.hget(c.keys.masterSnapshot(), 'seq')) ?? 0);
    const last = await r.xrevrange(c.keys.masterLog(), '+', '-', 'COUNT', 1);
    return Math.max(snap, last.length ? Number(last[0][0].split('-')[0]) : 0);
  } finally {
    r.disconnect();
  }
}

/** Follows the job until it finishes; returns the final status. */
export async function waitForJob(c: Cluster<TestRedisLike>, jobId: string, timeoutMs = 120_000) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for job ${jobId} to finish`)), timeoutMs);
  });
  try {
    return await Promise.race([c.client().waitUntilFinished(jobId), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A finished job's whole output, as the CLI would write it. */
export async function jobOutput(c: Cluster<TestRedisLike>, s: { id: string; round: number; partitions: number }): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  await writeOutput(c.redis.client(), c.keys, { jobId: s.id, round: s.round, partitions: s.partitions }, sink);
  return Buffer.concat(chunks).toString('utf8');
}

/** SIGKILLs a process and resolves once it is gone. */
export async function kill(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  await exited;
}
