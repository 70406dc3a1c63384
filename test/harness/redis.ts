import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { redisAnswers, redisTlsOptions } from '@tandem/shared';
import { freePort, waitFor } from './wait.ts';

export interface TestRedis {
  /** With the password when there is one (rediss:// with TLS). */
  url: string;
  /** What ioredis and Tandem's processes need to reach it: url and, with TLS, the CA file. */
  target: { REDIS_URL: string; TANDEM_REDIS_CA?: string };
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

export interface TestRedisTls {
  certFile: string;
  keyFile: string;
  /** The CA that signed the certificate: clients trust it through TANDEM_REDIS_CA. */
  caFile: string;
}

/**
 * Starts a private redis-server on a free port (or on `port`, for a test that points a process at
 * an address before anything listens there), with AOF on so a test can kill and restart it; with
 * `aof: false` it persists nothing, so a restart comes back empty (Redis losing its data); the AOF
 * is fsynced as `appendfsync` says (default `no`: tests do not survive a host crash). With
 * `password` it requires one (`requirepass`, given on redis-server's standard input, so no process
 * list shows it); with `tls` it listens for TLS only (rediss://, no client certificates asked).
 */
export async function startRedis(opts: { port?: number; aof?: boolean; appendfsync?: 'always' | 'everysec' | 'no'; password?: string; tls?: TestRedisTls } = {}): Promise<TestRedis> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tandem-redis-'));
  const clients: Redis[] = [];
  let proc: ChildProcess;
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  const url = `${opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`;
  const target = { REDIS_URL: url, TANDEM_REDIS_CA: opts.tls?.caFile };
  const quote = (v: string) => JSON.stringify(v);
  const conf = [
    ...(opts.tls
      ? ['port 0', `tls-port ${port}`, `tls-cert-file ${quote(opts.tls.certFile)}`, `tls-key-file ${quote(opts.tls.keyFile)}`, `tls-ca-cert-file ${quote(opts.tls.caFile)}`, 'tls-auth-clients no']
      : [`port ${port}`]),
    'bind 127.0.0.1', `dir ${quote(dir)}`, 'save ""', `appendonly ${opts.aof === false ? 'no' : 'yes'}`, `appendfsync ${opts.appendfsync ?? 'no'}`,
    'maxmemory-policy noeviction', 'loglevel warning',
    ...(opts.password ? [`requirepass ${quote(opts.password)}`] : []),
  ].join('\n');

  const launch = async () => {
    proc = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    proc.stdin!.end(conf + '\n');
    await waitFor(() => redisAnswers(target), { timeoutMs: 10_000, what: `redis-server on port ${port}` });
  };
  await launch();

  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };

  const t: TestRedis = {
    url,
    target,
    port,
    dir,
    get proc() {
      return proc;
    },
    client() {
      const r = new Redis(url, { maxRetriesPerRequest: null, ...(opts.tls ? { tls: redisTlsOptions(target) } : {}) });
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
