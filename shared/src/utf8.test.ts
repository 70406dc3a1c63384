import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeUtf8At, firstInvalidUtf8, utf8SequenceLength } from './utf8.ts';

/** Bytes biased toward UTF-8's edges: lead bytes with special second-byte ranges, continuations, invalid leads. */
const byte = fc.oneof(
  fc.constantFrom(0x61, 0x0a, 0x00, 0x7f),
  fc.constantFrom(0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf),
  fc.constantFrom(0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff),
  fc.integer({ min: 0, max: 255 }),
);
const piece = fc.oneof(
  fc.array(byte, { maxLength: 5 }),
  fc.constantFrom('é', '日本', '😀', 'x', '\u{10ffff}', '\u07ff', '\ud7ff', '\ue000').map((s) => [...Buffer.from(s, 'utf8')]),
);
const bytes = fc.array(piece, { maxLength: 20 }).map((p) => Buffer.from(p.flat()));

test('firstInvalidUtf8 finds the first ill-formed sequence, as Node decodes it', () => {
  const cases: [number[], number][] = [
    [[0x61, 0x62], -1],
    [[0x61, 0xc3, 0xa9], -1], // é
    [[0x61, 0xc3, 0x28], 1], // bad continuation
    [[0xe6, 0x97], 0], // truncated at the end
    [[0x61, 0xe6, 0x97, 0x0a], 1], // truncated by a line end
    [[0xc0, 0xaf], 0], // overlong '/'
    [[0xe0, 0x80, 0xaf], 0], // overlong 3-byte form
    [[0xed, 0xa0, 0x80], 0], // surrogate D800
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0xf0, 0x9f, 0x98, 0x80, 0x80], 4], // a lone continuation after an emoji
    [[0xff], 0],
  ];
  for (const [b, want] of cases) assert.equal(firstInvalidUtf8(Buffer.from(b)), want, Buffer.from(b).toString('hex'));
  // a range: only [start, end) is judged, offsets stay those of the whole buffer
  const b = Buffer.from([0xff, 0x61, 0xc3, 0xa9, 0xc3]);
  assert.equal(firstInvalidUtf8(b, 1, 4), -1);
  assert.equal(firstInvalidUtf8(b, 1), 4);
  assert.equal(firstInvalidUtf8(new Uint8Array(b), 0), 0);
});

test('property: firstInvalidUtf8 agrees with isUtf8, and the bytes before it decode without U+FFFD', () => {
  fc.assert(
    fc.property(bytes, (b) => {
      const bad = firstInvalidUtf8(b);
      assert.equal(bad === -1, isUtf8(b), b.toString('hex'));
      if (bad === -1) return;
      const before = b.subarray(0, bad);
      assert.ok(isUtf8(before), `prefix of ${b.toString('hex')} before ${bad}`);
      // Node's decoder replaces what starts at bad: its first character is U+FFFD
      assert.equal(b.subarray(bad).toString('utf8')[0], '\ufffd', b.toString('hex'));
    }),
    { numRuns: 5000 },
  );
});

test('property: decodeUtf8At walks a text exactly as Node decodes it', () => {
  fc.assert(
    fc.property(bytes, (b) => {
      const u = new Uint8Array(b);
      let out = '';
      for (let i = 0; i < u.length; ) {
        if (u[i] < 0x80) {
          out += String.fromCharCode(u[i++]);
          continue;
        }
        const cp = decodeUtf8At(u, i, u.length);
        out += cp < 0 ? '\ufffd' : String.fromCodePoint(cp);
        i += utf8SequenceLength(cp);
      }
      // Node's decoder gives one U+FFFD per maximal ill-formed subpart, this walk one per byte.
      if (isUtf8(b)) assert.equal(out, b.toString('utf8'), b.toString('hex'));
      else assert.equal(out.replace(/\ufffd+/g, '\ufffd'), b.toString('utf8').replace(/\ufffd+/g, '\ufffd'), b.toString('hex'));
    }),
    { numRuns: 5000 },
  );
});
