import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import {
  MasterClient, clientRedis, masterClient, isFinishedPhase, keys, writeOutput, writeOutputFile,
  type Config, type JobStatus,
} from '@tandem/shared';
import { loadRegistry } from '@tandem/jobs';
import { configFrom, positiveInt } from '../options.ts';
import { bytes, duration, table } from '../format.ts';
import { followRounds, roundsLine } from '../rounds.ts';

function collectParam(v: string, acc: Record<string, string>): Record<string, string> {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new Error(`--param must look like key=value (got "${v}")`);
  return { ...acc, [v.slice(0, eq)]: v.slice(eq + 1) };
}

const specOptions = (cmd: Command) =>
  cmd
    .argument('<type>', 'job type (see: tandem job types)')
    .requiredOption('--dataset <name>', 'input dataset')
    .option('--partitions <r>', 'reduce partitions (default: one per 32 MiB of input, 1 to 16)', positiveInt('--partitions'))
    .addOption(new Option('--param <key=value>', 'job parameter, repeatable (e.g. --param pattern=error)').argParser(collectParam).default({}, 'none'));

interface SpecOpts {
  dataset: string;
  partitions?: number;
  param: Record<string, string>;
}

async function saveOutput(cfg: Config, status: JobStatus, out: string | undefined): Promise<void> {
  const redis = await clientRedis(cfg.REDIS_URL);
  try {
    const ref = { jobId: status.id, round: status.round, partitions: status.partitions };
    const k = keys(cfg.TANDEM_PREFIX);
    if (out) {
      const r = await writeOutputFile(redis, k, ref, out);
      console.error(`wrote ${r.lines} lines (${bytes(r.bytes)}) to ${out}`);
    } else {
      await writeOutput(redis, k, ref, process.stdout);
    }
  } finally {
    redis.disconnect();
  }
}

function describe(s: JobStatus): string {
  const c = s.counters;
  const elapsed = (s.finishedAt ?? Date.now()) - s.submittedAt;
  return [
    `job ${s.id}: ${s.type} on ${s.dataset} — ${s.phase}${s.error ? `: ${s.error}` : ''}`,
    `  map     ${s.maps.committed}/${s.maps.total} committed (${s.maps.running} running), records ${c.map.recordsIn} in / ${c.map.recordsOut} out, ${bytes(c.map.bytesIn)} in / ${bytes(c.map.bytesOut)} out`,
    `  reduce  ${s.reduces.committed}/${s.reduces.total} committed (${s.reduces.running} running), records ${c.reduce.recordsIn} in / ${c.reduce.recordsOut} out, ${bytes(c.reduce.bytesOut)} out`,
    `  attempts ${c.map.attempts + c.reduce.attempts}, failed attempts ${c.map.failures + c.reduce.failures}, backup attempts ${c.map.speculative + c.reduce.speculative}`,
    `  params ${JSON.stringify(s.params)}, elapsed ${duration(elapsed)}`,
    ...(s.plan ? [`  rounds  ${roundsLine(s)}`] : []),
  ].join('\n');
}


/**
 * Follows a job (long polls) until it finishes. On a terminal it draws map and reduce progress bars; otherwise it
 * prints a line whenever the counts change, so logs of scripted runs show progress too.
 */
