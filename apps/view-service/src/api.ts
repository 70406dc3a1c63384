/** The view service's HTTP API: POST /ping, GET /view (volunteers nothing), GET /status. */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '@tandem/shared';
import type { ViewService } from './service.ts';

const pingBody = z.object({ server: z.string().min(1).max(200), viewnum: z.number().int().min(0), clock: z.number().int().min(0).optional() });

export function createViewApi(vs: ViewService, log: Logger): express.Express {
  const app = express();
  app.use(express.json({ limit: '16kb' }));
  app.post('/ping', (req, res) => {
    const r = pingBody.safeParse(req.body);
    if (!r.success) {
      res.status(400).json({ ok: false, error: `bad ping: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` });
      return;
    }
    vs.clock.receive(r.data.clock ?? 0);
    res.json({ ok: true, view: vs.ping(r.data.server, r.data.viewnum), clock: vs.clock.tick() });
  });
  app.get('/view', (_req, res) => {
    vs.lookups++;
    res.json({ ok: true, view: vs.view });
  });
  app.get('/status', (_req, res) => {
    res.json({ ok: true, ...vs.status() });
  });
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.parse.failed' || err.type === 'entity.too.large') {
      res.status(err.status ?? 400).json({ ok: false, error: `bad request body: ${err.message}` });
      return;
    }
    log.error({ err: err.message }, 'request failed');
    res.status(500).json({ ok: false, error: `internal error: ${err.message}` });
  });
  return app;
}
