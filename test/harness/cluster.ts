/**
 * A Tandem cluster made of real processes for tests: a private redis-server, a master and workers
 * as child processes (each with its own log file under test-output/), and helpers to run the CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MasterClient, keys, type Keys } from '@tandem/shared';
import { repoRoot, spawnApp, type AppName } from '../../apps/cli/src/processes.ts';
import { startRedis, type TestRedis } from './redis.ts';
import { freePort, waitFor } from './wait.ts';

export const fixtureJobsDir = join(repoRoot, 'test', 'fixtures', 'jobs');

export interface ClusterOptions {
  name: string;
  workers?: number;
  env?: Record<string, string>;
  redis?: TestRedis;
}

export interface Cluster {
  redis: TestRedis;
  prefix: string;
  keys: Keys;
  env: NodeJS.ProcessEnv;
  masterUrl: string;
  outDir: string;
  master: ChildProcess;
  workers: ChildProcess[];
  startWorker(env?: Record<string, string>): ChildProcess;
  startMaster(): Promise<ChildProcess>;
  client(): MasterClient;
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

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const redis = opts.redis ?? (await startRedis());
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const outDir = join(repoRoot, 'test-output', opts.name);
  mkdirSync(outDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...testTimings,
    REDIS_URL: redis.url,
    TANDEM_PREFIX: prefix,
    TANDEM_MASTER_PORT: String(port),
    TANDEM_MASTER_URL: `http://127.0.0.1:${port}`,
    TANDEM_JOBS_DIR: fixtureJobsDir,
    ...opts.env,
  };
  const procs: ChildProcess[] = [];
  let n = 0;
  const launch = (app: AppName, extra: Record<string, string> = {}) => {
    const p = spawnApp(app, { ...env, ...extra }, ['ignore', 'ignore', 'pipe']);
    p.stderr!.pipe(createWriteStream(join(outDir, `${app}-${++n}.log`)));
    procs.push(p);
    return p;
  };
  const masterUrl = env.TANDEM_MASTER_URL!;
  const startMaster = async () => {
    const m = launch('master');
    await waitFor(async () => (await fetch(new URL('/health', masterUrl))).ok, { what: 'master /health', timeoutMs: 30_000 });
    return m;
  };
  const cluster: Cluster = {
    redis, prefix, keys: keys(prefix), env, masterUrl, outDir,
    master: await startMaster(),
    workers: [],
    startWorker(extra) {
      const w = launch('worker', extra);
      cluster.workers.push(w);
      return w;
    },
    startMaster,
    client: () => new MasterClient(masterUrl),
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
  return cluster;
}

/** Follows the job until it finishes; returns the final status. */
export async function waitForJob(c: Cluster, jobId: string, timeoutMs = 120_000) {
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
