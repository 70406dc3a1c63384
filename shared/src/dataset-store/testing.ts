/** Helpers for this folder's tests: inputs cut into chunks, and the pure upload pipeline's outcome. */
import assert from 'node:assert/strict';
import { DatasetError } from './errors.ts';
import { Ingest, type IngestOptions, type IngestResult } from './ingest.ts';

/** input cut into chunks of the given sizes, used in turn (one size: fixed-size chunks). */
export function* chunked(input: Buffer, sizes: number | number[]): Generator<Buffer> {
  const list = typeof sizes === 'number' ? [sizes] : sizes;
  for (let i = 0, n = 0; i < input.length; n++) {
    const size = Math.max(1, list[n % list.length]);
    yield input.subarray(i, i + size);
    i += size;
  }
}

export async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

export interface Ingested extends IngestResult {
  /** Copies of the splits, in order. */
  parts: Buffer[];
  /** The splits concatenated, as UTF-8. */
  text: string;
}

/** Runs the pure pipeline (no Redis) over input in chunks of `chunk` bytes (333 unless told). */
export async function ingest(
  input: Buffer | string,
  opts: Partial<IngestOptions> & { chunk?: number | number[] } = {},
): Promise<Ingested> {
  const buf = typeof input === 'string' ? Buffer.from(input) : input;
  const ing = new Ingest({ name: 'g', format: 'text', splitBytes: 1024, ...opts });
  const parts: Buffer[] = [];
  for await (const split of ing.splits(asAsync(chunked(buf, opts.chunk ?? 333)))) parts.push(Buffer.from(split));
  return { ...ing.result(), parts, text: Buffer.concat(parts).toString() };
}

/** Awaits p, which must fail with a DatasetError whose message matches re. */
export async function rejects(p: Promise<unknown>, re: RegExp): Promise<DatasetError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DatasetError, `expected a DatasetError, got ${(err as Error).stack}`);
    assert.match(err.message, re);
    return err;
  }
  assert.fail(`expected a rejection matching ${re}`);
}
