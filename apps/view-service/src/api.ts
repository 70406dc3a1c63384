/**
 * The view service's HTTP API: POST /ping, GET /view (volunteers nothing), GET /status. A ping whose
 * view cannot be recorded in Redis is answered 503 `unavailable`, and so is every one of the three
 * while this service does not hold the view-service lease (naming the holder). With a cluster secret, every route
 * but GET /health (which says only that the process is up) refuses a request without it (401
 * `unauthorized`); GET /metrics (Prometheus) checks the same secret as a bearer itself. `service`
 * throws (503) until the process has reached Redis and made its service.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  TandemError, asTandemError, errorBody, metricsHandler, parseRequest, requireClusterSecret, pingRequestSchema, type Logger, type PingReply, type ViewReply, type ViewStatus, type Metrics,
} from '@tandem/shared';
import type { ViewService } from './service.ts';

export function createViewApi(service: () => ViewService, log: Logger, secret?: string, metrics?: Metrics): express.Express {
  const app = express();
  // For container healthchecks: answers without a secret, so it says nothing about the view.
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  // Prometheus's scrape: the handler checks the bearer itself.
  if (metrics) app.get('/metrics', metricsHandler(metrics, secret));
  // Before the body is even parsed: a forged ping must not reach the view's rules.
  app.use(requireClusterSecret(secret));
  app.use(express.json({ limit: '16kb' }));
  app.post('/ping', async (req, res) => {
    const ping = parseRequest(pingRequestSchema, req.body, 'bad ping');
    const vs = service();
    vs.clock.receive(ping.clock ?? 0);
    const view = await vs.ping(ping.server, ping.viewnum, ping.seq);
    res.json({ ok: true, view, lease: vs.lease, clock: vs.clock.tick(), logSeq: vs.logSeq } satisfies PingReply);
  });
  app.get('/view', (_req, res) => {
    res.json({ ok: true, view: service().lookup() } satisfies ViewReply);
  });
  app.get('/status', (_req, res) => {
    res.json({ ok: true, ...service().status() } satisfies ViewStatus & { ok: true });
  });
  app.use((req, _res, next) => next(new TandemError('not_found', `the view service has no ${req.method} ${req.path}; it answers POST /ping, GET /view, GET /status, GET /metrics and GET /health`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = asTandemError(err, (x) => log.error({ err: x.message, stack: x.stack }, 'request failed'));
    res.status(e.status).json(errorBody(e));
  });
  return app;
}