async function follow(client: MasterClient, jobId: string): Promise<JobStatus> {
  const first = await client.status(jobId);
  if (first.plan) {
    const interrupt = () => {
      process.stderr.write(`\njob ${jobId} keeps running; follow it with: tandem job status ${jobId}\n`);
      process.exit(130);
    };
    process.once('SIGINT', interrupt);
    try {
      return await followRounds(client, jobId, first);
    } finally {
      process.off('SIGINT', interrupt);
    }
  }
  const tty = process.stderr.isTTY;
  const bars = tty
    ? new cliProgress.MultiBar(
        { format: '{phase} [{bar}] {value}/{total} tasks', stream: process.stderr, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let s = first;
  const mapBar = bars?.create(s.maps.total, 0, { phase: 'map   ' });
  const reduceBar = bars?.create(s.reduces.total, 0, { phase: 'reduce' });
  let last = '';
  const interrupt = () => {
    bars?.stop();
    console.error(`\njob ${jobId} keeps running; follow it with: tandem job status ${jobId}`);
    process.exit(130);
  };
  process.once('SIGINT', interrupt);
  try {
    for (;;) {
      mapBar?.update(s.maps.committed);
      reduceBar?.update(s.reduces.committed);
      const line = `${s.phase}: map ${s.maps.committed}/${s.maps.total}, reduce ${s.reduces.committed}/${s.reduces.total}`;
      if (!bars && line !== last) console.error(line);
      last = line;
      for (const alert of s.alerts) (bars ? bars.log(`warning: ${alert}\n`) : console.error(`warning: ${alert}`));
      if (isFinishedPhase(s.phase)) return s;
      // While something holds the job up, look again every few seconds so the warning stays current.
      s = await client.status(jobId, { after: s.version, waitMs: s.alerts.length ? 5000 : 20_000 });
    }
  } finally {
    bars?.stop();
    process.off('SIGINT', interrupt);
  }
}

export function jobCommand(): Command {
  const cmd = new Command('job').description('run and manage MapReduce jobs');

  specOptions(cmd.command('run'))
    .description('submit a job, show its progress, and write its output when it is done')
    .option('--out <file>', 'write the output here (written atomically) instead of standard output')
    .action(async (type: string, opts: SpecOpts & { out?: string }, self: Command) => {
      const cfg = configFrom(self);
      const client = masterClient(cfg);
      const jobId = await client.submit({ type, dataset: opts.dataset, partitions: opts.partitions, params: opts.param });
      console.error(`submitted job ${jobId}`);
      const s = await follow(client, jobId);
      if (s.phase !== 'done') {
        console.error(describe(s));
        throw new Error(`job ${jobId} ${s.phase}${s.error ? `: ${s.error}` : ''}`);
      }
      await saveOutput(cfg, s, opts.out);
      console.error(`job ${jobId} done in ${duration((s.finishedAt ?? Date.now()) - s.submittedAt)}`);
    });

  specOptions(cmd.command('submit'))
    .description('submit a job and print its id without waiting')
    .action(async (type: string, opts: SpecOpts, self: Command) => {
      const cfg = configFrom(self);
      const client = masterClient(cfg);
      console.log(await client.submit({ type, dataset: opts.dataset, partitions: opts.partitions, params: opts.param }));
    });

  cmd
    .command('status')
    .description("a job's phase, task counts and counters")
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }, self: Command) => {
      const cfg = configFrom(self);
      const s = await masterClient(cfg).status(id);
      console.log(opts.json ? JSON.stringify(s, null, 2) : describe(s));
    });

  cmd
    .command('ls')
    .description('list jobs, newest first')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, self: Command) => {
      const cfg = configFrom(self);
      const jobs = await masterClient(cfg).list();
      if (opts.json) return console.log(JSON.stringify(jobs, null, 2));
      if (jobs.length === 0) return console.log('no jobs; start one with: tandem job run wordcount --dataset NAME');
      console.log(table([
        ['ID', 'TYPE', 'DATASET', 'PHASE', 'MAP', 'REDUCE', 'SUBMITTED'],
        ...jobs.map((j) => [j.id, j.type, j.dataset, j.phase, `${j.maps.committed}/${j.maps.total}`,
          `${j.reduces.committed}/${j.reduces.total}`, new Date(j.submittedAt).toISOString()]),
      ]));
    });

  cmd
    .command('output')
    .description("write a finished job's output, sorted by key")
    .argument('<id>')
    .option('--out <file>', 'write here (atomically) instead of standard output')
    .action(async (id: string, opts: { out?: string }, self: Command) => {
      const cfg = configFrom(self);
      const s = await masterClient(cfg).status(id);
      if (s.phase !== 'done') throw new Error(`job ${id} is ${s.phase}; it has no output${s.error ? ` (${s.error})` : ''}`);
      await saveOutput(cfg, s, opts.out);
    });

  cmd
    .command('cancel')
    .description('cancel a running job; its intermediate data is deleted')
    .argument('<id>')
    .action(async (id: string, _opts: object, self: Command) => {
      const cfg = configFrom(self);
      await masterClient(cfg).cancel(id);
      console.log(`cancelled job ${id}`);
    });

  cmd
    .command('rm')
    .description('delete a finished job and its output')
    .argument('<id>')
    .action(async (id: string, _opts: object, self: Command) => {
      const cfg = configFrom(self);
      await masterClient(cfg).remove(id);
      console.log(`removed job ${id}`);
    });

  cmd
    .command('types')
    .description('list the job types (built-in and from --jobs-dir)')
    .action(async (_opts: object, self: Command) => {
      const cfg = configFrom(self);
      const registry = await loadRegistry(cfg.TANDEM_JOBS_DIR);
      console.log(table([['TYPE', 'INPUT', 'DESCRIPTION'], ...registry.names().map((n) => {
        const t = registry.require(n);
        return [n, t.formats.join(','), t.description];
      })]));
    });
  return cmd;
}
