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

test('sortCodePoints on many keys equals a compareCodePoints sort: shared prefixes, empty and one-unit keys, surrogates, duplicates', () => {
  const units = ['a', 'b', 'z', 'é', '\uD7FF', '\uD800', '\uDBFF', '\uDC00', '\uE000', '\uFFFF', '😀', '𝄞', ''];
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
  for (const [n, alphabet] of [[63, units], [64, units], [1000, units], [20_000, units], [5000, units.slice(0, 5)]] as const) {
    const keys = Array.from({ length: n }, () => Array.from({ length: rand(5) }, () => alphabet[rand(alphabet.length)]).join(''));
    assert.deepEqual(sortCodePoints([...keys]), [...keys].sort(compareCodePoints), `${n} keys`);
  }
});

test('sortCodePoints on keys below U+D800: packed first units, three of them up to 65,536 keys and two beyond', () => {
  let seed = 11;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
  const alphabet = ['a', 'b', 'c', 'é', 'Ω', '\uD7FF', '\u0000', 'ab', 'abc'];
  for (const n of [64, 5000, 65_536, 70_000]) {
    const keys = Array.from({ length: n }, () => Array.from({ length: rand(6) }, () => alphabet[rand(alphabet.length)]).join(''));
    assert.deepEqual(sortCodePoints([...keys]), [...keys].sort(compareCodePoints), `${n} keys`);
  }
});
