/** How ranks are written: `node,rank` CSV lines, rank descending, ties by node id in code point order. */
import { compareCodePoints } from '@tandem/shared';

/** A CSV field: quoted (with "" for ") when it holds a comma, a quote or a line break. */
export const csvField = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex8 = (x: number): string => HEX[x >>> 24] + HEX[(x >>> 16) & 255] + HEX[(x >>> 8) & 255] + HEX[x & 255];

const bits = new DataView(new ArrayBuffer(8));

/**
 * A key whose code point order is rank descending, then id: the rank's IEEE-754 bits, inverted, as
 * 16 hex digits (for non-negative doubles the bits grow with the value), then the id.
 */
export function rankOrderKey(rank: number, id: string): string {
  bits.setFloat64(0, rank);
  return hex8(~bits.getUint32(0) >>> 0) + hex8(~bits.getUint32(4) >>> 0) + id;
}

/**
 * A partition's `node,rank` lines and their keys (rankOrderKey), in the keys' order. The nodes are
 * sorted by the keys' parts as numbers (the inverted bits, then the id), which is the keys' code
 * point order without building and comparing the strings first.
 */
export function rankedRecords(ranks: Float64Array, ids: readonly string[]): { keys: string[]; lines: string[] } {
  const n = ranks.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    bits.setFloat64(0, ranks[i]);
    hi[i] = ~bits.getUint32(0);
    lo[i] = ~bits.getUint32(4);
    order[i] = i;
  }
  order.sort((a, b) => hi[a] - hi[b] || lo[a] - lo[b] || compareCodePoints(ids[a], ids[b]));
  const keys = new Array<string>(n);
  const lines = new Array<string>(n);
  for (let j = 0; j < n; j++) {
    const i = order[j];
    keys[j] = hex8(hi[i]) + hex8(lo[i]) + ids[i];
    lines[j] = `${csvField(ids[i])},${ranks[i]}`;
  }
  return { keys, lines };
}
