// The two Redis topologies the data plane runs on, for tests that define their cases once and run
// them on both: one redis-server (startRedis) and a Redis Cluster of 3 primaries with a replica
// each (startRedisCluster).
import { after, before, describe } from 'node:test';
import type { RedisConnection } from '../../shared/src/redis.ts';
import type { TestRedisLike } from './cluster.ts';
import { startRedis } from './redis.ts';
import { startRedisCluster } from './redis-cluster.ts';

export interface DataTopology {
  name: string;
  /** REDIS_URL for it (on the cluster, one seed node). */
  url: string;
  /** An ioredis connection of its kind: a Redis, or a Cluster. */
  redis: RedisConnection;
  /** The keys matching `pattern` on every primary (KEYS on a Cluster connection asks one node only). */
  keys(pattern: string): Promise<string[]>;
  stop(): Promise<void>;
}

const TOPOLOGIES: { name: string; start: () => Promise<DataTopology> }[] = [
  {
    name: 'one Redis',
    async start() {
      const r = await startRedis();
      const redis = r.client();
      return { name: 'one Redis', url: r.url, redis, keys: (p) => redis.keys(p), stop: () => r.stop() };
    },
  },
  {
    name: 'a Redis Cluster',
    async start() {
      const c = await startRedisCluster({ primaries: 3, replicas: 1 });
      const nodes = new Map(c.nodes.map((n) => [n.port, n.node()]));
      return {
        name: 'a Redis Cluster',
        url: c.url,
        redis: c.client(),
        keys: async (p) => (await Promise.all((await c.primaries()).map((pr) => nodes.get(pr.port)!.keys(p)))).flat(),
        stop: () => c.stop(),
      };
    },
  },
];

/**
 * Defines the cases once per topology, each set in a describe of its own with the topology started
 * before its first case and stopped after its last; `t()` is the running topology.
 */
export function onEachTopology(define: (t: () => DataTopology) => void): void {
  for (const spec of TOPOLOGIES) {
    describe(`on ${spec.name}`, () => {
      let t: DataTopology | undefined;
      before(async () => {
        t = await spec.start();
      });
      after(async () => t?.stop());
      define(() => t!);
    });
  }
}

/**
 * The Redis a whole platform (harness/cluster.ts's startCluster `redis`) runs on, for end-to-end
 * tests defined once and run on both: one redis-server, and a Redis Cluster of 3 primaries with a
 * replica each.
 */
export const PLATFORM_TOPOLOGIES: { name: string; cluster: boolean; start: () => Promise<TestRedisLike> }[] = [
  { name: 'one Redis', cluster: false, start: () => startRedis() },
  { name: 'a Redis Cluster', cluster: true, start: () => startRedisCluster({ primaries: 3, replicas: 1 }) },
];
