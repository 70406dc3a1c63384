/**
 * Client of the master's HTTP API, for the CLI, the console and scripts. Mutating requests carry
 * (clientId, requestId) and are retried with the same pair after a network failure, so the master's
 * dedupe table turns a retried submit into the first answer instead of a second job.
 */
import { randomUUID } from 'node:crypto';
import { isFinishedPhase, type JobStatus, type SubmitSpec } from './wire.ts';

/** The master answered and refused (bad request, unknown job, ...). */
export class MasterError extends Error {}
/** The master could not be reached at all. */
export class MasterUnreachableError extends Error {}

export interface MasterClientOptions {
  /** Attempts for a request that fails on the network. */
  attempts?: number;
  timeoutMs?: number;
}

export class MasterClient {
  readonly clientId = randomUUID();
  private seq = 0;
  private readonly attempts: number;
  private readonly timeoutMs: number;

  constructor(readonly baseUrl: string, opts: MasterClientOptions = {}) {
    this.attempts = opts.attempts ?? 5;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      let res: Response;
      try {
        res = await fetch(new URL(path, this.baseUrl), {
          method,
          headers: body ? { 'content-type': 'application/json' } : undefined,
          body: body ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        lastErr = err;
        continue;
      }
      const text = await res.text();
      let json: { ok?: boolean; error?: string } & Record<string, unknown>;
      try {
        json = JSON.parse(text);
      } catch {
        throw new MasterError(`master at ${this.baseUrl} answered ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
      }
      if (!res.ok || json.ok === false) throw new MasterError(json.error ?? `master answered ${res.status}`);
      return json as T;
    }
    const cause = (lastErr as Error & { cause?: Error })?.cause?.message ?? (lastErr as Error)?.message;
    throw new MasterUnreachableError(
      `cannot reach the master at ${this.baseUrl} (${cause}); is \`tandem up\` running? (set TANDEM_MASTER_URL / --master-url)`,
    );
  }

  private ids() {
    return { clientId: this.clientId, requestId: String(++this.seq) };
  }

  async submit(spec: SubmitSpec): Promise<string> {
    const r = await this.call<{ jobId: string }>('POST', '/jobs', { ...this.ids(), params: {}, ...spec });
    return r.jobId;
  }

  /**
   * A job's status. With `after` (a version from an earlier status), the master answers when the job
   * has changed since, or after `waitMs`: a long poll, so following a job costs no busy polling.
   */
  status(jobId: string, wait?: { after: number; waitMs?: number }): Promise<JobStatus> {
    const q = wait ? `?after=${wait.after}&waitMs=${wait.waitMs ?? 20_000}` : '';
    return this.call<JobStatus>('GET', `/jobs/${encodeURIComponent(jobId)}${q}`);
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

  async list(): Promise<JobStatus[]> {
    return (await this.call<{ jobs: JobStatus[] }>('GET', '/jobs')).jobs;
  }

  async cancel(jobId: string): Promise<void> {
    await this.call('POST', `/jobs/${encodeURIComponent(jobId)}/cancel`, this.ids());
  }

  async remove(jobId: string): Promise<void> {
    await this.call('POST', `/jobs/${encodeURIComponent(jobId)}/remove`, this.ids());
  }
}
