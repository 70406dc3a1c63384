import type { z } from 'zod';

/** What a dataset's records are: lines of text, or `src<TAB>dst` edge lines. */
export type DatasetFormat = 'text' | 'edges';

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

export interface ReduceContext<P> {
  params: P;
  partition: number;
}

/**
 * A MapReduce job type. The map function gets a whole split (whole lines, UTF-8) at once so a job
 * can scan bytes without per-record overhead; `lines()` from @tandem/shared iterates records for the
 * jobs that want them. map and reduce may be async; they must be deterministic, because a task can
 * run more than once (crash, speculation) and its outputs are overwritten, not merged.
 */
export interface JobType<P = any, V = any, O = any> {
  name: string;
  description: string;
  /** Dataset formats the job accepts. */
  formats: DatasetFormat[];
  /** Validates and defaults `--param k=v` values (they arrive as strings). */
  params: z.ZodType<P>;
  map(input: Buffer, ctx: MapContext<P, V>): void | Promise<void>;
  /** Optional combiner: folds two values of one key, on the map side and before reduce. Must be associative. */
  combine?(a: V, b: V): V;
  reduce(key: string, values: V[], ctx: ReduceContext<P>): O | Promise<O>;
  /** Partition of a key among R reducers; defaults to a stable hash mod R. */
  partition?(key: string, partitions: number): number;
  /**
   * One output line (without newline) for a reduced key. Output is sorted by key in Unicode code
   * point order (see order.ts), so a job that wants numeric order emits zero-padded keys.
   */
  format(key: string, value: O): string;
}

export function isJobType(x: unknown): x is JobType {
  const j = x as JobType;
  return (
    typeof j === 'object' && j !== null && typeof j.name === 'string' && Array.isArray(j.formats) &&
    typeof j.map === 'function' && typeof j.reduce === 'function' && typeof j.format === 'function' &&
    typeof j.params?.safeParse === 'function'
  );
}
