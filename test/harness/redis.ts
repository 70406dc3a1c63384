import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
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
      // Tests kill and pause this server: the connection reconnects on its own, and a command that
      // fails rejects its own promise; without a listener ioredis prints every refused reconnect.
      r.on('error', () => undefined);
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

/** The last file of a Redis 7 multi-part AOF (`appendonlydir`): the one its manifest lists last, where new writes go. */
export function lastAofFile(redisDir: string): string {
  const dir = join(redisDir, 'appendonlydir');
  const manifest = readFileSync(join(dir, 'appendonly.aof.manifest'), 'utf8').trim().split('\n');
  const name = /file (\S+)/.exec(manifest[manifest.length - 1])?.[1];
  if (!name) throw new Error(`the AOF manifest in ${dir} names no file: ${manifest.join(' | ')}`);
  return join(dir, name);
}

/**
 * A host crash under an fsync policy weaker than `always`, simulated on a test Redis with AOF: the
 * size of the AOF's last file is recorded every `everyMs`; `crash(lossMs)` SIGKILLs Redis, cuts
 * that file back to its size `lossMs` before the kill (what the disk would hold had the last
 * writes not been fsynced), and restarts Redis on the same port and dir. Redis loads a file cut
 * mid-command (`aof-load-truncated`, on by default) up to its last whole command.
 */
export class AofCrash {
  private sizes: { at: number; file: string; size: number }[] = [];
  private timer: NodeJS.Timeout;

  constructor(private redis: TestRedis, everyMs = 100, keepMs = 10_000) {
    this.timer = setInterval(() => {
      try {
        const file = lastAofFile(redis.dir);
        const now = Date.now();
        this.sizes.push({ at: now, file, size: statSync(file).size });
        while (this.sizes[0].at < now - keepMs) this.sizes.shift();
      } catch {
        // Redis is down or rewriting its manifest: the next sample will do.
      }
    }, everyMs);
  }

  /** The file's size that counts as fsynced: no crash cuts below it (`fsynced`). */
  private floor: { file: string; size: number } | null = null;

  /**
   * What the AOF holds now counts as on disk, as it is once `everysec`'s next fsync has run: no later
   * crash cuts it back past this point. For a test's set-up (datasets, reference runs) that the
   * first fault, however soon, must not take back.
   */
  fsynced(): void {
    const file = lastAofFile(this.redis.dir);
    this.floor = { file, size: statSync(file).size };
  }

  async crash(lossMs: number): Promise<{ file: string; from: number; to: number }> {
    const killedAt = Date.now();
    await this.redis.kill();
    const file = lastAofFile(this.redis.dir);
    const from = statSync(file).size;
    // The size at the cut is at most that of the first sample taken at or after it (the file only
    // grows), so cutting there loses at most lossMs, as the fsync policy may. Samples stop while this
    // process's event loop is busy: taking the last one before the cut instead lost 3 s once,
    // datasets uploaded before the last second included. With no sample since the cut, nothing is cut.
    const since = this.sizes.find((s) => s.file === file && s.at >= killedAt - lossMs);
    const floor = this.floor?.file === file ? this.floor.size : 0;
    const to = Math.max(floor, Math.min(from, since?.size ?? from));
    truncateSync(file, to);
    // Redis appends to the same file after its restart: samples up to the cut still describe it, later ones no longer.
    this.sizes = this.sizes.filter((s) => s.file !== file || s.size <= to);
    this.sizes.push({ at: Date.now(), file, size: to });
    await this.redis.restart();
    return { file, from, to };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
