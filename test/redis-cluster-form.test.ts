// formCluster (shared/src/redis-cluster-form.ts) on real nodes: three primaries share every slot,
// each has a replica in sync, and a SIGKILLed primary is replaced by its replica with its data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { formCluster } from '../shared/src/redis-cluster-form.ts';
import { SLOTS } from '../shared/src/key-slot.ts';
import { startRedisCluster, type TestRedisCluster } from './harness/redis-cluster.ts';
import { waitFor } from './harness/wait.ts';

let rc: TestRedisCluster;
before(async () => {
  rc = await startRedisCluster({ primaries: 3, replicas: 1 });
});
after(async () => rc?.stop());

test('three primaries share all 16384 slots, each with one replica in sync', async () => {
  const primaries = await rc.primaries();
  assert.equal(primaries.length, 3);
  const covered = primaries.flatMap((p) => p.slots).reduce((n, [a, b]) => n + (b - a + 1), 0);
  assert.equal(covered, SLOTS);
  const roles = await Promise.all(rc.nodes.map(async (n) => /role:(\w+)/.exec(await n.node().info('replication'))![1]));
  assert.deepEqual(roles, ['master', 'master', 'master', 'slave', 'slave', 'slave']);
});

test('forming an already formed cluster again changes nothing', async () => {
  await formCluster({ ports: rc.nodes.map((n) => n.port), primaries: 3 });
  assert.equal((await rc.primaries()).length, 3);
});

test("a SIGKILLed primary is replaced by its replica, which has the primary's acknowledged writes", { timeout: 60_000 }, async () => {
  const c = rc.client();
  const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
  for (const k of keys) await c.set(k, k.toUpperCase());
  const victim = rc.nodes[0];
  // WAIT on the node itself: its replica holds everything written so far.
  assert.equal(await victim.node().call('WAIT', '1', '5000'), 1);
  await victim.kill();
  await waitFor(async () => (await rc.primaries()).length === 3 && !(await rc.primaries()).some((p) => p.port === victim.port), { what: 'a replica to take over', timeoutMs: 30_000 });
  for (const k of keys) assert.equal(await c.get(k), k.toUpperCase());
  await victim.restart();
  await waitFor(async () => /role:slave/.test(await victim.node().info('replication')), { what: 'the old primary to come back as a replica' });
});
