/**
 * Submit validation: turns a client's request into a job spec, or refuses it with a message that
 * says what to change. The job type and its params come from the registry, the dataset's version,
 * size and splits from the dataset store (the job pins that version), the partitions from the
 * request or from the dataset's size.
 */
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { TandemError, getDataset, isIterative, partitionsProblem, splitFirstRecords, type Keys, type SubmitRequest } from '@tandem/shared';
import { JobTypeError, type Registry } from '@tandem/jobs';
import type { JobSpec } from './state.ts';

export type { SubmitRequest };

/** A submit the master refuses, with a message that says what to change. */
export class RequestError extends TandemError {
  constructor(message: string) {
    super('invalid', message);
  }
}

/**
 * Partitions when the user names none: one per 32 MiB of input, at least 1, at most 16; a job type
 * that declares `partitions: 'per-worker'` (an iterative one keeps its R partitions for every round)
 * gets at least one per worker online.
 */
export const defaultPartitions = (bytes: number, workers = 0) => Math.min(16, Math.max(1, workers, Math.ceil(bytes / (32 << 20))));

/** The submit time (base 36), then 24 random bits: two submits in one millisecond almost surely differ. */
export const newJobId = (now: number) => `j${now.toString(36)}${randomBytes(3).toString('hex')}`;

/** The submit time a job id carries (newJobId), or null for an id newJobId did not make. */
export function jobIdTime(id: string): number | null {
  const m = /^j([0-9a-z]{1,11})[0-9a-f]{6}$/.exec(id);
  return m ? parseInt(m[1], 36) : null;
}

export interface SubmitDeps {
  registry: Registry;
  redis: Redis;
  keys: Keys;
  /** Workers online (asked only for an iterative job without partitions). */
  workersOnline: () => Promise<number>;
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
  const meta = await getDataset(d.redis, d.keys, req.dataset);
  if (!meta) throw new RequestError(`dataset "${req.dataset}" does not exist; upload it with: tandem dataset put ${req.dataset} FILE`);
  if (!type.formats.includes(meta.format)) {
    throw new RequestError(`job type "${type.name}" reads ${type.formats.join(' or ')} datasets; dataset "${meta.name}" is ${meta.format}`);
  }
  const partitions = req.partitions ?? defaultPartitions(meta.bytes, type.partitions === 'per-worker' ? await d.workersOnline() : 0);
  const bad = partitionsProblem(partitions);
  if (bad) throw new RequestError(bad);
  const typeHash = d.registry.hashes()[type.name];
  return {
    type: type.name, ...(typeHash ? { typeHash } : {}), params, partitions,
    rounds: isIterative(type) ? type.rounds(params) : undefined,
    dataset: { name: meta.name, version: meta.version, format: meta.format, bytes: meta.bytes, firstRecords: splitFirstRecords(meta), records: meta.records },
  };
}
