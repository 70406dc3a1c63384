import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstSeed, redisSeeds } from './redis-seeds.ts';

test('one node: the URL as it is', () => {
  assert.deepEqual(redisSeeds('redis://:pw@127.0.0.1:6379/2'), ['redis://:pw@127.0.0.1:6379/2']);
  assert.deepEqual(redisSeeds('rediss://cache.example.com'), ['rediss://cache.example.com']);
});

test('several seeds share the scheme, the credentials and what follows the hosts', () => {
  assert.deepEqual(redisSeeds('rediss://u:p%40w@10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002/0?x=1'), [
    'rediss://u:p%40w@10.0.0.1:7000/0?x=1',
    'rediss://u:p%40w@10.0.0.2:7001/0?x=1',
    'rediss://u:p%40w@[::1]:7002/0?x=1',
  ]);
  assert.equal(firstSeed('redis://10.0.0.1:7000,10.0.0.2:7000'), 'redis://10.0.0.1:7000');
  for (const seed of redisSeeds('redis://:pw@a:1,b:2,c:3')) assert.ok(new URL(seed).port);
});

test('an empty entry (a trailing comma) is dropped', () => {
  assert.deepEqual(redisSeeds('redis://a:1,b:2,'), ['redis://a:1', 'redis://b:2']);
});
