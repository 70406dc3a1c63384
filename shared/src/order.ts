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

/** Sorts strings in place in code point order: by the native default when that is the same order (no key reaches U+D800), else with compareCodePoints. */
export function sortCodePoints(keys: string[]): string[] {
  return allBelowSurrogates(keys) ? keys.sort() : keys.sort(compareCodePoints);
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
