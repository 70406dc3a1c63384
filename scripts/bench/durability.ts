/**
 * Durable job table benchmark (issue 11), in one run on one machine:
 *  (1) what the durable op log costs: submit latency (p50/p99) of a primary with a backup, with the
 *      log and without it (TANDEM_DURABLE_LOG=off, a switch that exists only for this baseline);
 *      fresh clusters, measured alternately;
 *  (2) recovery after both masters are SIGKILLed: from the kill to the first operation answered
 *      with the full job table. Until the view service keeps its state across restarts, it is
 *      restarted too (fresh at view 1), and master a, started first, restores from the log.
 * It prints its results; they are not written to docs/BENCHMARKS.md.
 */
import { kill, startCluster } from '../../test/harness/cluster.ts';
import { spawnApp } from '../../apps/cli/src/processes.ts';
import { waitFor } from '../../test/harness/wait.ts';
import { env, f2, median, pct, tinyDataset } from './failover.ts';

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

async function recovery(jobs: number, log: (s: string) => void): Promise<{ total: number; restore: number }> {
  const c = await startCluster({ name: 'bench-durability-recovery', masters: 2, workers: 0, env });
  let view = c.viewService;
  try {
    await tinyDataset(c);
    await c.replicated();
    const client = c.client();
    for (let i = 0; i < jobs; i++) await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
    const before = (await client.list()).length;
    const t0 = performance.now();
    await Promise.all([kill(c.masters[0].proc), kill(c.masters[1].proc), kill(c.viewService)]);
    view = spawnApp('view-service', c.env, ['ignore', 'ignore', 'ignore']);
    await waitFor(async () => (await fetch(new URL('/view', c.viewUrl))).ok, { what: 'the view service', intervalMs: 10 });
    await c.startMaster(0);
    const listening = performance.now();
    const after = c.client({ retryForMs: 30_000 });
    const n = (await after.list()).length;
    const done = performance.now();
    if (n !== before) throw new Error(`recovered ${n} jobs of ${before}`);
    log(`recovery of ${n} jobs: ${(done - t0).toFixed(0)} ms from the kill, ${(done - listening).toFixed(0)} ms after the master listened`);
    return { total: done - t0, restore: done - listening };
  } finally {
    await kill(view);
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
  const rec = [];
  for (let t = 0; t < opts.trials; t++) rec.push(await recovery(opts.jobs, log));
  log(`
durable op log (${opts.ops} submits per cluster, 2 clusters of each, primary + backup):
  submit p50 / p99 without the log: ${f2(median(a))} / ${f2(pct(a, 99))} ms
  submit p50 / p99 with the log:    ${f2(median(b))} / ${f2(pct(b, 99))} ms  (${signed(median(b) - median(a))} / ${signed(pct(b, 99) - pct(a, 99))} ms)
recovery after both masters SIGKILLed (${opts.jobs} jobs, ${opts.trials} trials; master start-up included):
  from the kill: median ${median(rec.map((r) => r.total)).toFixed(0)} ms (${rec.map((r) => r.total.toFixed(0)).join(', ')})
  after the restarted master listened: median ${median(rec.map((r) => r.restore)).toFixed(0)} ms (${rec.map((r) => r.restore.toFixed(0)).join(', ')})`);
}
