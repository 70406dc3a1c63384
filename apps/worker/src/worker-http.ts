/**
 * A worker's own small HTTP listener (TANDEM_METRICS_HOST:TANDEM_METRICS_PORT; HTTPS with
 * TANDEM_TLS_CERT): GET /metrics for Prometheus (the cluster secret as a bearer token when set) and
 * GET /health, open, for probes: 200 while the worker takes tasks, 503 once it is stopping (so a
 * readiness probe takes it out). Anything else is a 404 or 405, in JSON.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOrExit, metricsHandler, type Logger, type Metrics, type ServerTls } from '@tandem/shared';

export interface WorkerHealth {
  ok: boolean;
  role: 'worker';
  name: string;
  /** Tasks running in this process now. */
  running: number;
  /** Told to stop: it takes no new task and finishes (or hands back) the ones it runs. */
  stopping: boolean;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
};

/** The listener's routes; `health` says how the worker is at the moment of the request. */
export function workerRoutes(metrics: Metrics, secret: string | undefined, health: () => Omit<WorkerHealth, 'ok' | 'role'>): RequestListener {
  const scrape = metricsHandler(metrics, secret);
  return (req: IncomingMessage, res: ServerResponse) => {
    // The request's body, if any, is not read: drain it so the connection can be reused.
    req.resume();
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (path !== '/metrics' && path !== '/health') {
      return json(res, 404, { ok: false, code: 'not_found', error: `no ${path} on a worker; it serves GET /metrics and GET /health` });
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return json(res, 405, { ok: false, code: 'method_not_allowed', error: `${path} takes GET only, not ${req.method}` });
    }
    if (path === '/metrics') return scrape(req, res);
    const h = health();
    json(res, h.stopping ? 503 : 200, { ok: !h.stopping, role: 'worker', ...h } satisfies WorkerHealth);
  };
}

/** The URL a local client reaches `server` at (a wildcard address shown as loopback). */
export function listenerUrl(server: Server, scheme: 'http' | 'https', path = '/'): string {
  const a = server.address() as AddressInfo;
  const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${a.port}${path}`;
}

/** Serves `routes` on host:port, logging `metrics at URL` once listening; a port that cannot be had ends the process (listenOrExit). */
export function startWorkerHttp(routes: RequestListener, where: { host: string; port: number; tls?: ServerTls }, log: Logger): Promise<Server> {
  return new Promise((resolve) => {
    const server = listenOrExit(routes, { ...where, portVar: 'TANDEM_METRICS_PORT' }, log, () => {
      const url = listenerUrl(server, where.tls ? 'https' : 'http', '/metrics');
      log.info({ url }, `metrics at ${url}`);
      resolve(server);
    });
  });
}
