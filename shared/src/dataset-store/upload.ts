import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../redis.ts';
import type { DatasetFormat } from '../job-type.ts';
import type { Keys } from '../keys.ts';
import { runScript } from '../scripts.ts';
import { dsErr, existsError, validateDatasetName } from './errors.ts';
import { Ingest } from './ingest.ts';
import type { HeaderMode, HeaderNote } from './edges.ts';
import { type DatasetMeta, metaFields } from './meta.ts';
import { SplitWriter, datasetStoreTuning, versionKeys } from './split-writer.ts';
import { redisBlobs } from '../blob-store.ts';

export interface PutOptions {
  name: string;
  format: DatasetFormat;
  replace?: boolean;
  splitBytes: number;
  /** An edge list's first row: by the header rule (auto, the default), or always a header (yes) or an edge (no). */
  header?: HeaderMode;
  /** Told, once the upload is published, what became of an edge list's first row when it was a header or looked like one. */
  onFirstRow?: (row: HeaderNote) => void;
  onProgress?: (bytesRead: number) => void;
}

/** Smallest accepted split size (the configured minimum is larger; this only guards nonsense). */
export const MIN_SPLIT_BYTES = 16;

/**
 * Stores input as dataset opts.name, under a fresh version: the splits are written (with an
 * expiry) while the input is read, made permanent when it is all read, and then published with one
 * atomic script on the metadata key. Any failure before the publish deletes what was written, so a
 * reader sees the old version or the new one, never a mix, and a failed upload leaves no trace.
 */
export async function putDataset(
  redis: RedisConnection,
  k: Keys,
  input: AsyncIterable<Buffer | Uint8Array>,
  opts: PutOptions,
): Promise<DatasetMeta> {
  const { name, format, splitBytes } = opts;
  checkPutOptions(opts);
  if (!opts.replace && (await redis.exists(k.datasetMeta(name)))) throw existsError(name);

  const version = randomUUID().replaceAll('-', '');
  const ingest = new Ingest(opts);
  const writer = new SplitWriter(redis, k, name, version);
  let meta: DatasetMeta;
  let old: StoredVersion | null;
  let firstRow: HeaderNote | undefined;
  try {
    for await (const split of ingest.splits(input)) await writer.write(split);
    const stored = ingest.result();
    firstRow = stored.firstRow;
    await writer.persist();
    meta = {
      name,
      format,
      version,
      bytes: stored.bytes,
      records: stored.records,
      splits: stored.splits,
      splitRecords: stored.splitRecords,
      splitBytes,
      sha256: stored.sha256,
      sourceSha256: stored.sourceSha256,
      created: new Date().toISOString(),
    };
    old = await publish(redis, k, meta, opts.replace === true);
  } catch (err) {
    await writer.discard();
    throw err;
  }
  if (old && old.version !== version) await retire(redis, k, name, old);
  if (firstRow) opts.onFirstRow?.(firstRow);
  return meta;
}

function checkPutOptions({ name, format, splitBytes }: PutOptions): void {
  validateDatasetName(name);
  if (format !== 'text' && format !== 'edges') {
    throw dsErr(name, `: unknown format ${JSON.stringify(format)} (expected text or edges)`);
  }
  if (!Number.isSafeInteger(splitBytes) || splitBytes < MIN_SPLIT_BYTES) {
    throw dsErr(name, `: split size must be an integer of at least ${MIN_SPLIT_BYTES} bytes, got ${splitBytes}`);
  }
}

interface StoredVersion {
  version: string;
  splits: number;
}

/** Publishes meta (see lua/publish-dataset-2.lua); returns the version it replaced, if any. */
async function publish(redis: RedisConnection, k: Keys, meta: DatasetMeta, replace: boolean): Promise<StoredVersion | null> {
  const res = (await runScript(
    redis,
    'publish-dataset',
    [k.datasetMeta(meta.name), k.datasetIndex()],
    [replace ? '1' : '0', meta.name, ...metaFields(meta)],
  )) as string[];
  if (res[0] === 'exists') throw existsError(meta.name);
  return res[1] ? { version: res[1], splits: Number(res[2]) || 0 } : null;
}

/** The replaced version's splits expire rather than vanish: jobs still reading them may finish. */
async function retire(redis: RedisConnection, k: Keys, name: string, old: StoredVersion): Promise<void> {
  try {
    await redisBlobs(redis).expire(versionKeys(k, name, old.version, old.splits), datasetStoreTuning.replacedTtlMs);
  } catch {
    /* published already; the old splits merely stay until removed by hand */
  }
}
