/**
 * Word-count kernel. A word is a maximal run of Unicode letters (`\p{L}`) in the text, lower-cased
 * with `String.prototype.toLowerCase`.
 *
 * Design (chosen by measurement with node --cpu-prof; see scripts/bench/baseline.ts):
 * - A byte scan classifies each byte with a 256-entry table: ASCII non-letter, ASCII letter, or a
 *   byte >= 0x80.
 * - Fast path, a word of ASCII letters only with at most 11 letters (nearly every English word):
 *   while scanning, the word is folded into an exact numeric key in base 27 with digits 1..26
 *   ('a' and 'A' are 1 ... 'z' and 'Z' are 26: `byte & 31`, which lower-cases for free). 27^11 < 2^53,
 *   so the key is an exact integer in a double and identifies the lower-cased word: no string is
 *   made per occurrence and no second pass over the bytes is needed. Keys go into an open-addressing
 *   table (Float64Array keys and counts, multiplicative hashing, linear probing). Strings are made
 *   only for distinct words, in entries(). This beats a Map<string, number> fed with
 *   `latin1Slice` of a lower-cased copy (one string per occurrence) by about 6x, and a table keyed
 *   by the word's bytes (an arena plus a byte compare per occurrence) by about 1.5x.
 * - Longer ASCII words (about 1% of English words) are re-read as two keys, the first 11 letters
 *   and the rest, into a second table keyed by the pair, up to 22 letters; any longer one is
 *   counted by string in a Map<string, number>.
 * - A byte >= 0x80 is decoded as UTF-8 by shared/src/utf8.ts, the dataset store's validator
 *   (invalid sequences are non-letters, as in Node's decoder, which turns them into U+FFFD). A code point that is not a letter (curly quotes, dashes, CJK
 *   punctuation, ...) ends the word like an ASCII separator, so prose with typographic quotes
 *   stays on the fast path. A letter makes the word a "Unicode word": its maximal run of ASCII and
 *   non-ASCII letters is counted by its original bytes in a table keyed by byte strings (hash plus
 *   compare against an arena, no string per occurrence). entries() decodes each distinct form,
 *   lower-cases it with toLowerCase (the exact rule) and merges case variants ('Café', 'CAFÉ').
 *   On repetitive Cyrillic, French and CJK samples that is 3–7x faster than the reference.
 * - A Unicode word that lower-cases to plain a–z (KELVIN SIGN 'K' gives 'k') is merged with the
 *   same ASCII word in entries(), so every word is reported once.
 */
import { decodeUtf8At, utf8SequenceLength } from '@tandem/shared';

/** Byte classes: 0 = ASCII non-letter, 1 = ASCII letter, 2 = byte >= 0x80 (part of a UTF-8 sequence). */
const CLASS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  CLASS[b] = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ? 1 : b >= 0x80 ? 2 : 0;
}

/** Longest ASCII word whose base-27 key stays an exact integer in a double (27^11 < 2^53 < 27^12). */
const MAX_SHORT = 11;
const ASCII_WORD = /^[a-z]+$/;
const INITIAL_BITS = 12;

export class WordCounter {
  /** Open-addressing table: keys[i] is a base-27 word key, 0 = empty slot; counts[i] its count. */
  private keys = new Float64Array(1 << INITIAL_BITS);
  private counts = new Float64Array(1 << INITIAL_BITS);
  private bits = INITIAL_BITS;
  private used = 0;
  /** Lower-case ASCII words of MAX_SHORT + 1 to 2 * MAX_SHORT letters, keyed by two base-27 halves. */
  private long = new PairTable();
  /** Lower-cased ASCII words of more than 2 * MAX_SHORT letters. */
  private other = new Map<string, number>();
  /** Words with a non-ASCII letter, by their bytes as they appear (lower-cased in entries()). */
  private unicode = new BytesTable();
  /** The result of entries(), until the next add(). */
  private merged: { words: string[]; counts: number[] } | undefined;

  /** Counts every word in buf, which holds whole lines of UTF-8 text. */
  add(buf: Buffer | Uint8Array): void {
    // A plain Uint8Array view keeps the element loads below monomorphic.
    const b = buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const n = b.length;
    const cls = CLASS;
    this.merged = undefined;
    let i = 0;
    outer: while (i < n) {
      let c = b[i];
      // Skip ASCII non-letters.
      while (cls[c] === 0) {
        if (++i === n) break outer;
        c = b[i];
      }
      // A run of letter bytes (its first byte may be >= 0x80: the rare path sorts that out),
      // folded into the base-27 key as we go.
      const s = i;
      const first = c;
      let k = 0;
      for (;;) {
        k = k * 27 + (c & 31);
        if (++i === n) {
          c = 0;
          break;
        }
        c = b[i];
        if (cls[c] !== 1) break;
      }
      if (i - s <= MAX_SHORT && (c | first) < 0x80) this.bump(k);
      else i = this.rare(b, s, i, k, c, first);
    }
  }

