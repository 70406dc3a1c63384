import { Command, Option } from 'commander';
import { PARTITIONS, outputLostText, shownPhase, validateDatasetName, verifyText, type JobStatus } from '@tandem/shared';
import type { Tandem } from '../../../../client/src/index.ts';
import { loadRegistry } from '@tandem/jobs';
import { checkOutPath, configFrom, partitionsFlag } from '../options.ts';
import { bytes, duration, table } from '../format.ts';
import { followJob } from '../follow.ts';
import { tandemFor } from '../client.ts';
import { warnIfOtherCluster } from '../same-cluster.ts';
import { clusterTypesText, typesHelp, typesText } from '../job-types.ts';
import { roundsLine } from '../rounds.ts';
import { describeDataset } from '../upload.ts';

function collectParam(v: string, acc: Record<string, string>): Record<string, string> {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new Error(`--param must look like key=value (got "${v}")`);
  return { ...acc, [v.slice(0, eq)]: v.slice(eq + 1) };
}

/** The flags of `job run` and `job submit`; their help ends with every job type's parameters. */
function specOptions(cmd: Command, help: () => string): Command {
  return cmd
    .argument('<type>', 'job type (listed below, and by: tandem job types)')
    .requiredOption('--dataset <name>', 'input dataset')
    .option('--partitions <r>', `partitions of the job (${PARTITIONS.min} to ${PARTITIONS.max}; default: the job type's rule, below)`, partitionsFlag)
    .addOption(new Option('--param <key=value>', "job parameter, repeatable (e.g. --param pattern=error); the type's parameters are below").argParser(collectParam).default({}, 'none'))
    .option('--verify', 'check that the job type is deterministic: run every task twice (on two workers where there are several, its input in another order where the contract allows) and fail the job, naming the task and key, if the outputs differ; key/value job types only')
    .addHelpText('after', help);
}

interface SpecOpts {
  dataset: string;
  partitions?: number;
  param: Record<string, string>;
  verify?: boolean;
}

/** Writes a done job's output to `out` (atomically) or to standard output, then closes the client. */
async function saveOutput(tandem: Tandem, job: string | JobStatus, out: string | undefined): Promise<void> {
  try {
    if (out) {
      const r = await tandem.jobs.saveOutput(job, out);
      console.error(`wrote ${r.lines} lines (${bytes(r.bytes)}) to ${out}`);
    } else {
      await tandem.jobs.writeOutput(job, process.stdout);
    }
  } finally {
    await tandem.close();
  }
}

function describe(s: JobStatus): string {
  const c = s.counters;
  const elapsed = (s.finishedAt ?? Date.now()) - s.submittedAt;
  return [
    `job ${s.id}: ${s.type} on ${s.dataset} — ${shownPhase(s)}${s.error ? `: ${s.error}` : ''}`,
    ...(s.outputLost ? [`  output  lost: ${outputLostText(s)}`] : []),
    ...(s.verify ? [`  ${verifyText(s)}`] : []),
    `  map     ${s.maps.committed}/${s.maps.total} committed (${s.maps.running} running), records ${c.map.recordsIn} in / ${c.map.recordsOut} out, ${bytes(c.map.bytesIn)} in / ${bytes(c.map.bytesOut)} out`,
    `  reduce  ${s.reduces.committed}/${s.reduces.total} committed (${s.reduces.running} running), records ${c.reduce.recordsIn} in / ${c.reduce.recordsOut} out, ${bytes(c.reduce.bytesOut)} out`,
    `  attempts ${c.map.attempts + c.reduce.attempts}, failed attempts ${c.map.failures + c.reduce.failures}, backup attempts ${c.map.speculative + c.reduce.speculative}`,
    `  params ${JSON.stringify(s.params)}, elapsed ${duration(elapsed)}`,
    ...(s.plan ? [`  rounds  ${roundsLine(s)}`] : []),
  ].join('\n');
}

