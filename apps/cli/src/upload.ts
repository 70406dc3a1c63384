/** Uploading a local file (or standard input) as a dataset, with a progress bar: `dataset put` and `pagerank FILE`. */
import { createReadStream, statSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { DatasetError, clientRedis, keys, putDataset, type Config, type DatasetFormat, type DatasetMeta, type HeaderMode, type HeaderNote } from '@tandem/shared';
import { bytes } from './format.ts';

/** What became of an edge list's first row, when it was a header or looked like one. */
const firstRowText = (r: HeaderNote) => r.header
  ? `line ${r.line} \`${r.text}\` read as a header (--no-header reads it as an edge)`
  : `line ${r.line} \`${r.text}\` read as an edge (--header skips it as a header)`;

/** What an upload stored, and what became of an edge list's first row when it was a header or looked like one. */
export type Uploaded = DatasetMeta & { firstRow?: HeaderNote };

/** One line that says what an upload stored (and, for an edge list, what its first row was taken as). */
export const describeDataset = (m: Uploaded) =>
  `dataset ${m.name}: ${m.format}, ${bytes(m.bytes)}, ${m.records} records, ${m.splits} splits (version ${m.version})${m.firstRow ? `; ${firstRowText(m.firstRow)}` : ''}`;

/** The file's size, or an error that says why it cannot be read. */
export function fileSize(file: string): number {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error(`cannot read ${file}: not a file`);
    return st.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`cannot read ${file}: no such file`);
    if (code) throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    throw err;
  }
}

export async function uploadFile(cfg: Config, name: string, file: string, opts: { format: DatasetFormat; replace?: boolean; header?: HeaderMode }): Promise<Uploaded> {
  const total = file === '-' ? 0 : fileSize(file);
  const redis = await clientRedis(cfg);
  const bar = new cliProgress.SingleBar(
    { format: `uploading ${name} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  if (total > 0) bar.start(total, 0);
  let firstRow: HeaderNote | undefined;
  try {
    const source = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
    const meta = await putDataset(redis, keys(cfg.TANDEM_PREFIX), source, {
      name, format: opts.format, replace: opts.replace, splitBytes: cfg.TANDEM_SPLIT_BYTES, header: opts.header, onFirstRow: (r) => (firstRow = r),
      onProgress: (n) => total > 0 && bar.update(n),
    });
    bar.stop();
    return firstRow ? { ...meta, firstRow } : meta;
  } catch (err) {
    // Name the file as well as the dataset: the line numbers in the message are the file's.
    if (err instanceof DatasetError && file !== '-') throw new DatasetError(`${file}: ${err.message}`);
    throw err;
  } finally {
    bar.stop();
    redis.disconnect();
  }
}
