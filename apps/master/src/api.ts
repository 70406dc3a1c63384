/** The master's HTTP API for clients (CLI, console, scripts). Thin: validation and routing only. */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  DatasetError, TandemError, asTandemError, changeRequestSchema, errorBody, gcRequestSchema, isFinishedPhase, jobQuerySchema, parseRequest,
  isAuthorized, metricsHandler, requireClusterSecret, submitRequestSchema, validateDatasetName, type ChangeReply, type GcReport, type JobList, type Logger, type MasterHealth, type MasterLiveness, type JobTypesView, type Metrics,
} from '@tandem/shared';
import { alertTexts, type Alert } from './alerts.ts';
import type { Master } from './master.ts';
import type { Reply } from './state.ts';
import { jobDetail, jobSummary } from './views.ts';

/** A dataset name is checked here, so a bad one is refused naming the field before any lookup. */
const datasetName = z.string().superRefine((name, ctx) => {
  try {
    validateDatasetName(name);
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
});
const submitBody = submitRequestSchema.extend({ dataset: datasetName });

/** Problems the master can see that hold every running job up. */
export type AlertSource = () => Alert[];

export function createApi(
  master: Master, log: Logger, processAlerts: AlertSource = () => [], secret?: string,
  cluster?: () => Pick<MasterHealth, 'prefix' | 'redis'>, jobTypes?: () => Promise<JobTypesView>, metrics?: Metrics,
): express.Express {
  const app = express();
  // A past loss of Redis data does not hold a running job up: /health shows it, a job's alerts do not.
  const healthAlerts = () => alertTexts([...processAlerts(), ...master.alerts()]);
  const alerts = () => alertTexts(processAlerts());

  /** Answers a change's reply; `apply` says why it refused one (not_found or conflict). */
  const answer = (res: Response, reply: Reply, jobId: string) => {
    const lost = !reply.ok && reply.code === 'not_found' ? master.lostJob(jobId) : null;
    if (lost) throw new TandemError('lost', lost);
    if (!reply.ok) throw new TandemError(reply.code, reply.error);
    res.json({ ok: true, jobId: reply.jobId, phase: reply.phase } satisfies ChangeReply);
  };

  // Any master answers /health, whatever its role; it says which role that is.
  app.get('/health', (req, res) => {
    master.replication.settle();
    const r = master.replication.state;
    // Open for liveness probes, but a stranger learns only that it lives and in which role.
    if (!isAuthorized(req, secret)) {
      res.json({ ok: true, role: r.role } satisfies MasterLiveness);
      return;
    }
    const f = master.replication.forwarded;
    res.json({
      ok: true, pid: process.pid, role: r.role, view: r.view, hasState: r.hasState, jobs: Object.keys(master.state.jobs).length,
      replication: { batches: f.batches, ops: f.ops, meanMs: f.batches ? f.ms / f.batches : null },
      alerts: healthAlerts(),
      ...cluster?.(),
    } satisfies MasterHealth);
  });
  // Prometheus's scrape, whatever the role (a backup exports no job or task series): the handler checks the bearer itself.
  if (metrics) app.get('/metrics', metricsHandler(metrics, secret));
  app.use(requireClusterSecret(secret));
  app.use(express.json({ limit: '256kb' }));
  // Everything else is the primary's, and a read is confirmed through the backup first.
  app.use((_req, _res, next) => {
    next(master.replication.serving ? undefined : master.replication.notPrimary());
  });
  app.post('/jobs', async (req, res) => {
    const reply = await master.submit(parseRequest(submitBody, req.body ?? {}));
    answer(res, reply, reply.ok ? reply.jobId : '');
  });
  app.get('/jobs', async (_req, res) => {
    await master.confirmRead();
    const now = alerts();
    const jobs = Object.values(master.state.jobs).sort((a, b) => b.submittedAt - a.submittedAt).map(jobSummary)
      .map((j) => ({ ...j, alerts: isFinishedPhase(j.phase) ? [] : now }));
    res.json({ jobs } satisfies JobList);
  });
  // ?after=V&waitMs=N: answer as soon as the job's version differs from V (long poll), at most N ms later;
  // &holdMs=H: a change that leaves the job running no sooner than H ms after the request (the client's pace).
  app.get('/jobs/:id', async (req, res) => {
    const id = req.params.id;
    const q = parseRequest(jobQuerySchema, req.query, 'bad query');
    if (q.after !== undefined && master.state.jobs[id]) await master.waitForChange(id, q.after, q.waitMs, q.holdMs);
    await master.confirmRead();
    const job = master.state.jobs[id];
    if (!job) {
      const lost = master.lostJob(id);
      throw lost ? new TandemError('lost', lost) : new TandemError('not_found', `job ${id} does not exist`);
    }
    const view = q.tasks ? jobDetail(job) : jobSummary(job);
    res.json({ ...view, alerts: isFinishedPhase(view.phase) ? [] : alerts() });
  });
  app.post('/jobs/:id/cancel', async (req, res) => {
    answer(res, await master.cancel(parseRequest(changeRequestSchema, req.body ?? {}), req.params.id), req.params.id);
  });
  app.post('/jobs/:id/remove', async (req, res) => {
    answer(res, await master.remove(parseRequest(changeRequestSchema, req.body ?? {}), req.params.id), req.params.id);
  });
  // The job types the primary runs and what every live master and worker reports (jobs/src/report.ts).
  app.get('/job-types', async (_req, res) => {
    if (!jobTypes) throw new TandemError('not_found', 'this master does not report job types');
    res.json(await jobTypes());
  });
  app.post('/gc', async (req, res) => {
    const { dryRun } = parseRequest(gcRequestSchema, req.body ?? {});
    res.json(await master.gc(dryRun) satisfies GcReport);
  });
  app.use((req, _res, next) => next(new TandemError('not_found', `a master has no ${req.method} ${req.path}; see "HTTP APIs" in README.md`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // The master's own refusals of a submit (unknown type, bad parameter, unknown dataset, ...) name what is wrong.
    const e = asTandemError(err, (x) => {
      log.error({ err: x.message, stack: x.stack }, 'request failed');
    });
    res.status(e.status).json(errorBody(e));
  });
  return app;
}
