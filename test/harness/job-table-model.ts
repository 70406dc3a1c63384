/**
 * The sequential model of the master's job table, as its clients see it (docs/DESIGN.md §2, §5.3,
 * §7.2), for the linearizability checker (linearizability.ts), and the split of a history into
 * independent parts.
 *
 * Client operations: submit (named by its (clientId, requestId)), status, cancel, remove, list.
 * The rules the model holds the master to:
 * - a request creates at most one job, and a retried submit answers the same job id (the dedupe
 *   table, §2);
 * - a job, once created, is there until a remove takes it (a status read of it never answers
 *   not_found, a list never lacks it);
 * - every change bumps the job's version (§2), so versions never go backwards, and one version
 *   is one state: two reads of the same version see the same phase;
 * - a finished job (done, failed, cancelled) stays in its phase;
 * - only a cancel cancels, and a cancel that answered ok found the job running.
 *
 * Phases move by the system itself (workers commit tasks, the primary fails a job), not by client
 * operations. Those moves are in no history, so the model lets them happen at any moment: a
 * job's state stands for every state the system may have moved it to since. A read may therefore
 * observe any phase reachable from the last one known, at any version at least one higher, and
 * becomes the new known state. This is exactly as strong as a client can check without seeing the
 * workers: a lost phase change, a version going back, a finished job running again, a job appearing
 * twice or vanishing are all caught; a job that skipped the map phase is not.
 *
 * Retention expiry (a finished job's record dropped after TANDEM_RETENTION) is a system move the
 * model does not allow: a history must be shorter than the retention period.
 *
 * Reported losses (`losses: true`, for a history in which Redis lost acknowledged writes: a crash
 * under a weaker fsync policy than `always`, docs/DESIGN.md §3.4). Then the platform may lose a job's
 * last changes or its whole record, but only by saying so. Two more system moves are allowed, from
 * any state of a made, not removed job: it is *marked lost* (read as failed with `lost` set, at a
 * version above every one seen before; it may have been read done or cancelled, since those moves
 * may be what was lost), or its *record is lost* (status and changes answer `lost`, 410; lists lack
 * it). Both are final. Everything else stays: a job that vanishes with a `not_found`, comes back
 * after it was reported lost, or goes back in version is still a violation. Without `losses`, a
 * `lost` answer or mark is itself a violation.
 *
 * Partitions (P-compositionality). A job's state depends only on the operations on that job, so
 * the history splits by job, with three things to settle:
 * - A submit names no job when it is called, and one whose answer was lost names none at all. So a
 *   part is keyed by the *request* that created the job (clientId, requestId): every job carries
 *   its request (`submittedBy`), every status answer and list entry says it, and a request makes
 *   at most one job, so request and job are one part. Operations on a job whose request nothing
 *   in the history names form a part of their own, with no submit in it.
 * - Job ids are allocated by the primary at random (`newJobId`), so allocation couples no two
 *   parts except by uniqueness: one id claimed by two requests is reported before the search.
 * - `list` reads the whole table at one instant. It is projected onto each part (the entries of
 *   that part's request, or none), so each part places it on its own. The projection is sound (a
 *   linearization of the whole history gives one of every part), but it does not check that one
 *   list's entries come from a single instant; that cross-job property is left unchecked.
 */
import type { JobPhase } from '@tandem/shared';
import { checkPartitions, type Budget, type Model, type Operation, type Verdict } from './linearizability.ts';

export interface Request {
  clientId: string;
  requestId: string;
}

export interface Observed {
  id: string;
  phase: JobPhase;
  version: number;
  submittedBy?: Request;
  /** The job says Redis lost its last changes (failed, shown as "lost"). */
  lost?: boolean;
}

export type JobInput =
  | ({ kind: 'submit' } & Request)
  | ({ kind: 'cancel' | 'remove'; jobId: string } & Request)
  | { kind: 'status'; jobId: string }
  | { kind: 'list' };

export type JobOutput =
  | { kind: 'submitted'; jobId: string }
  /** A change refused with a definite answer (no effect on the job): not_found, conflict, invalid. */
  | { kind: 'refused'; code: string }
  | { kind: 'changed' }
  | { kind: 'status'; job: Observed }
  | { kind: 'not_found' }
  /** A status read refused as `lost` (410): Redis lost the job's record, and the master says so. */
  | { kind: 'lost' }
  | { kind: 'list'; jobs: Observed[] };

export type JobOp = Operation<JobInput, JobOutput>;

/**
 * What the model knows of one part's job. `version` is exact after a read; after a change whose
 * resulting version nobody saw (a cancel), it is a lower bound. `lost`: reported lost (see the top).
 */
