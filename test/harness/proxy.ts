/**
 * An HTTP proxy for tests that loses replies: it forwards each request to the target, waits for the
 * target's whole answer (so the request has taken effect there), and then, while `drop` says so,
 * destroys the client's connection instead of passing the answer on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DroppingProxy {
  url: string;
  /** Requests forwarded, and replies swallowed. */
  forwarded: number;
  dropped: number;
  close(): Promise<void>;
}

export function startDroppingProxy(target: string, drop: (req: http.IncomingMessage, n: number) => boolean): Promise<DroppingProxy> {
  const t = new URL(target);
  const proxy: DroppingProxy = { url: '', forwarded: 0, dropped: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    const n = proxy.forwarded++;
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        if (drop(req, n)) {
          proxy.dropped++;
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(Buffer.concat(chunks));
      });
    });
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      proxy.close = () => new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
      resolve(proxy);
    });
  });
}
