import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WordCounter, countWordsNaive } from './wordcount-kernel.ts';

/** The kernel's counts as a Map, checking entries() and size agree and hold no duplicates. */
function kernelCounts(...texts: (string | Buffer)[]): Map<string, number> {
  const c = new WordCounter();
  for (const t of texts) c.add(typeof t === 'string' ? Buffer.from(t, 'utf8') : t);
  const { words, counts } = c.entries();
  assert.equal(words.length, counts.length);
  assert.equal(words.length, c.size);
  const m = new Map<string, number>();
  for (let i = 0; i < words.length; i++) {
    assert.ok(!m.has(words[i]), `duplicate word ${JSON.stringify(words[i])}`);
    assert.ok(counts[i] > 0);
    m.set(words[i], counts[i]);
  }
  return m;
}

const sorted = (m: Map<string, number>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

function assertSame(text: string): void {
  assert.deepEqual(sorted(kernelCounts(text)), sorted(countWordsNaive(text)), `text: ${JSON.stringify(text.slice(0, 200))}`);
}

test('countWordsNaive applies the rule literally', () => {
  assert.deepEqual(sorted(countWordsNaive('The cat, the CAT; the dog.\n')), [['cat', 2], ['dog', 1], ['the', 3]]);
  // Runs are found in the original text, then lower-cased: 'İ' lower-cases to 'i' + U+0307 (not a letter).
  assert.deepEqual(sorted(countWordsNaive('İstanbul')), [['i̇stanbul', 1]]);
  assert.deepEqual(sorted(countWordsNaive('')), []);
});

test('ASCII text', () => {
  const text = 'It is a truth universally acknowledged, that a single man in possession\nof a good fortune, must be in want of a wife.\n\nHOWEVER little Known; the feelings--or views.\n';
  assertSame(text);
  const m = kernelCounts(text);
  assert.equal(m.get('a'), 4);
  assert.equal(m.get('however'), 1);
  assert.equal(m.get('acknowledged'), 1);
  assert.equal(m.get('universally'), 1);
});

test('word lengths around the short/long boundary', () => {
  for (let len = 1; len <= 40; len++) {
    const w = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP'.slice(0, len);
    assertSame(`${w} ${w.toUpperCase()} x${w} ${w}\n`);
  }
  // The largest and smallest keys of each length survive entries().
  assertSame('z zz zzzzzzzzzz zzzzzzzzzzz zzzzzzzzzzzz a aaaaaaaaaaa aaaaaaaaaaaa\n');
  const m = kernelCounts('zzzzzzzzzzz ZZZZZZZZZZZ zzzzzzzzzzzz');
  assert.equal(m.get('zzzzzzzzzzz'), 2);
  assert.equal(m.get('zzzzzzzzzzzz'), 1);
});

test('accented letters, including words mixing ASCII and non-ASCII letters', () => {
  assertSame('Café CAFÉ café naïve Naïve résumé Émile École über Straße STRASSE smörgåsbord\n');
  const m = kernelCounts('Café CAFÉ café\n');
  assert.deepEqual(sorted(m), [['café', 3]]);
  // Decomposed form: 'e' + COMBINING ACUTE ACCENT (a mark, not a letter) splits the word.
  assertSame('cafe\u0301 e\u0301cole\n');
  assert.deepEqual(sorted(kernelCounts('cafe\u0301')), [['cafe', 1]]);
});

test('CJK, Greek, Cyrillic', () => {
  assertSame('日本語のテキストです。中文文本，汉字。한국어 텍스트\n');
  assertSame('Η γρήγορη καφέ αλεπού ΟΔΟΣ οδός Σίσυφος ΣΊΣΥΦΟΣ\n');
  assertSame('Съешь же ещё этих мягких французских булок, да выпей ЧАЮ чаю.\n');
  assertSame('mixedΑλφαbetаbc abcкот日本abc\n');
  const m = kernelCounts('Москва МОСКВА москва\n');
  assert.deepEqual(sorted(m), [['москва', 3]]);
});

test('curly quotes and apostrophes are not letters', () => {
  assertSame('“Don’t,” she said. ‘It’s Jane’s’ — isn’t it? don\'t «non» „ja“\n');
  const m = kernelCounts('don’t don\'t\n');
  assert.deepEqual(sorted(m), [['don', 2], ['t', 2]]);
});

test('digits, underscores and other ASCII are not letters', () => {
  assertSame('abc123def snake_case_word x1y2z3 42 __init__ a-b a.b a/b a@b.com\t tab\r\nCRLF\n');
  assert.deepEqual(sorted(kernelCounts('abc123def a_b')), [['a', 1], ['abc', 1], ['b', 1], ['def', 1]]);
});

test('letters that change length or leave ASCII when lower-cased', () => {
  // 'İ' -> 'i̇' (2 code units), KELVIN SIGN 'K' -> 'k', ANGSTROM SIGN 'Å' -> 'å', 'ẞ' -> 'ß'.
  assertSame('İstanbul İ İİ Kelvin \u212Aelvin \u212A k \u212B \u1E9E ß SS ǅ ǆ Ǆ ΐ\n');
  const m = kernelCounts('kelvin \u212Aelvin KELVIN\n');
  assert.deepEqual(sorted(m), [['kelvin', 3]]);
  // Long ASCII-only results of the slow path land with the fast path's long words.
  assert.deepEqual(sorted(kernelCounts('\u212Aaleidoscopes kaleidoscopes')), [['kaleidoscopes', 2]]);
  for (const len of [11, 12, 21, 22, 23, 30]) {
    const w = 'k' + 'abcdefghijklmnopqrstuvwxyzabcdefgh'.slice(0, len - 1);
    assert.deepEqual(sorted(kernelCounts(`\u212A${w.slice(1)} ${w} ${w.toUpperCase()}`)), [[w, 3]], `length ${len}`);
  }
});

test('words at the start and end of a buffer, and across calls', () => {
  assertSame('start middle end');
  assertSame('É');
  assertSame('a');
  assertSame('zé');
  assertSame(' leading and trailing ');
  assert.deepEqual(sorted(kernelCounts('alpha beta\n', 'beta gamma', 'Gamma')), [['alpha', 1], ['beta', 2], ['gamma', 2]]);
  // entries() and size see every add(), also after an earlier entries().
  const c = new WordCounter();
  c.add(Buffer.from('one café\n'));
  assert.equal(c.size, 2);
  c.add(Buffer.from('two CAFÉ one\n'));
  assert.equal(c.size, 3);
  const e = c.entries();
  assert.deepEqual(sorted(new Map(e.words.map((w, i) => [w, e.counts[i]]))), [['café', 2], ['one', 2], ['two', 1]]);
  e.words.length = 0; // the caller owns the arrays
  assert.equal(c.entries().words.length, 3);
  // A subarray of a larger buffer: only its own bytes count.
  const big = Buffer.from('xxxx hello world yyyy');
  assert.deepEqual(sorted(kernelCounts(big.subarray(5, 16))), [['hello', 1], ['world', 1]]);
});

test('empty buffer, and no letters at all', () => {
  assert.equal(kernelCounts('').size, 0);
  assert.equal(kernelCounts(Buffer.alloc(0)).size, 0);
  assert.equal(kernelCounts('123 456 ... \n\n', '  ').size, 0);
  const c = new WordCounter();
  assert.equal(c.size, 0);
  assert.deepEqual(c.entries(), { words: [], counts: [] });
});

test('invalid UTF-8 decodes as U+FFFD, like the reference', () => {
  const buf = Buffer.concat([Buffer.from('abc'), Buffer.from([0xff, 0xc3]), Buffer.from('déf '), Buffer.from([0xe2, 0x82]), Buffer.from('x\n')]);
  assert.deepEqual(sorted(kernelCounts(buf)), sorted(countWordsNaive(buf.toString('utf8'))));
});

test('many distinct words make the tables grow', () => {
  const words: string[] = [];
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i < 60_000; i++) {
    // Base-26 spelling of i, of lengths 1..4, plus long and non-ASCII variants.
    let w = '';
    let x = i;
    do {
      w += letters[x % 26];
      x = Math.floor(x / 26);
    } while (x > 0);
    words.push(w);
    if (i % 7 === 0) words.push(w.toUpperCase() + 'verylongsuffix');
    if (i % 11 === 0) words.push(w + 'é');
  }
  const text = words.join(' ') + '\n' + words.slice(0, 1000).join('\n') + '\n';
  const k = kernelCounts(text);
  assert.ok(k.size > 60_000);
  assert.deepEqual(sorted(k), sorted(countWordsNaive(text)));
  // Adding again in several calls doubles every count.
  const c = new WordCounter();
  c.add(Buffer.from(text));
  c.add(Buffer.from(text));
  const { words: ws, counts } = c.entries();
  const ref = countWordsNaive(text);
  assert.equal(ws.length, ref.size);
  for (let i = 0; i < ws.length; i++) assert.equal(counts[i], 2 * ref.get(ws[i])!);
});

