/** The master's HTTP API for clients (CLI, console, scripts). Thin: validation and routing only. */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { isFinishedPhase, type Logger } from '@tandem/shared';
import { Master, RequestError } from './master.ts';
import { NotPrimaryError } from './replication.ts';
import { jobDetail, jobSummary } from './views.ts';

const clientFields = { clientId: z.string().min(1).max(200), requestId: z.string().min(1).max(200) };
const submitBody = z.object({
  ...clientFields,
  type: z.string().min(1),
  dataset: z.string().min(1),
  params: z.record(z.string(), z.string()).default({}),
  partitions: z.number().int().optional(),
});
const clientBody = z.object(clientFields);

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw new RequestError(`bad request: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** Problems the master can see that hold every running job up. */
export type AlertSource = () => string[];

export function createApi(master: Master, log: Logger, alerts: AlertSource = () => []): express.Express {
  const app = express();

  app.use(express.json({ limit: '256kb' }));
  // Any master answers /health, whatever its role; it says which role that is.
  app.get('/health', (_req, res) => {
    master.replication.settle();
    const r = master.replication.state;
    const f = master.replication.forwarded;
    res.json({
      ok: true, pid: process.pid, role: r.role, view: r.view, hasState: r.hasState, jobs: Object.keys(master.state.jobs).length,
      replication: { batches: f.batches, ops: f.ops, meanMs: f.batches ? f.ms / f.batches : null },
      alerts: alerts(),
    });
  });
  // Everything else is the primary's, and a read is confirmed through the backup first.
  app.use((_req, _res, next) => {
    next(master.replication.serving ? undefined : master.replication.notPrimary());
  });
  app.post('/jobs', async (req, res) => {
    const reply = await master.submit(parse(submitBody, req.body));
    res.status(reply.ok ? 200 : 400).json(reply);
  });
  app.get('/jobs', async (_req, res) => {
    await master.confirmRead();
    const now = alerts();
    const jobs = Object.values(master.state.jobs).sort((a, b) => b.submittedAt - a.submittedAt).map(jobSummary)
      .map((j) => ({ ...j, alerts: isFinishedPhase(j.phase) ? [] : now }));
    res.json({ jobs });
  });
  // ?after=V&waitMs=N: answer as soon as the job's version differs from V (long poll), at most N ms later.
  app.get('/jobs/:id', async (req, res) => {
    const id = req.params.id;
    const after = req.query.after === undefined ? NaN : Number(req.query.after);
    if (Number.isInteger(after) && master.state.jobs[id]) {
      const waitMs = Math.min(60_000, Math.max(0, Number(req.query.waitMs ?? 25_000) || 0));
      await master.waitForChange(id, after, waitMs);
    }
    await master.confirmRead();
    const job = master.state.jobs[id];
    if (!job) {
      res.status(404).json({ ok: false, error: `job ${id} does not exist` });
      return;
    }
    const view = req.query.tasks ? jobDetail(job) : jobSummary(job);
    res.json({ ...view, alerts: isFinishedPhase(view.phase) ? [] : alerts() });
  });
  app.post('/jobs/:id/cancel', async (req, res) => {
    const { clientId, requestId } = parse(clientBody, req.body);
    const reply = await master.cancel(clientId, requestId, req.params.id);
    res.status(reply.ok ? 200 : 400).json(reply);
  });
  app.post('/jobs/:id/remove', async (req, res) => {
    const { clientId, requestId } = parse(clientBody, req.body);
    const reply = await master.remove(clientId, requestId, req.params.id);
    res.status(reply.ok ? 200 : 400).json(reply);
  });
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof NotPrimaryError) {
      res.status(503).json({ ok: false, notPrimary: true, error: err.message, view: err.view });
      return;
    }
    if (err instanceof RequestError) {
      res.status(400).json({ ok: false, error: err.message });
      return;
    }
    if (err.type === 'entity.parse.failed' || err.type === 'entity.too.large') {
      res.status(err.status ?? 400).json({ ok: false, error: `bad request body: ${err.message}` });
      return;
    }
    log.error({ err: err.message, stack: err.stack }, 'request failed');
    res.status(500).json({ ok: false, error: `internal error: ${err.message}` });
  });
  return app;
}
