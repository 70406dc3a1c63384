/**
 * Client of the masters' HTTP API, for the CLI, the console and scripts.
 *
 * It finds the primary through the view service and caches it, asking again only after a failure
 * or a "not primary" answer (docs/DESIGN.md §5.3). Every mutating request carries (clientId, requestId) and a
 * retry reuses the pair, so the primary's replicated table of client sessions turns a retried submit
 * into the first answer instead of a second job, across failovers too. One client may be shared by
 * many concurrent callers (the console does): it numbers their requests, keeps the set in flight,
 * and sends with each the lowest id it has not seen answered (`firstUnanswered`), so the master may
 * forget the replies below it.
 */
import { randomUUID } from 'node:crypto';
import { requestJson, type JsonReply } from './http-json.ts';
import { TlsError } from './tls.ts';
import {
  REQUEST_WINDOW, TandemError, errorOf, isFinishedPhase, viewReplySchema, type ChangeReply, type GcReport, type JobList, type JobTypesView, type JobStatus, type MasterHealth, type SubmitSpec,
} from './protocol.ts';
import { sleep } from './sleep.ts';

/** The master answered and refused; `code` says why (`not_found`, `invalid`, `conflict`, ...). */
export class MasterError extends TandemError {
  override name = 'MasterError';
}

/** No master could be reached as primary before the retry deadline. */
export class MasterUnreachableError extends TandemError {
  override name = 'MasterUnreachableError';

  constructor(message: string) {
    super('unavailable', message);
  }
}

export interface MasterClientOptions {
  /** The view service that names the primary (the normal way to find it). */
  viewUrl?: string;
  /** Talk to this one master only, without the view service. */
  masterUrl?: string;
  /** Keep retrying a request through failures and failovers for this long (ms). */
  retryForMs?: number;
  /** Pause before the first retry; it doubles up to 250 ms. */
  retryDelayMs?: number;
  /** One HTTP request's time limit (long polls included). */
  timeoutMs?: number;
  /**
   * Long polls on a job are this far apart at least: a busy job changes with every task event, and
   * a client that asked again at once would cost the master (and itself) a status per event.
   */
  pollIntervalMs?: number;
  /** The cluster secret (TANDEM_SECRET), sent with every request when set. */
  secret?: string;
  /**
   * The view service is known to have answered before (a one-shot command learns it from the data
   * folder, view-seen.ts): its silence is then a restart to wait out, as after an answer in this process.
   */
  viewSeen?: boolean;
  /** Called whenever the view service answers. */
  onViewAnswered?: () => void;
  /** Called once per outage, with a sentence to show, when the client starts waiting for a silent view service. */
  onViewWait?: (message: string) => void;
}

/**
 * Who a change comes from when the caller names it (a console form's own ids, a script's
 * Idempotency-Key): sent as given, outside the client's own numbering.
 */
export interface RequestIds {
  clientId: string;
  requestId: string;
  firstUnanswered?: string;
}

/** Connection errors that mean nothing listens at the address (the request never arrived). */
const NOT_THERE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

export class MasterClient {
  readonly clientId = randomUUID();
  /** The last request id issued, and the ids issued whose answer no caller has had yet. */
  private lastId = 0;
  private readonly inFlight = new Set<number>();
  /** Callers waiting for the window to move (REQUEST_WINDOW). */
  private readonly waiting: Array<() => void> = [];
  private cached: string | null = null;
  /** How many times it asked the view service for the view. */
  viewLookups = 0;
  /** The view service has answered at least once (so a later silence may be a restart worth waiting for). */
  private viewSeen: boolean;
  /** The current silence of the view service has been reported (onViewWait). */
  private viewWaitSaid = false;
  private masterSeen = false;
  private lastPollAt = 0;
  private readonly opts: Required<Pick<MasterClientOptions, 'retryForMs' | 'retryDelayMs' | 'timeoutMs' | 'pollIntervalMs'>> & MasterClientOptions;

  constructor(opts: MasterClientOptions) {
    if (!opts.viewUrl && !opts.masterUrl) throw new Error('MasterClient needs a viewUrl or a masterUrl');
    this.opts = { retryForMs: 30_000, retryDelayMs: 50, timeoutMs: 30_000, pollIntervalMs: 100, ...opts };
    this.viewSeen = opts.viewSeen === true;
  }

  /** Where requests go now (the cached primary), if known. */
  get primaryUrl(): string | null {
    return this.opts.masterUrl ?? this.cached;
  }

