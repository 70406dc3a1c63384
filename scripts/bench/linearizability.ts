/**
 * The linearizability checker's speed on histories of the chaos test's size: the simulated
 * replicated master (test/harness/master-sim.ts, no bug) with 10 clients, about 100 jobs and 4,000
 * status reads per history. The baseline, in the same run, is the ad-hoc check the chaos test made
 * before (every pair of reads of one job compared for a version going back), on the same histories.
 * Then the same histories with every operation's interval widened by w ms each side: a linearizable
 * history stays linearizable (its linearization still fits), but more operations overlap; and
 * histories with stale reads planted, where the search must exhaust the failing part.
 */
import { checkJobHistory, type JobOp } from '../../test/harness/job-table-model.ts';
import { simulate } from '../../test/harness/master-sim.ts';
import { median, pct } from './failover.ts';
import { writeSection } from './report.ts';

/** The chaos test's former read check: a read that started after another returned never sees an older version. */
function pairwiseReads(ops: JobOp[]): number {
  const reads = ops.filter((o) => o.input.kind === 'status' && o.output?.kind === 'status');
  let bad = 0;
  for (const a of reads) {
    for (const b of reads) {
      if (a.input.kind !== 'status' || b.input.kind !== 'status' || a.input.jobId !== b.input.jobId || b.call <= a.ret!) continue;
      if (b.output?.kind === 'status' && a.output?.kind === 'status' && b.output.job.version < a.output.job.version) bad++;
    }
  }
  return bad;
}

export async function benchLinearizability(opts: { histories: number; runs: number }): Promise<void> {
  const log = (s: string) => process.stdout.write(s + '\n');
  const rows: string[] = [];
  const all: { check: number[]; pairs: number[] } = { check: [], pairs: [] };
  for (let seed = 1; seed <= opts.histories; seed++) {
    const { ops } = simulate({ seed, durationMs: 12_000, clients: 10, reads: [35, 50] });
    const jobs = ops.filter((o) => o.output?.kind === 'submitted').length;
    const reads = ops.filter((o) => o.input.kind === 'status').length;
    const check: number[] = [];
    const pairs: number[] = [];
    let steps = 0;
    for (let r = 0; r < opts.runs; r++) {
      let t0 = performance.now();
      const { verdict, clash } = checkJobHistory(ops, { timeoutMs: 600_000 });
      check.push(performance.now() - t0);
      if (clash || verdict.result !== 'ok') throw new Error(`history ${seed} of the correct simulation was not accepted: ${clash ?? JSON.stringify(verdict).slice(0, 500)}`);
      steps = verdict.steps;
      t0 = performance.now();
      if (pairwiseReads(ops) !== 0) throw new Error(`history ${seed}: the pairwise check found a read going back`);
      pairs.push(performance.now() - t0);
    }
    all.check.push(...check);
    all.pairs.push(...pairs);
    rows.push(`| ${seed} | ${jobs} | ${reads} | ${ops.length} | ${steps} | ${median(check).toFixed(0)} | ${median(pairs).toFixed(0)} |`);
    log(`history ${seed}: ${jobs} jobs, ${reads} reads, ${ops.length} ops: check ${check.map((x) => x.toFixed(0)).join(', ')} ms; pairwise ${pairs.map((x) => x.toFixed(0)).join(', ')} ms`);
  }
  const widened: string[] = [];
  const BUDGET_MS = 10_000;
  for (const [bug, w] of [[undefined, 10], [undefined, 50], [undefined, 200], ['staleReads', 0], ['staleReads', 10], ['staleReads', 50], ['staleReads', 200]] as const) {
    const times: number[] = [];
    let steps = 0;
    let opsN = 0;
    const results: Record<string, number> = {};
    for (let seed = 1; seed <= opts.histories; seed++) {
      const { ops } = simulate({ seed, bug, durationMs: 12_000, clients: 10, reads: [35, 50] });
      const wide = ops.map((o) => ({ ...o, call: o.call - w, ret: o.ret === undefined ? undefined : o.ret + w }));
      opsN += ops.length;
      // A search that gives up takes its whole budget every time: once is enough to say so.
      for (let r = 0; r < opts.runs; r++) {
        const t0 = performance.now();
        const { verdict } = checkJobHistory(wide, { timeoutMs: BUDGET_MS });
        times.push(performance.now() - t0);
        if (verdict.result === (bug ? 'ok' : 'illegal')) throw new Error(`history ${seed} (${bug ?? 'correct'}) widened by ${w} ms: wrongly ${verdict.result}`);
        if (r === 0) {
          steps += verdict.steps;
          results[verdict.result] = (results[verdict.result] ?? 0) + 1;
        }
        if (verdict.result === 'unknown') break;
      }
    }
    const outcome = Object.entries(results).map(([k, v]) => `${v} ${k}`).join(', ');
    widened.push(`| ${bug ?? 'correct'} | ${w} ms | ${Math.round(opsN / opts.histories)} | ${outcome} | ${Math.round(steps / opts.histories)} | ${median(times).toFixed(0)} | ${pct(times, 90).toFixed(0)} |`);
    log(`${bug ?? 'correct'} widened by ${w} ms: ${outcome}; ${times.map((x) => x.toFixed(0)).join(', ')} ms`);
  }
  const md = `
## Linearizability checker (issue 17)

Run: \`npm run bench -- linearizability --histories ${opts.histories} --runs ${opts.runs}\` (${new Date().toISOString().slice(0, 10)}; 2 cores, Node ${process.version}, a shared, noisy machine).
Histories of the simulated replicated master (\`test/harness/master-sim.ts\`, correct, 10 clients, failovers), the
chaos test's size; each checked ${opts.runs} times (median shown). Baseline: the ad-hoc check the chaos test made
before on the same history (every pair of reads of one job compared), which checked far less.

| history | jobs | status reads | operations | search steps | check, ms | pairwise read check, ms |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

All runs: check median ${median(all.check).toFixed(0)} ms, p90 ${pct(all.check, 90).toFixed(0)} ms; pairwise median ${median(all.pairs).toFixed(0)} ms
(ratio of medians ${(median(all.check) / median(all.pairs)).toFixed(2)}).

The same histories with every operation's interval widened by w each side (more overlap; a correct
history stays linearizable), and histories of the master with stale reads planted, which the search must
exhaust (in the failing part) before it answers; all histories and runs, with a budget of ${BUDGET_MS / 1000} s per check
and the default bound of 1,000,000 remembered configurations per part ("unknown": a bound was reached; the search of an illegal part with ~15 reads overlapping each other is exponential,
as in Porcupine). The chaos test's reads of a job come from one client, one at a time, as in the unwidened rows.

| master | widened by | operations (mean) | verdicts | search steps (mean) | check median, ms | p90, ms |
| --- | --- | --- | --- | --- | --- | --- |
${widened.join('\n')}
`;
  log(md);
  log(`written to ${writeSection('linearizability', md)}`);
}