  /**
   * Forgets every count but keeps the main table's capacity, so a process that counts many splits
   * does not regrow (and re-fault the pages of) its tables for each one.
   */
  clear(): void {
    this.keys.fill(0);
    this.counts.fill(0);
    this.used = 0;
    this.long = new PairTable();
    this.other.clear();
    this.unicode = new BytesTable();
    this.merged = undefined;
  }

  /** Distinct words. */
  get size(): number {
    return this.merge().words.length;
  }

  /** Every distinct word with its count, in no particular order. */
  entries(): { words: string[]; counts: number[] } {
    const { words, counts } = this.merge();
    return { words: words.slice(), counts: counts.slice() };
  }

  private merge(): { words: string[]; counts: number[] } {
    if (this.merged !== undefined) return this.merged;
    const words: string[] = [];
    const counts: number[] = [];
    // Words with non-ASCII letters, lower-cased now, case variants merged. The few that lower-case
    // to plain a–z (KELVIN SIGN 'K' gives 'k') join the ASCII words below.
    const unicode = this.unicode.lowerCased();
    let ascii: Map<string, number> | undefined;
    for (const [w, c] of unicode) {
      if (!ASCII_WORD.test(w)) continue;
      (ascii ??= new Map()).set(w, c);
      unicode.delete(w);
    }
    const take = (w: string, c: number): void => {
      if (ascii !== undefined) {
        const extra = ascii.get(w);
        if (extra !== undefined) {
          c += extra;
          ascii.delete(w);
        }
      }
      words.push(w);
      counts.push(c);
    };
    const keys = this.keys;
    const cnt = this.counts;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== 0) take(keyToWord(keys[i]), cnt[i]);
    }
    this.long.forEach(take);
    for (const [w, c] of this.other) take(w, c);
    for (const m of [ascii, unicode]) {
      if (m === undefined) continue;
      for (const [w, c] of m) {
        words.push(w);
        counts.push(c);
      }
    }
    this.merged = { words, counts };
    return this.merged;
  }

  /** Adds one occurrence of the short ASCII word with base-27 key k (> 0). */
  private bump(k: number): void {
    const keys = this.keys;
    const mask = keys.length - 1;
    let h = hashKey(k) >>> (32 - this.bits);
    for (;;) {
      const e = keys[h];
      if (e === k) {
        this.counts[h]++;
        return;
      }
      if (e === 0) break;
      h = (h + 1) & mask;
    }
    keys[h] = k;
    this.counts[h] = 1;
    if (++this.used > keys.length >>> 1) this.grow();
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldCounts = this.counts;
    this.bits++;
    const size = 1 << this.bits;
    const keys = new Float64Array(size);
    const counts = new Float64Array(size);
    const shift = 32 - this.bits;
    const mask = size - 1;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i];
      if (k === 0) continue;
      let h = hashKey(k) >>> shift;
      while (keys[h] !== 0) h = (h + 1) & mask;
      keys[h] = k;
      counts[h] = oldCounts[i];
    }
    this.keys = keys;
    this.counts = counts;
  }

  /**
   * The scan stopped at i after the letter bytes b[s..i) (folded into k), on byte c, and the run is
   * not a short ASCII word: it is long, or it starts (first) or ends (c) at a byte >= 0x80.
   * Counts what is there and returns where the scan goes on.
   */
  private rare(b: Uint8Array, s: number, i: number, k: number, c: number, first: number): number {
    if (first >= 0x80) return this.nonAscii(b, s, s, 0);
    if (c >= 0x80) return this.nonAscii(b, s, i, k);
    this.addLongAscii(b, s, i);
    return i;
  }

  /** Counts the ASCII word b[s..e), longer than MAX_SHORT letters. */
  private addLongAscii(b: Uint8Array, s: number, e: number): void {
    if (e - s > 2 * MAX_SHORT) {
      this.addString(lowerAscii(b, s, e));
      return;
    }
    let k1 = 0;
    const mid = s + MAX_SHORT;
    for (let j = s; j < mid; j++) k1 = k1 * 27 + (b[j] & 31);
    let k2 = 0;
    for (let j = mid; j < e; j++) k2 = k2 * 27 + (b[j] & 31);
    this.long.bump(k1, k2);
  }

  /**
   * b[s..i) are ASCII letters (maybe none) folded into k, and b[i] >= 0x80. Counts the word that
   * holds them, if any, and returns where the scan goes on.
   */
  private nonAscii(b: Uint8Array, s: number, i: number, k: number): number {
    // Local names: a call through an imported binding loads and checks that binding every time,
    // which cost this loop about 3% on Cyrillic text (measured against a local copy of the decoder).
    const decode = decodeUtf8At;
    const length = utf8SequenceLength;
    const n = b.length;
    const cp = decode(b, i, n);
    if (cp < 0 || !isLetter(cp)) {
      // Not a letter: it ends the ASCII word before it, if any.
      if (i > s) {
        if (i - s <= MAX_SHORT) this.bump(k);
        else this.addLongAscii(b, s, i);
      }
      return i + length(cp);
    }
    // A Unicode word: extend over ASCII letters and non-ASCII letters.
    let j = i + length(cp);
    while (j < n) {
      const c = b[j];
      if (c < 0x80) {
        if (CLASS[c] !== 1) break;
        j++;
        continue;
      }
      const q = decode(b, j, n);
      if (q < 0 || !isLetter(q)) break;
      j += length(q);
    }
    this.unicode.bump(b, s, j);
    return j;
  }

  private addString(word: string): void {
    const m = this.other;
    m.set(word, (m.get(word) ?? 0) + 1);
  }
}