  private async primary(): Promise<string> {
    if (this.opts.masterUrl) return this.opts.masterUrl;
    if (this.cached) return this.cached;
    this.viewLookups++;
    let reply: JsonReply<unknown>;
    try {
      reply = await requestJson(new URL('/view', this.opts.viewUrl).href, { timeoutMs: 5000, secret: this.opts.secret });
    } catch (err) {
      // A certificate not trusted, TLS against a plain port: waiting will not change it.
      if (err instanceof TlsError) throw new MasterUnreachableError(`the view service: ${err.message}`);
      // Nothing has ever answered there: a wrong address or nothing running, not a failover to wait out.
      if (!this.viewSeen && !(err instanceof TandemError)) {
        throw new MasterUnreachableError(`cannot reach the view service at ${this.opts.viewUrl} (${(err as Error).message}); is \`tandem up\` running? (set TANDEM_VIEW_URL / --view-url)`);
      }
      if (!this.viewWaitSaid && !(err instanceof TandemError)) {
        this.viewWaitSaid = true;
        this.opts.onViewWait?.(`view service at ${this.opts.viewUrl} not answering; waiting up to ${Math.ceil(this.opts.retryForMs / 1000)} s (it answered before, so it may be restarting: ${(err as Error).message})`);
      }
      throw new Error(`view service at ${this.opts.viewUrl}: ${(err as Error).message}`);
    }
    this.viewSeen = true;
    this.viewWaitSaid = false;
    this.opts.onViewAnswered?.();
    // A wrong secret stays wrong: waiting out the retry deadline would only hide it.
    const refused = errorOf(reply.status, reply.body);
    if (refused?.code === 'unauthorized') throw new MasterError(refused.code, `the view service at ${this.opts.viewUrl}: ${refused.message}`);
    const parsed = viewReplySchema.safeParse(reply.body);
    if (!parsed.success) throw new Error(`the view service at ${this.opts.viewUrl} answered ${reply.status} without a view: ${JSON.stringify(reply.body).slice(0, 200)}`);
    const { view } = parsed.data;
    if (!view.primary) throw new Error(`the view service at ${this.opts.viewUrl} names no primary yet (view ${view.viewnum})`);
    this.cached = view.primary;
    return view.primary;
  }

