/**
 * PageRank benchmark (issue 4): in one run, on one machine, milliseconds per iteration of
 *  (a) the single-thread power iteration (pagerank/reference.ts: CSR, Float64Arrays), and
 *  (b) the platform as `tandem up` runs it (view service, primary and backup masters, 2 workers,
 *      Redis with its append-only file on),
 * on a generated graph of about 64,000 nodes and 275,000 edges and on the Debian sample graph, and
 * the ratio b/a: the COST of the distributed system on this job. The platform's per-iteration time
 * is taken from the master's replicated round history (commit of the first iteration to commit of
 * the last, divided by the iterations between), so graph set-up and the output round are reported
 * apart; the processes' CPU time per iteration says where the time goes.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { putDataset, type JobStatus } from '@tandem/shared';
import { SETUP_ROUNDS, buildGraph, powerIteration } from '@tandem/jobs';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { startCluster, type Cluster } from '../../test/harness/cluster.ts';
import { writeGraphCsv } from './graph.ts';
import { writeSection } from './report.ts';

const benchEnv = { TANDEM_LOG_LEVEL: 'warn', TANDEM_LOCK_MS: '4000', TANDEM_STALLED_MS: '2000', TANDEM_RECONCILE_MS: '1000' };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

/** CPU time (user + system) a process has used, in ms. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

interface GraphResult {
  name: string;
  nodes: number;
  edges: number;
  single: number[];
  platform: number[];
  setupMs: number[];
  outputMs: number[];
  cpu: Record<string, number>;
}

/** Single thread: build the graph once, then time whole runs of `iterations` (tol 0), per iteration. */
function singleThread(path: string, iterations: number, runs: number) {
  const rows = parse(readFileSync(path), { from_line: 2 }) as [string, string][];
  const g = buildGraph(rows);
  powerIteration(g, { iterations: 5, tol: 0 }); // JIT warm-up
  const per: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    powerIteration(g, { iterations, tol: 0 });
    per.push((performance.now() - t0) / iterations);
  }
  return { nodes: g.ids.length, edges: g.edges, per };
}

/** One platform job; per-iteration time from the replicated round history. */
async function platformRun(c: Cluster, dataset: string, iterations: number) {
  const client = c.client();
  const id = await client.submit({ type: 'pagerank', dataset, partitions: 2, params: { iterations: String(iterations), tol: '0' } });
  const s: JobStatus = await client.waitUntilFinished(id);
  if (s.phase !== 'done') throw new Error(`benchmark job ${id} ${s.phase}: ${s.error}`);
  const r = s.rounds;
  const first = r[SETUP_ROUNDS];
  const last = r[r.length - 1];
  return {
    perIteration: (last.finishedAt - first.finishedAt) / (r.length - SETUP_ROUNDS - 1),
    setupMs: r[SETUP_ROUNDS - 1].finishedAt - s.submittedAt,
    outputMs: s.finishedAt! - last.finishedAt,
  };
}

