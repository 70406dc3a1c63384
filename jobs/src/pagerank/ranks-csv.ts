/** How ranks are written: `node,rank` CSV lines, rank descending, ties by node id in code point order. */

/** A CSV field: quoted (with "" for ") when it holds a comma, a quote or a line break. */
export const csvField = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * A key whose code point order is rank descending, then id: the rank's IEEE-754 bits, inverted, as
 * 16 hex digits (for non-negative doubles the bits grow with the value), then the id.
 */
export function rankOrderKey(rank: number, id: string): string {
  bits.setFloat64(0, rank);
  const hi = ~bits.getUint32(0) >>> 0;
  const lo = ~bits.getUint32(4) >>> 0;
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0') + id;
}

const bits = new DataView(new ArrayBuffer(8));
