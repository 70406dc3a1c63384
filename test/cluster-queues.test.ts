// BullMQ on a real Redis Cluster through Tandem's connections: each queue's keys live in one slot
// (Keys.bullPrefix), the map and reduce queues on different primaries, and a worker keeps taking
// tasks after the primary serving its queue is SIGKILLed and its replica takes over.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, Worker } from 'bullmq';
import { ServiceConnections, createLogger, keys, keySlot } from '@tandem/shared';
import { startRedisCluster, type TestRedisCluster } from './harness/redis-cluster.ts';
import { waitFor } from './harness/wait.ts';

let rc: TestRedisCluster;
let conns: ServiceConnections;
before(async () => {
  rc = await startRedisCluster({ primaries: 3, replicas: 1 });
  conns = await ServiceConnections.open(rc.target, createLogger('test', 'silent'));
});
after(async () => {
  conns?.close();
  await rc?.stop();
});

const primaryOf = async (slot: number) => (await rc.primaries()).find((p) => p.slots.some(([a, b]) => slot >= a && slot <= b))!.port;

test('a REDIS_URL naming one node of a cluster gives cluster connections', () => {
  assert.equal(conns.topology.kind, 'cluster');
});

test('each queue is one slot, and map and reduce are served by different primaries', async () => {
  const k = keys('tq');
  const map = keySlot(`${k.bullPrefix('map')}:map:wait`);
  assert.equal(keySlot(`${k.bullPrefix('map')}:map:meta`), map);
  assert.notEqual(await primaryOf(map), await primaryOf(keySlot(`${k.bullPrefix('reduce')}:reduce:wait`)));
});

test('a worker keeps taking tasks after the primary serving its queue fails over', { timeout: 120_000 }, async () => {
  const k = keys('tq');
  const prefix = k.bullPrefix('map');
  const queue = new Queue('map', { connection: conns.connect('test-queue'), prefix });
  queue.on('error', () => undefined);
  const done = new Set<string>();
  const worker = new Worker('map', async (job) => {
    done.add(job.name);
  }, { connection: conns.connect('test-worker'), prefix, concurrency: 4 });
  worker.on('error', () => undefined);
  try {
    for (let i = 0; i < 20; i++) await queue.add(`before-${i}`, {});
    await waitFor(() => done.size === 20, { what: '20 tasks before the failover' });
    const port = await primaryOf(keySlot(`${prefix}:map:wait`));
    const node = rc.nodes.find((n) => n.port === port)!;
    await node.kill();
    await waitFor(async () => (await primaryOf(keySlot(`${prefix}:map:wait`))) !== port, { what: "the replica to take over the queue's slot", timeoutMs: 30_000 });
    // Adds retry through the failover; the worker, blocked on the dead primary, must come back to the new one.
    for (let i = 0; i < 20; i++) await queue.add(`after-${i}`, {});
    await waitFor(() => [...done].filter((n) => n.startsWith('after-')).length === 20, { what: '20 tasks after the failover', timeoutMs: 60_000 });
    await node.restart();
  } finally {
    await worker.close(true);
    await queue.close();
  }
});
