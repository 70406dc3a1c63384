/**
 * UTF-8 well-formedness, once, for the dataset store (which refuses text that is not UTF-8 and
 * names where) and the word-count kernel (which decodes what it meets). Well-formed means what the
 * WHATWG decoder Node uses accepts (Unicode Table 3-7): no overlong forms, no surrogates, nothing
 * above U+10FFFF. So a byte that starts no sequence here is exactly one that Node's decoder turns
 * into U+FFFD, and a sequence found here decodes the same as in the whole text.
 */
import { isUtf8 } from 'node:buffer';

/**
 * Code point of the well-formed sequence starting at b[i] (b[i] >= 0x80) and ending before n, or
 * -1 if none starts there. Small enough to be inlined into the kernel's scan.
 */
export function decodeUtf8At(b: Uint8Array, i: number, n: number): number {
  const c = b[i];
  if (c < 0xc2) return -1;
  if (c < 0xe0) {
    if (i + 1 >= n) return -1;
    const c1 = b[i + 1];
    return (c1 & 0xc0) === 0x80 ? ((c & 0x1f) << 6) | (c1 & 0x3f) : -1;
  }
  if (c < 0xf0) {
    if (i + 2 >= n) return -1;
    const c1 = b[i + 1];
    const c2 = b[i + 2];
    if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80) return -1;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return -1;
    return ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
  }
  if (c < 0xf5) {
    if (i + 3 >= n) return -1;
    const c1 = b[i + 1];
    const c2 = b[i + 2];
    const c3 = b[i + 3];
    if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80 || (c3 & 0xc0) !== 0x80) return -1;
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return -1;
    return ((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
  }
  return -1;
}

/** Bytes taken by decodeUtf8At's result (1 for a byte that starts no sequence). */
export function utf8SequenceLength(cp: number): number {
  return cp < 0 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/**
 * Offset in b of the first byte of b[start, end) that starts no well-formed sequence (a truncated
 * sequence at `end` counts as ill-formed), or -1 when that range is valid UTF-8. Node's native
 * isUtf8 answers the common case, valid text, at memory speed; only invalid text is walked.
 */
export function firstInvalidUtf8(buf: Uint8Array, start = 0, end = buf.length): number {
  if (isUtf8(buf.subarray(start, end))) return -1;
  // A plain Uint8Array, as the kernel passes, so decodeUtf8At's element loads stay monomorphic.
  const b = buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = start; i < end; ) {
    if (b[i] < 0x80) {
      i++;
      continue;
    }
    const cp = decodeUtf8At(b, i, end);
    if (cp < 0) return i;
    i += utf8SequenceLength(cp);
  }
  return -1;
}
