import { Command } from 'commander';
import type { GcReport } from '@tandem/shared';
import { tandemFor } from '../client.ts';
import { configFrom } from '../options.ts';
import { bytes, table } from '../format.ts';

function report(r: GcReport): string {
  const verb = r.dryRun ? 'would free' : 'freed';
  const head = `${verb} ${r.keys} keys (${bytes(r.bytes)}) of ${r.orphanJobs} jobs that no job in the table owns`;
  if (r.jobs.length === 0) return head;
  const rest = r.orphanJobs > r.jobs.length ? [`(and ${r.orphanJobs - r.jobs.length} smaller jobs)`] : [];
  return [head, table([['JOB', 'KEYS', 'BYTES'], ...r.jobs.map((j) => [j.jobId, String(j.keys), bytes(j.bytes)])]), ...rest].join('\n');
}

export function gcCommand(): Command {
  return new Command('gc')
    .description('delete the job data in Redis that no job in the master\'s table owns (jobs lost with a master, clean-ups cut short), and say what it freed')
    .option('--dry-run', 'only list what would be freed')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dryRun?: boolean; json?: boolean }, self: Command) => {
      const r = await tandemFor(configFrom(self)).master.gc(opts.dryRun === true);
      console.log(opts.json ? JSON.stringify(r, null, 2) : report(r));
    });
}