type Slot =
  | { made: false }
  | { made: true; id: string; phase: JobPhase; version: number; exact: boolean; gone: boolean; lost?: 'marked' | 'record' };

export interface JobModelOptions {
  /** Redis may have lost acknowledged writes in this history: a job may be reported lost (see the top). */
  losses?: boolean;
}

/** Inside a part, a submit also carries the ids the history shows for its request (one it may have made while its answer was lost). */
type PartInput = JobInput | ({ kind: 'submit'; candidates: string[] } & Request);

const FINISHED: ReadonlySet<JobPhase> = new Set(['done', 'failed', 'cancelled']);

/**
 * Phases the system moves a job to by itself, from each phase (an iterative job's rounds go from
 * reduce back to map). Cancelled is reached only by a cancel, so it is in no list.
 */
export const SYSTEM_MOVES: Record<JobPhase, readonly JobPhase[]> = {
  map: ['map', 'reduce', 'done', 'failed'],
  reduce: ['map', 'reduce', 'done', 'failed'],
  done: ['done'],
  failed: ['failed'],
  cancelled: ['cancelled'],
};

const reqKey = (r: Request) => `${r.clientId}/${r.requestId}`;

const NO_LOSSES = 'but no Redis data loss happened in this history';

/** Why the observation is impossible from the slot; undefined when it is possible. */
function refuteRead(s: Slot, o: Observed, opts: JobModelOptions): string | undefined {
  if (!s.made) return `job ${o.id} was read (${o.phase} v${o.version}) before any submit of its request could have made it`;
  if (s.id !== o.id) return `the request's job is ${s.id}, but ${o.id} was read as made by it too (a second job for one request)`;
  if (s.gone) return `job ${o.id} was removed, yet read as ${o.phase} v${o.version}`;
  if (s.lost === 'record') return `job ${o.id} had answered lost (its record gone), yet is read as ${o.phase} v${o.version}`;
  if (o.version < s.version) return `job ${o.id}'s version went back from ${s.version} to ${o.version}`;
  if (o.lost || s.lost) {
    if (!opts.losses) return `job ${o.id} is read as lost (${o.phase} v${o.version}), ${NO_LOSSES}`;
    if (!o.lost) return `job ${o.id} was read as lost and is now read as ${o.phase} v${o.version}, not lost`;
    if (o.phase !== 'failed') return `job ${o.id} is read as lost but ${o.phase}, not failed`;
    // Marked lost now: a new version above all seen (the platform jumps every version past the lost ones).
    if (!s.lost && s.exact && o.version === s.version) return `job ${o.id} was marked lost without a new version (v${o.version})`;
    return undefined;
  }
  if (o.version === s.version && s.exact) {
    return o.phase === s.phase ? undefined : `job ${o.id} v${o.version} was ${s.phase} and is now read as ${o.phase} at the same version`;
  }
  if (o.phase === s.phase) return undefined;
  if (!SYSTEM_MOVES[s.phase].includes(o.phase)) {
    return FINISHED.has(s.phase)
      ? `job ${o.id} was ${s.phase} (finished) and is read as ${o.phase} v${o.version}`
      : `job ${o.id} went from ${s.phase} to ${o.phase} without a cancel that answered`;
  }
  if (o.version === s.version) return `job ${o.id} changed phase (${s.phase} → ${o.phase}) without a new version`;
  return undefined;
}

const read = (s: Slot, o: Observed, opts: JobModelOptions): Slot[] =>
  refuteRead(s, o, opts) ? [] : [{ made: true, id: o.id, phase: o.phase, version: o.version, exact: true, gone: false, ...(o.lost ? { lost: 'marked' as const } : {}) }];

/** Why the job's record cannot have been lost (a `lost` answer, or a list without it) from the slot; undefined when it can. */
function refuteRecordLost(s: Slot, opts: JobModelOptions): string | undefined {
  if (!s.made || s.gone) return undefined;
  if (!opts.losses) return `job ${s.id} (${s.phase} v${s.version}) answered lost, ${NO_LOSSES}`;
  if (s.lost === 'marked') return `job ${s.id} was read as lost (failed v${s.version}), and then its record was gone`;
  return undefined;
}

/** After a `lost` answer: the job's record is gone for good. */
const recordLost = (s: Slot, opts: JobModelOptions): Slot[] =>
  !s.made || s.gone ? [] : refuteRecordLost(s, opts) ? [] : [{ ...s, lost: 'record' }];

/** Lower-bound states after the system may have finished a running job by itself (a cancel or remove that found it finished). */
const finishedBySystem = (s: Slot & { made: true }): Slot[] =>
  FINISHED.has(s.phase) ? [s] : (['done', 'failed'] as const).map((phase) => ({ ...s, phase, version: s.version + 1, exact: false }));

