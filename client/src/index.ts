/**
 * `@tandem/client`: Tandem from your own code. One client for scripts, the CLI and the PageRank
 * script: datasets (stored straight into Redis, as `tandem dataset` does), jobs (through the primary
 * master, found through the view service, retried through failovers with the same request ids), a
 * job's progress as an async iterator, its output as a stream or as records, and PageRank in one call.
 *
 * ```js
 * import { connect } from '@tandem/client';
 * const tandem = connect();                       // TANDEM_VIEW_URL, TANDEM_SECRET, REDIS_URL, ...
 * const { ranks } = await tandem.pagerank('graph.csv', { onIteration: (i) => console.log(i.iteration, i.delta) });
 * await tandem.close();
 * ```
 *
 * Every refusal is a {@link TandemError} whose `code` is one of the protocol's error codes
 * (`invalid`, `unauthorized`, `not_found`, `conflict`, `unavailable`, ...).
 *
 * This file is a facade over Tandem's shared modules; `npm run build` bundles it with them into
 * client/dist (docs/ARCHITECTURE.md, "The build").
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { readSecretFile } from '../../shared/src/cluster-auth.ts';
import { configSchema } from '../../shared/src/config.ts';
import { keys, type Keys } from '../../shared/src/keys.ts';
import { MasterClient } from '../../shared/src/master-client.ts';
import { recordViewAnswered, viewAnsweredRecently } from '../../shared/src/view-seen.ts';
import { formatIssues, isFinishedPhase, TandemError, type JobStatus, type SubmitSpec } from '../../shared/src/protocol.ts';
import { clientRedis, RedisUnreachableError, withDataDirRedisPassword, type RedisConnection } from '../../shared/src/redis.ts';
import { outputRefusal, roundProgress, type RoundProgress } from '../../shared/src/round-progress.ts';
import { OutputMissingError, outputLines, writeOutput, writeOutputFile, type OutputRef } from '../../shared/src/output.ts';
import { headDataset, listDatasets, removeDataset, requireDataset, getDataset } from '../../shared/src/dataset-store/store.ts';
import { putDataset } from '../../shared/src/dataset-store/upload.ts';
import { DatasetError, DatasetNotFoundError, validateDatasetName } from '../../shared/src/dataset-store/errors.ts';
import type { DatasetMeta } from '../../shared/src/dataset-store/meta.ts';
import type { DatasetFormat } from '../../shared/src/job-type.ts';
import type { HeaderMode, HeaderNote } from '../../shared/src/dataset-store/edges.ts';

export { TandemError, ERROR_STATUS, type ErrorCode, type JobStatus, type JobPhase, type SubmitSpec, type TaskCounts, type PhaseCounters } from '../../shared/src/protocol.ts';
export { MasterError, MasterUnreachableError } from '../../shared/src/master-client.ts';
export { DatasetError, DatasetExistsError, DatasetNotFoundError } from '../../shared/src/dataset-store/errors.ts';
export type { RoundProgress } from '../../shared/src/round-progress.ts';
export type { DatasetMeta as DatasetInfo } from '../../shared/src/dataset-store/meta.ts';
export type { DatasetFormat } from '../../shared/src/job-type.ts';
export type { HeaderMode, HeaderNote } from '../../shared/src/dataset-store/edges.ts';
// Writing a job type for a jobs folder (TANDEM_JOBS_DIR): README, "Your own job types".
export {
  defineJobType, paramSchema, type JobType, type IterativeJobType, type AnyJobType, type ParamsOf, type ParamSchema, type ParamSpec, type ParamType, type ParamProblem,
  type MapContext, type ReduceContext, type FormatContext, type RoundPlan, type RoundStats, type RoundContext, type IterativeMapContext, type IterativeReduceContext, type MapBlobs, type ReduceBlob, type PartitionRule,
} from '../../shared/src/job-type.ts';
export { lines } from '../../shared/src/lines.ts';

/** Where the cluster is and how to prove you may use it. Each field defaults to its environment variable. */
export interface ConnectOptions {
  /** The view service, which names the primary master (TANDEM_VIEW_URL; default http://127.0.0.1:7000). */
  viewUrl?: string;
  /**
   * The cluster secret (TANDEM_SECRET; else the secret file `tandem up` keeps in TANDEM_DATA_DIR,
   * default `.tandem` under the working directory, as the CLI finds it).
   */
  secret?: string;
  /** The Redis that holds datasets and job output (REDIS_URL; default redis://127.0.0.1:6379). */
  redisUrl?: string;
  /** The prefix of the cluster's Redis keys (TANDEM_PREFIX; default `tandem`). */
  prefix?: string;
  /** Talk to this one master instead of asking the view service for the primary (TANDEM_MASTER_URL). */
  masterUrl?: string;
  /** A PEM file of the CA that signed a `rediss://` Redis's certificate (TANDEM_REDIS_CA), trusted besides Node's roots. */
  redisCa?: string;
  /** A CA certificate (PEM text) to trust for a `rediss://` Redis, instead of a file. (HTTPS to the cluster trusts the file TANDEM_TLS_CA names.) */
  tlsCa?: string | Buffer;
  /** Where `tandem up` keeps its secret file (TANDEM_DATA_DIR; default `.tandem`). */
  dataDir?: string;
  /** Target size of one dataset split in bytes (TANDEM_SPLIT_BYTES; default 8 MiB). */
  splitBytes?: number;
  /** How long a request to the masters is retried through failures and failovers, in ms (default 30 s). */
  retryForMs?: number;
  /** The environment the defaults come from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /**
   * Called once per outage when the view service does not answer but answered before (in this
   * client, or within 10 minutes by the record in the data folder): the client then waits for it,
   * up to `retryForMs`, instead of failing at once.
   */
  onViewWait?: (message: string) => void;
}

