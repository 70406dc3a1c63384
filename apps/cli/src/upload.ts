/** Uploading a local file (or standard input) as a dataset, with a progress bar: `dataset put` and `pagerank FILE`. */
import cliProgress from 'cli-progress';
import type { Config, DatasetFormat, DatasetMeta } from '@tandem/shared';
import { fileSize, type UploadProgress } from '../../../client/src/index.ts';
import { tandemFor } from './client.ts';
import { bytes } from './format.ts';

/** One line that says what an upload stored. */
export const describeDataset = (m: DatasetMeta) =>
  `dataset ${m.name}: ${m.format}, ${bytes(m.bytes)}, ${m.records} records, ${m.splits} splits (version ${m.version})`;

/** A progress bar for an upload of `total` bytes (none when the size is unknown); `update` takes the client's progress. */
export function uploadBar(name: string, total: number) {
  const bar = new cliProgress.SingleBar(
    { format: `uploading ${name} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  if (total > 0) bar.start(total, 0);
  return { update: (p: UploadProgress) => total > 0 && bar.update(p.bytes), stop: () => bar.stop() };
}

/** Stores FILE (or standard input, `-`) as dataset NAME through the client, with a progress bar. */
export async function uploadFile(cfg: Config, name: string, file: string, opts: { format: DatasetFormat; replace?: boolean }): Promise<DatasetMeta> {
  const total = file === '-' ? 0 : fileSize(file);
  const tandem = tandemFor(cfg);
  const bar = uploadBar(name, total);
  try {
    return await tandem.datasets.put(name, file === '-' ? process.stdin : file, { format: opts.format, replace: opts.replace, onProgress: bar.update });
  } finally {
    bar.stop();
    await tandem.close();
  }
}