function stepSlot(s: Slot, input: PartInput, out: JobOutput | undefined, opts: JobModelOptions): Slot[] {
  switch (input.kind) {
    case 'submit': {
      if (out?.kind === 'submitted') {
        if (!s.made) return [{ made: true, id: out.jobId, phase: 'map', version: 1, exact: true, gone: false }];
        return s.id === out.jobId ? [s] : [];
      }
      if (out !== undefined) return out.kind === 'refused' ? [s] : [];
      // No answer: it may have made its job (with one of the ids the history shows for it) or not.
      if (s.made) return [s];
      const ids = 'candidates' in input && input.candidates.length ? input.candidates : ['(never seen)'];
      return [s, ...ids.map((id): Slot => ({ made: true, id, phase: 'map', version: 1, exact: true, gone: false }))];
    }
    case 'status':
      if (out?.kind === 'status') return read(s, out.job, opts);
      if (out?.kind === 'not_found') return !s.made || s.gone ? [s] : [];
      if (out?.kind === 'lost') return recordLost(s, opts);
      return out === undefined ? [s] : [];
    case 'list': {
      if (out?.kind !== 'list') return out === undefined ? [s] : [];
      if (out.jobs.length > 1) return [];
      // A list that lacks a made job: its record may be lost (then every later read must say so).
      if (out.jobs.length === 0) return !s.made || s.gone ? [s] : recordLost(s, opts);
      return read(s, out.jobs[0], opts);
    }
    case 'cancel':
    case 'remove': {
      if (out?.kind === 'refused' && out.code === 'lost') return recordLost(s, opts);
      if (s.made && s.lost === 'record') return out === undefined ? [s] : [];
      const live = s.made && !s.gone;
      const effect = (t: Slot & { made: true }): Slot =>
        input.kind === 'cancel' ? { ...t, phase: 'cancelled', version: t.version + 1, exact: false } : { ...t, gone: true };
      const canChange = (t: Slot & { made: true }) => input.kind === 'remove' || !FINISHED.has(t.phase);
      if (out === undefined) return live && canChange(s) ? [s, effect(s)] : [s];
      if (out.kind === 'changed') return live && canChange(s) ? [effect(s)] : [];
      if (out.kind === 'refused' && out.code === 'not_found') return live ? [] : [s];
      // conflict (finished, not cleaned up, a request older than the client's window) or invalid: no effect.
      if (out.kind === 'refused') return live && input.kind === 'cancel' ? finishedBySystem(s).concat([s]) : [s];
      return [];
    }
  }
}

const describeObserved = (o: Observed) => `${o.id} ${o.phase}${o.lost ? ' (lost)' : ''} v${o.version}`;

export function describeJobOp(input: JobInput, out: JobOutput | undefined): string {
  const what =
    input.kind === 'submit' ? `submit ${reqKey(input)}`
      : input.kind === 'list' ? 'list'
        : input.kind === 'status' ? `status ${input.jobId}`
          : `${input.kind} ${input.jobId} (${reqKey(input)})`;
  if (out === undefined) return `${what} → (no answer)`;
  switch (out.kind) {
    case 'submitted': return `${what} → ${out.jobId}`;
    case 'refused': return `${what} → refused ${out.code}`;
    case 'changed': return `${what} → ok`;
    case 'status': return `${what} → ${describeObserved(out.job)}`;
    case 'not_found': return `${what} → not_found`;
    case 'lost': return `${what} → lost`;
    case 'list': return `${what} → [${out.jobs.map(describeObserved).join(', ')}]`;
  }
}

