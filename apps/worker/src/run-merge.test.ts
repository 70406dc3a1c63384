import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, compareCodePoints, encodeShuffle, sortCodePoints } from '@tandem/shared';
import { arrayRun, mergeRuns, type SortedRun } from './run-merge.ts';
import { valuesFor } from './reduce-partition.ts';
import { MissingRunError, ShuffleRunReader, type HeldBytes } from './shuffle-run.ts';

/** Every (key, values) the merge hands on, in order. */
async function merged<V>(runs: SortedRun<V>[], rank = runs.map((_, i) => i)): Promise<[string, V[]][]> {
  const out: [string, V[]][] = [];
  await mergeRuns(runs, rank, (k, vs) => void out.push([k, vs]));
  return out;
}

/** Sorted (key, value) records as a run. */
const run = <V>(records: [string, V][], blockRecords?: number) => arrayRun(records.map((r) => r[0]), records.map((r) => r[1]), blockRecords);

test('ties: a key held by several runs gets their values in rank order, once the key ends', async () => {
  const a = run([['a', 1], ['c', 2]]);
  const b = run([['b', 10], ['c', 20]]);
  const c = run([['c', 200], ['d', 300]]);
  assert.deepEqual(await merged([a, b, c]), [['a', [1]], ['b', [10]], ['c', [2, 20, 200]], ['d', [300]]]);
  const again = [run([['a', 1], ['c', 2]]), run([['b', 10], ['c', 20]]), run([['c', 200], ['d', 300]])];
  assert.deepEqual(await merged(again, [2, 1, 0]), [['a', [1]], ['b', [10]], ['c', [200, 20, 2]], ['d', [300]]], 'ranks backwards: the senders backwards');
});

test('empty runs, no runs, one run, and a run with a key repeated (its records in order)', async () => {
  assert.deepEqual(await merged([]), []);
  assert.deepEqual(await merged([run([]), run([])]), []);
  assert.deepEqual(await merged([run([]), run([['x', 1]]), run([])]), [['x', [1]]]);
  assert.deepEqual(await merged([run([['a', 1], ['a', 2], ['b', 3]], 1)]), [['a', [1, 2]], ['b', [3]]]);
  assert.deepEqual(await merged([run([['a', 1], ['a', 2]], 1), run([['a', 9]])], [1, 0]), [['a', [9, 1, 2]]]);
});

test('many runs cut into small blocks: the same as sorting every record, keys in code point order (astral above U+E000)', async () => {
  const alphabet = ['a', 'b', 'é', '\uE000', '😀', 'z', 'ab', ''];
  const senders = 37;
  const all: [string, number][] = [];
  const runs: SortedRun<number>[] = [];
  for (let s = 0; s < senders; s++) {
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) keys.add(alphabet[(i * 7 + s) % alphabet.length] + alphabet[(i * 3 + s * 5) % alphabet.length] + String((i * s) % 13));
    const sorted = sortCodePoints([...keys]);
    const records = sorted.map((k, i) => [k, s * 1000 + i] as [string, number]);
    all.push(...records);
    runs.push(run(records, 1 + (s % 5)));
  }
  const got = await merged(runs);
  const keys = got.map((g) => g[0]);
  assert.deepEqual(keys, sortCodePoints([...new Set(all.map((r) => r[0]))]));
  for (let i = 1; i < keys.length; i++) assert.ok(compareCodePoints(keys[i - 1], keys[i]) < 0);
  const want = new Map<string, number[]>();
  for (const [k, v] of [...all].sort((x, y) => Math.floor(x[1] / 1000) - Math.floor(y[1] / 1000))) (want.get(k) ?? want.set(k, []).get(k)!).push(v);
  assert.deepEqual(new Map(got), want, 'each key\'s values from every sender, in sender order');
});

