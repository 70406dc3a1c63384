import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allBelowSurrogates, compareCodePoints, sortCodePoints } from './order.ts';

test('sortCodePoints: code point order, natively when no key reaches U+D800, else by compareCodePoints (astral above U+E000)', () => {
  const plain = ['b', 'a', 'é', 'ab', '', 'Z', '\uD7FF'];
  assert.ok(allBelowSurrogates(plain));
  assert.deepEqual(sortCodePoints([...plain]), ['', 'Z', 'a', 'ab', 'b', 'é', '\uD7FF']);
  const high = ['\uFFFF', '😀', 'a', '\uE000', '\uD800'];
  assert.equal(allBelowSurrogates(high), false);
  const want = [...high].sort(compareCodePoints);
  assert.deepEqual(want, ['a', '\uE000', '\uFFFF', '\uD800', '😀'], 'surrogates sort above U+FFFF, as the characters they make up do');
  assert.deepEqual(sortCodePoints(high), want);
});
