import type { ContentCache } from './content-cache.ts';

/** What a dataset's records are: lines of text, or `src<TAB>dst` edge lines. */
export type DatasetFormat = 'text' | 'edges';

/** The kinds of value a parameter takes. Values arrive as strings (CLI, forms) or as JSON values (API). */
export type ParamType = 'string' | 'number' | 'integer' | 'boolean' | 'enum';

/**
 * One parameter of a job type. It is the only place the parameter is described: the registry
 * validates against it, `tandem job run --help` and `tandem job types` list it, and the console's
 * job form draws its input from it. Plain data, so it travels as JSON as it is.
 */
export interface ParamSpec {
  type: ParamType;
  /** One line, for help texts and the console's form. */
  description: string;
  /** Taken when the parameter is not given. */
  default?: string | number | boolean;
  /** A job cannot run without it (so it has no default). Without either, an absent parameter stays absent. */
  required?: boolean;
  /** number, integer: inclusive bounds. */
  min?: number;
  max?: number;
  /** number, integer: exclusive bounds (in place of min or max). */
  exclusiveMin?: number;
  exclusiveMax?: number;
  /** enum: the allowed values. */
  values?: readonly string[];
  /** string: a regular expression the whole value must match. */
  pattern?: string;
}

/** A job type's parameters by name, in the order help texts and forms show them. */
export type ParamSchema = Readonly<Record<string, ParamSpec>>;

type ValueOf<S extends ParamSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'number' | 'integer'
    ? number
    : S extends { values: readonly (infer V)[] }
      ? V
      : string;
type Given<S extends ParamSpec> = S extends { default: unknown } | { required: true } ? true : false;

/** The validated parameters a job type's functions get, inferred from its schema. */
export type ParamsOf<S extends ParamSchema> = { -readonly [K in keyof S as Given<S[K]> extends true ? K : never]: ValueOf<S[K]> } & {
  -readonly [K in keyof S as Given<S[K]> extends true ? never : K]?: ValueOf<S[K]>;
};

/** Declares a parameter schema, keeping its literal types so that ParamsOf can read them. */
export const paramSchema = <const S extends ParamSchema>(schema: S): S => schema;

/** What is wrong with one parameter's value. */
export interface ParamProblem {
  param: string;
  /** What is wrong, without the parameter's name: "not a valid regular expression: ...". */
  problem: string;
}

/**
 * How the master picks the number of partitions when a job does not say: `by-size`, one per 32 MiB
 * of input (1 to 16); `per-worker`, one per worker online or per 128 MiB of input if that is more
 * (for jobs whose every round after the first is as wide as its partitions and sends each partition
 * a blob from every other, such as PageRank's: fewer partitions, less traffic per round).
 */
export type PartitionRule = 'by-size' | 'per-worker';

/** A partition rule in words, for help texts and forms. */
export const partitionRuleText = (rule: PartitionRule): string =>
  rule === 'per-worker' ? 'one per worker online, or per 128 MiB of input if that is more (up to 16)' : 'one per 32 MiB of input (1 to 16)';

/** The partitions a job may have, whoever asks: the master refuses others, the CLI and the console say so first. */
export const PARTITIONS = { min: 1, max: 1024 } as const;

/** Why `n` (a number, or the digits a flag or a form field gave) cannot be a job's number of partitions, or null if it can. */
export function partitionsProblem(n: unknown): string | null {
  const v = typeof n === 'string' && /^\s*\d+\s*$/.test(n) ? Number(n) : n;
  if (typeof v === 'number' && Number.isInteger(v) && v >= PARTITIONS.min && v <= PARTITIONS.max) return null;
  return `partitions must be a whole number from ${PARTITIONS.min} to ${PARTITIONS.max} (got ${JSON.stringify(n)})`;
}

/** What a job type declares besides its functions: the part clients read. */
export interface JobTypeBase<P> {
  name: string;
  /** One line: what it computes and what an output line holds. */
  description: string;
  /** Dataset formats the job accepts. */
  formats: DatasetFormat[];
  params: ParamSchema;
  /** Checks the schema cannot state (grep: the pattern compiles with the flags); gets the validated, defaulted parameters. */
  check?(params: P): ParamProblem | undefined;
  /** Default: `by-size`. */
  partitions?: PartitionRule;
  /** What the output is when downloaded: lines of text (default), or CSV with a header line. */
  outputFormat?: 'text' | 'csv';
}

/** A parameter as clients see it: the spec, its name, and the allowed values in words. */
export interface ParamDescription extends Omit<ParamSpec, 'values'> {
  name: string;
  required: boolean;
  values?: string[];
  /** "a whole number from 1 to 10000", "one of map, reduce": for help texts and error messages. */
  allowed: string;
}

