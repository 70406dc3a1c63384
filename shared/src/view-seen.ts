/**
 * When the view service last answered, kept in the data folder (`view-answered`), so a one-shot
 * command can tell a view service that is restarting from one that is not there. A command that
 * finds the view service silent although it answered at that address within RECENT_MS waits the
 * outage out, as a long-lived client does (master-client.ts), instead of failing at once. `tandem up`
 * writes the record when its cluster is up and removes it when it stops the cluster; commands
 * refresh it when the view service answers. Written only where the data folder exists (the machine
 * `tandem up` runs on): nothing here creates folders in the working directory of a command.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const VIEW_SEEN_FILE = 'view-answered';
/** An answer this recent makes a silent view service one worth waiting for. */
export const RECENT_MS = 10 * 60_000;

interface Record_ {
  viewUrl: string;
  at: number;
}

const normal = (url: string) => new URL(url).href;

/** Records that the view service at `viewUrl` answered now; false when the data folder does not exist. */
export function recordViewAnswered(dataDir: string, viewUrl: string, now = Date.now()): boolean {
  if (!existsSync(dataDir)) return false;
  const rec: Record_ = { viewUrl: normal(viewUrl), at: now };
  try {
    writeFileSync(join(dataDir, VIEW_SEEN_FILE), JSON.stringify(rec) + '\n');
    return true;
  } catch {
    // A data folder this user cannot write to: the command still works, it just cannot remember.
    return false;
  }
}

/** When the view service at `viewUrl` last answered, by the record, or null. */
export function viewAnsweredAt(dataDir: string, viewUrl: string): number | null {
  try {
    const rec = JSON.parse(readFileSync(join(dataDir, VIEW_SEEN_FILE), 'utf8')) as Partial<Record_>;
    return typeof rec.at === 'number' && rec.viewUrl === normal(viewUrl) ? rec.at : null;
  } catch {
    return null;
  }
}

/** Whether the view service at `viewUrl` answered within RECENT_MS (and not in the future: a clock set back). */
export function viewAnsweredRecently(dataDir: string, viewUrl: string, now = Date.now()): boolean {
  const at = viewAnsweredAt(dataDir, viewUrl);
  return at !== null && at <= now && now - at <= RECENT_MS;
}

/** Forgets the record: the cluster was stopped on purpose, so a silent view service is not restarting. */
export function forgetViewAnswered(dataDir: string): void {
  rmSync(join(dataDir, VIEW_SEEN_FILE), { force: true });
}
