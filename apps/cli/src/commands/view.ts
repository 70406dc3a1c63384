import { Command } from 'commander';
import { TandemError, TlsError, fetchJson, type MasterHealth, type ViewStatus } from '@tandem/shared';
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
        s = await fetchJson<ViewStatus>(new URL('/status', cfg.TANDEM_VIEW_URL).href, { timeoutMs: 5000, secret: cfg.TANDEM_SECRET });
      } catch (err) {
        if (err instanceof TandemError) throw new Error(`the view service at ${cfg.TANDEM_VIEW_URL} did not give its status: ${err.message}`);
        if (err instanceof TlsError) throw new Error(`the view service: ${err.message}`);
        throw new Error(`cannot reach the view service at ${cfg.TANDEM_VIEW_URL} (${(err as Error).message}); is \`tandem up\` running? (set TANDEM_VIEW_URL / --view-url)`);
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
      for (const a of await masterAlerts(s, cfg.TANDEM_SECRET)) console.log(`alert: ${a}`);
    });
}

/** The alerts each master raises itself (Redis unreachable, Redis data lost), once each; a master that does not answer is in the table above. */
async function masterAlerts(s: ViewStatus, secret: string | undefined): Promise<string[]> {
  const all = await Promise.all(s.servers.map(async (x) => {
    try {
      return (await fetchJson<MasterHealth>(new URL('/health', x.name).href, { timeoutMs: 1500, secret })).alerts;
    } catch {
      return [];
    }
  }));
  return [...new Set(all.flat())];
}
