import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareCodePoints } from '@tandem/shared';
import { csvField, rankOrderKey, rankedRecords } from './ranks-csv.ts';

/** The definition: each node's rankOrderKey and line, sorted by key in code point order. */
function byKeys(ranks: Float64Array, ids: string[]) {
  const rows = ids.map((id, i) => ({ key: rankOrderKey(ranks[i], id), line: `${csvField(id)},${ranks[i]}` }));
  rows.sort((a, b) => compareCodePoints(a.key, b.key));
  return { keys: rows.map((r) => r.key), lines: rows.map((r) => r.line) };
}

test('rankOrderKey: rank descending, then id in code point order', () => {
  assert.ok(compareCodePoints(rankOrderKey(0.5, 'z'), rankOrderKey(0.25, 'a')) < 0);
  assert.ok(compareCodePoints(rankOrderKey(0.5, 'a'), rankOrderKey(0.5, 'b')) < 0);
  assert.equal(rankOrderKey(1, 'x'), `${(~0x3ff00000 >>> 0).toString(16)}ffffffffx`);
});

test('rankedRecords gives the keys and lines of the definition, in the same order', () => {
  // Ties (equal ranks), ids with commas and quotes, and ids beyond the BMP next to U+E000..U+FFFF,
  // where UTF-16 order and code point order differ.
  const ids = ['b', 'a', 'x,y', 'q"r', '\u{1F600}', '\uE000', 'c', 'a2'];
  const ranks = new Float64Array([0.1, 0.1, 0.3, 0.05, 0.2, 0.2, 1e-9, 0.1]);
  assert.deepEqual(rankedRecords(ranks, ids), byKeys(ranks, ids));
  const got = rankedRecords(ranks, ids);
  assert.deepEqual(got.lines.slice(0, 3), ['"x,y",0.3', '\uE000,0.2', '\u{1F600},0.2']);
});

test('rankedRecords matches the definition on random partitions', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }), { maxLength: 40 }),
      fc.array(fc.constantFrom(0.25, 0.125, 1e-7, 0.5), { minLength: 40, maxLength: 40 }),
      fc.array(fc.double({ min: 1e-12, max: 1, noNaN: true }), { minLength: 40, maxLength: 40 }),
      (ids, tied, free) => {
        const ranks = new Float64Array(ids.map((_, i) => (i % 3 === 0 ? tied[i] : free[i])));
        assert.deepEqual(rankedRecords(ranks, ids), byKeys(ranks, ids));
      },
    ),
  );
});
