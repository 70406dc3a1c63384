/**
 * Submit validation: turns a client's request into a job spec, or refuses it with a message that
 * says what to change. The job type and its params come from the registry, the dataset's version,
 * size and splits from the dataset store (the job pins that version), the partitions from the
 * request or from the dataset's size.
 */
import type { RedisConnection } from '@tandem/shared';
import { randomBytes } from 'node:crypto';
import { totalmem } from 'node:os';
import { TandemError, getDataset, isIterative, partitionsProblem, readRedisMemory, splitFirstRecords, type Keys, type SubmitRequest } from '@tandem/shared';
import { JobTypeError, type Registry } from '@tandem/jobs';
import type { JobSpec } from './state.ts';
import { estimateJobBytes, iterativePartitionsProblem, memoryHeadroom, memoryProblem } from './job-limits.ts';

export type { SubmitRequest };

/** A submit the master refuses, with a message that says what to change. */
export class RequestError extends TandemError {
  constructor(message: string) {
    super('invalid', message);
  }
}

/**
 * Partitions when the user names none (PartitionRule): `by-size`, one per 32 MiB of input, at least
 * 1, at most 16; `per-worker` (an iterative type keeps its R partitions for every round, and each
 * round sends every partition a blob from every other, so its traffic grows with R²) one per worker
 * online, or per 128 MiB of input if that is more, at most 16. PageRank on R-MAT scale 20 (233 MB,
 * 2 workers): 2 partitions instead of 7 made an iteration 3.5–5× faster, at about 40 bytes of
 * worker memory per edge of a partition in the set-up (docs/BENCHMARKS.md).
 */
export const defaultPartitions = (bytes: number, workers?: number) =>
  Math.min(16, Math.max(1, workers ?? 0, Math.ceil(bytes / (workers === undefined ? 32 << 20 : 128 << 20))));

/** The submit time (base 36), then 24 random bits: two submits in one millisecond almost surely differ. */
export const newJobId = (now: number) => `j${now.toString(36)}${randomBytes(3).toString('hex')}`;

/** The submit time a job id carries (newJobId), or null for an id newJobId did not make. */
export function jobIdTime(id: string): number | null {
  const m = /^j([0-9a-z]{1,11})[0-9a-f]{6}$/.exec(id);
  return m ? parseInt(m[1], 36) : null;
}

export interface SubmitDeps {
  registry: Registry;
  redis: RedisConnection;
  keys: Keys;
  /** Workers online (asked for an iterative job: its default partitions and their cap). */
  workersOnline: () => Promise<number>;
  /** Redis's memory limit when it has no maxmemory (TANDEM_REDIS_MEMORY_MB), in bytes; 0: the machine's memory. */
  redisMemoryBytes?: number;
}

/** The spec of the job the request asks for; a RequestError says why there is none. */
export async function jobSpecFor(d: SubmitDeps, req: SubmitRequest): Promise<JobSpec> {
  let params: Record<string, unknown>;
  let type;
  try {
    type = await d.registry.lookup(req.type);
    params = d.registry.parseParams(type, req.params);
  } catch (err) {
    if (err instanceof JobTypeError) throw new RequestError(err.message);
    throw err;
  }
  if (req.verify && isIterative(type)) {
    // Its tasks exchange binary blobs with no record order to vary, and a round reads the round
    // before's outputs as they stand; a second run of each would need copies of every round.
    throw new RequestError(`--verify runs key/value job types only; "${type.name}" is an iterative job type (its rounds exchange binary blobs, which have no records whose order a second run could vary). Run it without --verify`);
  }
  const meta = await getDataset(d.redis, d.keys, req.dataset);
  if (!meta) throw new RequestError(`dataset "${req.dataset}" does not exist; upload it with: tandem dataset put ${req.dataset} FILE`);
  if (!type.formats.includes(meta.format)) {
    throw new RequestError(`job type "${type.name}" reads ${type.formats.join(' or ')} datasets; dataset "${meta.name}" is ${meta.format}`);
  }
  const iterative = isIterative(type);
  const workers = iterative || type.partitions === 'per-worker' ? await d.workersOnline() : 0;
  const partitions = req.partitions ?? defaultPartitions(meta.bytes, type.partitions === 'per-worker' ? workers : undefined);
  const bad = partitionsProblem(partitions) ?? (iterative ? iterativePartitionsProblem(partitions, meta.bytes, workers, meta.name) : null);
  if (bad) throw new RequestError(bad);
  const rounds = isIterative(type) ? type.rounds(params) : undefined;
  const firstRecords = splitFirstRecords(meta);
  const estimate = estimateJobBytes({ bytes: meta.bytes, splits: firstRecords.length, partitions, setupRounds: rounds?.setup, rounds: rounds ? rounds.setup + rounds.iterations + 1 : undefined });
  const headroom = memoryHeadroom(await readRedisMemory(d.redis), d.redisMemoryBytes ?? 0, totalmem());
  const tooBig = memoryProblem(estimate, headroom);
  if (tooBig) throw new RequestError(tooBig);
  const typeHash = d.registry.hashes()[type.name];
  return {
    type: type.name, ...(typeHash ? { typeHash } : {}), params, partitions, ...(req.verify ? { verify: true as const } : {}), rounds,
    dataset: { name: meta.name, version: meta.version, format: meta.format, bytes: meta.bytes, firstRecords, records: meta.records },
  };
}
