/**
 * The limits a submit is held to so that a job cannot exhaust Redis (docs/DESIGN.md §3.5): a cap on
 * an iterative job's partitions, and an estimate of the Redis memory a job needs, compared with
 * the headroom Redis has left. Pure: the master reads INFO memory and the workers online and
 * passes them in.
 */
import type { RedisMemory } from '@tandem/shared';

/**
 * Redis's cost of one job key beyond its value's bytes: the dict entry, the key's name (about 40
 * bytes for a job key), the value's object header and allocator rounding, and the expiry. Measured
 * with MEMORY USAGE on Redis 7.0: 80-110 bytes for small job keys; rounded up.
 */
export const KEY_BYTES = 160;

/**
 * An iterative job's every round moves P² shuffle blobs (each partition sends each other one), so
 * its partitions are capped: at most one per MIN_PARTITION_BYTES of input (fewer bytes per
 * partition and the per-blob cost swamps the work), but at least one per worker online and at
 * least FLOOR (a small graph may still be split to test or to spread), and never above MAX
 * (65,536 blobs a round). PageRank of the 620 KB Debian graph gets 10 on 2 workers.
 */
export const ITERATIVE_PARTITIONS = { minPartitionBytes: 64 << 10, floor: 8, max: 256 } as const;

/** The most partitions an iterative job over `bytes` of input may have with `workers` workers online. */
export function iterativePartitionCap(bytes: number, workers: number): number {
  const { minPartitionBytes, floor, max } = ITERATIVE_PARTITIONS;
  return Math.min(max, Math.max(floor, workers, Math.ceil(bytes / minPartitionBytes)));
}

/** Why an iterative job cannot have `partitions`, or null when it can. */
export function iterativePartitionsProblem(partitions: number, bytes: number, workers: number, dataset: string): string | null {
  const cap = iterativePartitionCap(bytes, workers);
  if (partitions <= cap) return null;
  const { minPartitionBytes, floor, max } = ITERATIVE_PARTITIONS;
  return `partitions ${partitions} is more than this iterative job may have: ${cap} for dataset "${dataset}" (${bytes} bytes) ` +
    `with ${workers} worker${workers === 1 ? '' : 's'} online. Every round of an iterative job moves partitions² blobs, so its ` +
    `partitions are capped at one per ${minPartitionBytes >> 10} KiB of input, but at least one per worker online and at least ${floor}, ` +
    `and at most ${max}; ask for ${cap} or fewer`;
}

/** A task's commit record (JSON with its worker, times, counts and vector clock) in its round's hash, rounded up. */
export const COMMIT_BYTES = 512;

/** What the estimate needs to know of a job. */
export interface JobShape {
  /** Input bytes. */
  bytes: number;
  /** Splits: round 0's map tasks. */
  splits: number;
  partitions: number;
  /** An iterative job: its set-up rounds (their outputs are kept for the whole job). */
  setupRounds?: number;
  /** An iterative job: its rounds at most (set-up, iterations, output); each keeps its commit hash. */
  rounds?: number;
}

/**
 * An upper estimate of the Redis memory a job holds at its peak, in bytes.
 *
 * A one-round job holds its map outputs (M×R blobs, taken as large as the input: a map may emit what
 * it reads) and its output (at most as large again). An iterative job holds round 0's shuffle (as
 * large as the input, M×R keys) and its set-up rounds' outputs (each taken as twice the input:
 * PageRank's adjacency stores each edge as two 4-byte ids), and then, because each round deletes
 * what the one before consumed (§3.5), at most two rounds of shuffle (R² keys each, taken as twice
 * the input: 8 bytes for every edge that crosses partitions) and two rounds' outputs (the input
 * again). Every round keeps its commit hash (the console's task timeline reads them) until the job
 * is removed: R records a round.
 */
export function estimateJobBytes(j: JobShape): number {
  const { bytes, splits: M, partitions: R } = j;
  if (j.setupRounds === undefined) return 2 * bytes + (M * R + R + 1) * KEY_BYTES + (M + R) * COMMIT_BYTES;
  const setup = j.setupRounds;
  const rounds = Math.max(j.rounds ?? 0, setup + 2);
  const values = bytes + 2 * setup * bytes + 2 * 2 * bytes + 2 * bytes;
  const keys = M * R + setup * R + 2 * R * R + 2 * R + rounds;
  return values + keys * KEY_BYTES + (M + rounds * R) * COMMIT_BYTES;
}

/** How much more Redis may hold, and the limit it is measured from. */
export interface Headroom {
  limit: number;
  /** Where the limit comes from, in words for messages. */
  source: string;
  headroom: number;
}

/**
 * The limit is Redis's maxmemory; without one (0), TANDEM_REDIS_MEMORY_MB when set, else the memory of
 * Redis's machine (total_system_memory), else this machine's (`fallback`).
 */
export function memoryHeadroom(m: RedisMemory, configuredBytes: number, fallback: number): Headroom {
  const [limit, source] = m.maxmemory > 0 ? [m.maxmemory, "Redis's maxmemory"]
    : configuredBytes > 0 ? [configuredBytes, 'TANDEM_REDIS_MEMORY_MB']
      : m.system > 0 ? [m.system, "the memory of Redis's machine (Redis has no maxmemory)"]
        : [fallback, "this machine's memory (Redis has no maxmemory)"];
  return { limit, source, headroom: Math.max(0, limit - m.used) };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Why the job does not fit, or null when it does. */
export function memoryProblem(estimate: number, h: Headroom): string | null {
  if (estimate <= h.headroom) return null;
  return `this job needs about ${mib(estimate)} of Redis memory (estimated from its input size, splits and partitions), ` +
    `but Redis has ${mib(h.headroom)} of headroom (${mib(h.limit)} by ${h.source}, ${mib(h.limit - h.headroom)} in use); ` +
    'use fewer partitions, free memory (finished jobs: tandem job rm, tandem gc) or give Redis more';
}
