/**
 * Recovery under repeated faults (issue 17): how long the control plane is gone when `tandem up`'s
 * view service is SIGKILLed after ten earlier restarts, with the supervisor's restart wait never
 * resetting (TANDEM_RESTART_RESET_MS=0, the old rule) and resetting once a child has run 10 s (the
 * default). Each kill comes after the view service has run longer than the reset time, as in the
 * chaos run that found it (kills some 20 s apart); the time is from the SIGKILL until GET /view
 * answers again, polled every 20 ms.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { authHeader, sleep } from '@tandem/shared';
import { startUp, upEnv } from '../../test/harness/up.ts';
import { freePort, waitFor } from '../../test/harness/wait.ts';
import { median } from './failover.ts';
import { writeSection } from './report.ts';

interface Side {
  label: string;
  resetMs: number;
  /** ms from the kill until the view answered, for the kills after the earlier ones. */
  measured: number[];
  /** The supervisor's logged wait before each measured restart. */
  waits: number[];
}

function viewPid(up: number): number | null {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(up)], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes('view-service'));
  return line ? Number(line.trim().split(' ')[0]) : null;
}

async function side(label: string, resetMs: number, o: { earlier: number; trials: number; gapMs: number }, log: (s: string) => void): Promise<Side> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-restarts-'));
  const { env, viewPort } = await upEnv(await freePort(), dataDir);
  const started = startUp({ ...env, TANDEM_LOG_LEVEL: 'warn', TANDEM_RESTART_RESET_MS: String(resetMs) }, 1);
  const s: Side = { label, resetMs, measured: [], waits: [] };
  try {
    await waitFor(() => started.out().includes('tandem: Ctrl-C stops everything'), { what: 'tandem up', timeoutMs: 120_000 });
    const secret = readFileSync(join(dataDir, 'secret'), 'utf8').trim();
    const answers = () => fetch(`http://127.0.0.1:${viewPort}/view`, { headers: authHeader(secret), signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    for (let k = 1; k <= o.earlier + o.trials; k++) {
      // The view service has run past the reset time, as between the chaos run's faults.
      await sleep(o.gapMs);
      const pid = await waitFor(() => viewPid(started.proc.pid!), { what: 'the view service' });
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      while (!(await answers())) await sleep(20);
      const ms = performance.now() - t0;
      const waits = [...started.out().matchAll(/view exited \(SIGKILL\) after running [\d.]+ s; restarting in (\d+) ms/g)].map((m) => Number(m[1]));
      const wait = waits[k - 1] ?? NaN;
      const measured = k > o.earlier;
      if (measured) {
        s.measured.push(ms);
        s.waits.push(wait);
      }
      log(`${label}: kill ${k}${measured ? ' (measured)' : ''}: answered after ${ms.toFixed(0)} ms (supervisor waited ${wait} ms)`);
    }
  } finally {
    started.killAll();
  }
  return s;
}

export async function benchRestarts(o: { earlier: number; trials: number; gapS: number }): Promise<void> {
  const log = (x: string) => console.log(x);
  const opts = { earlier: o.earlier, trials: o.trials, gapMs: o.gapS * 1000 };
  // The machine is shared: its load says how much of each time is waiting for a core.
  const load = [loadavg()[0]];
  const before = await side('reset never (TANDEM_RESTART_RESET_MS=0, the old rule)', 0, opts, log);
  load.push(loadavg()[0]);
  const after = await side('reset after 10 s of running (the default)', 10_000, opts, log);
  load.push(loadavg()[0]);
  const row = (s: Side) => `| ${s.label} | ${median(s.waits)} ms | ${median(s.measured).toFixed(0)} ms | ${Math.max(...s.measured).toFixed(0)} ms | ${s.measured.map((m) => m.toFixed(0)).join(', ')} |`;
  const md = `## Recovery under repeated faults (issue 17)

Run: \`npm run bench -- restarts --earlier ${o.earlier} --trials ${o.trials} --gap-s ${o.gapS}\` (${new Date().toISOString().slice(0, 10)}; 2 cores, shared, load average ${load.map((l) => l.toFixed(0)).join(', ')} at the start, between the sides and at the end; \`tandem up\` from the sources, under tsx, 1 worker).

The view service of a \`tandem up\` is SIGKILLed ${o.earlier} times, then ${o.trials} more times that are measured; before each kill it has run ${o.gapS} s (longer than the 10 s reset time, as between the chaos run's faults). Measured: from the SIGKILL until GET /view answers again.

| supervisor rule | logged wait (median) | view answers again (median) | max | each |
| --- | --- | --- | --- | --- |
${row(before)}
${row(after)}

The rest of each time is starting the view service again (node and tsx loading its code) and its
resuming the stored view. Before, every restart after the fifth waited the longest pause, 5 s, for
good; now a child that ran 10 s (\`TANDEM_RESTART_RESET_MS\`) before it died is restarted after the
first wait, 500 ms, again, while one that keeps dying at once still waits longer each time.
`;
  log(`\nwrote ${writeSection('restarts', md)}`);
}
