/**
 * A minimal Redis client for the data plane: large values moved between a socket and Buffers with
 * one copy, over a few connections at once.
 *
 * - readInto: GETRANGE replies copied straight from the socket into a caller's buffer. Through
 *   ioredis a range reply is concatenated by its parser into a pool buffer (fresh memory, page
 *   faults) and then copied again; here each byte is copied once. Measured on an 8 MiB split over 4
 *   connections: ~10-13 ms of CPU per read against ~26-50 ms through ioredis.
 * - getMany / setMany: whole values (an iterative job's shuffle blobs, a few hundred KB each),
 *   spread over the connections so Redis, which sends at most 64 KiB to one client per pass of its
 *   event loop, serves them side by side. A SET goes out as one writev of the command header and
 *   the caller's Buffer, uncopied; ioredis builds each command into a new buffer first. Measured
 *   for 3 values of 250 KB (PageRank's per-task traffic): see docs/BENCHMARKS.md.
 *
 * Speaks RESP2 over TCP (redis://) or TLS (rediss://, host name verified, TANDEM_REDIS_CA added to
 * the trusted roots as for every ioredis connection), with AUTH (`AUTH pass`, or `AUTH user pass`
 * for an ACL user) and SELECT from the URL. Requests are
 * pipelined per connection and answered in order. A connection that fails rejects what it had
 * pending and is replaced on the next request, so a task that hits a Redis outage fails and is
 * retried.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { explainRedisError, redisTlsOptions, type RedisTarget } from './redis.ts';

interface Pending {
  /** Where a bulk reply's bytes go: a caller's buffer at `at`, a buffer made to fit ('alloc'), or nowhere (null). */
  out: Buffer | 'alloc' | null;
  at: number;
  /** Bulk length (-1 for a nil reply, 0 for a status reply) and, for 'alloc', the value. */
  resolve: (len: number, value: Buffer | null) => void;
  reject: (err: Error) => void;
}

export class BulkClientError extends Error {}

/** How long a connection's TCP (and TLS) set-up may take. */
const CONNECT_TIMEOUT_MS = 5000;

type Arg = string | number | Buffer;

class Connection {
  private queue: Pending[] = [];
  private line: Buffer[] = [];
  /** Bytes of the current bulk reply still to copy, or -1 while reading a reply's first line. */
  private remaining = -1;
  private copied = 0;
  private skip = 0;
  /** The buffer the current bulk reply is copied into. */
  private into: Buffer | null = null;
  dead: Error | null = null;

  /** `explain` words a socket's failure as explainRedisError does. */
  constructor(private socket: Socket, explain: (err: Error) => string) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    const fail = (err: Error) => {
      this.dead ??= err instanceof BulkClientError ? err : new BulkClientError(explain(err));
      for (const p of this.queue.splice(0)) p.reject(this.dead);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  send(args: Arg[], out: Pending['out'], at: number): Promise<{ len: number; value: Buffer | null }> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.queue.push({ out, at, resolve: (len, value) => resolve({ len, value }), reject });
      let head = `*${args.length}\r\n`;
      this.socket.cork();
      for (const a of args) {
        if (Buffer.isBuffer(a)) {
          this.socket.write(`${head}$${a.length}\r\n`);
          this.socket.write(a);
          head = '\r\n';
        } else {
          const s = String(a);
          head += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
        }
      }
      this.socket.write(head);
      this.socket.uncork();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        if (this.skip === 0) this.finish(this.copied);
        continue;
      }
      if (this.remaining >= 0) {
        const p = this.queue[0];
        const n = Math.min(this.remaining, chunk.length - i);
        if (this.into) chunk.copy(this.into, p.at + this.copied, i, i + n);
        this.copied += n;
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) {
          this.remaining = -1;
          this.skip = 2;
        }
        continue;
      }
      const nl = chunk.indexOf(10, i);
      if (nl === -1) {
        this.line.push(chunk.subarray(i));
        return;
      }
      this.line.push(chunk.subarray(i, nl + 1));
      i = nl + 1;
      const head = Buffer.concat(this.line).toString('latin1').replace(/\r?\n$/, '');
      this.line = [];
      this.onLine(head);
    }
  }

  private onLine(head: string): void {
    const p = this.queue[0];
    if (!p) {
      this.socket.destroy(new BulkClientError(`unexpected reply from Redis: ${head.slice(0, 100)}`));
      return;
    }
    switch (head[0]) {
      case '$': {
        const len = Number(head.slice(1));
        if (len < 0) return this.finish(-1);
        if (p.out === 'alloc') this.into = Buffer.allocUnsafeSlow(len);
        else if (p.out && p.at + len > p.out.length) {
          this.socket.destroy(new BulkClientError(`reply of ${len} bytes does not fit its buffer`));
          return;
        } else this.into = p.out;
        this.copied = 0;
        if (len === 0) {
          this.skip = 2;
          return;
        }
        this.remaining = len;
        return;
      }
      case '+':
      case ':':
        return this.finish(0);
      case '-':
        this.queue.shift();
        p.reject(new BulkClientError(`Redis: ${head.slice(1)}`));
        return;
      default:
        this.socket.destroy(new BulkClientError(`unexpected reply from Redis: ${head.slice(0, 100)}`));
    }
  }

  private finish(len: number): void {
    const p = this.queue.shift()!;
    const value = len >= 0 && p.out === 'alloc' ? this.into : null;
    this.into = null;
    p.resolve(len, value);
  }
}

