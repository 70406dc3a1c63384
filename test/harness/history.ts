/**
 * A client history for the replication and chaos tests: every call a client makes to the master
 * (submit, status, cancel, remove, list), with the time it was called, the time its answer came and
 * the answer, checked at the end by the linearizability checker over the job table's model
 * (job-table-model.ts, linearizability.ts).
 *
 * A `RecordingClient` is one sequential client: it makes one call at a time, so it names each
 * change's request itself, `(its clientId, n)` with `firstUnanswered` n (its earlier requests are
 * all answered or given up), as a script may (docs/DESIGN.md §5.3, RequestIds). The history then
 * knows which request made each job, which the check needs; the master sees what MasterClient's
 * own numbering would send for a sequential caller.
 */
import assert from 'node:assert/strict';
import { MasterError, type JobStatus, type MasterClient, type SubmitSpec } from '@tandem/shared';
import { checkJobHistory, type JobInput, type JobModelOptions, type JobOp, type JobOutput, type Observed } from './job-table-model.ts';
import type { Budget } from './linearizability.ts';

/** Refusals that say the change was not made; any other failure leaves its outcome unknown. `lost`: Redis lost the job's record (§3.4). */
const DEFINITE = new Set(['not_found', 'conflict', 'invalid', 'lost']);

const observed = (s: JobStatus): Observed => ({ id: s.id, phase: s.phase, version: s.version, submittedBy: s.submittedBy, ...(s.lost ? { lost: true } : {}) });

export class History {
  readonly ops: JobOp[] = [];
  private t = 0;

  /** A monotonic timestamp (ties broken by order), so call and return times are totally ordered. */
  now(): number {
    this.t = Math.max(this.t + 1e-3, performance.now());
    return this.t;
  }

  /** Runs `f` as one operation of `client` and records it; `answer` maps its result or error to the output (undefined: unknown). */
  async record<T>(client: string, input: JobInput, f: () => Promise<T>, answer: (r: { value: T } | { error: unknown }) => JobOutput | undefined): Promise<T> {
    const op: JobOp = { client, input, output: undefined, call: this.now() };
    this.ops.push(op);
    try {
      const value = await f();
      op.output = answer({ value });
      op.ret = this.now();
      return value;
    } catch (error) {
      op.output = answer({ error });
      op.ret = this.now();
      throw error;
    }
  }

  count(kind: JobInput['kind'], answered?: boolean): number {
    return this.ops.filter((op) => op.input.kind === kind && (answered === undefined || (op.output !== undefined) === answered)).length;
  }

  /**
   * Asserts the history linearizable; a violation fails with the checker's explanation. Returns the
   * verdict for diagnostics. `losses`: Redis lost acknowledged writes during it (job-table-model.ts).
   */
  check(budget: Budget = { timeoutMs: 60_000 }, opts: JobModelOptions = {}) {
    const { verdict, clash } = checkJobHistory(this.ops, budget, opts);
    assert.equal(clash, undefined, clash);
    if (verdict.result === 'illegal') assert.fail(verdict.explanation.text);
    assert.equal(verdict.result, 'ok', verdict.result === 'unknown' ? `the linearizability check gave up: ${verdict.reason}` : '');
    return verdict;
  }
}

const refusal = (error: unknown): JobOutput | undefined =>
  error instanceof MasterError && DEFINITE.has(error.code) ? { kind: 'refused', code: error.code } : undefined;

export class RecordingClient {
  private requests = 0;
  constructor(readonly client: MasterClient, readonly history: History) {}

  get clientId(): string {
    return this.client.clientId;
  }

  private nextRequest() {
    const n = String(++this.requests);
    return { clientId: this.client.clientId, requestId: n, firstUnanswered: n };
  }

  submit(spec: SubmitSpec): Promise<string> {
    const ids = this.nextRequest();
    return this.history.record(this.clientId, { kind: 'submit', clientId: ids.clientId, requestId: ids.requestId }, () => this.client.submit(spec, ids),
      (r) => ('value' in r ? { kind: 'submitted', jobId: r.value } : refusal(r.error)));
  }

  cancel(jobId: string): Promise<void> {
    return this.change('cancel', jobId);
  }

  remove(jobId: string): Promise<void> {
    return this.change('remove', jobId);
  }

  private change(kind: 'cancel' | 'remove', jobId: string): Promise<void> {
    const ids = this.nextRequest();
    return this.history.record(this.clientId, { kind, jobId, clientId: ids.clientId, requestId: ids.requestId }, () => this.client[kind](jobId, ids),
      (r) => ('value' in r ? { kind: 'changed' } : refusal(r.error)));
  }

  status(jobId: string): Promise<JobStatus> {
    return this.history.record(this.clientId, { kind: 'status', jobId }, () => this.client.status(jobId),
      (r) => ('value' in r ? { kind: 'status', job: observed(r.value) }
        : r.error instanceof MasterError && (r.error.code === 'not_found' || r.error.code === 'lost') ? { kind: r.error.code } : undefined));
  }

  list(): Promise<JobStatus[]> {
    return this.history.record(this.clientId, { kind: 'list' }, () => this.client.list(),
      (r) => ('value' in r ? { kind: 'list', jobs: r.value.map(observed) } : undefined));
  }
}
