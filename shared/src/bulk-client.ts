/**
 * A minimal Redis client for the data plane, the workers' BlobStore (blob-store.ts): large values
 * moved between a socket and Buffers with one copy, over a few connections at once.
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
 * for an ACL user) and SELECT from the URL. Requests are pipelined per connection and answered in
 * order. A connection that fails, or stays silent for 30 s with requests pending, rejects what it
 * had pending and is replaced on the next request, so a task that hits a Redis outage fails and is
 * retried instead of hanging.
 *
 * Redis Cluster: the first request asks a seed node (REDIS_URL may list several) whether it runs in
 * cluster mode (INFO cluster). If it does, the client reads the slot map (CLUSTER SLOTS), keeps a
 * pool of connections per primary, and sends each command to the primary of its key's slot
 * (key-slot.ts). -MOVED updates the slot and refreshes the map; -ASK (a slot in migration) repeats
 * the command once on the named node after ASKING; -CLUSTERDOWN and -TRYAGAIN are retried every
 * 100 ms for up to 20 s; a node that cannot be reached (a primary killed, its replica promoted)
 * refreshes the map from the other nodes and retries once.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { explainRedisError, redisProblem, redisTlsOptions, type RedisTarget } from './redis.ts';
import { redisSeeds, type RedisSeeds } from './redis-seeds.ts';
import { bySlot, keySlot, SLOTS } from './key-slot.ts';
import { UNLINK_KEYS, type BlobEntry, type BlobHead, type BlobStore } from './blob-store.ts';

/** A reply: a bulk string's length (-1 for nil) or an integer, with the value where one was asked for. */
interface Reply {
  n: number;
  value: Buffer | null;
  /** A whole reply of any type ('reply'): arrays of strings (Buffers), integers, nil (null), errors. */
  parsed?: unknown;
}

interface Pending {
  /**
   * Where a bulk reply's bytes go: a caller's buffer at `at`, a buffer made to fit ('alloc'),
   * nowhere (null); 'reply' parses a reply of any type (small ones: INFO, CLUSTER SLOTS).
   */
  out: Buffer | 'alloc' | 'reply' | null;
  at: number;
  resolve: (r: Reply) => void;
  reject: (err: Error) => void;
}

export class BulkClientError extends Error {
  /** True when the node could not be reached or its connection broke (not a refusal or an error reply). */
  constructor(message: string, readonly unreachable = false) {
    super(message);
  }
}

/** An error reply from Redis (`-ERR ...`, `-MOVED ...`). */
export class RedisReplyError extends BulkClientError {
  constructor(readonly reply: string) {
    super(`Redis: ${reply}`);
  }
}

/** How long a connection's TCP (and TLS) set-up may take. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * replyTimeoutMs: how long a connection with requests pending may stay silent before it is given
 * up (its requests rejected as unreachable), so a Redis that stops answering without closing the
 * connection (a paused process, a host cut off) fails a task instead of hanging it. Replies stream
 * steadily even for large values; only a node that hears nothing for this long counts as gone.
 * Mutable only so tests can shorten it.
 */
export const bulkClientTuning = { replyTimeoutMs: 30_000 };
/** MOVED and ASK redirections followed (and CLUSTERDOWN or TRYAGAIN waited out) for one command before giving up (ioredis follows 16). */
const MAX_REDIRECTS = 16;
/** How long a command waits before it is sent again after CLUSTERDOWN (a failover under way) or TRYAGAIN (keys in migration), as ioredis's retryDelayOnClusterDown. */
const CLUSTER_RETRY_MS = 100;
/**
 * How long a command waits out CLUSTERDOWN or TRYAGAIN in all: a failover takes the cluster's
 * node timeout and an election (seconds; longer on a loaded host), as Tandem's ioredis connections wait.
 */
const CLUSTER_DOWN_WAIT_MS = 20_000;

type Arg = string | number | Buffer;

