import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContentCache } from './content-cache.ts';

test('content cache: hits and misses are counted, and the least recently used entry goes first', () => {
  const c = new ContentCache(100);
  c.set('a', 'A', 40);
  c.set('b', 'B', 40);
  assert.equal(c.get('a'), 'A'); // a is now the most recent
  c.set('c', 'C', 40); // 120 > 100: b, the least recently used, goes
  assert.equal(c.get('b'), undefined);
  assert.equal(c.get('a'), 'A');
  assert.equal(c.get('c'), 'C');
  assert.equal(c.bytes, 80);
  assert.deepEqual([c.hits, c.misses], [3, 1]);
});

test('content cache: an entry larger than the budget is not kept, and replacing a key frees its old bytes', () => {
  const c = new ContentCache(100);
  c.set('big', 'x', 101);
  assert.equal(c.get('big'), undefined);
  assert.equal(c.bytes, 0);
  c.set('a', 1, 60);
  c.set('a', 2, 30);
  assert.equal(c.bytes, 30);
  assert.equal(c.size, 1);
  assert.equal(c.get('a'), 2);
});

test('content cache: take returns an entry once and frees its bytes', () => {
  const c = new ContentCache(100);
  c.set('a', 'A', 10);
  assert.equal(c.take('a'), 'A');
  assert.equal(c.take('a'), undefined);
  assert.equal(c.bytes, 0);
});