/** The settings a client runs with, once defaults are filled in (the secret is not repeated). */
export interface ResolvedSettings {
  viewUrl: string;
  masterUrl?: string;
  redisUrl: string;
  prefix: string;
  splitBytes: number;
  /** Whether a secret is sent. */
  hasSecret: boolean;
}

/** How far an upload has got: bytes read of the input, and its size when known (a file's). */
export interface UploadProgress {
  bytes: number;
  total: number | null;
}

/** What `datasets.put` stores. */
export interface PutOptions {
  /** `text` (one record per line) or `edges` (CSV `src,dst`); default: `edges` for a `.csv` path, else `text`. */
  format?: DatasetFormat;
  /** Replace a dataset of that name (jobs reading the old version finish on it); without it, an existing name is a `conflict`. */
  replace?: boolean;
  /** Target split size in bytes (default: the client's). */
  splitBytes?: number;
  /** Called as the input is read. */
  onProgress?: (p: UploadProgress) => void;
  /** `edges`: whether the first row is a header: `auto` (default: when it is `src,dst`, or two words above a row of two numbers), `yes` or `no`. */
  header?: HeaderMode;
  /** `edges`: called with what became of the first row, when it was a header or looked like one. */
  onFirstRow?: (note: HeaderNote) => void;
}

/** What a dataset put may read from: a file path, a readable stream, or any async iterable of bytes. */
export type DatasetSource = string | AsyncIterable<Uint8Array | Buffer | string>;

/** A dataset's metadata and its first lines. */
export interface DatasetDetails extends DatasetMeta {
  head: string[];
}

/** One finished round of an iterative job, with the figures its tasks summed (PageRank: nodes, edges, delta, dangling). */
export interface RoundFigures {
  round: number;
  /** 1-based iteration number, or null for a set-up round. */
  iteration: number | null;
  stats: Record<string, number>;
  finishedAt: number;
}

/** One change of a job, as `jobs.watch` yields it. */
export interface JobUpdate {
  /** The job's status after the change. */
  status: JobStatus;
  /** The rounds that finished since the previous update (each round is reported once); empty for a one-round job. */
  rounds: RoundFigures[];
  /** Where an iterative job is; null for a one-round job. */
  progress: RoundProgress | null;
}

/** Options of `jobs.watch`. */
export interface WatchOptions {
  /** Stop watching (the iterator ends; the job keeps running). */
  signal?: AbortSignal;
}

/** An iteration of a PageRank job, as `pagerank`'s onIteration sees it. */
export interface IterationReport {
  /** 1-based. */
  iteration: number;
  /** The L1 change of the rank vector in this iteration. */
  delta: number;
  /** Every figure of the round (nodes, delta, dangling). */
  stats: Record<string, number>;
}

/** A node and its rank. */
export interface NodeRank {
  node: string;
  rank: number;
}