test('sample-sized English text', () => {
  const para = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is considered the rightful property of some one or other of their daughters.\n';
  assertSame(para.repeat(500));
});

/** Characters that exercise every path: ASCII letters of both cases, separators, non-ASCII letters and non-letters. */
const PIECES = [
  'a', 'b', 'z', 'A', 'Z', 'k', 'K', 'x', 'hello', 'World', 'abcdefghijk', 'abcdefghijkl', ' ', ' ', '\n', '\t', ',', '.', '-', '0', '9', '_', "'",
  'é', 'É', 'ß', 'ẞ', 'İ', 'ı', '\u212A', '\u212B', 'ǅ', 'Σ', 'ς', 'σ', 'ώ', 'ΐ', 'Ж', 'ж', 'ё', '日', '本', 'の', 'ア', '한', '’', '‘', '“', '”', '—', '\u0301', '\u00A0', '😀', '𝐀', '𐐀', '\uFEFF', '²', 'ª', 'º',
];

test('property: kernel equals the reference on random mixtures', () => {
  const piece = fc.constantFrom(...PIECES);
  fc.assert(
    fc.property(fc.array(fc.array(piece, { maxLength: 40 }).map((p) => p.join('')), { minLength: 1, maxLength: 4 }), (chunks) => {
      const k = kernelCounts(...chunks.map((t) => t + '\n'));
      const ref = countWordsNaive(chunks.map((t) => t + '\n').join(''));
      assert.deepEqual(sorted(k), sorted(ref));
    }),
    { numRuns: 2000 },
  );
});