export async function benchPagerank(opts: { nodes: number; edges: number; iterations: number; runs: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const generated = await writeGraphCsv(resolve(repoRoot, `.tandem/bench/graph-${opts.nodes}-${opts.edges}.csv`), opts.nodes, opts.edges, 1);
  const graphs = [
    { name: 'generated', path: generated },
    { name: 'debian-python3-deps', path: resolve(repoRoot, 'datasets/debian-python3-deps.csv') },
  ];
  const results: GraphResult[] = [];
  for (const g of graphs) {
    const st = singleThread(g.path, opts.iterations, opts.runs);
    log(`(a) ${g.name}: ${st.nodes} nodes, ${st.edges} edges; single thread ${st.per.map(f2).join(', ')} ms per iteration`);
    results.push({ name: g.name, nodes: st.nodes, edges: st.edges, single: st.per, platform: [], setupMs: [], outputMs: [], cpu: {} });
  }

  const c = await startCluster({ name: 'bench-pagerank', workers: 2, masters: 2, env: benchEnv });
  try {
    await c.replicated();
    const pids: Record<string, number> = {
      'view service': c.viewService.pid!, 'primary master': c.masters[0].proc.pid!, 'backup master': c.masters[1].proc.pid!,
      'worker 1': c.workers[0].pid!, 'worker 2': c.workers[1].pid!, 'redis-server': c.redis.proc.pid!, 'client (this process)': process.pid,
    };
    for (const [i, g] of graphs.entries()) {
      await putDataset(c.redis.client(), c.keys, createReadStream(g.path), { name: g.name, format: 'edges', splitBytes: 8 << 20 });
      await platformRun(c, g.name, 3); // warm-up: JIT, connections, the workers' code paths
      const res = results[i];
      for (let run = 0; run < opts.runs; run++) {
        const r = await platformRun(c, g.name, opts.iterations);
        res.platform.push(r.perIteration);
        res.setupMs.push(r.setupMs);
        res.outputMs.push(r.outputMs);
        log(`(b) ${g.name}: platform ${f1(r.perIteration)} ms per iteration (set-up ${r.setupMs} ms, output round ${r.outputMs} ms)`);
      }
      // CPU per iteration: a job of 3n iterations less one of n, so set-up and output rounds cancel out.
      const cpuOf = async (n: number) => {
        const before = Object.fromEntries(Object.entries(pids).map(([name, p]) => [name, cpuMs(p)]));
        await platformRun(c, g.name, n);
        return Object.fromEntries(Object.entries(pids).map(([name, p]) => [name, cpuMs(p) - before[name]]));
      };
      const short = await cpuOf(opts.iterations);
      const long = await cpuOf(3 * opts.iterations);
      for (const n of Object.keys(pids)) res.cpu[n] = (long[n] - short[n]) / (2 * opts.iterations);
    }
  } finally {
    await c.stop();
  }

  const rows = results.map((r) => {
    const a = median(r.single);
    const b = median(r.platform);
    return `| ${r.name} | ${r.nodes.toLocaleString('en')} / ${r.edges.toLocaleString('en')} | ${f2(a)} | ${f1(b)} | **${f1(b / a)}** | ${median(r.setupMs)} / ${median(r.outputMs)} | (a) ${r.single.map(f2).join(', ')}; (b) ${r.platform.map(f1).join(', ')} |`;
  });
  const cpuRows = [...Object.keys(results[0].cpu), 'all'].map((n) =>
    `| ${n} | ${results.map((r) => f1(n === 'all' ? Object.values(r.cpu).reduce((a, b) => a + b, 0) : r.cpu[n])).join(' | ')} |`);
  for (const r of results) log(`${r.name}: ratio of medians ${f1(median(r.platform) / median(r.single))}`);
  const date = new Date().toISOString().slice(0, 10);
  const path = writeSection('pagerank', `
## PageRank (issue 4)

Measured ${date} by \`npm run bench -- pagerank\` on this machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}),
Node ${process.version}, on a shared, noisy machine. The platform is what \`tandem up\` runs: the view
service, a primary and a backup master, 2 workers, and a private redis-server with its append-only
file on. ${opts.iterations} iterations per job (tol 0, so every run does the same work), 2 partitions,
${opts.runs} runs of each side after a warm-up job; medians, with every run listed.

(a) is the single-thread power iteration over a CSR graph (\`jobs/src/pagerank/reference.ts\`), the
graph already in memory. (b) is the platform's time per iteration from the master's replicated round
history: from the commit of the first iteration to the commit of the last, over the iterations in
between. Set-up (submit to the adjacency built: two MapReduce rounds over the edge list) and the
output round (formatting and sorting the ranks) happen once per job and are listed apart.

| graph | nodes / edges | (a) ms per iteration | (b) ms per iteration | **b/a** (goal ≤ 20) | (b) set-up / output round, ms | all runs |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

CPU time per iteration by process, in ms (/proc times around a job of ${3 * opts.iterations} iterations less those around one of
${opts.iterations}, so set-up and output rounds cancel out; the client is this process, following the job):

| process | ${results.map((r) => r.name).join(' | ')} |
| --- | ${results.map(() => '---').join(' | ')} |
${cpuRows.join('\n')}
`);
  log(`results written to ${path}`);
}