  /**
   * GETs `path` from the primary (or POSTs `body`, built anew for every attempt), retrying through
   * failures, failovers and "not primary" answers.
   */
  private async call<T>(path: string, body?: object | (() => object)): Promise<T> {
    const deadline = Date.now() + this.opts.retryForMs;
    let lastErr: Error | undefined;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        if (Date.now() >= deadline) break;
        await sleep(Math.min(250, this.opts.retryDelayMs * 2 ** Math.min(attempt - 1, 4)));
      }
      let base: string;
      try {
        base = await this.primary();
      } catch (err) {
        if (err instanceof MasterUnreachableError || err instanceof MasterError) throw err;
        lastErr = err as Error;
        continue;
      }
      let reply: JsonReply<unknown>;
      try {
        reply = await requestJson(new URL(path, base).href, { body: typeof body === 'function' ? body() : body, timeoutMs: this.opts.timeoutMs, secret: this.opts.secret });
      } catch (err) {
        if (err instanceof TandemError) throw new MasterError(err.code, `master at ${base}: ${err.message}`);
        if (err instanceof TlsError) throw new MasterUnreachableError(`the primary master: ${err.message}`);
        const e = err as NodeJS.ErrnoException;
        lastErr = new Error(`${base}: ${e.message}`);
        // A pinned master that refuses connections and has never answered: a wrong address or
        // nothing running, so say so now. (A reply lost after the request was sent is retried.)
        if (this.opts.masterUrl && !this.masterSeen && NOT_THERE.has(e.code ?? '')) break;
        this.cached = null;
        continue;
      }
      this.masterSeen = true;
      const refused = errorOf(reply.status, reply.body);
      if (refused?.code === 'not_primary') {
        lastErr = new Error(`${base}: ${refused.message}`);
        this.cached = null;
        continue;
      }
      if (refused) throw new MasterError(refused.code, refused.message, refused.details);
      return reply.body as T;
    }
    if (this.opts.masterUrl) {
      throw new MasterUnreachableError(`cannot reach the master at ${this.opts.masterUrl} (${lastErr?.message}); is it running? (TANDEM_MASTER_URL / --master-url pins one master; unset it to find the primary through the view service)`);
    }
    throw new MasterUnreachableError(
      `no primary master answered through the view service at ${this.opts.viewUrl} for ${Math.round(this.opts.retryForMs / 1000)} s (last error: ${lastErr?.message}); see \`tandem view\``,
    );
  }

  /** The lowest request id no caller has had the answer to (the next one when none is in flight). */
  get firstUnanswered(): number {
    let low = this.lastId + 1;
    for (const id of this.inFlight) low = Math.min(low, id);
    return low;
  }

  /**
   * Sends a change with a new request id, or with the caller's own ids. A new id waits while
   * REQUEST_WINDOW ids separate it from the lowest unanswered one, so the master never has to
   * forget a reply this client may still retry. Every attempt says the current firstUnanswered.
   */
  private async change(path: string, body: object, ids?: RequestIds): Promise<ChangeReply> {
    if (ids) return this.call<ChangeReply>(path, { ...body, ...ids });
    while (this.lastId + 1 - this.firstUnanswered >= REQUEST_WINDOW) await new Promise<void>((r) => this.waiting.push(r));
    const id = ++this.lastId;
    this.inFlight.add(id);
    try {
      return await this.call<ChangeReply>(path, () => ({ ...body, clientId: this.clientId, requestId: String(id), firstUnanswered: String(this.firstUnanswered) }));
    } finally {
      // Answered, refused or given up: either way no caller will send this id again.
      this.inFlight.delete(id);
      for (const wake of this.waiting.splice(0)) wake();
    }
  }

  /** Submits a job; `ids` names the request instead (a console form's, or a script's idempotency key). */
  async submit(spec: SubmitSpec, ids?: RequestIds): Promise<string> {
    return (await this.change('/jobs', { params: {}, ...spec }, ids)).jobId;
  }

  /**
   * A job's status. With `after` (a version from an earlier status), the master answers when the job
   * has changed since, or after `waitMs`: a long poll, so following a job costs no busy polling.
   */
  async status(jobId: string, wait?: { after: number; waitMs?: number }): Promise<JobStatus> {
    if (!wait) return this.call<JobStatus>(`/jobs/${encodeURIComponent(jobId)}`);
    // The pace (at most one poll per pollIntervalMs) is the master's to keep (holdMs): it holds a
    // change that leaves the job running, and answers the one that finishes it at once.
    const hold = Math.round(this.lastPollAt + this.opts.pollIntervalMs - Date.now());
    const s = await this.call<JobStatus>(`/jobs/${encodeURIComponent(jobId)}?after=${wait.after}&waitMs=${wait.waitMs ?? 20_000}${hold > 0 ? `&holdMs=${hold}` : ''}`);
    this.lastPollAt = Date.now();
    return s;
  }

  /** Follows a job with long polls until it is done, failed or cancelled; onChange sees every status. */
  async waitUntilFinished(jobId: string, onChange?: (s: JobStatus) => void): Promise<JobStatus> {
    let s = await this.status(jobId);
    for (;;) {
      onChange?.(s);
      if (isFinishedPhase(s.phase)) return s;
      s = await this.status(jobId, { after: s.version });
    }
  }

  /** The primary's /health (its role, and the prefix and Redis it uses). */
  async health(): Promise<MasterHealth> {
    return this.call<MasterHealth>('/health');
  }

  async list(): Promise<JobStatus[]> {
    return (await this.call<JobList>('/jobs')).jobs;
  }

  async cancel(jobId: string, ids?: RequestIds): Promise<void> {
    await this.change(`/jobs/${encodeURIComponent(jobId)}/cancel`, {}, ids);
  }

  async remove(jobId: string, ids?: RequestIds): Promise<void> {
    await this.change(`/jobs/${encodeURIComponent(jobId)}/remove`, {}, ids);
  }

  /** The job types the primary master runs, what every live master and worker reports, and their mismatches. */
  async jobTypes(): Promise<JobTypesView> {
    return this.call<JobTypesView>('/job-types');
  }

  /** Deletes (or, with dryRun, lists) job data in Redis that no job owns; a retry after a lost reply finds less to free. */
  async gc(dryRun: boolean): Promise<GcReport> {
    return this.call<GcReport>('/gc', { dryRun });
  }
}

/** The client a configured process uses: through the view service, or pinned to TANDEM_MASTER_URL when set. */
export function masterClient(cfg: { TANDEM_VIEW_URL: string; TANDEM_MASTER_URL?: string; TANDEM_SECRET?: string }, opts: Omit<MasterClientOptions, 'viewUrl' | 'masterUrl' | 'secret'> = {}): MasterClient {
  return new MasterClient({ ...opts, viewUrl: cfg.TANDEM_VIEW_URL, masterUrl: cfg.TANDEM_MASTER_URL, secret: cfg.TANDEM_SECRET });
}