export class BulkClient {
  /** Each slot's connection, or its connecting promise, so requests racing for a slot share one socket. */
  private conns: (Promise<Connection> | null)[];
  private next = 0;

  /** Null when the URL is neither redis:// nor rediss:// (unix sockets): callers fall back to ioredis. */
  static forUrl(target: RedisTarget, connections: number): BulkClient | null {
    const url = typeof target === 'string' ? target : target.REDIS_URL;
    const u = new URL(url);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return null;
    return new BulkClient(u, url, redisTlsOptions(target), connections);
  }

  private constructor(private url: URL, private href: string, private tls: ReturnType<typeof redisTlsOptions>, connections: number) {
    this.conns = Array.from({ length: connections }, () => null);
  }

  private async connection(i: number): Promise<Connection> {
    const existing = this.conns[i];
    if (existing) {
      const c = await existing.catch(() => null);
      if (c && !c.dead) return c;
      if (this.conns[i] === existing) this.conns[i] = null;
      else return this.connection(i);
    }
    const connecting = this.open();
    this.conns[i] = connecting;
    connecting.catch(() => {
      if (this.conns[i] === connecting) this.conns[i] = null;
    });
    return connecting;
  }

  /** A connection, authenticated and on the URL's database; errors say why in explainRedisError's words. */
  private async open(): Promise<Connection> {
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.url.port || 6379);
    // SNI carries host names only; the certificate is checked against the host either way.
    const socket: Socket = this.tls ? tlsConnect({ ...this.tls, host, port, servername: isIP(host) ? undefined : host }) : connect(port, host);
    const explain = (err: Error) => explainRedisError(err, this.href);
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once(this.tls ? 'secureConnect' : 'connect', resolve);
        socket.once('error', reject);
        socket.once('close', () => reject(new Error('connection closed during set-up')));
        // As ioredis's connectTimeout: a TLS client at a plain port would otherwise wait for ever.
        timer = setTimeout(() => reject(new Error(`connect ETIMEDOUT (no ${this.tls ? 'TLS handshake' : 'connection'} within ${CONNECT_TIMEOUT_MS} ms)`)), CONNECT_TIMEOUT_MS);
      });
    } catch (err) {
      socket.destroy();
      throw new BulkClientError(explain(err as Error));
    } finally {
      clearTimeout(timer);
    }
    const c = new Connection(socket, explain);
    try {
      const user = decodeURIComponent(this.url.username);
      const pass = decodeURIComponent(this.url.password);
      if (pass) {
        await c.send(user ? ['AUTH', user, pass] : ['AUTH', pass], null, 0).catch((err: Error) => {
          // As ioredis does: a password given to a Redis that needs none is no reason to fail.
          if (!/without any password configured|no password is set/i.test(err.message)) throw err;
        });
      }
      const db = Number(this.url.pathname.slice(1) || 0);
      if (db) await c.send(['SELECT', db], null, 0);
    } catch (err) {
      c.close();
      throw new BulkClientError(explain(err as Error));
    }
    return c;
  }

  /** The next connection, round robin, so requests issued together are served side by side. */
  private any(): Promise<Connection> {
    return this.connection(this.next++ % this.conns.length);
  }

  /**
   * Reads bytes [from, len) of `key` into the same place in `out`, as ranges of `rangeBytes` spread
   * over the connections. Resolves false if a range came back short (the value changed or vanished
   * meanwhile).
   */
  async readInto(key: string, len: number, out: Buffer, rangeBytes: number, from = 0): Promise<boolean> {
    const reads: Promise<{ len: number }>[] = [];
    const lens: number[] = [];
    for (let off = from; off < len; off += rangeBytes) {
      const end = Math.min(len, off + rangeBytes);
      lens.push(end - off);
      reads.push(this.any().then((c) => c.send(['GETRANGE', key, off, end - 1], out, off)));
    }
    const got = await Promise.all(reads);
    return got.every((r, j) => r.len === lens[j]);
  }

  /** GET of every key (null where missing), spread over the connections. */
  async getMany(keys: string[]): Promise<(Buffer | null)[]> {
    return Promise.all(keys.map(async (key) => (await (await this.any()).send(['GET', key], 'alloc', 0)).value));
  }

  /** SET of every value (with an expiry when ttlSeconds is given), spread over the connections. */
  async setMany(entries: { key: string; value: Buffer }[], ttlSeconds?: number): Promise<void> {
    await Promise.all(entries.map(async ({ key, value }) => {
      const c = await this.any();
      await c.send(ttlSeconds === undefined ? ['SET', key, value] : ['SET', key, value, 'EX', ttlSeconds], null, 0);
    }));
  }

  close(): void {
    for (const c of this.conns) void c?.then((x) => x.close(), () => {});
    this.conns.fill(null);
  }
}
