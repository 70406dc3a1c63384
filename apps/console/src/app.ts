/**
 * The console's HTTP app: the pages, the JSON API behind them, bull-board at /queues, the static
 * files, and the guards in front of all of it (security.ts). Pages are rendered on the server;
 * their scripts (public/console.js) only swap in fresh fragments of the same pages, so every value
 * on screen goes through the same escaping.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import {
  DatasetExistsError, TandemError, type DatasetMeta, asTandemError, errorBody, gcRequestSchema, isFinishedPhase, metricsHandler, outputRefusal, parseRequest, partitionsProblem, submitSpecSchema,
  type Logger, type Metrics,
} from '@tandem/shared';
import type { Html } from './html.ts';
import { overview, overviewPage, cluster, clusterPage, throughputCharts } from './pages/cluster.ts';
import { datasetPage, datasetsPage, deleteDatasetPage } from './pages/datasets.ts';
import { cancelJobPage, formParams, jobLive, jobPage, jobsPage, newJobPage, type JobForm } from './pages/jobs.ts';
import { jobsTable, layout } from './pages/layout.ts';
import { errorPage, loginPage } from './pages/login.ts';
import type { Platform } from './platform.ts';
import type { Throughput } from './throughput.ts';
import { authOfResponse, clearedCookie, guardRequests, localPath, securityHeaders, sessionCookie, type Guard } from './security.ts';
import { ConsoleError } from './errors.ts';
import { drainSmall, isUploadRequest, receiveUpload, type UploadOptions } from './upload.ts';
import { apiIds, apiIdFields, postedIds } from './request-ids.ts';

export interface ConsoleOptions {
  platform: Platform;
  guard: Guard;
  queues: Queue[];
  log: Logger;
  uploadMaxBytes: number;
  splitBytes: number;
  /** GET /metrics for Prometheus, behind the cluster secret (not the console's token). */
  metrics?: { metrics: Metrics; secret: string | undefined };
  /** The cluster page's throughput charts' samples (none: no charts). */
  throughput?: Throughput;
}

/** The API's submit: a client's spec, and optionally the ids that name the request (request-ids.ts). */
const submitBody = submitSpecSchema.extend(apiIdFields).strict();
const cancelBody = z.object(apiIdFields).strict();

/**
 * A failure as the typed error the user sees: the masters' refusals and the dataset store's errors
 * arrive typed. A taken name gets the console's own advice instead of the CLI's flag.
 */
function failure(err: unknown): TandemError {
  if (err instanceof DatasetExistsError) return new TandemError('conflict', `${err.message.replace(/; use --replace$/, '')}; tick "replace" (API: replace=1) to replace it`);
  return asTandemError(err);
}

/**
 * bull-board's page as it renders it, less what it would fetch from elsewhere (its template links
 * Google's web fonts; offline that fails, and online it tells Google who looks at the queues). Its
 * styles fall back to the system's fonts.
 */
export function withoutForeignResources(page: string): string {
  return page.replace(/<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>\s*/gi, '').replace(/<script\b[^>]*\bsrc="(?:https?:)?\/\/[^"]*"[^>]*>\s*<\/script>\s*/gi, '');
}

/** bull-board's express app, its page rendered without foreign resources (its views engine, wrapped). */
function localOnly(board: express.Express): express.Express {
  const engines = (board as unknown as { engines: Record<string, (path: string, options: object, done: (err: Error | null, page?: string) => void) => void> }).engines;
  const render = engines['.ejs'];
  if (!render) throw new Error('bull-board has no ejs views engine to wrap; its page would load web fonts from Google');
  board.engine('ejs', (path, options, done) => render(path, options, (err, page) => (err ? done(err) : done(null, withoutForeignResources(page ?? '')))));
  return board;
}

const wants = (req: Request) => (req.path.startsWith('/api/') ? 'json' : 'html');

