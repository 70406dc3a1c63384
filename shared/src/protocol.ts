/**
 * Tandem's HTTP protocol, in one place that the servers and their clients both import: the view
 * service's messages (ping, view, status), the masters' API (submit, status and long poll, list,
 * cancel, remove, health), and the errors any of them answers with. The replica channel between
 * the masters is not here: its messages are in apps/master/src/replication.ts.
 *
 * Every shape is a zod schema with its type. Servers parse what they receive with the schema;
 * clients take a server's answer as its type without parsing it again (a long-polled job status is
 * large and comes often).
 *
 * A refusal is `{ok: false, code, error, details?}` with the HTTP status of its code
 * (ERROR_STATUS), and every client rebuilds it as a TandemError (`errorOf`), so callers branch on
 * `err.code`, never on the message, which is for people.
 */
import { z } from 'zod';
import { QUEUES } from './keys.ts';
import type { JobTypeDescription } from './job-type.ts';

// ---------------------------------------------------------------------------------------------
// Errors

/** Each error code and the one HTTP status it is answered with. */
export const ERROR_STATUS = {
  /** The request is malformed or asks for something impossible; the message names the field. */
  invalid: 400,
  /** No credentials, or wrong ones (the console's token). */
  unauthorized: 401,
  /** Refused whoever asks: a cross-site change, a missing or stale form token. */
  forbidden: 403,
  /** What the request names (a job, a dataset, a route) does not exist. */
  not_found: 404,
  /** It exists, but its state forbids the request (already finished, already exists, not cleaned up). */
  conflict: 409,
  /** It existed, but Redis lost its record in a crash (a job submitted just before; §3.4). */
  lost: 410,
  /** The request body is over the server's limit. */
  too_large: 413,
  /** The body is of a kind the route does not take (an upload that is neither multipart nor a file); the message lists the kinds it does. */
  unsupported_media_type: 415,
  /** A bug or an unexpected failure in the server; the server logs it. */
  internal: 500,
  /** Something the answer needs does not answer (a master, the view service); try again later. */
  unavailable: 503,
  /** This master is not the primary: ask the view service for the current view and retry there. */
  not_primary: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export const isErrorCode = (x: unknown): x is ErrorCode => typeof x === 'string' && Object.hasOwn(ERROR_STATUS, x);

/**
 * The code a status stands for when an answer carries none (a proxy's error page, a server from
 * before codes): the first code with that status, so 503 is `unavailable`, never `not_primary`.
 */
export function codeForStatus(status: number): ErrorCode {
  return ERROR_CODES.find((c) => ERROR_STATUS[c] === status) ?? (status >= 500 ? 'internal' : 'invalid');
}

/** A refusal with its code; servers answer it with its status, clients rebuild it from the body. */
export class TandemError extends Error {
  override name = 'TandemError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Machine-readable particulars, e.g. the current view with `not_primary`. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const errorReplySchema = z.object({
  ok: z.literal(false),
  code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
  /** For people: what happened, to what, and what to do. */
  error: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorReply = z.infer<typeof errorReplySchema>;

export const errorBody = (e: TandemError): ErrorReply => ({ ok: false, code: e.code, error: e.message, ...(e.details ? { details: e.details } : {}) });

/** The TandemError an answer carries (a non-2xx status, or `ok: false`), or null when it is a success. */
export function errorOf(status: number, body: unknown): TandemError | null {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Partial<Record<keyof ErrorReply, unknown>>;
  if (status >= 200 && status < 300 && b.ok !== false) return null;
  const code = isErrorCode(b.code) ? b.code : codeForStatus(status >= 200 && status < 300 ? 400 : status);
  const message = typeof b.error === 'string' ? b.error : `answered ${status} without a message`;
  const details = typeof b.details === 'object' && b.details !== null ? (b.details as Record<string, unknown>) : undefined;
  return new TandemError(code, message, details);
}

/** Zod's issues as one line that names each field by its path (`params.pattern: ...; dataset: ...`). */
export function formatIssues(error: z.ZodError, opts: { root?: string; name?: (path: string) => string; separator?: string } = {}): string {
  const { root = 'body', name = (p: string) => p, separator = '; ' } = opts;
  return error.issues.map((i) => `${name(i.path.map(String).join('.') || root)}: ${i.message}`).join(separator);
}

/** `value` parsed by `schema`, or an `invalid` TandemError that names each bad field. */
export function parseRequest<T>(schema: z.ZodType<T>, value: unknown, what = 'bad request'): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new TandemError('invalid', `${what}: ${formatIssues(r.error)}`);
  return r.data;
}

/**
 * What a server answers for a thrown `err`: a TandemError as it is; a failure of express's body
 * parser (bad JSON, a body over the limit, recognised by shape so the protocol does not depend on
 * express) as `invalid` or `too_large`; anything else as `internal`, which `unexpected` sees first
 * (to log it: a refusal is not news, a bug is).
 */
export function asTandemError(err: unknown, unexpected?: (err: Error) => void): TandemError {
  if (err instanceof TandemError) return err;
  const { type, limit } = (err ?? {}) as { type?: unknown; limit?: unknown };
  if (type === 'entity.too.large') return new TandemError('too_large', `request body too large${typeof limit === 'number' ? ` (the limit is ${limit} bytes)` : ''}`);
  if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new TandemError('invalid', `bad request body: ${(err as Error).message}`);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  unexpected?.(e);
  return new TandemError('internal', `internal error: ${e.message}`);
}

// ---------------------------------------------------------------------------------------------
// View service (MIT 6.824 2015, viewservice/common.go)

export const viewSchema = z.object({
  /** Views are numbered 1, 2, ... in the order the service made them; 0 before the first. */
  viewnum: z.number().int().min(0),
  /** The primary master's name (its URL), '' when there is none. */
  primary: z.string(),
  /** The backup master's name, '' when there is none. */
  backup: z.string(),
});
/** The view: which master is primary and which is backup. */
export type View = z.infer<typeof viewSchema>;

/** POST /ping: a master says it is alive and which view it acknowledges. */
export const pingRequestSchema = z.object({
  /** The master's name in views: its URL. */
  server: z.string().min(1).max(200),
  /**
   * The view this master acknowledges: the primary pings a view once its backup holds its state,
   * others the newest view they know; 0 means "I (re)started and hold no state".
   */
  viewnum: z.number().int().min(0),
  /** The master's Lamport time (the event log orders events across processes by it). */
  clock: z.number().int().min(0).optional(),
  /** The last durable-log batch this master holds (every batch up to it was in the log): the view service remembers the highest (§3.4). */
  seq: z.number().int().min(0).optional(),
});
export type PingRequest = z.infer<typeof pingRequestSchema>;

/**
 * The view-service lease a view service holds for its Redis and prefix (docs/DESIGN.md §5.1, rule
 * 12): who decides views, since when, and its epoch, raised on every takeover.
 */
export const viewLeaseSchema = z.object({
  /** The holder's random instance id. */
  id: z.string(),
  /** The holder's advertised URL. */
  url: z.string(),
  /** When the holder took the lease (ISO 8601). */
  since: z.string(),
  epoch: z.number().int().min(1),
});
export type ViewLease = z.infer<typeof viewLeaseSchema>;

export const pingReplySchema = z.object({
  ok: z.literal(true),
  /** The current view, after this ping. */
  view: viewSchema,
  /** The lease under which the view was decided: masters ignore replies of an older epoch than one they saw. */
  lease: viewLeaseSchema.optional(),
  /** The view service's Lamport time. */
  clock: z.number().int().min(0),
  /** The highest durable-log batch any master said it held: a log that ends before it was rolled back (§3.4). */
  logSeq: z.number().int().min(0).optional(),
});
export type PingReply = z.infer<typeof pingReplySchema>;

/** GET /view: the current view and nothing else (a lookup is not a ping). */
export const viewReplySchema = z.object({ ok: z.literal(true), view: viewSchema });
export type ViewReply = z.infer<typeof viewReplySchema>;

/** A master as the view service sees it. */
export const serverStatusSchema = z.object({
  /** Its name in views (its URL). */
  name: z.string(),
  role: z.enum(['primary', 'backup', 'idle']),
  /** It pinged within the dead-detection time. */
  alive: z.boolean(),
  lastPingAgoMs: z.number(),
  /** The view number of its last ping. */
  viewnum: z.number().int(),
  /** It pinged 0 after a real view while it had a role: whatever it held is gone. */
  restarted: z.boolean(),
});
export type ServerStatus = z.infer<typeof serverStatusSchema>;

/** One BullMQ queue's task counts. */
export const queueCountsSchema = z.object({
  waiting: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  delayed: z.number().int(),
});
export type QueueCounts = z.infer<typeof queueCountsSchema>;

/** The view service's watch on the task queues. */
export const queueReportSchema = z.object({
  /** Counts per queue (map and reduce). */
  queues: z.record(z.enum(QUEUES), queueCountsSchema),
  /** Worker processes BullMQ lists as listening. */
  workersOnline: z.number().int(),
  /** Stall events seen since the monitor started. */
  stalled: z.number().int(),
  /** Tasks that stalled more than once, with how often. */
  repeatedlyStalled: z.array(z.object({ task: z.string(), times: z.number().int() })),
  /** When the counts were taken (ms since the epoch). */
  checkedAt: z.number(),
  /** Why the last check failed (Redis unreachable, ...), or null. */
  error: z.string().nullable(),
});
export type QueueReport = z.infer<typeof queueReportSchema>;

/** GET /status (with `ok: true`): the view service's whole account, for people and the console. */
export const viewStatusSchema = z.object({
  view: viewSchema,
  /** The primary has pinged the current view's number; only then may the view change. */
  acked: z.boolean(),
  /** Since when the current view has waited for the primary's acknowledgement (null if acked). */
  waitingForAckMs: z.number().nullable(),
  /** Every master that has pinged, by name. */
  servers: z.array(serverStatusSchema),
  /** Null until the queue monitor has checked once. */
  queues: queueReportSchema.nullable(),
  /** Problems in plain words (no primary, an unacknowledged view, tasks and no worker, ...). */
  alerts: z.array(z.string()),
  /** GET /view requests served since start (clients looking for the primary). */
  lookups: z.number().int(),
  /** The lease this view service decides views under. */
  lease: viewLeaseSchema.optional(),
  /** The highest durable-log batch any master said it held (§3.4). */
  logSeq: z.number().int().optional(),
});
export type ViewStatus = z.infer<typeof viewStatusSchema>;

// ---------------------------------------------------------------------------------------------
// Masters

export const jobPhaseSchema = z.enum(['map', 'reduce', 'done', 'failed', 'cancelled']);
export type JobPhase = z.infer<typeof jobPhaseSchema>;

export const isFinishedPhase = (p: JobPhase) => p === 'done' || p === 'failed' || p === 'cancelled';

/**
 * Replies the master keeps per client; a client never has more request ids than this between its
 * lowest unanswered request and its newest one (MasterClient waits instead), so none it may still
 * retry is forgotten.
 */
export const REQUEST_WINDOW = 100;

/** A request id on the wire: a positive integer, as a string. */
const requestIdSchema = z.string().regex(/^[1-9][0-9]{0,15}$/, 'expected a positive integer (as a string), the client\'s request number');

/**
 * Who sends a change: a retry with the same pair gets the first answer (the primary's replicated
 * table of recent replies per client), so a submit retried through a failover makes one job, not
 * two, however many requests the client has in flight.
 */
export const clientFields = {
  /** The client's id, random per client process (or per console form). */
  clientId: z.string().min(1).max(200),
  /** The client's request number, the same for every retry of one request. */
  requestId: requestIdSchema,
  /**
   * The lowest request number the client has not yet seen answered (at most requestId): the
   * master forgets this client's replies below it. Absent: it forgets only past its per-client bound.
   */
  firstUnanswered: requestIdSchema.optional(),
};

/**
 * zod's record drops a `__proto__` key without a word (so nothing can set a prototype through it),
 * which would accept a parameter no job type declares; it is refused here by name instead, as the
 * job type refuses `constructor` or any other unknown name.
 */
function refuseProtoKey(v: unknown, ctx: { addIssue: (issue: { code: 'custom'; message: string; input: unknown; path: string[] }) => void }): unknown {
  if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')) {
    ctx.addIssue({ code: 'custom', message: 'unknown parameter "__proto__" (no job type takes it)', input: v, path: ['__proto__'] });
  }
  return v;
}

