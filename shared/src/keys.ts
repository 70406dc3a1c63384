/**
 * The one place that spells Tandem's Redis keys (DESIGN §3). Nobody else builds a key string.
 * Keys read together share a hash tag so the layout also works on Redis Cluster:
 * a dataset version's splits are tagged per split, a job's partition r is tagged `{id:r}` so a
 * reducer can MGET every map output for its partition in one call.
 */
export interface Keys {
  prefix: string;
  /** BullMQ's own prefix for the task queues. */
  bullPrefix: string;
  datasetMeta(name: string): string;
  datasetIndex(): string;
  split(name: string, version: string, split: number): string;
  mapOutput(jobId: string, partition: number, round: number, mapIndex: number): string;
  reduceOutput(jobId: string, partition: number, round: number): string;
  commits(jobId: string, round: number): string;
  events(): string;
}

export function keys(prefix: string): Keys {
  return {
    prefix,
    bullPrefix: `${prefix}:bull`,
    datasetMeta: (name) => `${prefix}:ds:${name}`,
    datasetIndex: () => `${prefix}:datasets`,
    split: (name, version, s) => `${prefix}:ds:{${name}:${version}:${s}}`,
    mapOutput: (id, r, round, i) => `${prefix}:job:{${id}:${r}}:${round}:m${i}`,
    reduceOutput: (id, r, round) => `${prefix}:job:{${id}:${r}}:${round}:out`,
    commits: (id, round) => `${prefix}:job:{${id}}:${round}:commits`,
    events: () => `${prefix}:events`,
  };
}

/** Names of the BullMQ queues. */
export const QUEUES = ['map', 'reduce'] as const;
export type QueueName = (typeof QUEUES)[number];

/** Field of a task in its iteration's commit hash. */
export const commitField = (kind: QueueName, index: number) => `${kind === 'map' ? 'm' : 'r'}${index}`;

/** BullMQ job id of a task attempt (BullMQ ids may not contain ':'). Deterministic, so re-adding is harmless. */
export function taskJobId(jobId: string, round: number, kind: QueueName, index: number, speculative = 0): string {
  const base = `${jobId}.${round}.${kind === 'map' ? 'm' : 'r'}.${index}`;
  return speculative > 0 ? `${base}.s${speculative}` : base;
}