export function createConsole(o: ConsoleOptions): express.Express {
  const { platform, guard } = o;
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  // For container healthchecks, before the guard: answers without a login, so it says nothing.
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  // Prometheus's scrape, before the login guard: it takes the cluster secret as a bearer, checked by the handler.
  if (o.metrics) app.get('/metrics', metricsHandler(o.metrics.metrics, o.metrics.secret));
  app.use('/static', express.static(fileURLToPath(new URL('./public/', import.meta.url)), { maxAge: '1h' }));
  // Small bodies only: forms and JSON. An upload's body (multipart or the file itself) is left
  // unread here and streams into the dataset store (see upload.ts).
  const isUpload = (req: Request) => isUploadRequest(req.method, req.path);
  const multipart = (req: Request) => isUpload(req) && /^multipart\/form-data\b/i.test(req.get('content-type') ?? '');
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  const json = express.json({ limit: '64kb' });
  app.use((req, res, next) => (isUpload(req) ? next() : form(req, res, next)));
  app.use((req, res, next) => (isUpload(req) ? next() : json(req, res, next)));
  // A no-JS upload form carries its form token as a multipart field, checked before the file is stored.
  app.use(guardRequests(guard, (path) => path === '/login' || path.startsWith('/static/'), multipart));

  /** The form token of the page being answered: its session's own, or the open console's. */
  const csrf = (res: Response) => authOfResponse(res)?.csrf ?? '';
  const send = (req: Request, res: Response, title: string, body: Html, status = 200) =>
    res.status(status).type('html').send(layout({ csrf: csrf(res), locked: guard.locked, path: req.path }, title, body).value);
  const fragment = (req: Request) => req.query.fragment === '1';
  const charts = () => o.throughput && throughputCharts(o.throughput.points(), Date.now(), o.throughput.windowMs, o.throughput.everyMs);

  // bull-board, read-only: the masters own the tasks; a retry or a removal by hand would fight them.
  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: o.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true, description: `Tandem ${q.name} tasks` })),
    serverAdapter: board,
    options: {
      uiConfig: {
        boardTitle: 'Tandem queues',
        boardLogo: { path: '/static/logo.svg', width: 28, height: 28 },
        favIcon: { default: '/static/logo.svg', alternative: '/static/logo.svg' },
        miscLinks: [{ text: 'Back to the console', url: '/' }],
      },
    },
  });
  app.use('/queues', localOnly(board.getRouter()));

  // --- login

  app.get('/login', (req, res) => {
    if (!guard.locked) return res.redirect(303, '/');
    send(req, res, 'Log in', loginPage(localPath(req.query.next)));
  });
  app.post('/login', async (req, res) => {
    const next = localPath(req.body?.next);
    if (!guard.sessions) return res.redirect(303, next);
    // The socket's address: the console trusts no X-Forwarded-For, so clients behind one proxy share a limit.
    const address = req.socket.remoteAddress ?? 'unknown';
    const attempt = await guard.sessions.attempt(address);
    if (!attempt.admitted) {
      const { maxFailures, windowS } = guard.sessions.settings;
      o.log.warn({ address, retryAfterS: attempt.retryAfterS }, 'console login refused: too many failed attempts');
      res.set('Retry-After', String(attempt.retryAfterS));
      send(req, res, 'Log in', loginPage(next, `Too many failed logins from ${address} (${maxFailures} in ${windowS} s, TANDEM_CONSOLE_LOGIN_MAX_FAILURES): try again in ${attempt.retryAfterS} s.`), 429);
      return;
    }
    if (typeof req.body?.token !== 'string' || !guard.checkToken(req.body.token)) {
      o.log.warn({ address }, 'console login with a wrong token');
      send(req, res, 'Log in', loginPage(next, 'That is not the token this console was started with.'), 401);
      return;
    }
    await attempt.forget();
    const session = await guard.sessions.create();
    res.set('Set-Cookie', sessionCookie(session.id, guard.sessions.settings.ttlS, req.secure));
    res.redirect(303, next);
  });
  app.post('/logout', async (_req, res) => {
    const id = authOfResponse(res)?.sessionId;
    if (id) await guard.sessions?.revoke(id);
    res.set('Set-Cookie', clearedCookie);
    res.redirect(303, '/login');
  });

  // --- JSON API

  app.get('/api/cluster', async (_req, res) => {
    res.json(await platform.cluster());
  });
  app.get('/api/job-types', (_req, res) => {
    res.json({ types: platform.types() });
  });
  app.get('/api/datasets', async (_req, res) => {
    res.json({ datasets: await platform.datasets() });
  });
  app.get('/api/datasets/:name', async (req, res) => {
    const lines = Math.min(1000, Math.max(0, Number(req.query.lines ?? 20) || 0));
    res.json(await platform.dataset(req.params.name, lines));
  });
  const uploadOptions = (req: Request, res: Response, query: Record<string, unknown>): UploadOptions => ({
    query, maxBytes: o.uploadMaxBytes, splitBytes: o.splitBytes, formToken: res.locals.formToken as string | undefined,
  });
  const uploaded = (meta: DatasetMeta, via: string) =>
    o.log.info({ dataset: meta.name, format: meta.format, bytes: meta.bytes, records: meta.records, via }, 'dataset uploaded');
  app.post('/api/datasets', async (req, res) => {
    const meta = await receiveUpload(req, platform, uploadOptions(req, res, req.query as Record<string, unknown>));
    uploaded(meta, 'api');
    res.status(201).json({ ok: true, dataset: meta });
  });
  // curl -T FILE .../api/datasets/NAME; an existing NAME is a 409 unless ?replace=1.
  app.put('/api/datasets/:name', async (req, res) => {
    const meta = await receiveUpload(req, platform, uploadOptions(req, res, { ...(req.query as Record<string, unknown>), name: req.params.name }));
    uploaded(meta, 'put');
    res.status(201).json({ ok: true, dataset: meta });
  });
  app.put('/api/datasets', () => {
    throw new TandemError('not_found', 'nothing here: PUT /api/datasets; PUT the file to /api/datasets/NAME (curl -T FILE http://HOST/api/datasets/NAME), or POST it to /api/datasets?name=NAME');
  });
  app.get('/api/jobs', async (_req, res) => {
    res.json({ jobs: await platform.jobs() });
  });
  app.post('/api/jobs', async (req, res) => {
    const { clientId, requestId, firstUnanswered, ...spec } = parseRequest(submitBody, req.body, 'bad job request');
    const jobId = await platform.submit(spec, apiIds(req.get('idempotency-key'), { clientId, requestId, firstUnanswered }));
    res.status(201).json({ ok: true, jobId });
  });
  // ?after=V: a long poll, answered once the job has changed after version V.
  app.get('/api/jobs/:id', async (req, res) => {
    const after = req.query.after === undefined ? undefined : Number(req.query.after);
    res.json(await platform.job(req.params.id, Number.isInteger(after) ? after : undefined));
  });
  app.get('/api/jobs/:id/events', async (req, res) => {
    res.json({ events: await platform.timeline(await platform.job(req.params.id)) });
  });
  app.get('/api/jobs/:id/output', async (req, res) => {
    const s = await platform.job(req.params.id);
    const refused = outputRefusal(s, 'ask again then');
    if (refused) throw new TandemError('conflict', refused);
    const lines = Math.min(10_000, Math.max(1, Number(req.query.lines ?? 20) || 20));
    res.json({ lines: await platform.outputHead(s, lines) });
  });
  app.post('/api/gc', async (req, res) => {
    res.json(await platform.gc(parseRequest(gcRequestSchema, req.body ?? {}).dryRun));
  });
  app.post('/api/jobs/:id/cancel', async (req, res) => {
    await platform.cancel(req.params.id, apiIds(req.get('idempotency-key'), parseRequest(cancelBody, req.body ?? {}, 'bad cancel request')));
    res.json({ ok: true, jobId: req.params.id });
  });

  // --- pages

  app.get('/', async (req, res) => {
    const [c, jobs, datasets] = await Promise.all([platform.cluster(), platform.jobs().catch(() => []), platform.datasets()]);
    const body = overview(c, jobs, datasets);
    if (fragment(req)) return res.type('html').send(body.value);
    send(req, res, 'Overview', overviewPage(body));
  });
  app.get('/cluster', async (req, res) => {
    const body = cluster(await platform.cluster(), charts());
    if (fragment(req)) return res.type('html').send(body.value);
    send(req, res, 'Cluster', clusterPage(body, csrf(res)));
  });
  app.post('/cluster/gc', async (req, res) => {
    const report = await platform.gc((req.body as Record<string, unknown> | undefined)?.dryRun === '1');
    o.log.info({ dryRun: report.dryRun, jobs: report.orphanJobs, keys: report.keys, bytes: report.bytes }, 'gc from the console');
    send(req, res, 'Cluster', clusterPage(cluster(await platform.cluster(), charts()), csrf(res), report));
  });
  app.get('/datasets', async (req, res) => {
    send(req, res, 'Datasets', datasetsPage(await platform.datasets(), o.uploadMaxBytes, csrf(res)));
  });
  // The upload form without JavaScript: multipart, then the dataset's page, or the form with the reason.
  app.post('/datasets', async (req, res) => {
    try {
      const meta = await receiveUpload(req, platform, uploadOptions(req, res, req.query as Record<string, unknown>));
      uploaded(meta, 'form');
      res.redirect(303, `/datasets/${encodeURIComponent(meta.name)}`);
    } catch (err) {
      const f = failure(err);
      if (f.code === 'internal') throw err;
      if (!(await drainSmall(req))) res.set('Connection', 'close');
      send(req, res, 'Datasets', datasetsPage(await platform.datasets(), o.uploadMaxBytes, csrf(res), f.message), f.status);
    }
  });
  app.get('/datasets/:name', async (req, res) => {
    const { meta, head } = await platform.dataset(req.params.name);
    send(req, res, `Dataset ${meta.name}`, datasetPage(meta, head, csrf(res)));
  });
  // Deleting asks first: without confirm=yes the answer is the question (security.ts checks the form token of both posts).
  app.post('/datasets/:name/delete', async (req, res) => {
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
      const { meta } = await platform.dataset(req.params.name, 0);
      return send(req, res, `Delete dataset ${meta.name}?`, deleteDatasetPage(meta, csrf(res)));
    }
    await platform.removeDataset(req.params.name);
    o.log.info({ dataset: req.params.name }, 'dataset deleted from the console');
    res.redirect(303, '/datasets');
  });
  app.get('/jobs', async (req, res) => {
    const jobs = await platform.jobs();
    if (fragment(req)) return res.type('html').send(jobsTable(jobs).value);
    send(req, res, 'Jobs', jobsPage(jobs));
  });
  app.get('/jobs/new', async (req, res) => {
    const dataset = typeof req.query.dataset === 'string' ? req.query.dataset : undefined;
    const type = typeof req.query.type === 'string' ? req.query.type : undefined;
    send(req, res, 'New job', newJobPage(csrf(res), platform.types(), await platform.datasets(), { dataset, type }));
  });
  app.post('/jobs', async (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : '');
    const form: JobForm = {
      type: str('type'), dataset: str('dataset'), partitions: str('partitions'), verify: str('verify') === '1',
      fields: Object.fromEntries(Object.entries(b).filter(([k, v]) => k.startsWith('p.') && typeof v === 'string')) as Record<string, string>,
    };
    try {
      const problem = form.partitions ? partitionsProblem(form.partitions) : null;
      if (problem) throw new ConsoleError(400, problem);
      const partitions = form.partitions ? Number(form.partitions) : undefined;
      const jobId = await platform.submit({ type: form.type!, dataset: form.dataset!, partitions, params: formParams(form.type!, b), ...(form.verify ? { verify: true } : {}) }, postedIds(b));
      res.redirect(303, `/jobs/${encodeURIComponent(jobId)}`);
    } catch (err) {
      const f = failure(err);
      if (f.code === 'internal') throw err;
      send(req, res, 'New job', newJobPage(csrf(res), platform.types(), await platform.datasets(), form, f.message), f.status === 404 ? 400 : f.status);
    }
  });
  app.get('/jobs/:id', async (req, res) => {
    const s = await platform.job(req.params.id);
    const [timeline, output] = await Promise.all([
      platform.timeline(s),
      s.phase === 'done' && !s.outputLost ? platform.outputHead(s, 20).catch(() => null) : Promise.resolve(null),
    ]);
    const body = jobLive(csrf(res), s, timeline, output, Date.now(), platform.types().find((t) => t.name === s.type)?.stages);
    if (fragment(req)) return res.type('html').set('X-Job-Version', String(s.version)).send(body.value);
    send(req, res, `Job ${s.id}`, jobPage(s, body));
  });
  // Cancelling asks first, as deleting a dataset does.
  app.post('/jobs/:id/cancel', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.confirm !== 'yes') {
      const s = await platform.job(req.params.id);
      if (isFinishedPhase(s.phase)) return res.redirect(303, `/jobs/${encodeURIComponent(s.id)}`);
      return send(req, res, `Cancel job ${s.id}?`, cancelJobPage(s, csrf(res), postedIds(body)));
    }
    await platform.cancel(req.params.id, postedIds(body));
    res.redirect(303, `/jobs/${encodeURIComponent(req.params.id)}`);
  });
  app.get('/jobs/:id/output', async (req, res) => {
    const s = await platform.job(req.params.id);
    const refused = outputRefusal(s, 'its page offers the download then');
    if (refused) throw new TandemError('conflict', refused);
    const csv = platform.types().find((t) => t.name === s.type)?.outputFormat === 'csv';
    res.type(csv ? 'text/csv' : 'text/plain').set('Content-Disposition', `attachment; filename="${s.id}-${s.type}.${csv ? 'csv' : 'txt'}"`);
    await platform.writeOutput(s, res);
    res.end();
  });

  app.use((req, _res, next) => next(new TandemError('not_found', `nothing here: ${req.method} ${req.path}`)));
  app.use(async (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const f = failure(err);
    if (f.code === 'internal') o.log.error({ err: (err as Error).message, stack: (err as Error).stack, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An upload refused before its body was read: read a small rest (so the client, still sending,
    // gets the answer rather than a reset), and close the connection rather than wait for a large one.
    if (isUpload(req) && !(await drainSmall(req))) res.set('Connection', 'close');
    if (wants(req) === 'json') res.status(f.status).json(errorBody(f));
    else send(req, res, f.code === 'not_found' ? 'Not found' : 'Error', errorPage(f.status, f.message), f.status);
  });
  return app;
}