/** What a client asks to run (MasterClient.submit sends it with clientId and requestId). */
export const submitSpecSchema = z.object({
  /** A job type the masters know (`tandem job types`). */
  type: z.string().min(1),
  /** A dataset's name; the job reads the version current at submit. */
  dataset: z.string().min(1),
  /** The job type's parameters, validated by the job type. */
  params: z.preprocess(
    refuseProtoKey,
    z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, a number or a boolean' })),
  ).default({}),
  /** Reduce partitions (R); the master picks a number from the input's size when absent. */
  partitions: z.number().int().optional(),
  /**
   * Run every task twice, on different workers where there are several, with its input in another
   * order where the job-type contract allows it, and fail the job if the two runs' outputs differ
   * (docs/DESIGN.md §3.6). Key/value job types only.
   */
  verify: z.boolean().optional(),
});
export type SubmitSpec = z.input<typeof submitSpecSchema>;

/** POST /jobs. */
export const submitRequestSchema = submitSpecSchema.extend(clientFields);
export type SubmitRequest = z.infer<typeof submitRequestSchema>;

/** POST /jobs/:id/cancel and POST /jobs/:id/remove. */
export const changeRequestSchema = z.object(clientFields);
export type ChangeRequest = z.infer<typeof changeRequestSchema>;

