import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Chunker, type Cut } from './chunker.ts';
import { DatasetError } from './errors.ts';
import { chunked } from './testing.ts';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const newlines = (b: Uint8Array) => b.reduce((n, x) => n + (x === 10 ? 1 : 0), 0);

type Outcome = { cuts: Cut[] } | { error: string };

/** The cuts of input fed in chunks of `sizes`, or the chunker's message; lines counted as a taker would. */
function cutAll(input: Buffer, splitBytes: number, sizes: number | number[] = Math.max(1, input.length)): Outcome {
  let lines = 0;
  const chunker = new Chunker('d', splitBytes, () => lines);
  const cuts: Cut[] = [];
  const take = (cut: Cut) => {
    cuts.push({ ...cut, data: Buffer.from(cut.data) });
    lines += newlines(cut.data);
  };
  try {
    for (const b of chunked(input, sizes)) for (const cut of chunker.push(b)) take(cut);
    const last = chunker.end();
    if (last) take(last);
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    return { error: err.message };
  }
  return { cuts };
}

function cutsOf(input: Buffer | string, splitBytes: number, sizes?: number | number[]): Cut[] {
  const out = cutAll(typeof input === 'string' ? Buffer.from(input) : input, splitBytes, sizes);
  if ('error' in out) assert.fail(out.error);
  return out.cuts;
}
const texts = (cuts: Cut[]) => cuts.map((c) => c.data.toString('latin1'));

describe('chunker', () => {
  test('cuts the longest run of whole lines that fits; a line of exactly splitBytes fits alone', () => {
    const four = 'aaaa\nbbbb\ncccc\ndddd\n';
    assert.deepEqual(texts(cutsOf(four, 16)), ['aaaa\nbbbb\ncccc\n', 'dddd\n']);
    assert.deepEqual(texts(cutsOf(four, 20)), [four]);
    const exact = 'x'.repeat(16);
    assert.deepEqual(texts(cutsOf(`a\n${exact}\nb\n`, 16)), ['a\n', `${exact}\n`, 'b\n']);
    assert.deepEqual(texts(cutsOf('\n\n\n', 16)), ['\n\n\n'], 'empty lines are lines');
    assert.deepEqual(cutsOf('', 16), []);
  });

  test('chunk boundaries inside lines, or one chunk of many splits, give the same cuts at the same offsets', () => {
    const input = Buffer.from('one\ntwo two\nthree three three\nfour\nfive five five five\nsix\n');
    const want = cutsOf(input, 20);
    assert.deepEqual(texts(want), ['one\ntwo two\n', 'three three three\n', 'four\n', 'five five five five\n', 'six\n']);
    assert.deepEqual(want.map((c) => c.offset), [0, 12, 30, 35, 55]);
    for (const sizes of [1, 2, 7, [3, 50, 1], 64]) {
      const got = cutsOf(input, 20, sizes);
      assert.deepEqual(texts(got), texts(want), `chunks of ${sizes}`);
      assert.deepEqual(got.map((c) => c.offset), want.map((c) => c.offset), `chunks of ${sizes}`);
    }
  });

  test('a missing final newline is added; a leading BOM is dropped, even across chunks, a later one kept; CRLF stays', () => {
    assert.deepEqual(texts(cutsOf('one\ntwo', 16)), ['one\ntwo\n']);
    const withBom = Buffer.concat([BOM, Buffer.from('hi\r\nthere\r\n'), BOM, Buffer.from('x')]);
    for (const sizes of [1, 2, withBom.length]) {
      const cuts = cutsOf(withBom, 16, sizes);
      assert.deepEqual(Buffer.concat(cuts.map((c) => c.data)), Buffer.concat([withBom.subarray(3, -1), Buffer.from('x\n')]));
      assert.equal(cuts[0].offset, 3, 'offsets are of the input, BOM included');
    }
    assert.deepEqual(cutsOf(BOM, 16), [], 'nothing but a BOM');
  });

  test('owned: a caller chunk is never ours to overwrite; a concatenation, its rest and an added newline are', () => {
    const big = Buffer.from('aaaa\nbbbb\ncccc\ndddd\neeee\n');
    assert.deepEqual(cutsOf(big, 16).map((c) => c.owned), [false, false], 'one caller chunk, cut in place');
    assert.deepEqual(cutsOf(big, 16, 4).map((c) => c.owned), [true, true], 'chunks concatenated');
    assert.deepEqual(cutsOf('abc', 16).map((c) => c.owned), [true], 'newline added');
    assert.deepEqual(cutsOf('abc\n', 16).map((c) => c.owned), [false]);
    // A concatenation used up to its last byte, then a caller chunk: that one is the caller's again.
    const exact = Buffer.from(`${'x'.repeat(16)}\n`);
    const after = cutAll(Buffer.concat([exact, big]), 16, [10, 7, big.length]);
    assert.ok('cuts' in after);
    assert.deepEqual(after.cuts.map((c) => c.owned), [true, false, false]);
  });

  test('a line longer than splitBytes is named with its number, offset and whole length; a NUL in reach says binary', () => {
    const long = 'y'.repeat(40);
    const input = `a\nb\n${long}\nc\n`;
    for (const sizes of [1, 5, 100]) {
      const out = cutAll(Buffer.from(input), 16, sizes);
      assert.ok('error' in out);
      assert.match(out.error, /^dataset "d": line 3 is 40 bytes long \(starting at byte offset 4\), longer than the split size of 16 bytes; lines are never cut/);
    }
    const unended = cutAll(Buffer.from(`a\n${'z'.repeat(17)}`), 16, 3);
    assert.ok('error' in unended);
    assert.match(unended.error, /^dataset "d": line 2 is 17 bytes long \(starting at byte offset 2\)/);
    const binary = Buffer.from(`a\n${'z'.repeat(10)}\0${'z'.repeat(30)}\n`);
    const nul = cutAll(binary, 16);
    assert.ok('error' in nul);
    assert.match(nul.error, /^dataset "d": line 2 contains a NUL byte \(byte offset 12\); this looks like a binary file/);
    // in reach: the line's first splitBytes + 1 bytes, the most a split can take
    const edge = cutAll(Buffer.from(`a\n${'z'.repeat(16)}\0${'z'.repeat(9)}\n`), 16);
    assert.ok('error' in edge);
    assert.match(edge.error, /^dataset "d": line 2 contains a NUL byte \(byte offset 18\)/);
    const beyond = cutAll(Buffer.from(`a\n${'z'.repeat(17)}\0${'z'.repeat(9)}\n`), 16);
    assert.ok('error' in beyond);
    assert.match(beyond.error, /^dataset "d": line 2 is 27 bytes long/);
  });
});

