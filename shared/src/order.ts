/**
 * Key order for outputs: Unicode code point order, which is also UTF-8 byte order and the order of
 * `LC_ALL=C sort`. JavaScript's `<` compares UTF-16 code units, which differs for characters
 * above U+FFFF versus U+E000–U+FFFF, so surrogates are lifted above the BMP at the first difference.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}

const HIGH = /[\uD800-\uFFFF]/;

/** Whether no string holds a code unit of U+D800 or above: then UTF-16 order (`<`, sort's default) is code point order. */
export function allBelowSurrogates(keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) if (HIGH.test(keys[i])) return false;
  return true;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `<` order, which is code point order for strings below U+D800. */
const compareUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Sorts strings in place in code point order. Keys below U+D800 (most): each key's first code
 * units (+1, 0 for none) and its index are packed into a 64-bit integer, three units and a 16-bit
 * index up to 65,536 keys, else two units and a 32-bit index; those are sorted natively (a typed
 * array's sort), and only keys that share the packed units are compared as strings. A map task
 * sorts every partition of every split (docs/DESIGN.md §3.5): this took 0.4 of a comparator sort's
 * time on a word count's partitions (`npm run bench -- reduce-merge` measures the map side).
 * Other keys: a compareCodePoints sort.
 */
export function sortCodePoints(keys: string[]): string[] {
  const n = keys.length;
  if (!allBelowSurrogates(keys)) return keys.sort(compareCodePoints);
  if (n < 64 || n > 0xffff_ffff || !LITTLE_ENDIAN) return keys.sort(compareUnits);
  const three = n <= 0x10000;
  const packed = new BigUint64Array(n);
  // Little-endian halves: word 2i is the low 32 bits, 2i+1 the high.
  const w = new Uint32Array(packed.buffer);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    const l = k.length;
    const u0 = l > 0 ? k.charCodeAt(0) + 1 : 0;
    const u1 = l > 1 ? k.charCodeAt(1) + 1 : 0;
    w[2 * i + 1] = ((u0 << 16) | u1) >>> 0;
    w[2 * i] = three ? (((l > 2 ? k.charCodeAt(2) + 1 : 0) << 16) | i) >>> 0 : i;
  }
  packed.sort();
  const sorted: string[] = new Array(n);
  const indexMask = three ? 0xffff : 0xffff_ffff;
  for (let i = 0; i < n; i++) sorted[i] = keys[(w[2 * i] & indexMask) >>> 0];
  for (let i = 0; i < n; ) {
    const hi = w[2 * i + 1];
    const u2 = three ? w[2 * i] >>> 16 : 0;
    let j = i + 1;
    while (j < n && w[2 * j + 1] === hi && (three ? w[2 * j] >>> 16 : 0) === u2) j++;
    if (j - i > 1) {
      const group = sorted.slice(i, j).sort(compareUnits);
      for (let x = 0; x < group.length; x++) sorted[i + x] = group[x];
    }
    i = j;
  }
  for (let i = 0; i < n; i++) keys[i] = sorted[i];
  return keys;
}

/** FNV-1a over UTF-16 code units: stable across processes and Node versions, unlike object hashing. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export const defaultPartition = (key: string, partitions: number): number => hashKey(key) % partitions;