/** A job type as plain JSON, for `tandem job types`, `GET /api/job-types` and the console's form. */
export interface JobTypeDescription {
  name: string;
  description: string;
  formats: DatasetFormat[];
  iterative: boolean;
  partitions: PartitionRule;
  outputFormat: 'text' | 'csv';
  params: ParamDescription[];
  /** An iterative type's names for its set-up rounds and its output round, when it declares them. */
  stages?: StageNames;
}

export interface MapContext<P, V> {
  params: P;
  /** Index of the split being mapped. */
  split: number;
  /** 1-based number, in the whole dataset, of the split's first record (line). */
  firstRecord: number;
  /** Record being processed, for error messages; the lines() helper keeps it current. */
  record: number;
  emit(key: string, value: V): void;
}

/** What format gets: the job's parameters and the reduce partition. */
export interface FormatContext<P> {
  params: P;
  partition: number;
}

export interface ReduceContext<P, O = any> extends FormatContext<P> {
  /**
   * Emits one output record for the key being reduced (Hadoop's `context.write`): a reduce may
   * emit zero or more; each is formatted into one line, in emit order. A reduce that emits must
   * return `undefined`. Only valid during its reduce call.
   */
  emit(value: O): void;
}

/**
 * A MapReduce job type. The map function gets a whole split (whole lines, UTF-8) at once so a job
 * can scan bytes without per-record overhead; `lines()` from @tandem/shared iterates records for the
 * jobs that want them. map and reduce may be async; they must be deterministic, because a task can
 * run more than once (crash, speculation) and its outputs are overwritten, not merged.
 */
export interface JobType<P = any, V = any, O = any> extends JobTypeBase<P> {
  map(input: Buffer, ctx: MapContext<P, V>): void | Promise<void>;
  /**
   * Optional combiner: folds two values of one key, on the map side (in emit order, any grouping)
   * and before reduce (in no particular order). Must be associative; what reduce makes of its result
   * must not depend on that order (`--verify` varies both, docs/DESIGN.md §3.6).
   */
  combine?(a: V, b: V): V;
  /**
   * A key's values come in no particular order, and so do a task's keys: the result must not depend
   * on either. The key's output records: those it passes to `ctx.emit` (zero or more, in emit
   * order) or, if it emits none, the value it returns; returning `undefined` without emitting
   * outputs nothing for the key (a filter). Emitting and returning a value is an error.
   */
  reduce(key: string, values: V[], ctx: ReduceContext<P, O>): O | undefined | void | Promise<O | undefined | void>;
  /** Partition of a key among R partitions; defaults to a stable hash mod R. */
  partition?(key: string, partitions: number): number;
  /**
   * One output line (without newline) for one of a key's output records. Output is sorted by key in
   * Unicode code point order (see order.ts), so a job that wants numeric order emits zero-padded
   * keys; a key's several records keep their emit order.
   */
  format(key: string, value: O, ctx: FormatContext<P>): string;
}

/**
 * The rounds of an iterative job: `setup` rounds that prepare data (no convergence test), then up to
 * `iterations` rounds that stop early once a round's summed `delta` statistic is below `tol`, then
 * one output round.
 *
 * `chainFrom`: from this round on, each round's reduce tasks also do the next round's map work (they
 * return `next`), so the rounds after it have no map phase. An iteration then costs one barrier
 * instead of two: its reduce task r gathers what was sent to partition r, computes, and scatters
 * what partition r sends on.
 */
/**
 * What users call an iterative job's set-up rounds and its output round (PageRank: "building the
 * graph", "writing ranks"): clients show these and iteration numbers, never a round's index.
 */
export interface StageNames {
  setup: string;
  output: string;
}

export interface RoundPlan {
  setup: number;
  iterations: number;
  tol: number;
  chainFrom?: number;
}

/** Figures a task reports for its round; the master sums them over the round's tasks. */
export type RoundStats = Record<string, number>;

/** What every task of an iterative job sees. */
export interface RoundContext<P> {
  /** The job's id: with a round and a partition it names an output for good (outputs never change once written). */
  job: string;
  params: P;
  /** 0-based; rounds below `setup` prepare, the rest iterate. */
  round: number;
  /** Reduce partitions of every round, R. */
  partitions: number;
  /** The previous round's statistics, summed over its tasks (empty in round 0). */
  previousStats: RoundStats;
  /**
   * The reduce output of partition p in an earlier round, or null if it is gone: a set-up round's
   * (kept for the whole job) or the previous round's. An iteration's output is deleted once the
   * round after next runs (docs/DESIGN.md §3.5).
   */
  readOutput(round: number, partition: number): Promise<Buffer | null>;
  /** Its first `bytes` bytes (a header), or null if it is gone. */
  readOutputHead(round: number, partition: number, bytes: number): Promise<Buffer | null>;
  /** This worker's cache of immutable decoded data, keyed by content hash; a cold cache gives the same results. */
  cache: ContentCache;
}

