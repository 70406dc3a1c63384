import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indices, pairedCombiner } from './verify-order.ts';

test('indices: in order, or backwards for a second run', () => {
  assert.deepEqual([...indices(4, false)], [0, 1, 2, 3]);
  assert.deepEqual([...indices(4, true)], [3, 2, 1, 0]);
  assert.deepEqual([...indices(0, true)], []);
});

/** What the plain map-side combine makes of these emits (run-task.ts): a left fold per key. */
function leftFold<V>(emits: [string, V][], combine: (a: V, b: V) => V): Map<string, V> {
  const t = new Map<string, V>();
  for (const [k, v] of emits) t.set(k, t.has(k) ? combine(t.get(k)!, v) : v);
  return t;
}

function paired<V>(emits: [string, V][], combine: (a: V, b: V) => V): Map<string, unknown> {
  const t = new Map<string, unknown>();
  const c = pairedCombiner(t, combine);
  for (const [k, v] of emits) c.emit(k, v);
  c.finish();
  return t;
}

const emits = (n: number): [string, number][] => Array.from({ length: n }, (_, i) => [i % 3 === 0 ? 'x' : 'y', i + 1]);

test('pairedCombiner: an associative combiner gives what the left fold gives, keys in first-emit order', () => {
  for (const n of [0, 1, 2, 3, 4, 5, 10, 11]) {
    const sum = (a: number, b: number) => a + b;
    assert.deepEqual([...paired(emits(n), sum)], [...leftFold(emits(n), sum)], `sum of ${n}`);
    const concat = (a: number[], b: number[]) => (a.push(...b), a);
    const lists = emits(n).map(([k, v]): [string, number[]] => [k, [v]]);
    const lists2 = emits(n).map(([k, v]): [string, number[]] => [k, [v]]);
    assert.deepEqual([...paired(lists, concat)], [...leftFold(lists2, concat)], `concatenation (mutating) of ${n}`);
  }
});

test('pairedCombiner: a combiner that is not associative gives another result from three values on', () => {
  const minus = (a: number, b: number) => a - b;
  assert.deepEqual([...paired(emits(2), minus)], [...leftFold(emits(2), minus)], 'two values: one grouping only');
  const e: [string, number][] = [['k', 10], ['k', 3], ['k', 2]];
  assert.equal(leftFold(e, minus).get('k'), 5);
  assert.equal(paired(e, minus).get('k'), 9);
});
