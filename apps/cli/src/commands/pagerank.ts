/**
 * `tandem pagerank` (also `npm run pagerank`): PageRank of a graph through the replicated masters.
 * Uploads a local CSV first if given one, submits the job, shows progress across iterations with the
 * current L1 change, then prints the top nodes and writes `node,rank` CSV. Interrupted, it leaves
 * the job running; `--attach JOB` follows it again. The job type's name, input format, parameters
 * (one flag each), defaults and ranges all come from the job type itself.
 */
import { existsSync, statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import { partitionRuleText, roundProgress, validateDatasetName, type JobStatus } from '@tandem/shared';
import { checkNotAMissingFile, datasetNameFor, type Tandem } from '../../../../client/src/index.ts';
import { tandemFor } from '../client.ts';
import { checkParams, describeType, pagerank } from '@tandem/jobs';
import { checkOutPath, configFrom, partitionsFlag } from '../options.ts';
import { bytes, duration, table } from '../format.ts';
import { describeDataset, uploadBar, type Uploaded } from '../upload.ts';
import { warnIfOtherCluster } from '../same-cluster.ts';
import { followJob } from '../follow.ts';
import { paramFlags } from '../job-types.ts';
import { fmtDelta } from '../rounds.ts';

/** The flags, with one (a string) per parameter of the job type. */
interface PageRankOpts extends Record<string, unknown> {
  dataset?: string;
  name?: string;
  attach?: string;
  partitions?: number;
  top: number;
  out: string;
}

const type = describeType(pagerank);
const format = pagerank.formats[0];

const say = (s: string) => process.stderr.write(`${s}\n`);

function wholeNumber(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number ≥ 0 (got "${v}")`);
    return n;
  };
}

/** The parameter flags, checked by the job type's schema, with errors that name the flag. */
function paramsFrom(o: PageRankOpts): Record<string, string> {
  const given = Object.fromEntries(type.params.filter((p) => o[p.name] !== undefined).map((p) => [p.name, String(o[p.name])]));
  const bad = checkParams(pagerank.params, given).problems[0];
  if (bad) throw new Error(`--${bad.param} ${bad.problem}`);
  return given;
}

/**
 * The dataset to rank: a name as given, or a local file uploaded first (in the job type's format). A file already
 * stored under its name (same bytes) is not uploaded again; a different one replaces it (the client's `datasets.ensure`).
 */
async function datasetFor(tandem: Tandem, o: PageRankOpts): Promise<string> {
  const given = o.dataset!;
  const isFile = existsSync(given) && statSync(given).isFile();
  if (!isFile) {
    await checkNotAMissingFile(tandem, given); // "no such file" for a path or a file name (or why it cannot be read)
    if (o.name) throw new Error('--name names the dataset a local file is uploaded as; --dataset is not a file');
    validateDatasetName(given);
    return given;
  }
  // The bar starts with the upload, if there is one (a file already stored is not read again).
  const up: { bar: ReturnType<typeof uploadBar> | null } = { bar: null };
  try {
    let firstRow: Uploaded['firstRow'];
    const r = await tandem.datasets.ensure(given, {
      name: o.name, format, onFirstRow: (row) => (firstRow = row),
      onProgress: (p) => (up.bar ??= uploadBar(o.name ?? datasetNameFor(given), p.total ?? 0)).update(p),
    });
    up.bar?.stop();
    if (!r.uploaded) say(`dataset ${r.meta.name} already holds ${given}; not uploading it again`);
    else {
      if (r.replaced) say(`dataset ${r.meta.name} held other data; replaced it with ${given} (jobs reading the old version finish on it)`);
      say(describeDataset(firstRow ? { ...r.meta, firstRow } : r.meta));
    }
    return r.meta.name;
  } finally {
    up.bar?.stop();
  }
}

/** The first k ranks (after the header) as table rows. */
function topRows(lines: string[]): string[][] {
  const rows = parseCsv(lines.join('\n')) as [string, string][];
  return rows.map(([node, rank], i) => [String(i + 1), node, rank]);
}

async function report(tandem: Tandem, s: JobStatus, o: PageRankOpts): Promise<void> {
  const plan = s.plan!;
  const iterations = roundProgress(s).done;
  const last = s.rounds[s.rounds.length - 1];
  const converged = last.stats.delta < plan.tol;
  const graph = s.rounds[plan.setup - 1]?.stats ?? {};
  say(
    `job ${s.id} done in ${duration((s.finishedAt ?? Date.now()) - s.submittedAt)}: ${graph.nodes} nodes, ${graph.edges} edges, ` +
      `${iterations} iteration${iterations === 1 ? '' : 's'}, ${converged ? `converged (L1 change ${fmtDelta(last.stats.delta)} < ${plan.tol})` : `stopped at the iteration limit (L1 change ${fmtDelta(last.stats.delta)}, tol ${plan.tol})`}`,
  );
  if (o.top > 0) {
    const head: string[] = [];
    for await (const line of tandem.jobs.records(s)) {
      head.push(line);
      if (head.length > o.top) break;
    }
    const text = table([['#', 'NODE', 'RANK'], ...topRows(head.slice(1))]);
    // With the CSV on standard output, the table goes to standard error so the CSV stays clean.
    if (o.out === '-') say(text);
    else console.log(text);
  }
  if (o.out === '-') await tandem.jobs.writeOutput(s, process.stdout);
  else {
    const r = await tandem.jobs.saveOutput(s, o.out);
    say(`wrote ${r.lines - 1} ranks (${bytes(r.bytes)}) to ${o.out}`);
  }
}

export function pagerankCommand(): Command {
  const cmd = new Command('pagerank')
    .description('PageRank of a graph: submit (or --attach to) a job, follow it across iterations, print the top nodes, write node,rank CSV')
    .addOption(new Option('--dataset <name|file>', `an ${format} dataset, or a local CSV file (src,dst; a first row src,dst, or of two words above two numbers, is a header) to upload first`).conflicts('attach'))
    .option('--name <name>', 'the dataset name for an uploaded file (default: the file name without its extension)')
    .option('--attach <job>', 'follow a PageRank job that is already running (or finished) instead of starting one');
  return paramFlags(cmd, type.params)
    .option('--partitions <r>', `partitions of the graph (default: ${partitionRuleText(type.partitions)})`, partitionsFlag)
    .option('--top <k>', 'how many of the highest-ranked nodes to print', wholeNumber('--top'), 10)
    .option('--out <file>', 'write node,rank CSV here, rank descending, ties by node id (written atomically; - for standard output)', 'ranks.csv')
    .action(async (o: PageRankOpts, self: Command) => {
      const cfg = configFrom(self);
      checkOutPath(o.out);
      const tandem = tandemFor(cfg);
      await warnIfOtherCluster(cfg, tandem.master);
      let jobId: string | undefined;
      // From the moment a job exists, Ctrl-C leaves it running and says how to follow it again.
      process.on('SIGINT', () => {
        if (!jobId) process.exit(130);
        process.stderr.write(`\njob ${jobId} keeps running; follow it with: npm run pagerank -- --attach ${jobId}  (or: tandem pagerank --attach ${jobId})\n`);
        process.exit(130);
      });
      if (o.attach) {
        jobId = o.attach;
      } else {
        if (!o.dataset) throw new Error('--dataset is required (a dataset name or a CSV file), or --attach JOB to follow a running job');
        const params = paramsFrom(o);
        const dataset = await datasetFor(tandem, o);
        jobId = await tandem.jobs.submit({ type: type.name, dataset, partitions: o.partitions, params });
        say(`submitted job ${jobId} (${type.name} on ${dataset}); if interrupted it keeps running: npm run pagerank -- --attach ${jobId}`);
      }
      const first = await tandem.jobs.status(jobId);
      if (first.type !== type.name || !first.plan) throw new Error(`job ${jobId} is a ${first.type} job, not ${type.name}`);
      const s = await followJob(tandem, jobId, { words: type.stages });
      if (s.phase !== 'done') throw new Error(`job ${jobId} ${s.phase}${s.error ? `: ${s.error}` : ''}`);
      await report(tandem, s, o);
      await tandem.close();
    });
}