/** The answer to a submit, a cancel or a remove that was applied. */
export const changeReplySchema = z.object({
  ok: z.literal(true),
  jobId: z.string(),
  /** The job's phase after the change (absent after a remove). */
  phase: jobPhaseSchema.optional(),
});
export type ChangeReply = z.infer<typeof changeReplySchema>;

/** A whole number in a query string, e.g. `?after=12`. */
const queryInt = z.string().regex(/^\d+$/, 'expected a whole number ≥ 0').transform(Number);

/** GET /jobs/:id's query. */
export const jobQuerySchema = z.object({
  /** A version from an earlier status: answer once the job's version differs (a long poll). */
  after: queryInt.optional(),
  /** How long a long poll may wait before it answers anyway (ms, at most 60 s). */
  waitMs: queryInt.transform((n) => Math.min(n, 60_000)).default(25_000),
  /**
   * A long poll's pace (ms, at most 1 s): a change that leaves the job running is answered no sooner
   * than this after the request, a change that finishes it at once (the client's "at most one poll
   * per 100 ms" without a sleep in front of the final status).
   */
  holdMs: queryInt.transform((n) => Math.min(n, 1000)).optional(),
  /** Any value: include every task's record (for debugging). */
  tasks: z.string().optional(),
});
export type JobQuery = z.infer<typeof jobQuerySchema>;

