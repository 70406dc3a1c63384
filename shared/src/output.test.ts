import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOutput, encodePairs, openOutput } from './codec.ts';
import { compareCodePoints } from './order.ts';
import { mergeCursors, mergedLines } from './output.ts';

test('mergeCursors: sorted partitions of either version merged in code point order, a key\'s lines in order, ties to the lower partition', () => {
  // Partition p holds the keys whose hash is p; a key's several lines stay together in one partition.
  const records: [string, string][] = [];
  for (let i = 0; i < 3000; i++) {
    const key = ['b', 'a', 'é', '😀', '\uFFFF', 'a b'][i % 6] + String(i % 97);
    records.push([key, `${key}\t${i}`]);
  }
  const byPart: [string, string][][] = [[], [], []];
  for (const r of records) byPart[[...r[0]].reduce((h, ch) => h + ch.codePointAt(0)!, 0) % 3].push(r);
  for (const part of byPart) part.sort((x, y) => compareCodePoints(x[0], y[0]));
  const blobs = byPart.map((part, p) => (p === 1 ? encodePairs : encodeOutput)(part.map((r) => r[0]), part.map((r) => r[1])));
  const want = byPart.flat().sort((x, y) => compareCodePoints(x[0], y[0])).map((r) => r[1]);
  assert.deepEqual([...mergeCursors(blobs.map((b) => openOutput(b)))], want);
  assert.deepEqual([...mergedLines(byPart.map((part) => ({ keys: part.map((r) => r[0]), values: part.map((r) => r[1]) })))], want);
  assert.deepEqual([...mergeCursors([])], []);
  assert.deepEqual([...mergeCursors([openOutput(encodeOutput([], [])), openOutput(encodeOutput(['x'], ['x1']))])], ['x1']);
});

test('mergeCursors: equal keys in two partitions (a custom partitioner cannot do that, but the merge does not assume it) come lower partition first', () => {
  const a = openOutput(encodeOutput(['k', 'k', 'z'], ['a1', 'a2', 'az']));
  const b = openOutput(encodeOutput(['k', 'y'], ['b1', 'by']));
  assert.deepEqual([...mergeCursors([a, b])], ['a1', 'a2', 'b1', 'by', 'az']);
});
