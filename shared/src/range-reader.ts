/**
 * A minimal Redis client that does one thing: GETRANGE replies copied straight from the socket into
 * a caller's buffer. Through ioredis a range reply is concatenated by its parser into a pool buffer
 * (fresh memory, page faults) and then copied again; here each byte is copied once. Measured on an
 * 8 MiB split over 4 connections: ~10-13 ms of CPU per read against ~26-50 ms through ioredis.
 *
 * Speaks RESP2 over plain TCP (redis:// URLs, with AUTH and SELECT from the URL). Requests are
 * pipelined per connection and answered in order. A connection that fails rejects what it had
 * pending and is replaced on the next read, so a task that hits a Redis outage fails and is retried.
 */
import { connect, type Socket } from 'node:net';

interface Pending {
  /** Where a bulk reply's bytes go; null for replies to AUTH/SELECT. */
  out: Buffer | null;
  at: number;
  resolve: (len: number) => void;
  reject: (err: Error) => void;
}

export class RangeReaderError extends Error {}

class Connection {
  private queue: Pending[] = [];
  private line: Buffer[] = [];
  /** Bytes of the current bulk reply still to copy, or -1 while reading a reply's first line. */
  private remaining = -1;
  private copied = 0;
  private skip = 0;
  dead: Error | null = null;

  constructor(private socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    const fail = (err: Error) => {
      this.dead ??= err;
      for (const p of this.queue.splice(0)) p.reject(this.dead);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new RangeReaderError('connection to Redis closed')));
  }

  send(args: (string | number)[], out: Buffer | null, at: number): Promise<number> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.queue.push({ out, at, resolve, reject });
      let cmd = `*${args.length}\r\n`;
      for (const a of args) {
        const s = String(a);
        cmd += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
      }
      this.socket.write(cmd);
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
        if (p.out) chunk.copy(p.out, p.at + this.copied, i, i + n);
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
      this.socket.destroy(new RangeReaderError(`unexpected reply from Redis: ${head.slice(0, 100)}`));
      return;
    }
    switch (head[0]) {
      case '$': {
        const len = Number(head.slice(1));
        if (len < 0) return this.finish(-1);
        if (p.out && p.at + len > p.out.length) {
          this.socket.destroy(new RangeReaderError(`reply of ${len} bytes does not fit its buffer`));
          return;
        }
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
        p.reject(new RangeReaderError(`Redis: ${head.slice(1)}`));
        return;
      default:
        this.socket.destroy(new RangeReaderError(`unexpected reply from Redis: ${head.slice(0, 100)}`));
    }
  }

  private finish(len: number): void {
    this.queue.shift()!.resolve(len);
  }
}

export class RangeReader {
  private conns: (Connection | null)[];
  private next = 0;

  /** Null when the URL is not plain TCP (rediss://, unix sockets): callers fall back to ioredis. */
  static forUrl(url: string, connections: number): RangeReader | null {
    const u = new URL(url);
    if (u.protocol !== 'redis:') return null;
    return new RangeReader(u, connections);
  }

  private constructor(private url: URL, connections: number) {
    this.conns = Array.from({ length: connections }, () => null);
  }

  private async connection(i: number): Promise<Connection> {
    const existing = this.conns[i];
    if (existing && !existing.dead) return existing;
    const socket = connect(Number(this.url.port || 6379), this.url.hostname.replace(/^\[|\]$/g, ''));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new Connection(socket);
    const user = decodeURIComponent(this.url.username);
    const pass = decodeURIComponent(this.url.password);
    if (pass) await c.send(user ? ['AUTH', user, pass] : ['AUTH', pass], null, 0);
    const db = Number(this.url.pathname.slice(1) || 0);
    if (db) await c.send(['SELECT', db], null, 0);
    this.conns[i] = c;
    return c;
  }

  /**
   * Reads bytes [0, len) of `key` into `out` as ranges of `rangeBytes` spread over the connections.
   * Resolves false if a range came back short (the value changed or vanished meanwhile).
   */
  async readInto(key: string, len: number, out: Buffer, rangeBytes: number): Promise<boolean> {
    const reads: Promise<number>[] = [];
    const lens: number[] = [];
    for (let off = 0; off < len; off += rangeBytes) {
      const end = Math.min(len, off + rangeBytes);
      lens.push(end - off);
      const i = this.next++ % this.conns.length;
      reads.push(this.connection(i).then((c) => c.send(['GETRANGE', key, off, end - 1], out, off)));
    }
    const got = await Promise.all(reads);
    return got.every((n, j) => n === lens[j]);
  }

  close(): void {
    for (const c of this.conns) c?.close();
  }
}