// Random inputs: lines of bytes from a small alphabet (NUL, CR, a multi-byte character, a BOM's
// bytes) with an optional BOM and final newline, or plain random bytes with many newlines.
const lineBytes = fc.array(
  fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(0x61, 0x20, 0x0d, 0xc3, 0xa9) },
    { weight: 1, arbitrary: fc.constantFrom(0x00, 0xef, 0xbb, 0xbf) },
  ),
  { maxLength: 70, size: 'max' },
);
const structured = fc
  .record({ bom: fc.boolean(), lines: fc.array(lineBytes, { maxLength: 25, size: 'max' }), end: fc.boolean() })
  .map(({ bom, lines, end }) =>
    Buffer.concat([bom ? BOM : Buffer.alloc(0), Buffer.from(lines.map((l) => [...l, 10]).flat().slice(0, end ? undefined : -1))]),
  );
const raw = fc.array(fc.oneof(fc.constant(10), fc.integer({ min: 0, max: 255 })), { maxLength: 400, size: 'max' }).map((b) => Buffer.from(b));
const inputs = fc.oneof(structured, raw);
const sizes = fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 8, size: 'max' });
const splitSizes = fc.integer({ min: 16, max: 64 });

/** The first line longer than splitBytes in body (bytes before its '\n'), with where it starts. */
function firstLongLine(body: Buffer, splitBytes: number): { line: number; start: number; length: number } | null {
  for (let start = 0, line = 1; start < body.length; line++) {
    const nl = body.indexOf(10, start);
    const end = nl === -1 ? body.length : nl;
    if (end - start > splitBytes) return { line, start, length: end - start };
    start = end + 1;
  }
  return null;
}

describe('chunker properties', () => {
  test('the splits are the normalised input cut greedily at line ends, whatever the chunking', () => {
    fc.assert(
      fc.property(inputs, sizes, splitSizes, (input, chunks, splitBytes) => {
        const got = cutAll(input, splitBytes, chunks);
        const whole = cutAll(input, splitBytes);
        const shape = (o: Outcome) => ('error' in o ? o : o.cuts.map((c) => [c.data.toString('hex'), c.offset]));
        assert.deepEqual(shape(got), shape(whole), 'independent of chunking');

        const bom = input.subarray(0, 3).equals(BOM) ? 3 : 0;
        const body = input.subarray(bom);
        const long = firstLongLine(body, splitBytes);
        if ('error' in got) {
          assert.ok(long, `unexpected error: ${got.error}`);
          const nul = body.indexOf(0, long.start);
          if (nul !== -1 && nul <= long.start + splitBytes) {
            assert.match(got.error, new RegExp(`^dataset "d": line ${long.line} contains a NUL byte \\(byte offset ${bom + nul}\\)`));
          } else {
            assert.match(got.error, new RegExp(`^dataset "d": line ${long.line} is ${long.length} bytes long \\(starting at byte offset ${bom + long.start}\\)`));
          }
          return;
        }
        assert.equal(long, null, 'a line longer than splitBytes is always an error');

        const unended = body.length > 0 && body[body.length - 1] !== 10;
        const normalised = unended ? Buffer.concat([body, Buffer.from('\n')]) : body;
        const { cuts } = got;
        assert.deepEqual(Buffer.concat(cuts.map((c) => c.data)), normalised, 'the splits concatenated are the normalised input');
        assert.equal(cuts.reduce((n, c) => n + newlines(c.data), 0), newlines(normalised), 'lines are neither lost nor made');
        cuts.forEach((c, i) => {
          const last = i === cuts.length - 1;
          assert.equal(c.data[c.data.length - 1], 10, `split ${i} ends at a newline`);
          // Over splitBytes only by the '\n' of a single line of exactly splitBytes, or the one added at the end.
          const over = c.data.length - splitBytes;
          assert.ok(over <= 0 || (over === 1 && (newlines(c.data) === 1 || (last && unended))), `split ${i} is ${c.data.length} bytes`);
          const source = input.subarray(c.offset, c.offset + c.data.length - (last && unended ? 1 : 0));
          assert.deepEqual(c.data.subarray(0, source.length), source, `split ${i} is the input at its offset`);
          if (!last) {
            const next = cuts[i + 1].data;
            assert.ok(c.data.length + next.indexOf(10) + 1 > splitBytes, `split ${i} could have taken the next line`);
          }
        });
      }),
      { numRuns: 2000 },
    );
  });
});