export const taskCountsSchema = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  queued: z.number().int(),
  running: z.number().int(),
  committed: z.number().int(),
});
export type TaskCounts = z.infer<typeof taskCountsSchema>;

/** Summed over a phase's committed tasks, except attempts and failures, which count every attempt. */
export const phaseCountersSchema = z.object({
  recordsIn: z.number(),
  recordsOut: z.number(),
  bytesIn: z.number(),
  bytesOut: z.number(),
  attempts: z.number().int(),
  failures: z.number().int(),
  /** Backup attempts started for stragglers. */
  speculative: z.number().int(),
});
export type PhaseCounters = z.infer<typeof phaseCountersSchema>;

/** GET /jobs/:id, and each job of GET /jobs. */
export const jobStatusSchema = z.object({
  id: z.string(),
  type: z.string(),
  dataset: z.string(),
  /** The dataset version pinned at submit. */
  datasetVersion: z.string(),
  /** The parameters as the job type parsed them (defaults filled in). */
  params: z.record(z.string(), z.unknown()),
  phase: jobPhaseSchema,
  /** The round running now (0 for a one-round job). */
  round: z.number().int(),
  /** The current round's map and reduce tasks. */
  maps: taskCountsSchema,
  reduces: taskCountsSchema,
  partitions: z.number().int(),
  counters: z.object({ map: phaseCountersSchema, reduce: phaseCountersSchema }),
  submittedAt: z.number(),
  finishedAt: z.number().nullable(),
  /** Why the job failed, or null. */
  error: z.string().nullable(),
  /** Its intermediate data has been deleted (after it finished). */
  cleaned: z.boolean(),
  /** Indices of the current round's running tasks. */
  running: z.array(z.number().int()),
  /** Problems that hold the job up, in plain words (e.g. Redis unreachable); empty when none. */
  alerts: z.array(z.string()),
  /** Change counter for long polls (`?after=`); replicated, so it never goes backwards across a failover. */
  version: z.number().int(),
  /** The (clientId, requestId) of the submit that created the job. */
  submittedBy: z.object({ clientId: z.string(), requestId: z.string() }),
  /** An iterative job's rounds (set-up rounds, iteration limit, tolerance, first chained round); null for a one-round job. */
  plan: z.object({ setup: z.number().int(), iterations: z.number().int(), tol: z.number(), chainFrom: z.number().int().optional() }).nullable(),
  /** Finished rounds of an iterative job with their summed statistics (e.g. PageRank's L1 `delta`); empty otherwise. */
  rounds: z.array(z.object({ round: z.number().int(), stats: z.record(z.string(), z.number()), finishedAt: z.number() })),
  /** An iterative job is in its output round (after the last iteration). */
  outputRound: z.boolean(),
  /**
   * A done job whose output keys are gone from Redis (when the master noticed, which partitions):
   * its output is lost, and clients show "output lost" instead of "done". Null otherwise.
   */
  outputLost: z.object({ at: z.number(), partitions: z.array(z.number().int()) }).nullable(),
  /**
   * A job submitted with verify: its tasks whose two runs wrote identical outputs so far, and how
   * many of those ran both times on the same worker (verify.ts `verifyText` words it). Null otherwise.
   */
  verify: z.object({ tasks: z.number().int(), sameWorker: z.number().int() }).nullable().default(null),
  /** Redis rolled back the master's op log past this job's last changes (a crash; §3.4): it failed, and is shown as "lost". */
  lost: z.object({ at: z.number() }).nullish(),
  /** Map tasks run again because Redis lost their committed output (§3.4): when, which, and the failure that found it. */
  reruns: z.array(z.object({ at: z.number(), round: z.number().int(), map: z.number().int(), reason: z.string() })).default([]),
});
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** The phase as clients show it: a done job whose output is gone says so instead of "done". */
export const shownPhase = (s: Pick<JobStatus, 'phase' | 'outputLost' | 'lost'>): string =>
  s.lost ? 'lost' : s.phase === 'done' && s.outputLost ? 'output lost' : s.phase;