/** One whole RESP value from `b` at `pos`, or null when more bytes are needed. */
function parseResp(b: Buffer, pos: number): { value: unknown; end: number } | null {
  const nl = b.indexOf(10, pos);
  if (nl < 0) return null;
  const line = b.toString('latin1', pos + 1, b[nl - 1] === 13 ? nl - 1 : nl);
  switch (b[pos]) {
    case 0x2b: // +
      return { value: line, end: nl + 1 };
    case 0x2d: // -
      return { value: new RedisReplyError(line), end: nl + 1 };
    case 0x3a: // :
      return { value: Number(line), end: nl + 1 };
    case 0x24: { // $
      const len = Number(line);
      if (len < 0) return { value: null, end: nl + 1 };
      if (b.length < nl + 1 + len + 2) return null;
      return { value: b.subarray(nl + 1, nl + 1 + len), end: nl + 1 + len + 2 };
    }
    case 0x2a: { // *
      const n = Number(line);
      if (n < 0) return { value: null, end: nl + 1 };
      const items: unknown[] = [];
      let at = nl + 1;
      for (let i = 0; i < n; i++) {
        const r = parseResp(b, at);
        if (!r) return null;
        items.push(r.value);
        at = r.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new BulkClientError(`unexpected reply from Redis: ${line.slice(0, 100)}`);
  }
}

class Connection {
  private queue: Pending[] = [];
  private line: Buffer[] = [];
  /** Bytes of the current bulk reply still to copy, or -1 while reading a reply's first line. */
  private remaining = -1;
  private copied = 0;
  private skip = 0;
  /** The buffer the current bulk reply is copied into. */
  private into: Buffer | null = null;
  /** The bytes so far of a reply parsed whole ('reply'). */
  private whole: Buffer | null = null;
  dead: Error | null = null;

  /** `explain` words a socket's failure as explainRedisError does. */
  constructor(private socket: Socket, explain: (err: Error) => string) {
    socket.setNoDelay(true);
    socket.setTimeout(bulkClientTuning.replyTimeoutMs);
    socket.on('timeout', () => {
      if (this.queue.length > 0) socket.destroy(new BulkClientError(explain(new Error(`no reply within ${bulkClientTuning.replyTimeoutMs} ms`)), true));
    });
    socket.on('data', (chunk) => {
      try {
        this.onData(chunk);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    const fail = (err: Error) => {
      this.dead ??= err instanceof BulkClientError ? err : new BulkClientError(explain(err), true);
      for (const p of this.queue.splice(0)) p.reject(this.dead);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  send(args: Arg[], out: Pending['out'], at: number): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.queue.push({ out, at, resolve, reject });
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
      if (this.whole || (this.remaining < 0 && this.skip === 0 && this.line.length === 0 && this.queue[0]?.out === 'reply')) {
        const before = this.whole?.length ?? 0;
        const b = this.whole ? Buffer.concat([this.whole, chunk.subarray(i)]) : chunk.subarray(i);
        const r = parseResp(b, 0);
        if (!r) {
          this.whole = Buffer.from(b);
          return;
        }
        this.whole = null;
        i += r.end - before;
        const p = this.queue.shift()!;
        if (r.value instanceof RedisReplyError) p.reject(r.value);
        else p.resolve({ n: 0, value: null, parsed: r.value });
        continue;
      }
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
        } else this.into = p.out as Buffer | null;
        this.copied = 0;
        if (len === 0) {
          this.skip = 2;
          return;
        }
        this.remaining = len;
        return;
      }
      case '+':
        return this.finish(0);
      case ':':
        return this.finish(Number(head.slice(1)));
      case '-':
        this.queue.shift();
        p.reject(new RedisReplyError(head.slice(1)));
        return;
      default:
        this.socket.destroy(new BulkClientError(`unexpected reply from Redis: ${head.slice(0, 100)}`));
    }
  }

  private finish(n: number): void {
    const p = this.queue.shift()!;
    const value = n >= 0 && p.out === 'alloc' ? this.into : null;
    this.into = null;
    p.resolve({ n, value });
  }
}

/** host:port, the way Redis names a node (MOVED, CLUSTER SLOTS). */
const addressOf = (host: string, port: number) => `${host}:${port}`;

function splitAddress(addr: string): { host: string; port: number } {
  const at = addr.lastIndexOf(':');
  return { host: addr.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(addr.slice(at + 1)) };
}

/** A few connections to one node, handed out round robin, each replaced when it dies. */
class NodePool {
  /** Each slot's connection, or its connecting promise, so requests racing for a slot share one socket. */
  private conns: (Promise<Connection> | null)[];
  private next = 0;
  /** The URL this node is named by in messages (explainRedisError, which drops the password). */
  readonly href: string;

  constructor(readonly address: string, private seeds: RedisSeeds, private tls: ReturnType<typeof redisTlsOptions>, size: number) {
    const { host, port } = splitAddress(address);
    const u = new URL(seeds.nodes[0].url);
    u.hostname = host.includes(':') ? `[${host}]` : host;
    u.port = String(port);
    this.href = u.href.replace(/\/$/, '');
    this.conns = Array.from({ length: size }, () => null);
  }

  /** The next connection, round robin, so requests issued together are served side by side. */
  connection(): Promise<Connection> {
    return this.slot(this.next++ % this.conns.length);
  }

  private async slot(i: number): Promise<Connection> {
    const existing = this.conns[i];
    if (existing) {
      const c = await existing.catch(() => null);
      if (c && !c.dead) return c;
      if (this.conns[i] === existing) this.conns[i] = null;
      else return this.slot(i);
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
    const { host, port } = splitAddress(this.address);
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
      throw new BulkClientError(explain(err as Error), redisProblem(err as Error) === 'unreachable');
    } finally {
      clearTimeout(timer);
    }
    const c = new Connection(socket, explain);
    try {
      const { username: user, password: pass, db } = this.seeds;
      if (pass) {
        await c.send(user ? ['AUTH', user, pass] : ['AUTH', pass], null, 0).catch((err: Error) => {
          // As ioredis does: a password given to a Redis that needs none is no reason to fail.
          if (!/without any password configured|no password is set/i.test(err.message)) throw err;
        });
      }
      if (db) await c.send(['SELECT', db], null, 0);
    } catch (err) {
      c.close();
      const e = err as Error;
      throw new BulkClientError(explain(e), e instanceof BulkClientError ? e.unreachable : false);
    }
    return c;
  }

  close(): void {
    for (const c of this.conns) void c?.then((x) => x.close(), () => {});
    this.conns.fill(null);
  }
}

/** Where commands go: one node, or per slot the address of its primary. */
type Topology = { cluster: false; address: string } | { cluster: true; slots: (string | undefined)[] };

/** A MOVED or ASK redirection in an error reply. */
function redirectOf(err: unknown): { ask: boolean; slot: number; address: string } | null {
  if (!(err instanceof RedisReplyError)) return null;
  const m = /^(MOVED|ASK) (\d+) (\S*)$/.exec(err.reply);
  return m ? { ask: m[1] === 'ASK', slot: Number(m[2]), address: m[3] } : null;
}

export class BulkClient implements BlobStore {
  private pools = new Map<string, NodePool>();
  /** Every node the last slot map named (replicas too): where to ask for the next one. */
  private known = new Set<string>();
  private topology: Promise<Topology> | null = null;
  private refreshing: Promise<Topology> | null = null;

  /** For redis:// and rediss:// URLs, with one seed node or several (redis-seeds.ts). */
  static forUrl(target: RedisTarget, connections: number): BulkClient {
    const url = typeof target === 'string' ? target : target.REDIS_URL;
    return new BulkClient(redisSeeds(url), redisTlsOptions(target), connections);
  }

  private constructor(private seeds: RedisSeeds, private tls: ReturnType<typeof redisTlsOptions>, private connections: number) {}

  private pool(address: string): NodePool {
    let p = this.pools.get(address);
    if (!p) this.pools.set(address, (p = new NodePool(address, this.seeds, this.tls, this.connections)));
    return p;
  }

  /** The topology, found on first use (a failed attempt is not kept: the next request tries again). */
  private current(): Promise<Topology> {
    if (!this.topology) {
      const t = this.discover();
      this.topology = t;
      t.catch(() => {
        if (this.topology === t) this.topology = null;
      });
    }
    return this.topology;
  }

  /** The slot map read again (once for all who ask meanwhile), from any node but `avoid` first. */
  private refresh(avoid?: string): Promise<Topology> {
    if (!this.refreshing) {
      const r = this.discover(avoid);
      this.refreshing = r;
      r.then((t) => (this.topology = Promise.resolve(t)), () => {}).finally(() => {
        if (this.refreshing === r) this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /**
   * Asks the seed nodes, then every node this client knows, in turn: the first that answers says
   * whether it runs in cluster mode and, if so, which primary serves each slot.
   */
  private async discover(avoid?: string): Promise<Topology> {
    const known = [...this.seeds.nodes.map((n) => addressOf(n.host, n.port)), ...this.known];
    const candidates = [...new Set(known)].sort((a, b) => Number(a === avoid) - Number(b === avoid));
    let last: Error | undefined;
    for (const address of candidates) {
      try {
        const c = await this.pool(address).connection();
        // A user denied INFO (ACL @dangerous) still learns the answer from CLUSTER SLOTS's refusal.
        const info = await c.send(['INFO', 'cluster'], 'reply', 0).then((r) => String(r.parsed), (err) => {
          if (err instanceof RedisReplyError) return 'cluster_enabled:1';
          throw err;
        });
        if (!/^cluster_enabled:1/m.test(info)) return { cluster: false, address };
        const slotMap = await c.send(['CLUSTER', 'SLOTS'], 'reply', 0).catch((err) => {
          if (err instanceof RedisReplyError && /cluster support disabled/i.test(err.reply)) return null;
          throw err;
        });
        if (!slotMap) return { cluster: false, address };
        const ranges = slotMap.parsed as [number, number, [Buffer, number, ...unknown[]], ...unknown[]][];
        const slots: (string | undefined)[] = new Array(SLOTS);
        const asked = splitAddress(address).host;
        // An empty or unknown endpoint means: the host this reply came from.
        const nodeAddress = ([host, port]: [Buffer, number, ...unknown[]]) => addressOf(host.length === 0 || host.toString() === '?' ? asked : host.toString(), port);
        for (const [from, to, primary, ...replicas] of ranges) {
          const a = nodeAddress(primary);
          for (let s = from; s <= to; s++) slots[s] = a;
          this.known.add(a);
          for (const r of replicas as [Buffer, number][]) this.known.add(nodeAddress(r));
        }
        return { cluster: true, slots };
      } catch (err) {
        last = err as Error;
      }
    }
    throw last ?? new BulkClientError('REDIS_URL names no Redis node');
  }

  /**
   * Sends one command about `key` to the node that serves it, following MOVED and ASK; on a
   * cluster, a node that cannot be reached makes it read the slot map again and retry once.
   */
  private async send(key: string, args: Arg[], out: Pending['out'] = null, at = 0): Promise<Reply> {
    let topo = await this.current();
    const slot = topo.cluster ? keySlot(key) : -1;
    const addressIn = (t: Topology) => {
      if (!t.cluster) return t.address;
      const a = t.slots[slot];
      if (!a) throw new BulkClientError(`the Redis Cluster at ${this.seeds.nodes.map((n) => addressOf(n.host, n.port)).join(',')} has no node for slot ${slot} (CLUSTERDOWN?)`);
      return a;
    };
    let address = addressIn(topo);
    let asking = false;
    let redirects = 0;
    let retried = false;
    let downSince: number | undefined;
    for (;;) {
      try {
        const c = await this.pool(address).connection();
        // Both go out back to back on one connection, as ASK requires.
        if (asking) void c.send(['ASKING'], null, 0).catch(() => {});
        return await c.send(args, out, at);
      } catch (err) {
        if (!topo.cluster) throw err;
        const r = redirectOf(err);
        if (r && redirects++ < MAX_REDIRECTS) {
          const to = r.address.startsWith(':') ? `${splitAddress(address).host}${r.address}` : r.address;
          asking = r.ask;
          if (!r.ask) {
            topo.slots[r.slot] = to;
            void this.refresh().catch(() => {});
          }
          address = to;
          continue;
        }
        if (err instanceof RedisReplyError && /^(CLUSTERDOWN|TRYAGAIN)\b/.test(err.reply) && Date.now() - (downSince ??= Date.now()) < CLUSTER_DOWN_WAIT_MS) {
          await new Promise((r) => setTimeout(r, CLUSTER_RETRY_MS));
          asking = false;
          topo = await this.refresh().catch(() => topo);
          address = addressIn(topo);
          continue;
        }
        if (err instanceof BulkClientError && err.unreachable && !retried) {
          retried = true;
          asking = false;
          topo = await this.refresh(address).catch(() => Promise.reject(err));
          address = addressIn(topo);
          continue;
        }
        throw err;
      }
    }
  }

  async readInto(key: string, out: Buffer, from: number, to: number, rangeBytes: number): Promise<boolean> {
    const reads: Promise<boolean>[] = [];
    for (let off = from; off < to; off += rangeBytes) {
      const end = Math.min(to, off + rangeBytes);
      reads.push(this.send(key, ['GETRANGE', key, off, end - 1], out, off).then((r) => r.n === end - off));
    }
    return (await Promise.all(reads)).every(Boolean);
  }

  async range(key: string, from: number, to: number): Promise<Buffer> {
    if (to <= from) return Buffer.alloc(0);
    return (await this.send(key, ['GETRANGE', key, from, to - 1], 'alloc')).value ?? Buffer.alloc(0);
  }

  async head(key: string, bytes: number): Promise<BlobHead | null> {
    const [len, head] = await Promise.all([this.send(key, ['STRLEN', key]), this.send(key, ['GETRANGE', key, 0, bytes - 1], 'alloc')]);
    if (len.n === 0 && (await this.send(key, ['EXISTS', key])).n === 0) return null;
    return { length: len.n, head: head.value ?? Buffer.alloc(0) };
  }

  /** STRLEN of every key (0 where missing), spread over the connections. */
  async sizes(keys: string[]): Promise<number[]> {
    return Promise.all(keys.map(async (key) => (await this.send(key, ['STRLEN', key])).n));
  }

  /** GET of every key (null where missing), spread over the connections. */
  async getMany(keys: string[]): Promise<(Buffer | null)[]> {
    return Promise.all(keys.map(async (key) => (await this.send(key, ['GET', key], 'alloc')).value));
  }

  /** SET of every value (with an expiry when ttlMs is given), spread over the connections. */
  async setMany(entries: BlobEntry[], ttlMs?: number): Promise<void> {
    await Promise.all(entries.map(({ key, value }) => this.send(key, ttlMs === undefined ? ['SET', key, value] : ['SET', key, value, 'PX', ttlMs])));
  }

  async expire(keys: string[], ttlMs: number | null): Promise<boolean[]> {
    return Promise.all(keys.map(async (key) => (await this.send(key, ttlMs === null ? ['PERSIST', key] : ['PEXPIRE', key, ttlMs])).n === 1));
  }

  /** UNLINKs of up to 300 keys, each of one slot on a cluster. */
  async delete(keys: string[]): Promise<void> {
    const topo = await this.current();
    const groups = topo.cluster ? [...bySlot(keys).values()].map((at) => at.map((i) => keys[i])) : [keys];
    const batches: string[][] = [];
    for (const g of groups) for (let i = 0; i < g.length; i += UNLINK_KEYS) batches.push(g.slice(i, i + UNLINK_KEYS));
    await Promise.all(batches.map((b) => this.send(b[0], ['UNLINK', ...b])));
  }

  /** Which node serves `key` now (host:port), for tests and the benchmark. */
  async nodeOf(key: string): Promise<string> {
    const t = await this.current();
    return t.cluster ? (t.slots[keySlot(key)] ?? '?') : t.address;
  }

  close(): void {
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
    this.topology = null;
  }
}
