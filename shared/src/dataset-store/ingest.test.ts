import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DatasetError } from './errors.ts';
import { type Ingested, ingest, rejects } from './testing.ts';

const newlines = (b: Uint8Array) => b.reduce((n, x) => n + (x === 10 ? 1 : 0), 0);

/** What an upload of input makes of it in chunks of `sizes`: its splits and totals, or its message. */
async function outcome(input: Buffer, format: 'text' | 'edges', splitBytes: number, sizes: number[] | number) {
  const before = Buffer.from(input);
  const r = await ingest(input, { format, splitBytes, chunk: sizes }).then(
    ({ text, ...rest }: Ingested) => rest,
    (err: unknown) => {
      if (!(err instanceof DatasetError)) throw err;
      return { error: err.message };
    },
  );
  assert.deepEqual(input, before, "the caller's chunks are never written to");
  return r;
}

describe('ingest', () => {
  test('empty input, a lone BOM, an edge list of only a header: each says so', async () => {
    await rejects(ingest(''), /^dataset "g": the file is empty \(0 bytes\)$/);
    await rejects(ingest('\ufeff'), /^dataset "g": the file is empty \(nothing but a byte order mark\)$/);
    await rejects(ingest('src,dst\n\n', { format: 'edges' }), /^dataset "g": the file has no edges \(2 lines: only a header or empty lines\)$/);
  });

  test('counts, hashes: of the stored bytes and of the input as uploaded', async () => {
    const r = await ingest('\ufeffone\ntwo\nthree', { splitBytes: 16, chunk: 2 });
    assert.equal(r.text, 'one\ntwo\nthree\n');
    assert.deepEqual(r.splitRecords, [3]);
    assert.equal(r.records, 3);
    assert.equal(r.bytes, 14);
    assert.equal(r.sha256, createHash('sha256').update('one\ntwo\nthree\n').digest('hex'));
    assert.equal(r.sourceSha256, createHash('sha256').update('\ufeffone\ntwo\nthree').digest('hex'));
  });
});

// Random texts and edge lists: mostly clean (so the splits are checked), sometimes with what makes
// an upload fail (a NUL, a byte that is not UTF-8, a bad CSV row), whose message is then checked.
const piecesOf = (clean: string[], dirty: (string | number[])[]) => {
  const piece = (extra: number) =>
    fc.oneof(
      { weight: 40, arbitrary: fc.constantFrom(...clean).map((p) => Buffer.from(p)) },
      { weight: extra, arbitrary: fc.constantFrom(...dirty).map((p) => Buffer.from(p as string)) },
    );
  const input = (extra: number) => fc.array(piece(extra), { maxLength: 120, size: 'max' }).map((b) => Buffer.concat(b));
  return fc.oneof(input(0), input(1));
};
const BOM = [0xef, 0xbb, 0xbf];
const texts = piecesOf(['a', 'bb', ' ', '\n', '\n', '\r', 'é', '日本', '\ufeff'], ['\0', [0xff], [0xc3], [0xe6, 0x97], BOM]);
const edgeLists = piecesOf(
  ['a,b\n', 'é,"x,y"\n', '"p""q",r\r\n', '\n', 'src,dst\n', 'node-7,node-42\n'],
  ['a,b,c\n', ',b\n', 'a\tb,c\n', '"a,b\n', 'a\rb,c\n', '\0', [0xc3], BOM],
);
const sizes = fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 8, size: 'max' });
const splitSizes = fc.integer({ min: 16, max: 80 });

describe('ingest properties', () => {
  test('text: the same splits, records and hashes (or the same message) whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(texts, sizes, splitSizes, async (input, chunks, splitBytes) => {
        const got = await outcome(input, 'text', splitBytes, chunks);
        assert.deepEqual(got, await outcome(input, 'text', splitBytes, input.length || 1));
        if ('error' in got) return;
        const body = input.subarray(0, 3).equals(Buffer.from(BOM)) ? input.subarray(3) : input;
        const normalised = body[body.length - 1] === 10 ? body : Buffer.concat([body, Buffer.from('\n')]);
        assert.deepEqual(Buffer.concat(got.parts), normalised);
        assert.deepEqual(got.splitRecords, got.parts.map(newlines), 'a split records its lines');
        assert.equal(got.records, newlines(normalised), 'the record counts sum to the lines');
      }),
      { numRuns: 700 },
    );
  });

  test("edges: the same splits and records (or the same message) whatever the chunking, caller's memory untouched", async () => {
    await fc.assert(
      fc.asyncProperty(edgeLists, sizes, splitSizes, async (input, chunks, splitBytes) => {
        const got = await outcome(input, 'edges', splitBytes, chunks);
        assert.deepEqual(got, await outcome(input, 'edges', splitBytes, input.length || 1));
        if ('error' in got) return;
        assert.deepEqual(got.splitRecords, got.parts.map(newlines));
        for (const line of Buffer.concat(got.parts).toString().split('\n').slice(0, -1)) assert.match(line, /^[^\t\r\n]+\t[^\t\r\n]+$/);
      }),
      { numRuns: 700 },
    );
  });
});
