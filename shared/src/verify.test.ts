import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOutput, encodePairs, encodeShuffle } from './codec.ts';
import { firstDifference, mismatchMessage, verifyText } from './verify.ts';

test('firstDifference: the first key in code point order whose value differs, with both values as JSON', () => {
  const a = encodePairs(['b', 'a', 'c'], [1, [2, 3], 'x']);
  const b = encodePairs(['b', 'a', 'c'], [1, [3, 2], 'y']);
  assert.deepEqual(firstDifference(a, b), { key: 'a', first: '[2,3]', check: '[3,2]' });
  assert.deepEqual(firstDifference(a, a), { key: null });
});

test('firstDifference: a key one run wrote and the other did not, and outputs missing altogether', () => {
  const a = encodePairs(['a', 'b'], [1, 2]);
  const b = encodePairs(['a', 'c'], [1, 2]);
  assert.deepEqual(firstDifference(a, b), { key: 'b', first: '2', check: undefined });
  assert.deepEqual(firstDifference(null, b), { key: 'a', first: undefined, check: '1' });
});

test('firstDifference: the same keys and values in another order differ in bytes only', () => {
  assert.deepEqual(firstDifference(encodePairs(['a', 'b'], [1, 2]), encodePairs(['b', 'a'], [2, 1])), { key: null });
});

test('mismatchMessage names the task, the partition of a map output, the key, both values and the usual causes', () => {
  const m = mismatchMessage({ kind: 'map', index: 3 }, 1, { key: 'now', first: '17', check: '18' });
  assert.equal(m.split('. ')[0], 'the two runs of map task 3 (--verify) differ for partition 1 at key "now": the first run wrote 17, the second 18');
  assert.match(m, /reads the clock/);
  const r = mismatchMessage({ kind: 'reduce', index: 0 }, 0, { key: 'a', first: '"a\\t1,3"' });
  assert.match(r, /^the two runs of reduce task 0 \(--verify\) differ at key "a": the first run wrote "a\\t1,3", the second nothing\. /);
  assert.match(r, /order of a key's values/);
  assert.match(mismatchMessage({ kind: 'map', index: 0 }, 2, { key: null }), /wrote different bytes for partition 2, with the same keys and values in another order/);
  const long = mismatchMessage({ kind: 'reduce', index: 0 }, 0, { key: 'k', first: 'x'.repeat(1000), check: 'y' });
  assert.ok(long.length < 700, 'long values are cut');
  assert.match(long, /… \(1000 characters\)/);
});

test('verifyText: nothing without --verify; progress while running; where the runs ran once done; what was verified before a failure', () => {
  assert.equal(verifyText({ phase: 'done', verify: null }), null);
  assert.equal(verifyText({ phase: 'map', verify: { tasks: 2, sameWorker: 0 } }), 'verify: every task runs twice and must write identical outputs; 2 tasks verified so far');
  assert.equal(verifyText({ phase: 'done', verify: { tasks: 5, sameWorker: 0 } }), 'verified: every task ran twice, outputs identical, each time on two different workers');
  assert.match(verifyText({ phase: 'done', verify: { tasks: 5, sameWorker: 5 } })!, /^verified: every task ran twice, outputs identical; both runs of every task were on one worker/);
  assert.match(verifyText({ phase: 'done', verify: { tasks: 5, sameWorker: 2 } })!, /both runs of 2 of 5 tasks were on one worker/);
  assert.equal(verifyText({ phase: 'failed', verify: { tasks: 1, sameWorker: 0 } }), 'verify: 1 task ran twice with identical outputs before the job failed');
  assert.equal(verifyText({ phase: 'cancelled', verify: { tasks: 0, sameWorker: 0 } }), 'verify: 0 tasks ran twice with identical outputs before the job was cancelled');
});

test('firstDifference: a reduce output with several records of a key compares them all, in order', () => {
  const a = encodePairs(['a', 'b', 'b', 'c'], ['a\t1', 'b\t1', 'b\t2', 'c\t1']);
  const b = encodePairs(['a', 'b', 'b', 'c'], ['a\t1', 'b\t2', 'b\t1', 'c\t1']);
  assert.deepEqual(firstDifference(a, b), { key: 'b', first: '"b\\t1", "b\\t2"', check: '"b\\t2", "b\\t1"' });
  assert.deepEqual(firstDifference(a, encodePairs(['a', 'b', 'c'], ['a\t1', 'b\t1', 'c\t1'])), { key: 'b', first: '"b\\t1", "b\\t2"', check: '"b\\t1"' });
});

test('firstDifference reads binary shuffle and output blobs (codec.ts) as it read JSON ones', () => {
  assert.deepEqual(firstDifference(encodeShuffle(['a', 'b'], [1, 2]), encodeShuffle(['a', 'b'], [1, 3])), { key: 'b', first: '2', check: '3' });
  assert.deepEqual(firstDifference(encodeOutput(['a', 'a'], ['a\t1', 'a\t2']), encodeOutput(['a'], ['a\t1'])), { key: 'a', first: '"a\\t1", "a\\t2"', check: '"a\\t1"' });
  assert.deepEqual(firstDifference(encodeOutput(['a'], ['x']), encodePairs(['a'], ['x'])), { key: null }, 'an output of version 0 and one of version 1 with the same lines');
});
