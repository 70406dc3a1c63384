/**
 * The wire between primary and backup: one long-lived TCP connection per backup, opened as an
 * HTTP upgrade on the backup's ordinary port (`GET /replica/stream`, so no extra port to configure),
 * then newline-delimited JSON: the primary writes one request per line, the backup answers each
 * with one line, in order.
 *
 * Why not plain HTTP requests: every forwarded batch sits on the path of a client's operation, and
 * on loopback an HTTP request through express costs about 10× a line on an open socket (measured:
 * 0.5 ms vs 0.05 ms per round trip in one process; docs/BENCHMARKS.md has the effect end to end).
 *
 * With TLS on (an https: backup URL), the same upgrade runs inside TLS, verified like every client
 * (Node's roots plus TANDEM_TLS_CA, host name checked).
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { authHeader, clientCa, errorBody, explainNetworkError, isAuthorized, unauthorized, type Logger } from '@tandem/shared';

export const STREAM_PATH = '/replica/stream';
const PROTOCOL = 'tandem-replica';

/** Splits a byte stream into lines and hands each (without the newline) to `onLine`. */
function readLines(stream: Duplex, onLine: (line: string) => void): void {
  let chunks: Buffer[] = [];
  stream.on('data', (data: Buffer) => {
    let start = 0;
    for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, start)) {
      chunks.push(data.subarray(start, i));
      const line = Buffer.concat(chunks).toString('utf8');
      chunks = [];
      start = i + 1;
      onLine(line);
    }
    if (start < data.length) chunks.push(data.subarray(start));
  });
}

/** Primary side: requests to one backup, one at a time. Reconnects on the next request after any failure. */
export class ReplicaChannel {
  private socket: Duplex | null = null;
  private connecting: Promise<Duplex> | null = null;
  private waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;

  constructor(
    readonly url: string,
    private readonly secret?: string,
  ) {}

  private connect(timeoutMs: number): Promise<Duplex> {
    if (this.socket) return Promise.resolve(this.socket);
    if (this.connecting) return this.connecting;
    const u = new URL(STREAM_PATH, this.url);
    this.connecting = new Promise<Duplex>((resolve, rejectRaw) => {
      const reject = (err: Error) => rejectRaw(explainNetworkError(this.url, err));
      const secure = u.protocol === 'https:';
      const options: https.RequestOptions = {
        host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || (secure ? 443 : 80), path: u.pathname, timeout: timeoutMs,
        headers: { connection: 'Upgrade', upgrade: PROTOCOL, ...authHeader(this.secret) },
      };
      let req: http.ClientRequest;
      try {
        req = secure ? https.request({ ...options, ca: clientCa(), agent: false }) : http.request(options);
      } catch (err) {
        rejectRaw(err as Error);
        return;
      }
      req.on('upgrade', (_res, socket) => {
        (socket as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
        readLines(socket, (line) => this.answer(line));
        const lost = (err?: Error) => this.lost(socket, err ?? new Error(`connection to ${this.url} closed`));
        socket.on('error', lost);
        socket.on('close', () => lost());
        this.socket = socket;
        resolve(socket);
      });
      req.on('response', (res) => {
        res.resume();
        reject(new Error(`${this.url} answered ${res.statusCode} instead of upgrading to the replication stream`));
      });
      req.on('timeout', () => req.destroy(new Error(`${this.url} did not accept the replication stream within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private answer(line: string): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = null;
    clearTimeout(w.timer);
    try {
      w.resolve(JSON.parse(line));
    } catch (err) {
      w.reject(err as Error);
    }
  }

  private lost(socket: Duplex, err: Error): void {
    if (this.socket === socket) this.socket = null;
    socket.destroy();
    const w = this.waiting;
    this.waiting = null;
    if (w) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  /** Sends one request and resolves with the backup's answer; rejects on a network failure or after `timeoutMs`. */
  async request<T>(body: object, timeoutMs: number): Promise<T> {
    if (this.waiting) throw new Error('replication channel: one request at a time');
    const socket = await this.connect(timeoutMs);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.lost(socket, new Error(`${this.url} did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = { resolve: resolve as (v: unknown) => void, reject, timer };
      socket.write(JSON.stringify(body) + '\n');
    });
  }

  close(): void {
    if (this.socket) this.lost(this.socket, new Error('replication channel closed'));
  }
}

/**
 * Backup side: accepts replication streams on `server` and answers each line with `handle`'s
 * result, strictly in order (the next line is handled only after the previous answer is written).
 */
export function acceptReplicaStreams(server: http.Server | https.Server, handle: (msg: Record<string, unknown>) => Promise<object>, log: Logger, secret?: string): void {
  server.on('upgrade', (req, socket: Duplex) => {
    // Checked before the path, so a stranger learns nothing of what this port upgrades to.
    if (!isAuthorized(req, secret)) {
      const body = JSON.stringify(errorBody(unauthorized()));
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    if (req.url !== STREAM_PATH || req.headers.upgrade !== PROTOCOL) {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      return;
    }
    (socket as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${PROTOCOL}\r\n\r\n`);
    socket.on('error', () => socket.destroy());
    let chain = Promise.resolve();
    readLines(socket, (line) => {
      chain = chain.then(async () => {
        let answer: object;
        try {
          answer = await handle(JSON.parse(line) as Record<string, unknown>);
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'bad replication message');
          answer = { ok: false, refused: `bad message: ${(err as Error).message}`, clock: 0 };
        }
        if (!socket.destroyed) socket.write(JSON.stringify(answer) + '\n');
      });
    });
  });
}
