/** Uploading a local file (or standard input) as a dataset, with a progress bar: `dataset put` and `pagerank FILE`; storing a job's output as a dataset. */
import cliProgress from 'cli-progress';
import type { Config, DatasetFormat, DatasetMeta, HeaderMode, HeaderNote, JobStatus } from '@tandem/shared';
import { fileSize, type UploadProgress } from '../../../client/src/index.ts';
import { tandemFor } from './client.ts';
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
export async function uploadFile(cfg: Config, name: string, file: string, opts: { format: DatasetFormat; replace?: boolean; header?: HeaderMode }): Promise<Uploaded> {
  const total = file === '-' ? 0 : fileSize(file);
  const tandem = tandemFor(cfg);
  const bar = uploadBar(name, total);
  let firstRow: HeaderNote | undefined;
  try {
    const meta = await tandem.datasets.put(name, file === '-' ? process.stdin : file, {
      format: opts.format, replace: opts.replace, header: opts.header, onFirstRow: (r) => (firstRow = r), onProgress: bar.update,
    });
    return firstRow ? { ...meta, firstRow } : meta;
  } finally {
    bar.stop();
    await tandem.close();
  }
}

/** Stores a done job's output as dataset `name` (tandem dataset put --from-job, job run --save-as). */
export async function storeJobOutput(cfg: Config, name: string, job: string | JobStatus, opts: { format: DatasetFormat; replace?: boolean }): Promise<Uploaded> {
  const tandem = tandemFor(cfg);
  try {
    return await tandem.datasets.fromJob(name, job, opts);
  } finally {
    await tandem.close();
  }
}