export function jobCommand(): Command {
  let types = '';
  const cmd = new Command('job').description('run and manage MapReduce jobs');
  // Commander writes help synchronously, and loading the job types (a jobs folder's modules) is not:
  // it happens here, before the subcommand reads its flags.
  cmd.hook('preSubcommand', async (self, sub) => {
    if (sub.name() === 'run' || sub.name() === 'submit') types = await typesHelp(self);
  });

  specOptions(cmd.command('run'), () => types)
    .description('submit a job, show its progress, and write its output when it is done')
    .option('--out <file>', 'write the output here (written atomically) instead of standard output')
    .option('--save-as <dataset>', "store the output as a text dataset of that name, for the next job to read, instead of writing it to standard output (--out writes it to a file too)")
    .option('--replace', '--save-as: replace a dataset of that name')
    .action(async (type: string, opts: SpecOpts & { out?: string; saveAs?: string; replace?: boolean }, self: Command) => {
      checkOutPath(opts.out);
      if (opts.replace && !opts.saveAs) throw new Error('--replace is for --save-as');
      if (opts.saveAs !== undefined) validateDatasetName(opts.saveAs);
      const cfg = configFrom(self);
      const tandem = tandemFor(cfg);
      await warnIfOtherCluster(cfg, tandem.master);
      const jobId = await tandem.jobs.submit({ type, dataset: opts.dataset, partitions: opts.partitions, params: opts.param, ...(opts.verify ? { verify: true } : {}) });
      console.error(`submitted job ${jobId}`);
      const s = await followJob(tandem, jobId, { resumeWith: `tandem job status ${jobId}` });
      if (s.phase !== 'done') {
        console.error(describe(s));
        throw new Error(`job ${jobId} ${shownPhase(s)}${s.error ? `: ${s.error}` : ''}`);
      }
      if (opts.saveAs !== undefined) {
        try {
          const meta = await tandem.datasets.fromJob(opts.saveAs, s, { replace: opts.replace });
          console.error(`stored the output as ${describeDataset(meta)}`);
        } finally {
          if (!opts.out) await tandem.close();
        }
      }
      if (opts.saveAs === undefined || opts.out) await saveOutput(tandem, s, opts.out);
      console.error(`job ${jobId} done in ${duration((s.finishedAt ?? Date.now()) - s.submittedAt)}`);
      if (s.verify) console.error(verifyText(s));
    });

  specOptions(cmd.command('submit'), () => types)
    .description('submit a job and print its id without waiting')
    .action(async (type: string, opts: SpecOpts, self: Command) => {
      const cfg = configFrom(self);
      const tandem = tandemFor(cfg);
      await warnIfOtherCluster(cfg, tandem.master);
      console.log(await tandem.jobs.submit({ type, dataset: opts.dataset, partitions: opts.partitions, params: opts.param, ...(opts.verify ? { verify: true } : {}) }));
    });

  cmd
    .command('status')
    .description("a job's phase, task counts and counters")
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }, self: Command) => {
      const cfg = configFrom(self);
      const s = await tandemFor(cfg).jobs.status(id);
      console.log(opts.json ? JSON.stringify(s, null, 2) : describe(s));
    });

  cmd
    .command('ls')
    .description('list jobs, newest first')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, self: Command) => {
      const cfg = configFrom(self);
      const jobs = await tandemFor(cfg).jobs.list();
      if (opts.json) return console.log(JSON.stringify(jobs, null, 2));
      if (jobs.length === 0) return console.log('no jobs; start one with: tandem job run TYPE --dataset NAME (see: tandem job types)');
      console.log(table([
        ['ID', 'TYPE', 'DATASET', 'PHASE', 'MAP', 'REDUCE', 'SUBMITTED'],
        ...jobs.map((j) => [j.id, j.type, j.dataset, shownPhase(j), `${j.maps.committed}/${j.maps.total}`,
          `${j.reduces.committed}/${j.reduces.total}`, new Date(j.submittedAt).toISOString()]),
      ]));
    });

  cmd
    .command('output')
    .description("write a finished job's output, sorted by key")
    .argument('<id>')
    .option('--out <file>', 'write here (atomically) instead of standard output')
    .option('--wait', 'a job still running: wait until it finishes (without it, a running job is refused with its progress)')
    .action(async (id: string, opts: { out?: string; wait?: boolean }, self: Command) => {
      checkOutPath(opts.out);
      const cfg = configFrom(self);
      const tandem = tandemFor(cfg);
      await warnIfOtherCluster(cfg, tandem.master);
      // A job that is not done, or whose output is lost, is refused (conflict) with the reason.
      await saveOutput(tandem, opts.wait ? await tandem.jobs.wait(id) : id, opts.out);
    });

  cmd
    .command('cancel')
    .description('cancel a running job; its intermediate data is deleted')
    .argument('<id>')
    .action(async (id: string, _opts: object, self: Command) => {
      const cfg = configFrom(self);
      await tandemFor(cfg).jobs.cancel(id);
      console.log(`cancelled job ${id}`);
    });

  cmd
    .command('rm')
    .description('delete a finished job and its output')
    .argument('<id>')
    .action(async (id: string, _opts: object, self: Command) => {
      const cfg = configFrom(self);
      await tandemFor(cfg).jobs.remove(id);
      console.log(`removed job ${id}`);
    });

  cmd
    .command('types')
    .description("the job types the cluster runs (asked of the primary master), with their parameters, what each master and worker loaded, and any mismatch between them")
    .option('--json', 'machine-readable output: the primary\'s GET /job-types answer ({master, types, processes, alerts})')
    .option('--local', 'list the types this CLI loads itself (built-in and --jobs-dir) instead of asking the cluster (--json: the console\'s /api/job-types)')
    .action(async (opts: { json?: boolean; local?: boolean }, self: Command) => {
      const cfg = configFrom(self);
      if (opts.local) {
        const types = (await loadRegistry(cfg.TANDEM_JOBS_DIR)).describe();
        return console.log(opts.json ? JSON.stringify(types, null, 2) : typesText(types));
      }
      const tandem = tandemFor(cfg);
      try {
        const view = await tandem.master.jobTypes();
        console.log(opts.json ? JSON.stringify(view, null, 2) : clusterTypesText(view));
      } finally {
        await tandem.close();
      }
    });
  return cmd;
}
