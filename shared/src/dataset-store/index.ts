/**
 * The dataset store. A dataset is a metadata hash at `k.datasetMeta(name)` naming its current
 * version, plus that version's splits at `k.split(name, version, s)`: whole lines, each ending with
 * '\n', about `splitBytes` long. An upload (upload.ts) streams its input through the chunker
 * (chunker.ts), checks and normalises each cut (ingest.ts, edges.ts), writes each split as soon as
 * it is cut, with an expiry (split-writer.ts), then makes the splits permanent and publishes the
 * metadata with one atomic script on the metadata key. Readers (store.ts) therefore see the old
 * version or the new one, never a mix, and a failed upload leaves no trace.
 *
 * Formats:
 * - `text`: records are lines. Stored as is, except that a leading UTF-8 byte order mark is dropped
 *   and a final '\n' is added when the input lacks one. Line endings are not otherwise touched.
 * - `edges`: a CSV edge list `src,dst`, stored normalized as `src<TAB>dst\n` lines (edges.ts);
 *   records are edges.
 */
export type { DatasetFormat } from '../job-type.ts';
export { DatasetError, DatasetExistsError, DatasetNotFoundError, validateDatasetName } from './errors.ts';
export { type DatasetMeta, splitFirstRecords } from './meta.ts';
export { datasetStoreTuning } from './split-writer.ts';
export { MIN_SPLIT_BYTES, type PutOptions, putDataset } from './upload.ts';
export type { HeaderMode, HeaderNote } from './edges.ts';
export { getDataset, headDataset, listDatasets, readSplit, removeDataset, requireDataset, splitKey } from './store.ts';
