import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContentCache, ENTRY_OVERHEAD_BYTES } from './content-cache.ts';

test('content cache: hits and misses are counted, and the least recently used entry goes first', () => {
  const c = new ContentCache(100, 0);
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
  const c = new ContentCache(100, 0);
  c.set('big', 'x', 101);
  assert.equal(c.get('big'), undefined);
  assert.equal(c.bytes, 0);
  c.set('a', 1, 60);
  c.set('a', 2, 30);
  assert.equal(c.bytes, 30);
  assert.equal(c.size, 1);
  assert.equal(c.get('a'), 2);
});

test('content cache: peek looks without taking; take returns an entry once and frees its bytes', () => {
  const c = new ContentCache(100, 0);
  c.set('a', 'A', 10);
  assert.equal(c.peek('a'), 'A', 'peek leaves the entry');
  assert.equal(c.hits, 0, 'and counts no hit');
  assert.equal(c.take('a'), 'A');
  assert.equal(c.take('a'), undefined);
  assert.equal(c.bytes, 0);
});

test('content cache: each entry costs its overhead and key too, so many tiny values stay within the budget', () => {
  const c = new ContentCache(1 << 20);
  for (let i = 0; i < 100_000; i++) c.set(`k${i}`, Buffer.alloc(16), 16);
  assert.ok(c.bytes <= 1 << 20, `${c.bytes} bytes kept`);
  assert.ok(c.size <= (1 << 20) / (ENTRY_OVERHEAD_BYTES + 16), `${c.size} entries kept`);
  assert.ok(c.size > 1000, 'recent entries are kept');
  c.clear();
  assert.deepEqual([c.size, c.bytes], [0, 0]);
});
