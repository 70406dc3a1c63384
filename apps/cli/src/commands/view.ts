import { Command } from 'commander';
import type { ViewStatus } from '@tandem/shared';
import { configFrom } from '../options.ts';
import { table } from '../format.ts';

export function viewCommand(): Command {
  return new Command('view')
    .description("the masters' current view (primary, backup, acknowledged or not) and each master's role, from the view service")
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, self: Command) => {
      const cfg = configFrom(self);
      let s: ViewStatus;
      try {
        const res = await fetch(new URL('/status', cfg.TANDEM_VIEW_URL), { signal: AbortSignal.timeout(5000) });
        s = (await res.json()) as ViewStatus;
      } catch (err) {
        const e = err as Error & { cause?: Error };
        throw new Error(`cannot reach the view service at ${cfg.TANDEM_VIEW_URL} (${e.cause?.message ?? e.message}); is \`tandem up\` running? (set TANDEM_VIEW_URL / --view-url)`);
      }
      if (opts.json) return console.log(JSON.stringify(s, null, 2));
      const v = s.view;
      console.log(`view ${v.viewnum}: primary ${v.primary || '(none)'}, backup ${v.backup || '(none)'}, ${s.acked ? 'acknowledged by the primary' : `NOT acknowledged by the primary yet${s.waitingForAckMs !== null ? ` (${(s.waitingForAckMs / 1000).toFixed(1)} s)` : ''}`}`);
      if (s.servers.length > 0) {
        console.log(table([
          ['MASTER', 'ROLE', 'ALIVE', 'LAST PING', 'PINGED VIEW'],
          ...s.servers.map((x) => [x.name, x.role + (x.restarted ? ' (restarted)' : ''), x.alive ? 'yes' : 'no', `${x.lastPingAgoMs} ms ago`, String(x.viewnum)]),
        ]));
      }
      for (const a of s.alerts) console.log(`alert: ${a}`);
    });
}