export const jobTableModel = (opts: JobModelOptions = {}): Model<Slot, PartInput, JobOutput> => ({
  init: () => [{ made: false }],
  step: (s, input, out) => stepSlot(s, input, out, opts),
  key: (s) => (s.made ? `${s.id}:${s.phase}:${s.version}:${s.exact ? 'x' : '≥'}:${s.gone ? 'gone' : ''}:${s.lost ?? ''}` : '-'),
  describeOp: describeJobOp,
  describeState: (s) => (!s.made ? 'no job' : s.gone ? `${s.id} removed` : s.lost === 'record' ? `${s.id} lost with its record`
    : `${s.id} ${s.phase}${s.lost ? ' (lost)' : ''} v${s.exact ? '' : '≥'}${s.version}`),
  whyNot(s, input, out) {
    if (out?.kind === 'status') return refuteRead(s, out.job, opts) ?? 'the read is possible (another order was needed)';
    if (out?.kind === 'list' && out.jobs.length > 1) return `one request made ${out.jobs.length} jobs: ${out.jobs.map((j) => j.id).join(', ')} (the dedupe table forgot it)`;
    if (out?.kind === 'list' && out.jobs.length === 1) return refuteRead(s, out.jobs[0], opts) ?? 'the list entry is possible (another order was needed)';
    if (out?.kind === 'lost' || (out?.kind === 'refused' && out.code === 'lost') || (out?.kind === 'list' && opts.losses)) {
      return refuteRecordLost(s, opts) ?? (s.made ? 'possible here' : 'no job was made yet');
    }
    if (out?.kind === 'list' || out?.kind === 'not_found' || (out?.kind === 'refused' && out.code === 'not_found')) {
      return s.made && !s.gone ? `job ${s.id} (${s.phase} v${s.version}) was acknowledged and never removed, but ${out.kind === 'list' ? 'the list lacks it' : 'it was not found'}${s.lost === 'record' ? ' (after it had answered lost)' : ''}` : 'possible here';
    }
    if (input.kind === 'submit' && out?.kind === 'submitted' && s.made) return `the request had made job ${s.id}, and a retry answered ${out.jobId}`;
    if (input.kind === 'cancel' && out?.kind === 'changed' && s.made) return `job ${s.id} was ${s.gone ? 'removed' : s.phase}; a cancel cannot succeed`;
    return `not allowed when the job is ${s.made ? `${s.id} ${s.phase}` : 'not made'}`;
  },
});

export interface JobHistoryCheck {
  verdict: Verdict<PartInput, JobOutput>;
  /** One job id claimed by two requests: a violation found before any search. */
  clash?: string;
}

/**
 * Splits the history into its parts (see the top of this file) and checks each. List entries of
 * clients that made no operation in the history (jobs submitted before it started) are left out:
 * the history knows nothing of their requests.
 */
export function checkJobHistory(ops: JobOp[], budget?: Budget, opts: JobModelOptions = {}): JobHistoryCheck {
  const creator = new Map<string, string>();
  let clash: string | undefined;
  const claim = (jobId: string, r: Request, where: string) => {
    const k = reqKey(r);
    const had = creator.get(jobId);
    if (had && had !== k) clash ??= `job ${jobId} was reported as made by request ${had} and by ${k} (${where})`;
    else creator.set(jobId, k);
  };
  const clients = new Set(ops.map((op) => op.client));
  for (const op of ops) {
    const out = op.output;
    if (op.input.kind === 'submit' && out?.kind === 'submitted') claim(out.jobId, op.input, `the answer to ${op.client}'s submit`);
    if (out?.kind === 'status' && out.job.submittedBy) claim(out.job.id, out.job.submittedBy, `a status read by ${op.client}`);
    if (out?.kind === 'list') for (const j of out.jobs) if (j.submittedBy) claim(j.id, j.submittedBy, `a list by ${op.client}`);
  }
  const empty: Verdict<PartInput, JobOutput> = { result: 'ok', steps: 0, partitions: 0 };
  if (clash) return { verdict: empty, clash };

  const candidates = new Map<string, string[]>();
  for (const [id, k] of creator) candidates.set(k, [...(candidates.get(k) ?? []), id]);
  const parts = new Map<string, Operation<PartInput, JobOutput>[]>();
  const add = (key: string, op: Operation<PartInput, JobOutput>) => {
    const list = parts.get(key);
    if (list) list.push(op);
    else parts.set(key, [op]);
  };
  const lists: JobOp[] = [];
  for (const op of ops) {
    const i = op.input;
    // A read that got no answer observed nothing and changed nothing: it constrains no order.
    if ((i.kind === 'status' || i.kind === 'list') && op.output === undefined) continue;
    if (i.kind === 'list') lists.push(op);
    else if (i.kind === 'submit') add(`request ${reqKey(i)}`, { ...op, input: { ...i, candidates: candidates.get(reqKey(i)) ?? [] } });
    else add(creator.has(i.jobId) ? `request ${creator.get(i.jobId)}` : `job ${i.jobId}`, op);
  }
  // Each list is projected onto every part.
  const answered = lists.filter((op) => op.output?.kind === 'list');
  const partOf = (j: Observed) => (j.submittedBy ? `request ${reqKey(j.submittedBy)}` : `job ${j.id}`);
  for (const op of answered) {
    for (const j of (op.output as { jobs: Observed[] }).jobs) {
      if (j.submittedBy && clients.has(j.submittedBy.clientId) && !parts.has(partOf(j))) parts.set(partOf(j), []);
    }
  }
  for (const op of answered) {
    const jobs = (op.output as { jobs: Observed[] }).jobs;
    for (const [key, part] of parts) part.push({ ...op, output: { kind: 'list', jobs: jobs.filter((j) => partOf(j) === key) } });
  }
  const verdict = checkPartitions(jobTableModel(opts), [...parts].map(([name, ops]) => ({ name, ops })), budget);
  return { verdict };
}
