import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { redisForFile } from '../../test/harness/redis.ts';
import { getLarge } from './bulk.ts';
import { BulkClient, bulkClientTuning } from './bulk-client.ts';
import { redisBlobs } from './blob-store.ts';

const fx = redisForFile();

const value = randomBytes(3 * 1024 * 1024 + 123);

test('the range reader reads a large value exactly, into a reused buffer', async () => {
  await fx.redis.set('big', value);
  const reader = BulkClient.forUrl(fx.server.url, 3);
  try {
    const first = await getLarge(reader, 'big', { rangeBytes: 256 * 1024 });
    assert.ok(first?.data.equals(value));
    const again = await getLarge(reader, 'big', { into: first!.backing, rangeBytes: 100_000 });
    assert.equal(again!.backing, first!.backing, 'the buffer was reused');
    assert.ok(again!.data.equals(value));
  } finally {
    reader.close();
  }
});

test('over ioredis, ranges go side by side; small and missing values work too', async () => {
  await fx.redis.set('big', value);
  await fx.redis.set('small', 'hello');
  await fx.redis.set('empty', '');
  const store = redisBlobs(fx.redis);
  assert.ok((await getLarge(store, 'big', { rangeBytes: 500_000 }))!.data.equals(value));
  assert.equal((await getLarge(store, 'small'))!.data.toString(), 'hello');
  assert.equal((await getLarge(store, 'empty'))!.data.length, 0);
  assert.equal(await getLarge(store, 'nothing'), null);
});

test('a value that shrinks while it is read is reported, not returned half', async () => {
  await fx.redis.set('shrinking', value);
  const reader = BulkClient.forUrl(fx.server.url, 2);
  try {
    const out = Buffer.alloc(value.length);
    await fx.redis.set('shrinking', value.subarray(0, 1000));
    assert.equal(await reader.readInto('shrinking', out, 0, value.length, 256 * 1024), false);
  } finally {
    reader.close();
  }
});

test('Redis errors reject the read; a killed connection is replaced on the next read', async () => {
  await fx.redis.hset('ahash', 'f', 'v');
  await fx.redis.set('big', value);
  const reader = BulkClient.forUrl(fx.server.url, 1);
  try {
    await assert.rejects(reader.readInto('ahash', Buffer.alloc(10), 0, 10, 5), /WRONGTYPE/);
    const out = Buffer.alloc(value.length);
    assert.equal(await reader.readInto('big', out, 0, value.length, 1 << 20), true);
    await fx.redis.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await new Promise((res) => setTimeout(res, 100));
    const again = Buffer.alloc(value.length);
    assert.equal(await reader.readInto('big', again, 0, value.length, 1 << 20), true);
    assert.ok(again.equals(value));
  } finally {
    reader.close();
  }
});

test('a Redis that stops answering fails the request after the reply timeout; the next one works once it answers', async () => {
  await fx.redis.set('paused', 'v');
  const bulk = BulkClient.forUrl(fx.server.url, 1);
  const saved = bulkClientTuning.replyTimeoutMs;
  bulkClientTuning.replyTimeoutMs = 300;
  try {
    assert.deepEqual(await bulk.getMany(['paused']), [Buffer.from('v')]);
    fx.server.proc.kill('SIGSTOP');
    try {
      await assert.rejects(bulk.getMany(['paused']), /cannot reach Redis at .*no reply within 300 ms/);
    } finally {
      fx.server.proc.kill('SIGCONT');
    }
    assert.deepEqual(await bulk.getMany(['paused']), [Buffer.from('v')]);
  } finally {
    bulkClientTuning.replyTimeoutMs = saved;
    bulk.close();
  }
});

test('getMany and setMany move whole values over several connections, byte for byte', async () => {
  const bulk = BulkClient.forUrl(fx.server.url, 3);
  try {
    const values = [value, Buffer.from('small'), Buffer.alloc(0), randomBytes(70_000), Buffer.from('\r\n$5\r\nfake\r\n')];
    await bulk.setMany(values.map((v, i) => ({ key: `many:${i}`, value: v })), 100_000);
    const ttl = await fx.redis.ttl('many:0');
    assert.ok(ttl > 0 && ttl <= 100, `expiry set (${ttl} s)`);
    const got = await bulk.getMany([...values.map((_, i) => `many:${i}`), 'many:missing']);
    values.forEach((v, i) => assert.ok(got[i]!.equals(v), `value ${i}`));
    assert.equal(got[values.length], null, 'a missing key reads as null');
    await bulk.setMany([{ key: 'forever', value: Buffer.from('x') }]);
    assert.equal(await fx.redis.ttl('forever'), -1, 'no expiry unless asked');
    await fx.redis.hset('ahash2', 'f', 'v');
    await assert.rejects(bulk.getMany(['ahash2']), /WRONGTYPE/);
    assert.equal((await bulk.getMany(['many:1']))[0]!.toString(), 'small', 'the connection still works after an error reply');
  } finally {
    bulk.close();
  }
});

