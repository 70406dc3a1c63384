// Hash slots and the many-key helpers (shared/src/redis-slots.ts), on one Redis and on a real
// 3+3 Redis Cluster from one definition: the slot of a key agrees with CLUSTER KEYSLOT, eachKey
// answers in order whatever the slots, scanKeys finds keys on every primary, and the epoch keys
// (one per sixteenth of the slot space) put one on every primary.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { EPOCH_SHARDS, eachKey, hashTagOf, keySlot, keys, readRedisMemory, scanKeys, type RedisConnection } from '@tandem/shared';
import { startRedis } from './harness/redis.ts';
import { startRedisCluster, type TestRedisCluster } from './harness/redis-cluster.ts';

const topologies = {
  'one Redis': async () => {
    const s = await startRedis({ aof: false });
    return { server: s, redis: s.client() as RedisConnection, stop: () => s.stop() };
  },
  'a Redis Cluster of 3 primaries and 3 replicas': async () => {
    const s = await startRedisCluster({ primaries: 3, replicas: 1 });
    return { server: s, redis: s.client() as RedisConnection, stop: () => s.stop() };
  },
};

test('hash tags follow the cluster spec: the first {…} with something in it', () => {
  assert.equal(hashTagOf('a:{b}:c'), 'b');
  assert.equal(hashTagOf('a:{}:{b}'), 'a:{}:{b}', 'an empty first tag makes the whole key count');
  assert.equal(hashTagOf('a:{b'), 'a:{b');
  assert.equal(hashTagOf('{x}{y}'), 'x');
  assert.equal(keySlot('123456789'), 0x31c3 & 16383, 'CRC16-XMODEM check value');
});

for (const [name, start] of Object.entries(topologies)) {
  describe(`on ${name}`, () => {
    let t: Awaited<ReturnType<typeof start>>;
    before(async () => {
      t = await start();
    });
    after(async () => t?.stop());

    // One Redis has no CLUSTER KEYSLOT to ask.
    if (name.includes('Cluster')) test('keySlot agrees with CLUSTER KEYSLOT (asked of a cluster node)', async (ctx) => {
      const node = new Redis({ port: (t.server as TestRedisCluster).nodes[0].port, host: '127.0.0.1' });
      try {
        const samples = ['', '{}', '{', '}', 'a{b}c', 'tandem:job:{abc:3}:0:m1', 'tandem:bull:{map}:map:wait', 'ünïcödé:{ß}', ...Array.from({ length: 300 }, (_, i) => `k${i}:${(i * 7919).toString(36)}`)];
        for (const key of samples) assert.equal(keySlot(key), Number(await node.call('CLUSTER', 'KEYSLOT', key)), key);
        ctx.diagnostic(`${samples.length} keys agree`);
      } finally {
        node.disconnect();
      }
    });

    test('eachKey runs one command per key and answers in the order of the keys', async () => {
      const names = Array.from({ length: 200 }, (_, i) => `slots-test:${i}`);
      assert.deepEqual(await eachKey(t.redis, names, (p, key) => p.set(key, key.toUpperCase())), names.map(() => 'OK'));
      assert.deepEqual(await eachKey(t.redis, names, (p, key) => p.get(key)), names.map((n) => n.toUpperCase()));
      await assert.rejects(eachKey(t.redis, names.slice(0, 3), (p, key) => p.hget(key, 'f')), /WRONGTYPE/);
    });

    test('scanKeys finds every key, on every primary', async () => {
      const names = Array.from({ length: 300 }, (_, i) => `scan-test:${i}`);
      await eachKey(t.redis, names, (p, key) => p.set(key, '1'));
      const found = new Set<string>();
      for await (const batch of scanKeys(t.redis, 'scan-test:*', 50)) for (const k of batch) found.add(k);
      assert.deepEqual([...found].sort(), [...names].sort());
    });

    test("readRedisMemory sums a cluster's primaries: the room a job's data has", async () => {
      const mb64 = 64 * 2 ** 20;
      const primaries = 'nodes' in t.server ? (await (t.server as TestRedisCluster).primaries()).map((p) => (t.server as TestRedisCluster).nodes.find((n) => n.port === p.port)!.node()) : [t.redis as Redis];
      for (const node of primaries) await node.config('SET', 'maxmemory', String(mb64));
      try {
        const m = await readRedisMemory(t.redis);
        assert.equal(m.maxmemory, mb64 * primaries.length);
        assert.ok(m.used > 0 && m.used < m.maxmemory, `used ${m.used}`);
        await primaries[0].config('SET', 'maxmemory', '0');
        assert.equal((await readRedisMemory(t.redis)).maxmemory, 0, 'one primary without a limit: no limit');
      } finally {
        for (const node of primaries) await node.config('SET', 'maxmemory', '0');
      }
    });

    test('the epoch keys cover the slot space in sixteenths, so every primary holds one', async () => {
      const k = keys('tandem');
      const slots = Array.from({ length: EPOCH_SHARDS }, (_, i) => keySlot(k.epoch(i)));
      assert.deepEqual(slots.map((s) => Math.floor(s / 1024)), Array.from({ length: 16 }, (_, i) => i));
      if (!('nodes' in t.server)) return;
      const primaries = await (t.server as TestRedisCluster).primaries();
      for (const p of primaries) {
        assert.ok(slots.some((s) => p.slots.some(([a, b]) => s >= a && s <= b)), `primary ${p.port} holds an epoch key`);
      }
    });
  });
}