test('a combiner type (one value per sender, folded) and a list-valued type (lists joined), over encoded blobs read in small ranges', async () => {
  const wordsOf = (s: number) => sortCodePoints(Array.from({ length: 3000 + 500 * s }, (_, i) => `w${(i * (s + 3)) % 4000}`).filter((w, i, a) => a.indexOf(w) === i));
  const senders = 5;
  const counts = Array.from({ length: senders }, (_, s) => wordsOf(s));
  const want = new Map<string, number>();
  const held: HeldBytes = { now: 0, peak: 0 };
  const blobs = counts.map((ws, s) => {
    for (const w of ws) want.set(w, (want.get(w) ?? 0) + s + 1);
    return encodeShuffle(ws, ws.map(() => s + 1), 256);
  });
  const readers = blobs.map((b, s) => new ShuffleRunReader<number>(async (from, to) => b.subarray(from, to), 512, held, `blob ${s}`));
  const sum = (a: unknown, b: unknown) => (a as number) + (b as number);
  const got = new Map<string, number>();
  await mergeRuns(readers, [0, 1, 2, 3, 4], (k, parts) => void got.set(k, valuesFor(parts, sum, false)[0] as number));
  assert.deepEqual(got, want);
  assert.deepEqual([...got.keys()], sortCodePoints([...want.keys()]));
  const total = blobs.reduce((a, b) => a + b.length, 0);
  // Per sender: the range being read and the rest of the block before it (blocks of about 256 bytes), and the range asked for ahead.
  assert.ok(held.peak <= senders * (2 * 512 + 2 * 256), `held ${held.peak} bytes at most, of ${total}`);
  assert.ok(total > 4 * held.peak, `the blobs (${total} bytes) are much larger than what was held (${held.peak})`);
  assert.equal(held.now, 0, 'every reader let go of its window at its end');
  assert.equal(readers.reduce((a, r) => a + r.fetchedBytes, 0), total, 'each byte read once');

  const lists = [
    encodeShuffle(['a', 'b'], [['a1', 'a2'], ['b1']]),
    encodeShuffle([], []),
    encodeShuffle(['b', 'c'], [['b2', 'b3'], ['c1']]),
  ];
  const open = () => lists.map((b) => new ShuffleRunReader<unknown>(async (from, to) => b.subarray(from, to), 16, { now: 0, peak: 0 }, 'list blob'));
  const joined: [string, unknown[]][] = [];
  await mergeRuns(open(), [0, 1, 2], (k, parts) => void joined.push([k, valuesFor(parts, undefined, false)]));
  assert.deepEqual(joined, [['a', ['a1', 'a2']], ['b', ['b1', 'b2', 'b3']], ['c', ['c1']]]);
  const backwards: [string, unknown[]][] = [];
  await mergeRuns(open(), [2, 1, 0], (k, parts) => void backwards.push([k, valuesFor(parts, undefined, true)]));
  assert.deepEqual(backwards, [['a', ['a2', 'a1']], ['b', ['b3', 'b2', 'b1']], ['c', ['c1']]], 'a verified task\'s second run: same keys, each key\'s values backwards');
});

test('a small blob the map task left unsorted (one block, flagged) is sorted by its reader, values following their keys, beside sorted runs', async () => {
  const loose = encodeShuffle(['pear', '😀', 'apple', '\uE000', 'fig'], [1, 2, 3, 4, 5], Infinity, true);
  const sorted = encodeShuffle(['apple', 'kiwi', 'pear'], [10, 20, 30], 16);
  const readers = [loose, sorted].map((b, s) => new ShuffleRunReader<number>(async (from, to) => b.subarray(from, to), 8, { now: 0, peak: 0 }, `blob ${s}`));
  const got: [string, number[]][] = [];
  await mergeRuns(readers, [0, 1], (k, parts) => void got.push([k, parts]));
  assert.deepEqual(got, [['apple', [3, 10]], ['fig', [5]], ['kiwi', [20]], ['pear', [1, 30]], ['\uE000', [4]], ['😀', [2]]]);
});

test('an async onKey is awaited in order; a missing or cut-short blob is an error naming it', async () => {
  const seen: string[] = [];
  await mergeRuns([run([['a', 1], ['b', 2]])], [0], async (k) => {
    await new Promise((r) => setImmediate(r));
    seen.push(k);
  });
  assert.deepEqual(seen, ['a', 'b']);
  const missing = new ShuffleRunReader(async () => Buffer.alloc(0), 64, { now: 0, peak: 0 }, 'the input from map task 4');
  await assert.rejects(mergeRuns([missing], [0], () => {}), (err: Error) => err instanceof MissingRunError && err.run === missing && err.message === 'the input from map task 4 is missing');
  const blob = encodeShuffle(['a', 'b'], [1, 2]);
  const short = new ShuffleRunReader(async (from, to) => blob.subarray(0, blob.length - 2).subarray(from, to), 8, { now: 0, peak: 0 }, 'the input from map task 1');
  await assert.rejects(mergeRuns([short], [0], () => {}), (err: Error) => err instanceof CodecError && /^the input from map task 1: cut short at byte \d+, in the middle of its header or a block$/.test(err.message));
});
