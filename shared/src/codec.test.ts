import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_HEADER, CodecError, SHUFFLE_CODEC_VERSION, SHUFFLE_HEADER, blobKind, decodeShuffleBlock, shuffleBlockLength, shuffleHeader, decodeAnyPairs, decodeOutput, decodeShuffle, encodeOutput, encodePairs, encodeShuffle, openOutput } from './codec.ts';

const keys = ['', 'a', 'naïve', 'café', '日本語', '😀 emoji', 'x'.repeat(300), 'tab\tand\nnewline'];
const roundTrip = (values: unknown[]) => {
  const blob = encodeShuffle(keys, values);
  const d = decodeShuffle(blob);
  assert.deepEqual(d.keys, keys);
  assert.deepEqual(Array.from(d.values), values);
  return blob;
};

test('shuffle blobs: int32, float64, string and JSON values round-trip with keys of any script, each kind as its own value kind', () => {
  const ints = roundTrip([0, 1, -1, 63, 64, -65, 2 ** 31 - 1, -(2 ** 31)]);
  const firstBlock = (b: Buffer) => b.subarray(SHUFFLE_HEADER, SHUFFLE_HEADER + BLOCK_HEADER);
  assert.equal(firstBlock(ints)[5], 2, 'int32');
  assert.ok(decodeShuffle(ints).values instanceof Int32Array);
  const floats = roundTrip([0.5, -1e300, 2 ** 31, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 1e-9, 3]);
  assert.equal(firstBlock(floats)[5], 1, 'float64');
  const nan = decodeShuffle(encodeShuffle(['n'], [NaN]));
  assert.ok(Number.isNaN(nan.values[0]), 'NaN survives (JSON made it null)');
  const strings = roundTrip(['', 'a', 'ü', '😀', 'line\twith tab', 'x'.repeat(1000), '0', 'z']);
  assert.equal(firstBlock(strings)[5], 3, 'strings');
  const json = roundTrip([[1, 2], { split: 1, line: 2, text: 'x' }, 'string', null, true, [], 'é', 1]);
  assert.equal(firstBlock(json)[5], 0, 'JSON');
  const empty = encodeShuffle([], []);
  assert.deepEqual(decodeShuffle(empty), { keys: [], values: [] });
  assert.equal(empty.length, SHUFFLE_HEADER, 'a header only');
  assert.deepEqual(shuffleHeader(empty), { records: 0, blocks: 0, unsorted: false });
});

test('output blobs: lines of one key repeated keep their order; version 0 (JSON) blobs still read', () => {
  const k = ['a', 'b', 'b', 'é'];
  const lines = ['a\t1', 'b\tfirst', 'b\tsecond', 'é\t😀'];
  const blob = encodeOutput(k, lines);
  assert.equal(blobKind(blob), 'output');
  assert.deepEqual(decodeOutput(blob), { keys: k, values: lines });
  const v0 = encodePairs(k, lines);
  assert.equal(blobKind(v0), 'json');
  assert.deepEqual(decodeOutput(v0), { keys: k, values: lines });
  assert.deepEqual(decodeAnyPairs(blob), { keys: k, values: lines });
  assert.deepEqual(Array.from(decodeAnyPairs(encodeShuffle(['x'], [7])).values), [7]);
});

test('a blob of another version, of the other codec, or cut short is refused, saying what it is', () => {
  const blob = encodeShuffle(['a', 'b'], [1, 2]);
  const other = Buffer.from(blob);
  other[4] = SHUFFLE_CODEC_VERSION + 1;
  assert.throws(() => decodeShuffle(other), (err: Error) => err instanceof CodecError &&
    err.message === `shuffle blob: written in version ${SHUFFLE_CODEC_VERSION + 1} of the format, and this process reads version ${SHUFFLE_CODEC_VERSION} (a process of another Tandem version wrote it: run one version across the cluster)`);
  assert.throws(() => decodeOutput(blob), /^CodecError: output blob: not one \(it does not start with its magic number\)$|output blob: not one/);
  assert.throws(() => decodeShuffle(encodeOutput(['a'], ['x'])), /shuffle blob: not one/);
  assert.throws(() => decodeShuffle(blob.subarray(0, blob.length - 1)), /shuffle blob: \d+ bytes, cut short in block 0 of 1/);
  assert.throws(() => decodeShuffle(Buffer.from('hello')), /shuffle blob: not one/);
  assert.throws(() => encodeShuffle(['a'], [1, 2]), /cannot encode 1 keys with 2 values/);
});

test('a large word-count-shaped shuffle round-trips', () => {
  const n = 50_000;
  const ks = Array.from({ length: n }, (_, i) => `word${i.toString(36)}${i % 7 === 0 ? 'ü' : ''}`);
  const vs = Array.from({ length: n }, (_, i) => (i * 7919) % 100_000);
  const d = decodeShuffle(encodeShuffle(ks, vs));
  assert.deepEqual(d.keys, ks);
  assert.deepEqual(Array.from(d.values), vs);
});

