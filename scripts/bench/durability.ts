/**
 * Durable job table benchmark (issue 11), in one run on one machine, with the default failure
 * detection (100 ms pings, 5 missed = dead, so 500 ms detection):
 *  (1) what the durable op log costs: submit latency (p50/p99) of a primary with a backup, with the
 *      log and without it (TANDEM_DURABLE_LOG=off, a switch that exists only for this baseline);
 *      fresh clusters, measured alternately;
 *  (2) recovery after both masters are SIGKILLed while the view service lives: from the kill to the
 *      first operation answered with the full job table (masters restarted at once: their first
 *      pings say they restarted, so the view service does not wait out its detection time);
 *  (3) the same after a view-service SIGKILL and restart: from the kill to the first operation
 *      answered through a client that asks the restarted view service where the primary is.
 * Results go to docs/BENCHMARKS.md.
 */
import { kill, startCluster } from '../../test/harness/cluster.ts';
import { env, f2, median, pct, tinyDataset } from './failover.ts';
import { writeSection } from './report.ts';

const signed = (x: number) => `${x >= 0 ? '+' : ''}${f2(x)}`;

async function submitLatency(durable: boolean, n: number): Promise<number[]> {
  const c = await startCluster({ name: `bench-durability-${durable ? 'log' : 'nolog'}`, masters: 2, workers: 0, env: { ...env, TANDEM_DURABLE_LOG: durable ? 'on' : 'off' } });
  try {
    await tinyDataset(c);
    await c.replicated();
    const client = c.client();
    for (let i = 0; i < 50; i++) await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
      out.push(performance.now() - t0);
    }
    return out;
  } finally {
    await c.stop();
  }
}

type Fault = 'both masters' | 'view service';

/** ms from the fault to the first list answered with every job, and from the restarted processes listening to it. */
async function recovery(fault: Fault, jobs: number, log: (s: string) => void): Promise<{ total: number; restore: number }> {
  const c = await startCluster({ name: 'bench-durability-recovery', masters: 2, workers: 0, env });
  try {
    await tinyDataset(c);
    await c.replicated();
    const client = c.client();
    for (let i = 0; i < jobs; i++) await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
    const before = (await client.list()).length;
    const t0 = performance.now();
    if (fault === 'both masters') {
      await Promise.all([kill(c.masters[0].proc), kill(c.masters[1].proc)]);
      await Promise.all([c.startMaster(0), c.startMaster(1)]);
    } else {
      await c.restartViewService();
    }
    const listening = performance.now();
    // A new client asks the view service where the primary is, as any client after the fault would.
    const n = (await c.client({ retryForMs: 30_000, retryDelayMs: 10 }).list()).length;
    const done = performance.now();
    if (n !== before) throw new Error(`recovered ${n} jobs of ${before}`);
    log(`${fault}: ${n} jobs answered ${(done - t0).toFixed(0)} ms after the kill, ${(done - listening).toFixed(0)} ms after the restarted processes listened`);
    return { total: done - t0, restore: done - listening };
  } finally {
    await c.stop();
  }
}

export async function benchDurability(opts: { ops: number; jobs: number; trials: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const withLog: number[][] = [];
  const without: number[][] = [];
  for (let r = 0; r < 2; r++) {
    without.push(await submitLatency(false, opts.ops));
    withLog.push(await submitLatency(true, opts.ops));
    log(`round ${r + 1}: submit p50 ${f2(median(without[r]))} ms without the log vs ${f2(median(withLog[r]))} ms with it`);
  }
  const a = without.flat();
  const b = withLog.flat();
  const rec: Record<Fault, { total: number; restore: number }[]> = { 'both masters': [], 'view service': [] };
  for (let t = 0; t < opts.trials; t++) {
    for (const fault of Object.keys(rec) as Fault[]) rec[fault].push(await recovery(fault, opts.jobs, log));
  }
  const row = (fault: Fault) => {
    const r = rec[fault];
    return `| ${fault} SIGKILLed | ${median(r.map((x) => x.total)).toFixed(0)} ms (${r.map((x) => x.total.toFixed(0)).join(', ')}) | ${median(r.map((x) => x.restore)).toFixed(0)} ms (${r.map((x) => x.restore.toFixed(0)).join(', ')}) |`;
  };
  const md = `
Run: \`npm run bench -- durability --ops ${opts.ops} --jobs ${opts.jobs} --trials ${opts.trials}\` (${new Date().toISOString().slice(0, 10)}; 2 cores, loopback; pings every 100 ms, 5 missed = dead).

**What the log costs** (${opts.ops} submits per cluster, 2 fresh clusters of each, primary + backup, measured alternately):

| | submit p50 | submit p99 |
| --- | --- | --- |
| without the log (\`TANDEM_DURABLE_LOG=off\`) | ${f2(median(a))} ms | ${f2(pct(a, 99))} ms |
| with the log | ${f2(median(b))} ms | ${f2(pct(b, 99))} ms |
| added | ${signed(median(b) - median(a))} ms | ${signed(pct(b, 99) - pct(a, 99))} ms |

**Recovery** (${opts.jobs} jobs in the table; until a new client's first list answers with all of them; ${opts.trials} trials, median and each):

| fault | from the kill | from the restarted processes listening |
| --- | --- | --- |
${row('both masters')}
${row('view service')}

"From the kill" includes starting the processes again under tsx (about 1 s for a master here). The
masters are restarted at once, and a restarted master says so in its first ping (view number 0),
so the view service need not wait out its 500 ms detection time; restarted later, a master would
add that wait. "From listening" is what the protocol itself adds: pings, the new view, the claim of
the log, the restore, the list. Goals (issue 11): at most 1 ms added at p50; recovery within 2 s
(plus the detection time) after both masters, within 2 s after the view service.
`;
  log(md);
  log(`written to ${writeSection('durability', md)}`);
}