test('property: kernel equals the reference on arbitrary Unicode strings', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), (a, b) => {
      const text = `${a} ${b}`;
      // Lone surrogates are not valid UTF-8 text; compare on what the buffer decodes to.
      const buf = Buffer.from(text, 'utf8');
      assert.deepEqual(sorted(kernelCounts(buf)), sorted(countWordsNaive(buf.toString('utf8'))));
    }),
    { numRuns: 2000 },
  );
});

test('property: kernel equals the reference on arbitrary bytes (invalid UTF-8 included)', () => {
  // Bytes biased toward the interesting ones: letters, separators, UTF-8 lead and continuation
  // bytes, and the lead bytes with special second-byte ranges (E0, ED, F0, F4) and invalid leads.
  const byte = fc.oneof(
    fc.constantFrom(0x41, 0x5a, 0x61, 0x6b, 0x7a, 0x20, 0x0a, 0x27, 0x30, 0x5f),
    fc.constantFrom(0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xa9, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xce, 0xd0, 0xdf),
    fc.constantFrom(0xe0, 0xe2, 0xe3, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff),
    fc.integer({ min: 0, max: 255 }),
  );
  const piece = fc.oneof(
    fc.array(byte, { maxLength: 6 }),
    fc.constantFrom(...PIECES).map((p) => [...Buffer.from(p, 'utf8')]),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
      const buf = Buffer.from(pieces.flat());
      assert.deepEqual(sorted(kernelCounts(buf)), sorted(countWordsNaive(buf.toString('utf8'))));
    }),
    { numRuns: 5000 },
  );
});

test('truncated and overlong sequences at the end of a buffer', () => {
  for (const tail of [[0xc3], [0xe2, 0x80], [0xf0, 0x9f, 0x98], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]]) {
    for (const head of ['', 'abc', 'é', 'caf']) {
      const buf = Buffer.concat([Buffer.from(head), Buffer.from(tail)]);
      assert.deepEqual(sorted(kernelCounts(buf)), sorted(countWordsNaive(buf.toString('utf8'))), `bytes ${buf.toString('hex')}`);
      const buf2 = Buffer.concat([buf, Buffer.from('xyz')]);
      assert.deepEqual(sorted(kernelCounts(buf2)), sorted(countWordsNaive(buf2.toString('utf8'))), `bytes ${buf2.toString('hex')}`);
    }
  }
});

test('clear() forgets all counts and the counter counts correctly again', () => {
  const wc = new WordCounter();
  wc.add(Buffer.from('Alpha beta Gamma café extraordinarilylongwordhere superextraordinarilylongwordbeyond\n'));
  wc.clear();
  assert.equal(wc.size, 0);
  const text = 'beta Beta CAFÉ zeta extraordinarilylongwordhere\n';
  wc.add(Buffer.from(text));
  const got = new Map(wc.entries().words.map((w, i) => [w, wc.entries().counts[i]]));
  assert.deepEqual(got, countWordsNaive(text));
});
