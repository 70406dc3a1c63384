import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstSeed, redisSeeds } from './redis-seeds.ts';

test('one node, or several sharing the scheme, the credentials and the database', () => {
  assert.deepEqual(redisSeeds('redis://127.0.0.1:6379'), {
    tls: false, username: '', password: '', db: 0, nodes: [{ host: '127.0.0.1', port: 6379, url: 'redis://127.0.0.1:6379' }],
  });
  const s = redisSeeds('rediss://app:p%40ss@10.0.0.1:7000,10.0.0.2,[::1]:7002/2');
  assert.equal(s.tls, true);
  assert.equal(s.username, 'app');
  assert.equal(s.password, 'p@ss');
  assert.equal(s.db, 2);
  assert.deepEqual(s.nodes.map((n) => [n.host, n.port]), [['10.0.0.1', 7000], ['10.0.0.2', 6379], ['::1', 7002]]);
  assert.equal(s.nodes[1].url, 'rediss://app:p%40ss@10.0.0.2/2');
});

test('a bad list names the problem, never the password', () => {
  assert.throws(() => redisSeeds('redis://:secret@127.0.0.1:7000,,127.0.0.1:7001'), (err: Error) => {
    assert.equal(err.message, 'REDIS_URL redis://127.0.0.1:7000,,127.0.0.1:7001: seed node 2 of 3 is empty (write host:port,host:port)');
    return true;
  });
  assert.throws(() => redisSeeds('redis://:secret@127.0.0.1:7000,127.0.0.1:x'), /seed node "127.0.0.1:x" is not a host or host:port/);
  assert.throws(() => redisSeeds('http://127.0.0.1'), /use redis:\/\/HOST:PORT/);
  assert.throws(() => redisSeeds('redis://127.0.0.1/x'), /the path must be a database number, not "\/x"/);
});

test('firstSeed: the first node as a URL of its own', () => {
  assert.equal(firstSeed('redis://:pw@10.0.0.1:7000,10.0.0.2:7000/0'), 'redis://:pw@10.0.0.1:7000/0');
  assert.equal(firstSeed('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
});
