// The master's durable op log on a real Redis Cluster (3 primaries, 3 replicas): a batch is
// appended on the primary serving the log's slot and waits (WAIT) until its replica holds it; a
// replica that is gone makes the batch count on the primary alone, which the log records (the
// primary's /health shows it); after a failover of that primary, every acknowledged batch is there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { keys, keySlot } from '@tandem/shared';
import { DurableLog } from '../apps/master/src/durable-log.ts';
import { silentLog, submitOp, testSpec } from '../apps/master/src/test-support.ts';
import { startRedisCluster, type TestRedisCluster } from './harness/redis-cluster.ts';
import { waitFor } from './harness/wait.ts';

let rc: TestRedisCluster;
before(async () => {
  rc = await startRedisCluster({ primaries: 3, replicas: 1 });
});
after(async () => rc?.stop());

/** The node serving `slot` now, and the node replicating it. */
async function servingNodes(slot: number) {
  const primaries = await rc.primaries();
  const primary = primaries.find((p) => p.slots.some(([a, b]) => slot >= a && slot <= b))!;
  const node = rc.nodes.find((n) => n.port === primary.port)!;
  const replicaPort = /slave0:ip=[^,]+,port=(\d+)/.exec(await node.node().info('replication'))?.[1];
  return { primary: node, replica: rc.nodes.find((n) => n.port === Number(replicaPort))! };
}

test("an op-log batch waits for the replica of the log's primary, survives that primary's failover, and a missing replica is recorded", { timeout: 120_000 }, async () => {
  const k = keys('tlog');
  const redis = rc.client();
  const log = new DurableLog({ redis, keys: k, log: silentLog, snapshotEvery: 1000, replicas: 1, replicaWaitMs: 500 });
  const batch = (n: number) => [submitOp(`j${n}`, testSpec(1, 1), n)];
  await log.claim(1);
  for (let seq = 1; seq <= 20; seq++) assert.equal(await log.append(1, seq, batch(seq)), 'appended');
  assert.equal(log.shortfall, null, 'every batch reached the replica');

  const { primary, replica } = await servingNodes(keySlot(k.masterLog()));
  assert.ok(replica, 'the log primary has a replica');
  // The primary dies right after the acknowledged batches: its replica takes over with all of them.
  await primary.kill();
  await waitFor(async () => (await rc.primaries()).some((p) => p.port === replica.port), { what: 'the replica to take over the log slot', timeoutMs: 30_000 });
  const tail = await new DurableLog({ redis, keys: k, log: silentLog, snapshotEvery: 1000 }).read(0);
  assert.deepEqual(tail.entries.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1), 'every acknowledged batch survived the failover');

  // The new primary has no replica (the old one is down): the batch counts on it alone, and the log says so.
  await log.claim(2);
  assert.equal(await log.append(2, 21, batch(21)), 'appended');
  assert.deepEqual({ ...log.shortfall!, at: 0 }, { seq: 21, acked: 0, wanted: 1, at: 0 });
  // The old primary comes back as the new primary's replica: batches reach it again.
  await primary.restart();
  await waitFor(async () => /slave0:.*state=online/.test(await replica.node().info('replication')), { what: 'the old primary to rejoin as a replica, in sync', timeoutMs: 30_000 });
  assert.equal(await log.append(2, 22, batch(22)), 'appended');
  assert.equal(log.shortfall, null, 'the replica holds batch 22');
  // A replica that does not answer in time: the batch still counts, and falls short.
  primary.proc.kill('SIGSTOP');
  try {
    assert.equal(await log.append(2, 23, batch(23)), 'appended');
    assert.deepEqual({ ...log.shortfall!, at: 0 }, { seq: 23, acked: 0, wanted: 1, at: 0 });
  } finally {
    primary.proc.kill('SIGCONT');
  }
  // Batch 24, sent again until it reaches the replica (a retry of the same batch is a duplicate, and waits too).
  await waitFor(async () => {
    await log.append(2, 24, batch(24));
    return log.shortfall === null;
  }, { what: 'batches to reach the replica again', timeoutMs: 30_000 });
});