test('AUTH and SELECT come from the URL', async () => {
  const db3 = fx.server.client();
  await db3.select(3);
  await db3.set('indb3', value);
  await fx.redis.config('SET', 'requirepass', 's3cret');
  try {
    const reader = BulkClient.forUrl(`redis://:s3cret@127.0.0.1:${fx.server.port}/3`, 2);
    const out = Buffer.alloc(value.length);
    assert.equal(await reader.readInto('indb3', out, 0, value.length, 1 << 20), true);
    assert.ok(out.equals(value));
    reader.close();
    const wrong = BulkClient.forUrl(`redis://:nope@127.0.0.1:${fx.server.port}/3`, 1);
    await assert.rejects(wrong.readInto('indb3', Buffer.alloc(10), 0, 10, 5), (err: Error) => {
      assert.equal(err.message, `Redis at redis://127.0.0.1:${fx.server.port}/3 refused the password (WRONGPASS); check the password in REDIS_URL`);
      return true;
    });
    wrong.close();
    const none = BulkClient.forUrl(`redis://127.0.0.1:${fx.server.port}/3`, 1);
    await assert.rejects(none.readInto('indb3', Buffer.alloc(10), 0, 10, 5), /needs a password \(NOAUTH\): put it in REDIS_URL as redis:\/\/:PASSWORD@host:port/);
    none.close();
  } finally {
    await fx.redis.config('SET', 'requirepass', '');
  }
});

test('an ACL user: the bulk client sends AUTH user pass', async () => {
  const user = `bulk${process.pid}`;
  await fx.redis.call('ACL', 'SETUSER', user, 'on', '>userpass', '~*', '&*', '+@all');
  await fx.redis.set('acl-key', value);
  await fx.redis.config('SET', 'requirepass', 'defaultpass');
  try {
    // Only the pair user/userpass opens this: `AUTH userpass` alone would be checked against the default user.
    const reader = BulkClient.forUrl(`redis://${user}:userpass@127.0.0.1:${fx.server.port}`, 2);
    const out = Buffer.alloc(value.length);
    assert.equal(await reader.readInto('acl-key', out, 0, value.length, 1 << 20), true);
    assert.ok(out.equals(value));
    reader.close();
    const wrong = BulkClient.forUrl(`redis://${user}:defaultpass@127.0.0.1:${fx.server.port}`, 1);
    await assert.rejects(wrong.getMany(['acl-key']), (err: Error) => {
      assert.match(err.message, /refused the password \(WRONGPASS\)/);
      assert.ok(!err.message.includes('defaultpass'), 'the message repeats no password');
      return true;
    });
    wrong.close();
  } finally {
    await fx.redis.config('SET', 'requirepass', '');
    await fx.redis.call('ACL', 'DELUSER', user);
  }
});

test('a user denied INFO (as @dangerous often is) still gets a working client on one Redis', async () => {
  const user = `noinfo${process.pid}`;
  await fx.redis.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-@dangerous');
  try {
    await fx.redis.set('noinfo-key', value);
    const bulk = BulkClient.forUrl(`redis://${user}:pw@127.0.0.1:${fx.server.port}`, 2);
    const out = Buffer.alloc(value.length);
    assert.equal(await bulk.readInto('noinfo-key', out, 0, value.length, 1 << 20), true);
    assert.ok(out.equals(value));
    bulk.close();
  } finally {
    await fx.redis.call('ACL', 'DELUSER', user);
  }
});

test('a password given to a Redis that needs none is accepted, as ioredis does', async () => {
  await fx.redis.set('nopass-key', 'x');
  const bulk = BulkClient.forUrl(`redis://:unneeded@127.0.0.1:${fx.server.port}`, 1);
  assert.deepEqual(await bulk.getMany(['nopass-key']), [Buffer.from('x')]);
  bulk.close();
});
