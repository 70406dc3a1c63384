/**
 * Encoding of intermediate and output blobs: one blob per (task, partition), never one value per
 * record. A blob is the UTF-8 JSON of two parallel arrays, keys and values, so encoding and decoding
 * cost one native JSON call each however many records it holds.
 */
export interface Pairs<V> {
  keys: string[];
  values: V[];
}

export function encodePairs<V>(keys: string[], values: V[]): Buffer {
  return Buffer.from(JSON.stringify([keys, values]));
}

export function decodePairs<V>(blob: Buffer | string): Pairs<V> {
  const [keys, values] = JSON.parse(typeof blob === 'string' ? blob : blob.toString('utf8')) as [string[], V[]];
  return { keys, values };
}