test('keys and lines that are not strings are refused naming them', () => {
  assert.throws(() => encodeShuffle(['a', 5 as unknown as string], [1, 2]), /key 5 is a number, not a string \(keys must be strings\)$/);
  assert.throws(() => encodeOutput(['a', 'b'], ['x', { n: 1 } as unknown as string]), /the line of key "b" is an object, not a string$/);
});

test('a lone surrogate comes back as U+FFFD, and the keys after it are cut where they were', () => {
  const d = decodeShuffle(encodeShuffle(['a\uD800b', 'next', '😀'], ['x\uDC00', 'y', 'z']));
  assert.deepEqual(d.keys, ['a\uFFFDb', 'next', '😀']);
  assert.deepEqual(Array.from(d.values), ['x\uFFFD', 'y', 'z']);
});

test('openOutput reads records one at a time, its text decoded in windows (multi-byte characters cut at window edges), as decodeOutput does', () => {
  const n = 60_000;
  const keys = Array.from({ length: n }, (_, i) => `${String(i).padStart(6, '0')}${'é😀日'.repeat(i % 5)}`);
  const lines = keys.map((k, i) => (i % 1000 === 0 ? '' : `${k}\t${'ü'.repeat(i % 40)}`));
  for (const blob of [encodeOutput(keys, lines), encodePairs(keys, lines)]) {
    const c = openOutput(blob);
    const got: string[][] = [[], []];
    while (c.next()) {
      got[0].push(c.key);
      got[1].push(c.line);
    }
    assert.equal(c.next(), false);
    assert.deepEqual(got, [keys, lines]);
  }
  assert.ok(encodeOutput(keys, lines).length > 3 * (1 << 20), 'several windows');
  const empty = openOutput(encodeOutput([], []));
  assert.equal(empty.next(), false);
  assert.throws(() => openOutput(encodeShuffle(['a'], [1])), /output blob: not one/);
});

test('a shuffle blob is cut into blocks of about blockBytes, each decodable alone, each with its own value kind', () => {
  const n = 5000;
  const ks = Array.from({ length: n }, (_, i) => `k${String(i).padStart(5, '0')}`);
  const vs: unknown[] = ks.map((_, i) => (i < 2500 ? i : `v${i}`));
  const blob = encodeShuffle(ks, vs, 1024);
  const { records, blocks } = shuffleHeader(blob);
  assert.equal(records, n);
  assert.ok(blocks > 20, `${blocks} blocks of about 1 KiB`);
  const got: unknown[][] = [[], []];
  let at = SHUFFLE_HEADER;
  const sizes: number[] = [];
  let plain = true;
  for (let b = 0; b < blocks; b++) {
    const len = shuffleBlockLength(blob, at);
    sizes.push(len);
    const d = decodeShuffleBlock(blob.subarray(at, at + len));
    plain &&= d.plain;
    got[0].push(...d.keys);
    got[1].push(...Array.from(d.values));
    at += len;
  }
  assert.equal(at, blob.length);
  assert.deepEqual(got, [ks, vs]);
  assert.ok(plain, 'ASCII keys: UTF-16 order is code point order');
  assert.ok(Math.max(...sizes.slice(1, -1)) < 3 * 1024, `blocks stay near their target after the first: ${sizes.join(',')}`);
  assert.deepEqual(decodeShuffle(blob), { keys: ks, values: vs });
  assert.equal(shuffleHeader(blob).unsorted, false);
  // Unsorted (a small partition): one block whatever blockBytes, flagged in the header; a multi-block blob flagged so is refused.
  const loose = encodeShuffle(['b', 'a'], [1, 2], 4, true);
  assert.deepEqual(shuffleHeader(loose), { records: 2, blocks: 1, unsorted: true });
  assert.deepEqual(decodeShuffle(loose), { keys: ['b', 'a'], values: Int32Array.from([1, 2]) });
  const many = encodeShuffle([...ks].reverse(), vs, 1024, true);
  assert.deepEqual(shuffleHeader(many), { records: n, blocks: 1, unsorted: true });
  assert.deepEqual(decodeShuffle(many).keys, [...ks].reverse());
  const forged = Buffer.from(blob);
  forged[5] = 1;
  assert.throws(() => shuffleHeader(forged), (err: Error) => err instanceof CodecError && /flagged unsorted but in \d+ blocks/.test(err.message));
  assert.equal(decodeShuffleBlock(encodeShuffle(['\uE000', '😀'], [1, 2]).subarray(SHUFFLE_HEADER)).plain, false);
  const big = encodeShuffle(ks.slice(0, 100), ks.slice(0, 100).map(() => 'x'.repeat(5000)), 1024);
  assert.equal(shuffleHeader(big).blocks, 93, 'records larger than a block are blocks of their own, after the first few');
  const newer = Buffer.from(blob);
  newer[SHUFFLE_HEADER + 4] = SHUFFLE_CODEC_VERSION + 1;
  assert.throws(() => shuffleBlockLength(newer, SHUFFLE_HEADER), /shuffle blob: a block: written in version \d+ of the format/);
});
