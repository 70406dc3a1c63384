/**
 * `npm run pagerank -- --dataset NAME|FILE [...]`: the PageRank script. The same command as
 * `tandem pagerank` (apps/cli/src/commands/pagerank.ts), with the CLI's connection flags; it works
 * through @tandem/client (client/src): the upload, the submit, following the iterations, the output.
 * A script of your own on the built client: examples/pagerank-script.mjs.
 */
import { addConnectionOptions } from '../apps/cli/src/options.ts';
import { pagerankCommand } from '../apps/cli/src/commands/pagerank.ts';

const cmd = addConnectionOptions(pagerankCommand()).name('pagerank').showHelpAfterError('(run with --help for usage)');
try {
  await cmd.parseAsync(process.argv);
  process.exit(0);
} catch (err) {
  process.stderr.write(`pagerank: ${(err as Error).message}\n`);
  process.exit(1);
}