/** PageRank's settings; unset ones take the job type's defaults (20 iterations, tol 1e-8, damping 0.85). */
export interface PageRankOptions {
  /** The dataset name a file is stored as (default: the file name without its extension). */
  name?: string;
  iterations?: number;
  tol?: number;
  damping?: number;
  /** Partitions of the graph (default: the job type's rule). */
  partitions?: number;
  /** Upload progress, when a file is uploaded. */
  onUpload?: (p: UploadProgress) => void;
  /** Called once per finished iteration, in order. */
  onIteration?: (it: IterationReport) => void;
  /** Called with the job id as soon as the job is submitted. */
  onSubmit?: (jobId: string) => void;
}

/** What `pagerank` returns. */
export interface PageRankResult {
  jobId: string;
  /** The dataset ranked. */
  dataset: string;
  /** A file was uploaded (false: the dataset already held it, or a dataset name was given). */
  uploaded: boolean;
  nodes: number;
  edges: number;
  iterations: IterationReport[];
  /** The last iteration's L1 change was below tol. */
  converged: boolean;
  /** Every node's rank, rank descending, ties by node id. */
  ranks: NodeRank[];
  /** The job's final status. */
  status: JobStatus;
}

const PAGERANK_TYPE = 'pagerank';
const PAGERANK_FORMAT: DatasetFormat = 'edges';

/** The settings a client may take from the environment, validated by the same rules as every Tandem process. */
const settingsSchema = configSchema.pick({ TANDEM_REDIS_CA: true, REDIS_URL: true, TANDEM_PREFIX: true, TANDEM_VIEW_URL: true, TANDEM_MASTER_URL: true, TANDEM_SECRET: true, TANDEM_DATA_DIR: true, TANDEM_SPLIT_BYTES: true });

const OPTION_OF: Record<string, string> = {
  REDIS_URL: 'redisUrl', TANDEM_PREFIX: 'prefix', TANDEM_VIEW_URL: 'viewUrl', TANDEM_MASTER_URL: 'masterUrl', TANDEM_SECRET: 'secret', TANDEM_DATA_DIR: 'dataDir', TANDEM_SPLIT_BYTES: 'splitBytes',
};

function settingsFrom(o: ConnectOptions) {
  const env = o.env ?? process.env;
  const given: Record<string, unknown> = {
    REDIS_URL: o.redisUrl ?? env.REDIS_URL,
    TANDEM_REDIS_CA: o.redisCa ?? env.TANDEM_REDIS_CA,
    TANDEM_PREFIX: o.prefix ?? env.TANDEM_PREFIX,
    TANDEM_VIEW_URL: o.viewUrl ?? env.TANDEM_VIEW_URL,
    TANDEM_MASTER_URL: o.masterUrl ?? env.TANDEM_MASTER_URL,
    TANDEM_SECRET: o.secret ?? env.TANDEM_SECRET,
    TANDEM_DATA_DIR: o.dataDir ?? env.TANDEM_DATA_DIR,
    TANDEM_SPLIT_BYTES: o.splitBytes ?? env.TANDEM_SPLIT_BYTES,
  };
  for (const k of Object.keys(given)) if (given[k] === undefined || given[k] === '') delete given[k];
  const parsed = settingsSchema.safeParse(given);
  if (!parsed.success) {
    const name = (path: string) => `${OPTION_OF[path] ?? path} (${path})${path === 'TANDEM_SECRET' ? ', value not shown' : `=${JSON.stringify(given[path])}`}`;
    throw new TandemError('invalid', `invalid connection settings: ${formatIssues(parsed.error, { name })}`);
  }
  const s = parsed.data;
  // On the machine `tandem up` runs on, its secret and its Redis's password, from its data folder (as the CLI finds them).
  return { ...s, TANDEM_SECRET: s.TANDEM_SECRET ?? readSecretFile(s.TANDEM_DATA_DIR), REDIS_URL: withDataDirRedisPassword(s.REDIS_URL, s.TANDEM_DATA_DIR) };
}

