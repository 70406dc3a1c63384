import type { RedisConnection } from '../redis.ts';
import type { Keys } from '../keys.ts';
import { runScript } from '../scripts.ts';
import { DatasetError, DatasetNotFoundError, validateDatasetName } from './errors.ts';
import { type DatasetMeta, parseMeta } from './meta.ts';
import { versionKeys } from './split-writer.ts';
import { redisBlobs } from '../blob-store.ts';

export async function getDataset(redis: RedisConnection, k: Keys, name: string): Promise<DatasetMeta | null> {
  validateDatasetName(name);
  return parseMeta(await redis.hgetall(k.datasetMeta(name)));
}

export async function requireDataset(redis: RedisConnection, k: Keys, name: string): Promise<DatasetMeta> {
  const meta = await getDataset(redis, k, name);
  if (meta) return meta;
  const names = (await redis.smembers(k.datasetIndex())).sort();
  let hint: string;
  if (names.length === 0) hint = ' (there are no datasets yet)';
  else if (names.length <= 10) hint = ` (datasets: ${names.join(', ')})`;
  else hint = ` (${names.length} datasets exist; see "tandem dataset ls")`;
  throw new DatasetNotFoundError(`dataset "${name}" does not exist${hint}`);
}

export async function listDatasets(redis: RedisConnection, k: Keys): Promise<DatasetMeta[]> {
  const names = await redis.smembers(k.datasetIndex());
  if (names.length === 0) return [];
  // One pipeline: every dataset's metadata shares the index's hash tag (keys.ts).
  const pipe = redis.pipeline();
  for (const n of names) pipe.hgetall(k.datasetMeta(n));
  const res = ((await pipe.exec()) ?? []).map(([err, v]) => {
    if (err) throw err;
    return v as Record<string, string>;
  });
  return res
    .map(parseMeta)
    .filter((m): m is DatasetMeta => m !== null)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Removes the dataset and deletes its splits at once. Returns false if it did not exist. */
export async function removeDataset(redis: RedisConnection, k: Keys, name: string): Promise<boolean> {
  validateDatasetName(name);
  const res = (await runScript(redis, 'remove-dataset', [k.datasetMeta(name), k.datasetIndex()], [name])) as string[];
  if (res.length === 0) return false;
  await redisBlobs(redis).delete(versionKeys(k, name, res[0], Number(res[1]) || 0));
  return true;
}

function checkSplitIndex(meta: DatasetMeta, s: number): void {
  if (!Number.isInteger(s) || s < 0 || s >= meta.splits) {
    throw new DatasetError(`dataset "${meta.name}" has ${meta.splits} splits; there is no split ${s}`);
  }
}

const missingSplit = (meta: DatasetMeta, s: number) =>
  new DatasetError(
    `dataset "${meta.name}": split ${s} of version ${meta.version} is gone (the dataset was replaced or removed)`,
  );

export async function readSplit(redis: RedisConnection, k: Keys, meta: DatasetMeta, s: number): Promise<Buffer> {
  checkSplitIndex(meta, s);
  const [buf] = await redisBlobs(redis).getMany([k.split(meta.name, meta.version, s)]);
  if (!buf) throw missingSplit(meta, s);
  return buf;
}

/** The first n lines (records), without their '\n'. Reads only as much of each split as needed. */
export async function headDataset(redis: RedisConnection, k: Keys, meta: DatasetMeta, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let s = 0; s < meta.splits && out.length < n; s++) {
    const key = k.split(meta.name, meta.version, s);
    for (let window = 64 * 1024; ; window *= 8) {
      const buf = (await redisBlobs(redis).head(key, window))?.head;
      if (!buf || buf.length === 0) throw missingSplit(meta, s);
      const whole = buf.length < window;
      const end = whole ? buf.length : buf.lastIndexOf(10) + 1;
      const lines = buf.toString('utf8', 0, end).split('\n');
      lines.pop(); // after the last '\n'
      if (whole || lines.length >= n - out.length) {
        out.push(...lines.slice(0, n - out.length));
        break;
      }
    }
  }
  return out;
}

/** The key of a dataset version's split, for the workers, which read it as ranges (bulk.ts). */
export const splitKey = (k: Keys, dataset: { name: string; version: string }, index: number): string => k.split(dataset.name, dataset.version, index);
