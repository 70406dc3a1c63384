/**
 * The `tandem` command. Only commander and the flag definitions load up front, so `tandem --help`
 * and `tandem --version` stay fast: each command's module is imported when that command is named
 * (see `lazy` below), and `up` imports its code when it runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { MAX_CLUSTER_PRIMARIES, MAX_CLUSTER_REPLICAS, addConnectionOptions, intInRange, positiveInt } from './global-flags.ts';
import { repoRoot } from './processes.ts';

const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const program = new Command('tandem')
  .description('Tandem: MapReduce on BullMQ and Redis')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)');
addConnectionOptions(program);

program
  .command('up')
  .description('run the whole platform on this machine in the foreground (Redis if none answers, or a local Redis Cluster with --redis-cluster; the view service, two masters, workers, the web console)')
  .addOption(new Option('--workers <n>', 'worker processes').env('TANDEM_WORKERS').default(2).argParser(positiveInt('--workers', 'TANDEM_WORKERS')))
  .addOption(new Option('--master-port <port>', "the first master's HTTP port; the second takes the next one (default: 7100)").env('TANDEM_MASTER_PORT').argParser(positiveInt('--master-port', 'TANDEM_MASTER_PORT')))
  .addOption(new Option('--view-port <port>', "the view service's HTTP port (default: 7000)").env('TANDEM_VIEW_PORT').argParser(positiveInt('--view-port', 'TANDEM_VIEW_PORT')))
  .addOption(new Option('--console-port <port>', "the web console's HTTP port (default: 7300)").env('TANDEM_CONSOLE_PORT').argParser(positiveInt('--console-port', 'TANDEM_CONSOLE_PORT')))
  .addOption(new Option('--metrics-port <port>', "worker i serves /metrics and /health on this port + i - 1 (0: each on a free port, which it logs); the other processes serve /metrics on their own port").env('TANDEM_METRICS_PORT').default(7400).argParser(intInRange('--metrics-port', 0, 65535)))
  .addOption(new Option('--data-dir <dir>', 'where a Redis started by tandem keeps its data (default: .tandem)').env('TANDEM_DATA_DIR'))
  .addOption(new Option('--redis-cluster <n>', `instead of one redis-server, start a Redis Cluster of N primaries (1 to ${MAX_CLUSTER_PRIMARIES}) on consecutive ports from REDIS_URL's port up, where nothing may answer (each node's cluster bus takes its port + 10000, so every port stays below 55535); the nodes keep their data under the data folder, share its Redis password and are restarted like the other processes, and the platform gets every node in REDIS_URL`).argParser(intInRange('--redis-cluster', 1, MAX_CLUSTER_PRIMARIES)))
  .addOption(new Option('--replicas <r>', `with --redis-cluster: replicas of each primary (0 to ${MAX_CLUSTER_REPLICAS}; default 0), which take over when their primary dies`).argParser(intInRange('--replicas', 0, MAX_CLUSTER_REPLICAS)))
  .action(async (opts: { workers: number; masterPort?: number; viewPort?: number; consolePort?: number; metricsPort: number; dataDir?: string; redisCluster?: number; replicas?: number }, self: Command) => {
    if (opts.replicas !== undefined && opts.redisCluster === undefined) throw new Error('--replicas is for --redis-cluster only; add --redis-cluster N, or leave --replicas out');
    if (opts.masterPort !== undefined) process.env.TANDEM_MASTER_PORT = String(opts.masterPort);
    if (opts.consolePort !== undefined) process.env.TANDEM_CONSOLE_PORT = String(opts.consolePort);
    if (opts.viewPort !== undefined) {
      process.env.TANDEM_VIEW_PORT = String(opts.viewPort);
      // The masters and workers started here find the view service on the chosen port unless told otherwise.
      // (The TLS module is loaded here, not at the top, so that `tandem --help` stays cheap.)
      const { urlScheme } = await import('@tandem/shared');
      if (program.getOptionValueSource('viewUrl') === 'default') program.setOptionValue('viewUrl', `${urlScheme(process.env)}://127.0.0.1:${opts.viewPort}`);
    }
    if (opts.dataDir !== undefined) process.env.TANDEM_DATA_DIR = opts.dataDir;
    process.env.TANDEM_WORKERS = String(opts.workers);
    const [{ configFrom }, { up }] = await Promise.all([import('./options.ts'), import('./up.ts')]);
    // tandem up looks at the Redis as given first, and takes the data folder's password only for the one it starts.
    const cfg = configFrom(self, { redisPasswordFile: false });
    const redisCluster = opts.redisCluster === undefined ? undefined : { primaries: opts.redisCluster, replicas: opts.replicas ?? 0 };
    await up(cfg, cfg.TANDEM_WORKERS, { redisCluster, metricsPort: opts.metricsPort });
  });

/**
 * The other commands, by name: the summary `tandem --help` lists (test/build.test.ts checks that it
 * is the command's own description) and the module that defines it, imported only when named.
 */
const lazy: Record<string, [summary: string, load: () => Promise<Command>]> = {
  dataset: ['upload, list, inspect and remove datasets', async () => (await import('./commands/dataset.ts')).datasetCommand()],
  job: ['run and manage MapReduce jobs', async () => (await import('./commands/job.ts')).jobCommand()],
  events: ["a job's events from every process, in one causal order (Lamport time); ∥ marks events concurrent with earlier ones", async () => (await import('./commands/events.ts')).eventsCommand()],
  view: ["the masters' current view (primary, backup, acknowledged or not) and each master's role, from the view service", async () => (await import('./commands/view.ts')).viewCommand()],
  gc: ["delete the job data in Redis that no job in the master's table owns (jobs lost with a master, clean-ups cut short), and say what it freed", async () => (await import('./commands/gc.ts')).gcCommand()],
  pagerank: ['PageRank of a graph: submit (or --attach to) a job, follow it across iterations, print the top nodes, write node,rank CSV', async () => (await import('./commands/pagerank.ts')).pagerankCommand()],
};

/** The command the arguments name (`tandem [global flags] NAME ...` or `tandem help NAME`), if any. */
function namedCommand(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return args[i + 1];
    if (a.startsWith('-')) {
      if (!a.includes('=') && program.options.find((o) => o.long === a || o.short === a)?.required) i++;
      continue;
    }
    return a === 'help' ? args[i + 1] : a;
  }
  return undefined;
}

const named = namedCommand(process.argv.slice(2));
if (named !== undefined && Object.hasOwn(lazy, named)) program.addCommand(await lazy[named][1]());
else for (const [name, [summary]] of Object.entries(lazy)) program.command(name).description(summary);

// Every subcommand's help lists the global flags too (commands added whole do not inherit help settings).
const everyCommand = (c: Command): Command[] => [c, ...c.commands.flatMap(everyCommand)];
for (const c of everyCommand(program)) c.configureHelp({ showGlobalOptions: true });

// Output piped into a reader that stopped (`| head`): nothing more to say, and not a failure.
const closedPipe = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'EPIPE';
process.stdout.on('error', (err) => (closedPipe(err) ? process.exit(0) : undefined));

try {
  await program.parseAsync(process.argv);
  process.exit(0);
} catch (err) {
  if (closedPipe(err)) process.exit(0);
  process.stderr.write(`tandem: ${(err as Error).message}\n`);
  process.exit(1);
}
