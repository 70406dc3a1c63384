// The BlobStore contract, one definition run four times: over ioredis and over the raw client
// (bulk-client.ts), each on one Redis and on a Redis Cluster of 3 primaries with a replica each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { onEachTopology, type DataTopology } from '../../test/harness/topologies.ts';
import type { RedisConnection } from './redis.ts';
import { redisBlobs, type BlobStore } from './blob-store.ts';
import { BulkClient } from './bulk-client.ts';
import { getLarge } from './bulk.ts';
import { keySlot } from './key-slot.ts';

const closers: (() => void)[] = [];
after(() => {
  for (const c of closers) c();
});

const implementations: { name: string; make: (t: DataTopology) => BlobStore }[] = [
  { name: 'ioredis', make: (t) => redisBlobs(t.redis) },
  {
    name: 'the raw client',
    make: (t) => {
      const c = BulkClient.forUrl(t.url, 2);
      closers.push(() => c.close());
      return c;
    },
  },
];

let run = 0;

onEachTopology((topology) => {
  for (const impl of implementations) {
    describe(`BlobStore over ${impl.name}`, () => {
      let store: BlobStore;
      let redis: RedisConnection;
      let p: string;
      before(() => {
        store = impl.make(topology());
        redis = topology().redis;
        p = `bs${++run}`;
      });

      test('setMany and getMany move values of many slots byte for byte, with the expiry asked for', async () => {
        const values = [randomBytes(3 * 1024 * 1024 + 7), Buffer.from('small'), Buffer.alloc(0), randomBytes(70_000), Buffer.from('\r\n$5\r\nfake\r\n')];
        const keys = values.map((_, i) => `${p}:{v${i}}`);
        assert.ok(new Set(keys.map(keySlot)).size > 1, 'the keys lie in different slots');
        await store.setMany(values.map((value, i) => ({ key: keys[i], value })), 100_000);
        const got = await store.getMany([...keys, `${p}:{missing}`]);
        values.forEach((v, i) => assert.ok(got[i]?.equals(v), `value ${i}`));
        assert.equal(got[values.length], null, 'a missing key reads as null');
        const ttl = await redis.pttl(keys[0]);
        assert.ok(ttl > 0 && ttl <= 100_000, `expiry set (${ttl} ms)`);
        await store.setMany([{ key: `${p}:{forever}`, value: Buffer.from('x') }]);
        assert.equal(await redis.pttl(`${p}:{forever}`), -1, 'no expiry unless asked');
        assert.deepEqual(await store.getMany([]), []);
      });

      test('head gives the length and the first bytes, sizes the lengths; readInto copies ranges into place', async () => {
        const big = randomBytes(2.5 * (1 << 20));
        await store.setMany([{ key: `${p}:{big}`, value: big }, { key: `${p}:{empty}`, value: Buffer.alloc(0) }]);
        const h = await store.head(`${p}:{big}`, 10);
        assert.equal(h?.length, big.length);
        assert.ok(h?.head.equals(big.subarray(0, 10)));
        assert.deepEqual(await store.head(`${p}:{empty}`, 10), { length: 0, head: Buffer.alloc(0) });
        assert.equal(await store.head(`${p}:{none}`, 10), null);
        assert.deepEqual(await store.sizes([`${p}:{big}`, `${p}:{empty}`, `${p}:{none}`]), [big.length, 0, 0], 'sizes: STRLEN of keys in different slots, 0 where missing');
        assert.deepEqual(await store.sizes([]), []);
        const out = Buffer.alloc(big.length);
        assert.equal(await store.readInto(`${p}:{big}`, out, 1000, big.length, 300_000), true);
        assert.ok(out.subarray(1000).equals(big.subarray(1000)));
        assert.equal(out.subarray(0, 1000).every((b) => b === 0), true, 'bytes before `from` untouched');
        assert.equal(await store.readInto(`${p}:{big}`, Buffer.alloc(big.length + 10), 0, big.length + 10, 1 << 20), false, 'a short range is reported');
        const read = await getLarge(store, `${p}:{big}`, { rangeBytes: 256 * 1024 });
        assert.ok(read?.data.equals(big));
        assert.ok((await store.range(`${p}:{big}`, 5, 70_005)).equals(big.subarray(5, 70_005)), 'range: one slice');
        assert.ok((await store.range(`${p}:{big}`, big.length - 3, big.length + 100)).equals(big.subarray(big.length - 3)), 'range: fewer at the end');
        assert.equal((await store.range(`${p}:{big}`, big.length, big.length + 10)).length, 0, 'range: none past the end');
        assert.equal((await store.range(`${p}:{none}`, 0, 10)).length, 0, 'range: none of a missing value');
        assert.equal((await store.range(`${p}:{big}`, 7, 7)).length, 0, 'range: an empty range');
      });

      test('expire sets and removes expiries; delete removes keys of many slots', async () => {
        const keys = Array.from({ length: 700 }, (_, i) => `${p}:{d${i}}`);
        await store.setMany(keys.map((key) => ({ key, value: Buffer.from(key) })));
        assert.deepEqual(await store.expire([keys[0], `${p}:{none}`], 50_000), [true, false]);
        assert.ok((await redis.pttl(keys[0])) > 0);
        assert.deepEqual(await store.expire([keys[0], keys[1]], null), [true, false], 'PERSIST: true only where there was an expiry');
        assert.equal(await redis.pttl(keys[0]), -1);
        await store.delete([...keys, `${p}:{none}`]);
        assert.deepEqual(await store.getMany(keys), keys.map(() => null));
        await store.delete([]);
      });

      test('an error reply rejects its own request only', async () => {
        await redis.hset(`${p}:{hash}`, 'f', 'v');
        await assert.rejects(store.head(`${p}:{hash}`, 10), /WRONGTYPE/);
        await store.setMany([{ key: `${p}:{after}`, value: Buffer.from('ok') }]);
        assert.deepEqual(await store.getMany([`${p}:{after}`]), [Buffer.from('ok')]);
      });
    });
  }
});