/** Why a done job's output cannot be read, in words, or null when it can. */
export const outputLostText = (s: Pick<JobStatus, 'outputLost'>): string | null =>
  s.outputLost
    ? `its output (partitions ${s.outputLost.partitions.join(', ')}) was gone from Redis at ${new Date(s.outputLost.at).toISOString()}; run the job again`
    : null;

/** GET /jobs: every job the primary holds, newest first. */
export const jobListSchema = z.object({ jobs: z.array(jobStatusSchema) });
export type JobList = z.infer<typeof jobListSchema>;

/** GET /health: any master, whatever its role, describes itself. */
export const masterHealthSchema = z.object({
  ok: z.literal(true),
  pid: z.number().int(),
  role: z.enum(['primary', 'backup', 'idle']),
  /** The newest view this master knows. */
  view: viewSchema,
  /** It holds the replicated state (the primary, or a backup with the current view's snapshot). */
  hasState: z.boolean(),
  /** Jobs in its state. */
  jobs: z.number().int(),
  /** Batches forwarded to the backup and confirmed, and their mean round trip (null before the first). */
  replication: z.object({ batches: z.number().int(), ops: z.number().int(), meanMs: z.number().nullable() }),
  alerts: z.array(z.string()),
  /** Its TANDEM_PREFIX and its Redis (host:port, never a password, and the server's run_id), so a client can tell it uses another cluster's. */
  prefix: z.string().optional(),
  redis: z.object({ address: z.string(), runId: z.string().nullable() }).optional(),
});
export type MasterHealth = z.infer<typeof masterHealthSchema>;
/** /health's answer to a request without the cluster secret: alive, and in which role, nothing more. */
export type MasterLiveness = Pick<MasterHealth, 'ok' | 'role'>;