export interface IterativeMapContext<P> extends RoundContext<P> {
  /** The map task: split `index` in round 0, partition `index` afterwards. */
  index: number;
  /** Round 0: 1-based number, in the dataset, of the split's first record. */
  firstRecord: number;
  /** Record being processed, for error messages (round 0). */
  record: number;
}

export interface IterativeReduceContext<P> extends RoundContext<P> {
  partition: number;
  /** This partition's reduce output of the previous round (null in round 0), fetched with the inputs. */
  previousOutput: Buffer | null;
  /** The round chains into the next (see RoundPlan.chainFrom): the reduce must return `next`. */
  chained: boolean;
}

export interface MapBlobs {
  /** One blob per partition (R of them), each read by that partition's reduce task. */
  outputs: Buffer[];
  records?: number;
  stats?: RoundStats;
}

export interface ReduceBlob {
  /** The partition's result of this round: the next round's map input (or previousOutput) for this partition. */
  output: Buffer;
  /** In a chained round: one blob per partition for the next round's reduce tasks, as a map task would send. */
  next?: Buffer[];
  records?: number;
  stats?: RoundStats;
}

/**
 * A job type that runs rounds of map and reduce over binary blobs, for iterative algorithms such as
 * PageRank where a record per key and value would cost more than the work itself. Round 0 maps the
 * dataset's splits; round k > 0 maps partition p of round k-1's reduce output, so an iteration's
 * state stays partitioned between rounds (or, chained, has no map phase). After the last round an
 * output round (reduce tasks only) turns each partition's result into sorted output lines, so a
 * finished iterative job's output reads like any other job's. Inputs are only valid during the call
 * (the worker reuses their memory). Like every job type it must be deterministic: a task may run twice.
 */
export interface IterativeJobType<P = any> extends JobTypeBase<P> {
  shape: 'iterative';
  rounds(params: P): RoundPlan;
  /** Default: "set-up" and "writing the output". */
  stages?: StageNames;
  /** Round 0: `input` is a split (whole lines); later rounds: the previous round's reduce output of partition `ctx.index`. */
  map(input: Buffer, ctx: IterativeMapContext<P>): MapBlobs | Promise<MapBlobs>;
  /** `inputs[i]` is what map task i (or, in a round after a chained one, reduce task i) sent this partition. */
  reduce(inputs: Buffer[], ctx: IterativeReduceContext<P>): ReduceBlob | Promise<ReduceBlob>;
  /**
   * The output round: partition `ctx.partition`'s result after round `lastRound` (its
   * `previousOutput`), as output lines sorted by key in code point order (an empty key sorts first,
   * e.g. for a header line).
   */
  output(ctx: IterativeReduceContext<P> & { lastRound: number }): Promise<{ keys: string[]; lines: string[] }>;
}

export type AnyJobType = JobType | IterativeJobType;

export const isIterative = (t: AnyJobType): t is IterativeJobType => (t as IterativeJobType).shape === 'iterative';

/** The shape of a job type; the registry checks its parameter schema (checkSchema in @tandem/jobs). */
export function isJobType(x: unknown): x is AnyJobType {
  const j = x as AnyJobType;
  if (typeof j !== 'object' || j === null || typeof j.name !== 'string' || !Array.isArray(j.formats)) return false;
  if (typeof j.map !== 'function' || typeof j.reduce !== 'function' || typeof j.params !== 'object' || j.params === null) return false;
  return isIterative(j) ? typeof j.rounds === 'function' && typeof j.output === 'function' : typeof j.format === 'function';
}

/**
 * Declares a job type and gives it its types: `ctx.params` is typed from the `params` schema, with
 * no annotation. It returns its argument unchanged; the registry checks a job type by its shape, so
 * one made with another copy of this function (a jobs folder's own `@tandem/client`) is accepted alike.
 */
export function defineJobType<const S extends ParamSchema>(t: IterativeJobType<ParamsOf<S>> & { params: S }): IterativeJobType<ParamsOf<S>>;
export function defineJobType<const S extends ParamSchema, V = unknown, O = unknown>(t: JobType<ParamsOf<S>, V, O> & { params: S }): JobType<ParamsOf<S>, V, O>;
export function defineJobType(t: AnyJobType): AnyJobType {
  return t;
}
