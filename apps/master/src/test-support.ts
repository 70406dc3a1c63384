/**
 * What the master's module tests share: job specs, commit records and states built by `apply`,
 * and a private Redis with a fresh key prefix (and so fresh BullMQ queues) per test.
 */
import { Queue } from 'bullmq';
import type { RedisConnection } from '@tandem/shared';
import { randomBytes } from 'node:crypto';
import { QUEUES, createLogger, keys, splitKey, type CommitRecord, type Keys, type QueueName, type RoundPlan } from '@tandem/shared';
import { startRedis, type TestRedis } from '../../../test/harness/redis.ts';
import { apply, emptyState, type JobSpec, type MasterState, type Op } from './state.ts';

export const silentLog = createLogger('test', 'silent');

/** A spec with `maps` splits of 10 records each and `partitions` partitions; `rounds` makes it iterative. */
export function testSpec(maps: number, partitions: number, rounds?: RoundPlan): JobSpec {
  const spec: JobSpec = {
    type: 'wordcount', params: {}, partitions,
    dataset: { name: 'books', version: 'v1', format: 'text', bytes: 100, firstRecords: Array.from({ length: maps }, (_, i) => 1 + i * 10), records: maps * 10 },
  };
  return rounds ? { ...spec, rounds } : spec;
}

export const testCommit = (more: Partial<CommitRecord> = {}): CommitRecord => ({
  attempt: 'a1', worker: 'w1', startedAt: 0, ms: 10, recordsIn: 10, recordsOut: 3, bytesIn: 100, bytesOut: 30, failedAttempts: 0, stalls: 0, ...more,
});

export const submitOp = (jobId: string, spec: JobSpec, at = 1): Op => ({ op: 'submit', at, clientId: 'c1', requestId: `r-${jobId}`, jobId, spec });

export function stateAfter(ops: Op[], s: MasterState = emptyState()): MasterState {
  for (const op of ops) s = apply(s, op).state;
  return s;
}

/** Writes stand-in splits of the spec's dataset, so the data-loss checks find a running job's input. */
export async function putTestSplits(redis: RedisConnection, k: Keys, spec: JobSpec): Promise<void> {
  for (let i = 0; i < spec.dataset.firstRecords.length; i++) await redis.set(splitKey(k, spec.dataset, i), 'split');
}

export interface RedisFixture {
  server: TestRedis;
  redis: RedisConnection;
  /** A fresh prefix: keys and queues no other test sees. */
  fresh(): Keys;
  /** The map and reduce queues under the prefix (closed by close()). */
  queues(k: Keys): Record<QueueName, Queue>;
  close(): Promise<void>;
}

export async function redisFixture(): Promise<RedisFixture> {
  const server = await startRedis();
  const redis = server.client();
  const opened: Queue[] = [];
  return {
    server,
    redis,
    fresh: () => keys('t' + randomBytes(6).toString('hex')),
    queues(k) {
      const qs = Object.fromEntries(QUEUES.map((q) => [q, new Queue(q, { connection: server.client(), prefix: k.bullPrefix(q) })])) as Record<QueueName, Queue>;
      opened.push(...Object.values(qs));
      return qs;
    },
    async close() {
      await Promise.all(opened.map((q) => q.close()));
      await server.stop();
    },
  };
}