/** An open-addressing table of counts keyed by pairs of base-27 keys (k1 > 0, k2 > 0). */
class PairTable {
  private keys1 = new Float64Array(1 << 8);
  private keys2 = new Float64Array(1 << 8);
  private counts = new Float64Array(1 << 8);
  private bits = 8;
  used = 0;

  bump(k1: number, k2: number): void {
    const keys1 = this.keys1;
    const keys2 = this.keys2;
    const mask = keys1.length - 1;
    let h = hashPair(k1, k2) >>> (32 - this.bits);
    for (;;) {
      const e = keys1[h];
      if (e === k1 && keys2[h] === k2) {
        this.counts[h]++;
        return;
      }
      if (e === 0) break;
      h = (h + 1) & mask;
    }
    keys1[h] = k1;
    keys2[h] = k2;
    this.counts[h] = 1;
    if (++this.used > keys1.length >>> 1) this.grow();
  }

  private grow(): void {
    const { keys1: old1, keys2: old2, counts: oldCounts } = this;
    this.bits++;
    const size = 1 << this.bits;
    this.keys1 = new Float64Array(size);
    this.keys2 = new Float64Array(size);
    this.counts = new Float64Array(size);
    const shift = 32 - this.bits;
    const mask = size - 1;
    for (let i = 0; i < old1.length; i++) {
      if (old1[i] === 0) continue;
      let h = hashPair(old1[i], old2[i]) >>> shift;
      while (this.keys1[h] !== 0) h = (h + 1) & mask;
      this.keys1[h] = old1[i];
      this.keys2[h] = old2[i];
      this.counts[h] = oldCounts[i];
    }
  }

  forEach(fn: (word: string, count: number) => void): void {
    for (let i = 0; i < this.keys1.length; i++) {
      if (this.keys1[i] !== 0) fn(keyToWord(this.keys1[i]) + keyToWord(this.keys2[i]), this.counts[i]);
    }
  }
}

/**
 * An open-addressing table of counts keyed by byte strings: the bytes of each distinct key are kept
 * once in an arena, and an occurrence costs a hash and a compare, no string.
 */
class BytesTable {
  /** Entry index + 1 per slot, 0 = empty; hashes[slot] is that entry's full hash. */
  private slots = new Int32Array(1 << 8);
  private hashes = new Int32Array(1 << 8);
  private bits = 8;
  private offsets = new Int32Array(128);
  private lengths = new Int32Array(128);
  private counts = new Float64Array(128);
  private used = 0;
  private arena = new Uint8Array(1 << 12);
  private top = 0;

