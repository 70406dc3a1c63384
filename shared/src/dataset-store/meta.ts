import type { DatasetFormat } from '../job-type.ts';

/** A dataset's metadata hash at `k.datasetMeta(name)`: what its current version holds. */
export interface DatasetMeta {
  name: string;
  format: DatasetFormat;
  version: string;
  bytes: number;
  records: number;
  splits: number;
  /** Records (lines) in each split, so split s starts at record 1 + sum(splitRecords[0..s-1]). */
  splitRecords: number[];
  /** Target split size used. */
  splitBytes: number;
  /** Of the stored (normalized) bytes. */
  sha256: string;
  /** Of the input as it was uploaded (empty for datasets stored before it was recorded): tells whether a file is already here. */
  sourceSha256: string;
  /** ISO time. */
  created: string;
}

/** The field/value pairs of the metadata hash (numbers as decimal strings, splitRecords as JSON). */
export function metaFields(m: DatasetMeta): string[] {
  return [
    'name', m.name,
    'format', m.format,
    'version', m.version,
    'bytes', String(m.bytes),
    'records', String(m.records),
    'splits', String(m.splits),
    'splitRecords', JSON.stringify(m.splitRecords),
    'splitBytes', String(m.splitBytes),
    'sha256', m.sha256,
    'sourceSha256', m.sourceSha256,
    'created', m.created,
  ];
}

/** The metadata in a hash read back with HGETALL, or null when there is none (no version). */
export function parseMeta(h: Record<string, string>): DatasetMeta | null {
  if (!h || !h.version) return null;
  return {
    name: h.name,
    format: h.format as DatasetFormat,
    version: h.version,
    bytes: Number(h.bytes),
    records: Number(h.records),
    splits: Number(h.splits),
    splitRecords: JSON.parse(h.splitRecords ?? '[]') as number[],
    splitBytes: Number(h.splitBytes),
    sha256: h.sha256,
    sourceSha256: h.sourceSha256 ?? '',
    created: h.created,
  };
}

/** The 1-based number of each split's first record (a map task's `firstRecord`). */
export function splitFirstRecords(meta: DatasetMeta): number[] {
  const first: number[] = [];
  let next = 1;
  for (const n of meta.splitRecords) {
    first.push(next);
    next += n;
  }
  return first;
}
