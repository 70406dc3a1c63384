/**
 * The one place that spells Tandem's Redis keys. Nobody else builds a key string, and each group of
 * keys has its owner, the module that calls its functions: dataset keys the dataset store, job keys
 * job-data.ts, the event log event-log.ts. docs/DESIGN.md §3 lists every function with its owner and
 * hash slot (test/docs.test.ts holds that table to this interface).
 * Hash tags: a dataset version's splits are tagged per split, so they spread; a job's partition r is
 * tagged `{id:r}` so a reducer can MGET every map output for its partition in one call. No script,
 * MULTI or pipeline spans slots, so the layout works on Redis Cluster (DESIGN §3).
 */
import { keySlot } from './key-slot.ts';

export interface Keys {
  prefix: string;
  /**
   * BullMQ's prefix for one task queue. BullMQ's scripts touch many keys of a queue at once, so each
   * queue's prefix carries a hash tag of its own: each queue is one slot, and on a Redis Cluster the
   * map and reduce queues may live on different primaries.
   */
  bullPrefix(queue: QueueName): string;
  /**
   * Every dataset's metadata hash and the index of their names share the hash tag `{datasets}`, so
   * the publish and remove scripts (and listing's pipeline) touch one slot on Redis Cluster; each
   * split has a tag of its own, so a dataset's splits spread over the primaries.
   */
  datasetMeta(name: string): string;
  datasetIndex(): string;
  split(name: string, version: string, split: number): string;
  /** Job keys: only job-data.ts calls these three. */
  mapOutput(jobId: string, partition: number, round: number, mapIndex: number): string;
  reduceOutput(jobId: string, partition: number, round: number): string;
  commits(jobId: string, round: number): string;
  /**
   * A verified job's second runs (only shared/src/verify-data.ts calls these two): the copy of an
   * output the second run writes (a shuffle blob with its sender, or a round output without), and
   * the round's hash of both runs' records and claims.
   */
  verifyCopy(jobId: string, partition: number, round: number, sender?: number): string;
  verifyRuns(jobId: string, round: number): string;
  /** A glob (SCAN MATCH) for every job key, and the job id in one, or null when it is not a job key. */
  jobKeyPattern(): string;
  jobIdOfKey(key: string): string | null;
  events(): string;
  /**
   * The view service's durable state (view, acknowledgement, its members): apps/view-service/src/main.ts
   * reads it (through view-store.ts) and lease.ts writes it, only while holding the lease.
   */
  viewService(): string;
  /**
   * The view-service lease (JSON {id, url, since, epoch} with a TTL: which view service may decide
   * views for this prefix) and its epoch counter (raised on every takeover, never expires): only
   * apps/view-service/src/lease.ts calls these two; they share one hash tag so its scripts touch a
   * single slot.
   */
  viewLease(): string;
  viewLeaseEpoch(): string;
  /**
   * The master's durable op log: a stream of op batches, the snapshot it is compacted into, and the
   * fence (the highest view of a primary that claimed the log). Only apps/master/src/durable-log.ts
   * calls these three; they share one hash tag so its scripts touch a single slot.
   */
  masterLog(): string;
  masterSnapshot(): string;
  masterFence(): string;
  /**
   * A random value the primary sets once (apps/master/src/data-loss.ts): gone or changed means Redis
   * lost its data. On a Redis Cluster it is kept under EPOCH_SHARDS keys too, one per sixteenth of
   * the slot space (`epoch(i)`), so a primary that loses its data loses one of them.
   */
  epoch(shard?: number): string;
  /**
   * The console's login sessions, by the SHA-256 of the session id (so Redis holds no usable cookie),
   * and the recent login attempts of one client address: only apps/console/src/sessions.ts calls these.
   */
  consoleSession(idHash: string): string;
  consoleLoginAttempts(address: string): string;
  /**
   * The job types one process loaded (`role` master or worker, `name` its advertised URL or
   * host:pid), with a TTL, and the index of the processes that report (a sorted set scored by the
   * last report's time), so the primary reads them without scanning the keyspace: only
   * jobs/src/report.ts calls these.
   */
  jobTypesReport(role: string, name: string): string;
  jobTypesIndex(): string;
}

/** How many epoch keys a Redis Cluster holds: any primary serving 1/16 of the slots in one range holds one. */
export const EPOCH_SHARDS = 16;

/** For each sixteenth i of the slot space, the first hash tag `epoch-i-j` whose slot falls in it. */
const EPOCH_TAGS: string[] = Array.from({ length: EPOCH_SHARDS }, (_, i) => {
  const per = 16384 / EPOCH_SHARDS;
  for (let j = 0; ; j++) {
    const tag = `epoch-${i}-${j}`;
    if (Math.floor(keySlot(tag) / per) === i) return tag;
  }
});

export function keys(prefix: string): Keys {
  return {
    prefix,
    bullPrefix: (queue) => `${prefix}:bull:{${queue}}`,
    datasetMeta: (name) => `${prefix}:ds:{datasets}:${name}`,
    datasetIndex: () => `${prefix}:{datasets}`,
    split: (name, version, s) => `${prefix}:ds:{${name}:${version}:${s}}`,
    mapOutput: (id, r, round, i) => `${prefix}:job:{${id}:${r}}:${round}:m${i}`,
    reduceOutput: (id, r, round) => `${prefix}:job:{${id}:${r}}:${round}:out`,
    commits: (id, round) => `${prefix}:job:{${id}}:${round}:commits`,
    verifyCopy: (id, r, round, i) => `${prefix}:job:{${id}:${r}}:${round}:${i === undefined ? 'out' : `m${i}`}:v`,
    verifyRuns: (id, round) => `${prefix}:job:{${id}}:${round}:verify`,
    jobKeyPattern: () => `${prefix}:job:{*`,
    jobIdOfKey: (key) => {
      const head = `${prefix}:job:{`;
      if (!key.startsWith(head)) return null;
      const id = /^[^:}]+/.exec(key.slice(head.length));
      return id ? id[0] : null;
    },
    events: () => `${prefix}:events`,
    viewService: () => `${prefix}:{view-service}`,
    viewLease: () => `${prefix}:{view-service}:lease`,
    viewLeaseEpoch: () => `${prefix}:{view-service}:lease-epoch`,
    masterLog: () => `${prefix}:master:{log}`,
    masterSnapshot: () => `${prefix}:master:{log}:snapshot`,
    masterFence: () => `${prefix}:master:{log}:fence`,
    epoch: (shard) => (shard === undefined ? `${prefix}:epoch` : `${prefix}:epoch:{${EPOCH_TAGS[shard]}}`),
    consoleSession: (idHash) => `${prefix}:console:session:${idHash}`,
    consoleLoginAttempts: (address) => `${prefix}:console:login:${address}`,
    jobTypesReport: (role, name) => `${prefix}:{jobtypes}:${role}:${name}`,
    jobTypesIndex: () => `${prefix}:{jobtypes}`,
  };
}

/** Names of the BullMQ queues. */
export const QUEUES = ['map', 'reduce'] as const;
export type QueueName = (typeof QUEUES)[number];

/** Field of a task in its round's commit hash. */
export const commitField = (kind: QueueName, index: number) => `${kind === 'map' ? 'm' : 'r'}${index}`;
