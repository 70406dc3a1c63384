/** The `tandem` command. */
import { Command, Option } from 'commander';
import { urlScheme } from '@tandem/shared';
import { addConnectionOptions, configFrom, positiveInt } from './options.ts';
import { datasetCommand } from './commands/dataset.ts';
import { jobCommand } from './commands/job.ts';
import { eventsCommand } from './commands/events.ts';
import { gcCommand } from './commands/gc.ts';
import { pagerankCommand } from './commands/pagerank.ts';
import { viewCommand } from './commands/view.ts';
import { up } from './up.ts';

const program = new Command('tandem')
  .description('Tandem: MapReduce on BullMQ and Redis')
  .showHelpAfterError('(run with --help for usage)');
addConnectionOptions(program);

program
  .command('up')
  .description('run the whole platform on this machine in the foreground (Redis if none answers, the view service, two masters, workers, the web console)')
  .addOption(new Option('--workers <n>', 'worker processes').env('TANDEM_WORKERS').default(2).argParser(positiveInt('--workers', 'TANDEM_WORKERS')))
  .addOption(new Option('--master-port <port>', "the first master's HTTP port; the second takes the next one (default: 7100)").env('TANDEM_MASTER_PORT').argParser(positiveInt('--master-port', 'TANDEM_MASTER_PORT')))
  .addOption(new Option('--view-port <port>', "the view service's HTTP port (default: 7000)").env('TANDEM_VIEW_PORT').argParser(positiveInt('--view-port', 'TANDEM_VIEW_PORT')))
  .addOption(new Option('--console-port <port>', "the web console's HTTP port (default: 7300)").env('TANDEM_CONSOLE_PORT').argParser(positiveInt('--console-port', 'TANDEM_CONSOLE_PORT')))
  .addOption(new Option('--data-dir <dir>', 'where a Redis started by tandem keeps its data (default: .tandem)').env('TANDEM_DATA_DIR'))
  .action(async (opts: { workers: number; masterPort?: number; viewPort?: number; consolePort?: number; dataDir?: string }, self: Command) => {
    if (opts.masterPort !== undefined) process.env.TANDEM_MASTER_PORT = String(opts.masterPort);
    if (opts.consolePort !== undefined) process.env.TANDEM_CONSOLE_PORT = String(opts.consolePort);
    if (opts.viewPort !== undefined) {
      process.env.TANDEM_VIEW_PORT = String(opts.viewPort);
      // The masters and workers started here find the view service on the chosen port unless told otherwise.
      if (program.getOptionValueSource('viewUrl') === 'default') program.setOptionValue('viewUrl', `${urlScheme(process.env)}://127.0.0.1:${opts.viewPort}`);
    }
    if (opts.dataDir !== undefined) process.env.TANDEM_DATA_DIR = opts.dataDir;
    process.env.TANDEM_WORKERS = String(opts.workers);
    // tandem up looks at the Redis as given first, and takes the data folder's password only for the one it starts.
    const cfg = configFrom(self, { redisPasswordFile: false });
    await up(cfg, cfg.TANDEM_WORKERS);
  });
program.addCommand(datasetCommand());
program.addCommand(jobCommand());
program.addCommand(eventsCommand());
program.addCommand(viewCommand());
program.addCommand(gcCommand());
program.addCommand(pagerankCommand());

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