  /** Adds one occurrence of the key b[s..e). */
  bump(b: Uint8Array, s: number, e: number): void {
    const len = e - s;
    let h = 0x811c9dc5;
    for (let j = s; j < e; j++) h = Math.imul(h ^ b[j], 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    const slots = this.slots;
    const mask = slots.length - 1;
    const arena = this.arena;
    let p = h >>> (32 - this.bits);
    for (;;) {
      const entry = slots[p] - 1;
      if (entry < 0) break;
      if (this.hashes[p] === h && this.lengths[entry] === len) {
        const o = this.offsets[entry] - s;
        let j = s;
        while (j < e && arena[o + j] === b[j]) j++;
        if (j === e) {
          this.counts[entry]++;
          return;
        }
      }
      p = (p + 1) & mask;
    }
    // A new key.
    const entry = this.used++;
    if (entry === this.offsets.length) {
      this.offsets = grown(this.offsets, new Int32Array(entry * 2));
      this.lengths = grown(this.lengths, new Int32Array(entry * 2));
      this.counts = grown(this.counts, new Float64Array(entry * 2));
    }
    if (this.top + len > arena.length) {
      this.arena = grown(arena, new Uint8Array(Math.max(arena.length * 2, this.top + len)));
    }
    this.arena.set(b.subarray(s, e), this.top);
    this.offsets[entry] = this.top;
    this.lengths[entry] = len;
    this.counts[entry] = 1;
    this.top += len;
    slots[p] = entry + 1;
    this.hashes[p] = h;
    if (this.used > slots.length >>> 1) this.grow();
  }

  private grow(): void {
    const { slots: oldSlots, hashes: oldHashes } = this;
    this.bits++;
    const size = 1 << this.bits;
    const slots = new Int32Array(size);
    const hashes = new Int32Array(size);
    const shift = 32 - this.bits;
    const mask = size - 1;
    for (let i = 0; i < oldSlots.length; i++) {
      if (oldSlots[i] === 0) continue;
      let p = oldHashes[i] >>> shift;
      while (slots[p] !== 0) p = (p + 1) & mask;
      slots[p] = oldSlots[i];
      hashes[p] = oldHashes[i];
    }
    this.slots = slots;
    this.hashes = hashes;
  }

  /** The keys decoded as UTF-8 and lower-cased, with their counts summed. */
  lowerCased(): Map<string, number> {
    const out = new Map<string, number>();
    const text = Buffer.from(this.arena.buffer, this.arena.byteOffset, this.top);
    for (let i = 0; i < this.used; i++) {
      const w = text.toString('utf8', this.offsets[i], this.offsets[i] + this.lengths[i]).toLowerCase();
      out.set(w, (out.get(w) ?? 0) + this.counts[i]);
    }
    return out;
  }
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** The lower-case word of a base-27 key (> 0). */
function keyToWord(k: number): string {
  const codes: number[] = [];
  while (k > 0) {
    const d = k % 27;
    codes.push(0x60 + d);
    k = (k - d) / 27;
  }
  codes.reverse();
  return String.fromCharCode.apply(null, codes);
}

function hashPair(k1: number, k2: number): number {
  return hashKey(k1) ^ Math.imul(hashKey(k2), 0x2c1b3c6d);
}

/** 32-bit hash of an exact integer key below 2^53; use its top bits (multiplicative hashing). */
function hashKey(k: number): number {
  return Math.imul((k >>> 0) ^ Math.imul((k / 4294967296) >>> 0, 0x27d4eb2d), 0x9e3779b1);
}

/** Lower-cased string of the ASCII letters b[s..e). */
function lowerAscii(b: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i += 4096) {
    const end = Math.min(e, i + 4096);
    const codes = new Array<number>(end - i);
    for (let j = i; j < end; j++) codes[j - i] = b[j] | 0x20;
    out += String.fromCharCode.apply(null, codes);
  }
  return out;
}

/** Letters of the Basic Multilingual Plane, one byte per code point; built on first use. */
let bmpLetters: Uint8Array | undefined;
const ASTRAL_LETTER = /^\p{L}$/u;

function isLetter(cp: number): boolean {
  if (cp >= 0x10000) return ASTRAL_LETTER.test(String.fromCodePoint(cp));
  bmpLetters ??= buildBmpLetters();
  return bmpLetters[cp] === 1;
}

function buildBmpLetters(): Uint8Array {
  const table = new Uint8Array(0x10000);
  let text = '';
  for (let base = 0; base < 0x10000; base += 4096) {
    const codes = new Array<number>(4096);
    // Surrogate code units are not characters: a space stands in for them.
    for (let j = 0; j < 4096; j++) codes[j] = base + j >= 0xd800 && base + j <= 0xdfff ? 0x20 : base + j;
    text += String.fromCharCode.apply(null, codes);
  }
  for (const m of text.matchAll(/\p{L}+/gu)) {
    for (let j = 0; j < m[0].length; j++) table[m.index + j] = 1;
  }
  return table;
}

/** The reference: the rule applied literally (find runs of \p{L} in the original text, lower-case each). */
export function countWordsNaive(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const re = /\p{L}+/gu;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const w = m[0].toLowerCase();
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}