/** POST /gc: delete (or, with dryRun, only list) the job data in Redis that no job in the table owns. */
export const gcRequestSchema = z.object({ dryRun: z.boolean().default(false) });

/** What a garbage collection found (and, unless dryRun, freed). */
export const gcReportSchema = z.object({
  ok: z.literal(true),
  dryRun: z.boolean(),
  /** Job ids with data in Redis but no record in the table. */
  orphanJobs: z.number().int(),
  keys: z.number().int(),
  /** Redis's MEMORY USAGE of those keys, measured before deleting them. */
  bytes: z.number(),
  /** The largest orphans, at most GC_REPORT_JOBS of them. */
  jobs: z.array(z.object({ jobId: z.string(), keys: z.number().int(), bytes: z.number() })),
});
export type GcReport = z.infer<typeof gcReportSchema>;

/** Orphans a gc report names one by one; the totals count them all. */
export const GC_REPORT_JOBS = 100;

/** What one process (master or worker) reports of the job types it loaded from its jobs folder. */
export interface JobTypesReport {
  role: 'master' | 'worker';
  /** A master's advertised URL, a worker's host:pid. */
  name: string;
  /** The jobs folder's types it runs: name -> content hash of the module file (built-ins are not listed). */
  types: Record<string, string>;
  /** What of its jobs folder did not load at its last read (each broken file, with its problem), or null. */
  problem: string | null;
  at: number;
  /** A worker's memory when it wrote the report. */
  memory?: ProcessMemory;
  /** A worker's task attempts finished since it started, cumulative (the console's throughput charts). */
  counters?: TaskCounters;
}

/**
 * What a worker's finished task attempts add up to since it started (`since`, its start time):
 * attempts that ran to a result (skipped runs and failures aside), and the bytes they read and wrote.
 * Cumulative, so a reader takes rates from two reports; a restart starts them again from 0.
 */
export interface TaskCounters {
  since: number;
  tasks: number;
  bytesIn: number;
  bytesOut: number;
}

/** A worker's memory, in bytes: the process (RSS, V8 heap, memory outside it) and its caches against their budget. */
export interface ProcessMemory {
  rss: number;
  heapUsed: number;
  external: number;
  /** What its caches hold (decoded data and values it wrote), by their reckoning, and their budget. */
  cacheBytes: number;
  cacheLimit: number;
}

/** GET /job-types: the job types the primary runs, what every live process reports, and the mismatches. */
export interface JobTypesView {
  ok: true;
  /** The primary master's advertised name. */
  master: string;
  /** The primary's job types, each with the hash of its module (`hash` is absent for a built-in). */
  types: (JobTypeDescription & { hash?: string })[];
  processes: JobTypesReport[];
  /** A type missing on, or different in, some process; a process whose jobs folder does not load. */
  alerts: string[];
}
