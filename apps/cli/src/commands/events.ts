import { Command } from 'commander';
import { causalTimeline, clientRedis, keys, readJobEvents } from '@tandem/shared';
import { configFrom } from '../options.ts';
import { table } from '../format.ts';

export function eventsCommand(): Command {
  return new Command('events')
    .description("a job's events from every process, in one causal order (Lamport time); ∥ marks events concurrent with earlier ones")
    .requiredOption('--job <id>', 'the job')
    .option('--json', 'machine-readable output (with vector clocks)')
    .action(async (opts: { job: string; json?: boolean }, self: Command) => {
      const cfg = configFrom(self);
      const redis = await clientRedis(cfg);
      try {
        const events = await readJobEvents(redis, keys(cfg.TANDEM_PREFIX), opts.job);
        if (events.length === 0) throw new Error(`no events for job ${opts.job} (wrong id, or older than the event log keeps)`);
        const timeline = causalTimeline(events);
        if (opts.json) return console.log(JSON.stringify(timeline, null, 2));
        const t0 = Math.min(...events.map((e) => e.at));
        console.log(table([
          ['#', 'LAMPORT', 'CONCURRENT WITH', 'T+MS', 'PROCESS', 'EVENT', 'TASK', 'DETAIL'],
          ...timeline.map(({ event: e, concurrentWith: c }, i) => [
            String(i), String(e.lamport),
            c.length === 0 ? '' : `∥ ${c.slice(-3).map((j) => `#${j}`).join(',')}${c.length > 3 ? ` (+${c.length - 3})` : ''}`,
            String(e.at - t0), e.proc, e.what, e.task ?? '', e.detail ?? '',
          ]),
        ]));
      } finally {
        redis.disconnect();
      }
    });
}
