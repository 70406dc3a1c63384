import { Command, Option } from 'commander';
import { validateDatasetName, type DatasetFormat } from '@tandem/shared';
import { tandemFor } from '../client.ts';
import { configFrom, flagToEnv, positiveInt } from '../options.ts';
import { bytes, table } from '../format.ts';
import { describeDataset, storeJobOutput, uploadFile } from '../upload.ts';

export function datasetCommand(): Command {
  const cmd = new Command('dataset').description('upload, list, inspect and remove datasets');

  cmd
    .command('put')
    .description('upload FILE (or - for standard input) as dataset NAME, split into pieces for map tasks; or, with --from-job, store a done job\'s output as NAME')
    .argument('<name>', 'dataset name: letters, digits, "_", "." and "-"')
    .argument('[file]', 'file to upload, or - for standard input')
    .option('--from-job <id>', "store this done job's output (its lines, in output order) instead of a file: jobs chain without a download and an upload")
    .addOption(new Option('--format <format>', 'text (one record per line) or edges (CSV src,dst); default: edges for .csv files, else text').choices(['text', 'edges']))
    .option('--replace', 'replace an existing dataset of that name (running jobs keep reading the old version)')
    .option('--header', "edges: the file's first row is a header (default: it is when it is src,dst, or two words above a row of two numbers)")
    .option('--no-header', "edges: the file's first row is an edge, even src,dst")
    .addOption(new Option('--split-bytes <n>', 'target size of one split, in bytes (default: 8 MiB)').env('TANDEM_SPLIT_BYTES').argParser(positiveInt('--split-bytes', 'TANDEM_SPLIT_BYTES')))
    .action(async (name: string, file: string | undefined, opts: { format?: DatasetFormat; replace?: boolean; splitBytes?: number; header?: boolean; fromJob?: string }, self: Command) => {
      flagToEnv('TANDEM_SPLIT_BYTES', '--split-bytes', opts.splitBytes, self.getOptionValueSource('splitBytes'));
      const cfg = configFrom(self);
      validateDatasetName(name);
      if (opts.fromJob !== undefined) {
        if (file !== undefined) throw new Error(`give either FILE (${file}) or --from-job, not both`);
        return console.log(describeDataset(await storeJobOutput(cfg, name, opts.fromJob, { format: opts.format ?? 'text', replace: opts.replace })));
      }
      if (file === undefined) throw new Error('missing FILE to upload (or - for standard input, or --from-job ID for a job\'s output)');
      const format = opts.format ?? (file.toLowerCase().endsWith('.csv') ? 'edges' : 'text');
      if (opts.header !== undefined && format !== 'edges') throw new Error(`--${opts.header ? '' : 'no-'}header is for edges datasets (this upload is ${format}; see --format)`);
      const header = opts.header === undefined ? 'auto' : opts.header ? 'yes' : 'no';
      const meta = await uploadFile(cfg, name, file, { format, replace: opts.replace, header });
      console.log(describeDataset(meta));
    });

  cmd
    .command('ls')
    .description('list datasets')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, self: Command) => {
      const tandem = tandemFor(configFrom(self));
      try {
        const all = await tandem.datasets.list();
        if (opts.json) return console.log(JSON.stringify(all, null, 2));
        if (all.length === 0) return console.log('no datasets; upload one with: tandem dataset put NAME FILE');
        console.log(table([
          ['NAME', 'FORMAT', 'SIZE', 'RECORDS', 'SPLITS', 'CREATED'],
          ...all.map((d) => [d.name, d.format, bytes(d.bytes), String(d.records), String(d.splits), d.created]),
        ]));
      } finally {
        await tandem.close();
      }
    });

  cmd
    .command('show')
    .description("a dataset's metadata and first lines")
    .argument('<name>')
    .option('--lines <n>', 'how many lines to show', (v) => Number(v), 5)
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { lines: number; json?: boolean }, self: Command) => {
      const tandem = tandemFor(configFrom(self));
      try {
        const { head, ...meta } = await tandem.datasets.show(name, { lines: opts.lines });
        if (opts.json) return console.log(JSON.stringify({ ...meta, head }, null, 2));
        console.log(`name:     ${meta.name}\nformat:   ${meta.format}\nsize:     ${bytes(meta.bytes)} (${meta.bytes} bytes)\nrecords:  ${meta.records}\nsplits:   ${meta.splits} of about ${bytes(meta.splitBytes)}\nversion:  ${meta.version}\nsha256:   ${meta.sha256}\ncreated:  ${meta.created}\nfirst ${head.length} lines:`);
        for (const line of head) console.log(`  ${line}`);
      } finally {
        await tandem.close();
      }
    });

  cmd
    .command('rm')
    .description('remove a dataset (jobs that are reading it fail)')
    .argument('<name>')
    .action(async (name: string, _opts: object, self: Command) => {
      const tandem = tandemFor(configFrom(self));
      try {
        await tandem.datasets.remove(name);
        console.log(`removed dataset ${name}`);
      } finally {
        await tandem.close();
      }
    });
  return cmd;
}
