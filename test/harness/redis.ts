import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { redisAnswers } from '@tandem/shared';
import { freePort, waitFor } from './wait.ts';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  /** A fresh connection (closed by stop()). */
  client(): Redis;
  /** Stops the server (SIGKILL) without removing its data, so restart() brings the same data back (AOF; with `aof: false`, an empty server). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server on a free port (or on `port`, for a test that points a process at
 * an address before anything listens there), with AOF on so a test can kill and restart it; with
 * `aof: false` it persists nothing, so a restart comes back empty (Redis losing its data).
 */
export async function startRedis(opts: { port?: number; aof?: boolean } = {}): Promise<TestRedis> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tandem-redis-'));
  const clients: Redis[] = [];
  let proc: ChildProcess;

  const launch = async () => {
    proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', opts.aof === false ? 'no' : 'yes',
        '--appendfsync', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    await waitFor(() => redisAnswers(`redis://127.0.0.1:${port}`), { timeoutMs: 10_000, what: `redis-server on port ${port}` });
  };
  await launch();

  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };

  const t: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get proc() {
      return proc;
    },
    client() {
      const r = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
      clients.push(r);
      return r;
    },
    kill,
    restart: launch,
    async stop() {
      for (const c of clients) c.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/**
 * A private redis-server for the test file that calls this at its top: started before its first
 * test, stopped after its last. `redis` is a connection to it.
 */
export function redisForFile(): { readonly server: TestRedis; readonly redis: Redis } {
  let server: TestRedis | undefined;
  let redis: Redis | undefined;
  before(async () => {
    server = await startRedis();
    redis = server.client();
  });
  after(async () => server?.stop());
  return {
    get server() {
      return server!;
    },
    get redis() {
      return redis!;
    },
  };
}