/** @internal A readable file's size, or an `invalid` error saying why it cannot be read. */
export function fileSize(file: string): number {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new DatasetError(`cannot read ${file}: not a file`);
    return st.size;
  } catch (err) {
    if (err instanceof TandemError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(code === 'ENOENT' ? `cannot read ${file}: no such file` : `cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * @internal For a graph input that is not a readable file: a path, or a name with a file extension
 * that no dataset has, is a file that does not exist, and is said so (not "dataset does not exist").
 */
export async function checkNotAMissingFile(t: Tandem, input: string): Promise<void> {
  if (/[\\/]/.test(input)) fileSize(input);
  if (!/\.[A-Za-z0-9]+$/.test(input)) return;
  const aName = (() => {
    try {
      validateDatasetName(input);
      return true;
    } catch {
      return false;
    }
  })();
  if (!aName || !(await t.datasets.get(input))) {
    throw new DatasetError(`cannot read ${input}: no such file (nor is there a dataset of that name; \`tandem dataset ls\` lists them)`, 'not_found');
  }
}

/** A dataset name from a file name: its letters, digits, '_', '.' and '-' (others become '-'). */
export function datasetNameFor(file: string): string {
  const stem = basename(file, extname(file)).replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 120);
  return /^[A-Za-z0-9]/.test(stem) ? stem : `g${stem}`;
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

/** Turns a dropped Redis into a typed error. */
function typed(err: unknown): never {
  if (err instanceof RedisUnreachableError) throw new TandemError('unavailable', err.message);
  throw err;
}

/** Reads a round history into figures with iteration numbers. */
function figuresOf(s: JobStatus, from: number): RoundFigures[] {
  const setup = s.plan?.setup ?? 0;
  return s.rounds.slice(from).map((r) => ({ round: r.round, iteration: r.round >= setup ? r.round - setup + 1 : null, stats: r.stats, finishedAt: r.finishedAt }));
}

/** Datasets: stored straight into Redis (the CLI's `tandem dataset`). Reached as `tandem.datasets`. */
export class Datasets {
  /** @internal */
  constructor(private readonly t: Tandem) {}

  /**
   * Stores `source` (a file path, a readable stream or an async iterable of bytes) as dataset `name`,
   * under a fresh version: readers see the old version or the new one, never a mix, and a failed
   * upload leaves nothing. Bad input is `invalid` with the line; an existing name without `replace`
   * is `conflict`.
   */
  async put(name: string, source: DatasetSource, opts: PutOptions = {}): Promise<DatasetMeta> {
    validateDatasetName(name);
    const isPath = typeof source === 'string';
    const total = isPath ? fileSize(source) : null;
    const format = opts.format ?? (isPath && source.toLowerCase().endsWith('.csv') ? 'edges' : 'text');
    const redis = await this.t.redis();
    const input: AsyncIterable<Buffer | Uint8Array> = isPath
      ? createReadStream(source, { highWaterMark: 1 << 20 })
      : (async function* () {
          for await (const c of source) yield typeof c === 'string' ? Buffer.from(c) : c;
        })();
    try {
      return await putDataset(redis, this.t.keys, input, {
        name, format, replace: opts.replace, splitBytes: opts.splitBytes ?? this.t.settings.splitBytes, header: opts.header, onFirstRow: opts.onFirstRow,
        onProgress: opts.onProgress ? (bytes) => opts.onProgress!({ bytes, total }) : undefined,
      });
    } catch (err) {
      // The line numbers in the message are the file's: name it too.
      if (isPath && err instanceof DatasetError && err.code === 'invalid') throw new DatasetError(`${source}: ${err.message}`);
      return typed(err);
    }
  }

  /**
   * Stores a done job's output as dataset `name` (format `text` unless told), streamed from Redis
   * into the dataset store in output order, so jobs chain as in Hadoop: no file is written and
   * nothing goes through the console. The same guarantees as `put`: the old version or the new one,
   * never a mix; a job that is not done is a `conflict`, and no dataset is written.
   */
  async fromJob(name: string, job: string | JobStatus, opts: PutOptions = {}): Promise<DatasetMeta> {
    validateDatasetName(name);
    const status = typeof job === 'string' ? await this.t.jobs.status(job) : job;
    const output = await this.t.jobs.output(status);
    try {
      return await this.put(name, output, { format: 'text', ...opts });
    } catch (err) {
      if (err instanceof DatasetError && err.code === 'invalid') throw new DatasetError(`the output of job ${status.id}: ${err.message}`);
      throw err;
    }
  }

  /** Every dataset, by name. */
  async list(): Promise<DatasetMeta[]> {
    return listDatasets(await this.t.redis(), this.t.keys).catch(typed);
  }

  /** A dataset's metadata and its first `lines` lines (default 5); `not_found` if there is none. */
  async show(name: string, opts: { lines?: number } = {}): Promise<DatasetDetails> {
    const redis = await this.t.redis();
    const meta = await requireDataset(redis, this.t.keys, name).catch(typed);
    return { ...meta, head: await headDataset(redis, this.t.keys, meta, opts.lines ?? 5) };
  }

  /** A dataset's metadata, or null when there is none. */
  async get(name: string): Promise<DatasetMeta | null> {
    return getDataset(await this.t.redis(), this.t.keys, name).catch(typed);
  }

  /** Removes a dataset and its splits (jobs reading it fail); `not_found` if there is none. */
  async remove(name: string): Promise<void> {
    if (!(await removeDataset(await this.t.redis(), this.t.keys, name).catch(typed))) throw new DatasetNotFoundError(`dataset "${name}" does not exist`);
  }

  /**
   * A dataset holding `file` in `format`: the one named `name` if it already holds those bytes (by
   * the input's sha256), else `file` uploaded under that name (replacing what it held).
   */
  async ensure(file: string, opts: { name?: string; format: DatasetFormat } & Pick<PutOptions, 'onProgress' | 'header' | 'onFirstRow'>): Promise<{ meta: DatasetMeta; uploaded: boolean; replaced: boolean }> {
    fileSize(file);
    const name = opts.name ?? datasetNameFor(file);
    validateDatasetName(name);
    const existing = await this.get(name);
    if (existing && existing.format === opts.format && existing.sourceSha256 && existing.sourceSha256 === (await sha256Of(file))) {
      return { meta: existing, uploaded: false, replaced: false };
    }
    const meta = await this.put(name, file, { format: opts.format, replace: existing !== null, onProgress: opts.onProgress, header: opts.header, onFirstRow: opts.onFirstRow });
    return { meta, uploaded: true, replaced: existing !== null };
  }
}

/** Jobs: through the primary master (the CLI's `tandem job`). Reached as `tandem.jobs`. */
export class Jobs {
  /** @internal */
  constructor(private readonly t: Tandem) {}

  /**
   * Submits a job and returns its id. Bad parameters, an unknown type or dataset are refused
   * (`invalid`, `not_found`) naming the field. Retried through failovers without making two jobs.
   */
  submit(spec: SubmitSpec): Promise<string> {
    return this.t.master.submit(spec);
  }

  /** A job's status; `not_found` for an unknown id. */
  status(jobId: string): Promise<JobStatus> {
    return this.t.master.status(jobId);
  }

  /** Every job, newest first. */
  list(): Promise<JobStatus[]> {
    return this.t.master.list();
  }

  /**
   * The job's changes, from its current status to its end (done, failed or cancelled): one update
   * per change the master reports (long polls, at most about ten a second), with the rounds that
   * finished since the one before. A failover in between is waited out (the round history is
   * replicated, so no round is lost or repeated). Breaking out of the loop leaves the job running.
   */
  async *watch(jobId: string, opts: WatchOptions = {}): AsyncGenerator<JobUpdate, void, undefined> {
    let s = await this.t.master.status(jobId);
    let seen = 0;
    for (;;) {
      const rounds = figuresOf(s, seen);
      seen = s.rounds.length;
      yield { status: s, rounds, progress: s.plan ? roundProgress(s) : null };
      if (isFinishedPhase(s.phase) || opts.signal?.aborted || this.t.closed) return;
      s = await this.t.master.status(jobId, { after: s.version, waitMs: 5000 });
      if (opts.signal?.aborted) return;
    }
  }

  /** Follows the job to its end and returns its final status (see `watch`). */
  async wait(jobId: string, onUpdate?: (u: JobUpdate) => void): Promise<JobStatus> {
    let last: JobStatus | undefined;
    for await (const u of this.watch(jobId)) {
      onUpdate?.(u);
      last = u.status;
    }
    return last!;
  }

  /** Where the output of a job whose output can be read lies, or a `conflict` saying why it cannot be read. */
  private async finished(job: string | JobStatus): Promise<OutputRef> {
    const s = typeof job === 'string' ? await this.status(job) : job;
    const refused = outputRefusal(s, `wait for it with \`tandem job output ${s.id} --wait\` (from code: jobs.wait)`);
    if (refused) throw new TandemError('conflict', refused);
    return { jobId: s.id, round: s.round, partitions: s.partitions };
  }

  /** Reads a job's output with `read`, turning a vanished output or Redis into typed errors. */
  private async reading<T>(job: string | JobStatus, read: (redis: RedisConnection, ref: OutputRef) => Promise<T>): Promise<T> {
    const ref = await this.finished(job);
    try {
      return await read(await this.t.redis(), ref);
    } catch (err) {
      if (err instanceof OutputMissingError) throw new TandemError('conflict', err.message);
      return typed(err);
    }
  }

  /**
   * Writes a done job's output to `path` atomically (a temporary file beside it, renamed into place
   * when complete); returns the lines and bytes written. `job` is an id or a status already read.
   */
  saveOutput(job: string | JobStatus, path: string): Promise<{ lines: number; bytes: number }> {
    return this.reading(job, (redis, ref) => writeOutputFile(redis, this.t.keys, ref, path));
  }

  /** Writes a done job's output to a writable stream (standard output, a socket), with backpressure; the stream is not ended. */
  writeOutput(job: string | JobStatus, out: Writable): Promise<{ lines: number; bytes: number }> {
    return this.reading(job, (redis, ref) => writeOutput(redis, this.t.keys, ref, out));
  }

  /**
   * A done job's output records (lines, without '\n'), sorted by key (PageRank: a `node,rank`
   * header, then rank descending). A job that is not done is a `conflict`.
   */
  async *records(job: string | JobStatus): AsyncGenerator<string, void, undefined> {
    yield* this.lines(await this.finished(job));
  }

  private async *lines(ref: OutputRef): AsyncGenerator<string, void, undefined> {
    try {
      yield* outputLines(await this.t.redis(), this.t.keys, ref);
    } catch (err) {
      if (err instanceof OutputMissingError) throw new TandemError('conflict', err.message);
      typed(err);
    }
  }

  /** A done job's output as a byte stream of lines (what `tandem job output` writes). */
  async output(job: string | JobStatus): Promise<Readable> {
    const lines = this.lines(await this.finished(job));
    return Readable.from((async function* () {
      let chunk: string[] = [];
      let size = 0;
      for await (const line of lines) {
        chunk.push(line);
        size += line.length + 1;
        if (size >= 1 << 16) {
          yield Buffer.from(chunk.join('\n') + '\n');
          chunk = [];
          size = 0;
        }
      }
      if (chunk.length > 0) yield Buffer.from(chunk.join('\n') + '\n');
    })());
  }

  /** Cancels a running job (its intermediate data is deleted); a finished one is a `conflict`. */
  cancel(jobId: string): Promise<void> {
    return this.t.master.cancel(jobId);
  }

  /** Deletes a finished job and its output; a running one is a `conflict`. */
  remove(jobId: string): Promise<void> {
    return this.t.master.remove(jobId);
  }
}

/** A connection to one Tandem cluster. Make one with {@link connect}; end it with `close()`. */
export class Tandem {
  /** The settings in force (defaults filled in). */
  readonly settings: ResolvedSettings;
  /** Upload, list, show, remove datasets. */
  readonly datasets: Datasets;
  /** Submit, follow, read, cancel jobs. */
  readonly jobs: Jobs;
  /** @internal The client of the masters (view-service lookup, retries with the same request ids). */
  readonly master: MasterClient;
  /** @internal */
  readonly keys: Keys;
  /** @internal */
  closed = false;
  private redisConn: Promise<RedisConnection> | null = null;
  private readonly tlsCa?: string | Buffer;
  private readonly redisCa?: string;

  constructor(opts: ConnectOptions = {}) {
    const s = settingsFrom(opts);
    this.settings = {
      viewUrl: s.TANDEM_VIEW_URL, masterUrl: s.TANDEM_MASTER_URL, redisUrl: s.REDIS_URL, prefix: s.TANDEM_PREFIX, splitBytes: s.TANDEM_SPLIT_BYTES, hasSecret: s.TANDEM_SECRET !== undefined,
    };
    this.tlsCa = opts.tlsCa;
    this.redisCa = s.TANDEM_REDIS_CA;
    this.keys = keys(s.TANDEM_PREFIX);
    // On the machine `tandem up` runs on, its data folder says when the view service last answered (view-seen.ts).
    const dataDir = s.TANDEM_DATA_DIR;
    this.master = new MasterClient({
      viewUrl: s.TANDEM_VIEW_URL, masterUrl: s.TANDEM_MASTER_URL, secret: s.TANDEM_SECRET, ...(opts.retryForMs ? { retryForMs: opts.retryForMs } : {}),
      viewSeen: !s.TANDEM_MASTER_URL && viewAnsweredRecently(dataDir, s.TANDEM_VIEW_URL),
      onViewAnswered: () => recordViewAnswered(dataDir, s.TANDEM_VIEW_URL),
      onViewWait: opts.onViewWait,
    });
    this.datasets = new Datasets(this);
    this.jobs = new Jobs(this);
  }

  /** @internal The Redis connection, opened on first use (and again if it was lost). */
  async redis(): Promise<RedisConnection> {
    if (this.closed) throw new TandemError('invalid', 'this Tandem client is closed');
    const current = this.redisConn && (await this.redisConn.catch(() => null));
    if (current && current.status !== 'end') return current;
    this.redisConn = clientRedis({ REDIS_URL: this.settings.redisUrl, TANDEM_REDIS_CA: this.redisCa }, this.tlsCa ? { tls: { ca: this.tlsCa } } : {}).catch(typed);
    return this.redisConn;
  }

  /**
   * PageRank of a graph: `input` is a local CSV file (`src,dst`, header optional), uploaded first
   * unless the dataset of its name already holds it, or the name of an edges dataset. Runs the job,
   * calls `onIteration` once per iteration, and returns every node's rank.
   */
  async pagerank(input: string, opts: PageRankOptions = {}): Promise<PageRankResult> {
    const isFile = existsSync(input) && statSync(input).isFile();
    let dataset = input;
    let uploaded = false;
    if (isFile) {
      const r = await this.datasets.ensure(input, { name: opts.name, format: PAGERANK_FORMAT, onProgress: opts.onUpload });
      dataset = r.meta.name;
      uploaded = r.uploaded;
    } else {
      await checkNotAMissingFile(this, input);
      if (opts.name) throw new TandemError('invalid', `name: names the dataset a local file is stored as; ${JSON.stringify(input)} is not a file`);
      validateDatasetName(input);
    }
    const params: Record<string, number> = {};
    for (const p of ['iterations', 'tol', 'damping'] as const) if (opts[p] !== undefined) params[p] = opts[p]!;
    const jobId = await this.jobs.submit({ type: PAGERANK_TYPE, dataset, partitions: opts.partitions, params });
    opts.onSubmit?.(jobId);
    const iterations: IterationReport[] = [];
    let status: JobStatus | undefined;
    for await (const u of this.jobs.watch(jobId)) {
      status = u.status;
      for (const r of u.rounds) {
        if (r.iteration === null) continue;
        const it = { iteration: r.iteration, delta: r.stats.delta, stats: r.stats };
        iterations.push(it);
        opts.onIteration?.(it);
      }
    }
    const s = status!;
    if (s.phase !== 'done') throw new TandemError('conflict', `job ${jobId} ${s.phase}${s.error ? `: ${s.error}` : ''}`);
    const graph = s.rounds[(s.plan?.setup ?? 1) - 1]?.stats ?? {};
    const lines: string[] = [];
    for await (const line of this.jobs.records(jobId)) lines.push(line);
    const rows = parseCsv(lines.slice(1).join('\n')) as [string, string][];
    return {
      jobId, dataset, uploaded, nodes: graph.nodes ?? rows.length, edges: graph.edges ?? 0, iterations,
      converged: iterations.length > 0 && iterations[iterations.length - 1].delta < (s.plan?.tol ?? 0),
      ranks: rows.map(([node, rank]) => ({ node, rank: Number(rank) })),
      status: s,
    };
  }

  /** Ends the client's connections (Redis; idle HTTP sockets hold no process), so a script exits by itself. */
  async close(): Promise<void> {
    this.closed = true;
    const conn = this.redisConn;
    this.redisConn = null;
    const redis = conn && (await conn.catch(() => null));
    if (redis && redis.status !== 'end') {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    }
  }
}

/** A client for the cluster the options (or the environment, as the CLI reads it) name; nothing connects until first use. */
export function connect(opts: ConnectOptions = {}): Tandem {
  return new Tandem(opts);
}
