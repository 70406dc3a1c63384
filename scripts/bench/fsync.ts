/**
 * What `appendfsync always` (tandem up's Redis, docs/DESIGN.md §3.7) costs against Redis's default
 * `everysec`, in one run: submit latency (p50, p99) of a primary with a backup, a word count of a
 * corpus and a PageRank of the Debian graph, end to end (submit to done) with 2 workers. Each round
 * starts a fresh Redis and cluster under each policy, alternately, so drift in the machine's load
 * hits both. Results go to docs/BENCHMARKS.md.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { putDataset } from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { startCluster, type Cluster } from '../../test/harness/cluster.ts';
import { startRedis } from '../../test/harness/redis.ts';
import { buildCorpus } from './corpus.ts';
import { env, f2, median, pct, tinyDataset } from './failover.ts';
import { writeSection } from './report.ts';

type Policy = 'everysec' | 'always';

export interface Run {
  submits: number[];
  wordcountMs: number;
  pagerankMs: number;
}

export async function jobMs(c: Cluster, spec: Parameters<ReturnType<Cluster['client']>['submit']>[0]): Promise<number> {
  const client = c.client();
  const t0 = performance.now();
  const s = await client.waitUntilFinished(await client.submit(spec));
  if (s.phase !== 'done') throw new Error(`benchmark job ${s.id} ${s.phase}: ${s.error}`);
  return performance.now() - t0;
}

/**
 * The workload fsync's and the metrics benchmark's clusters run: the tiny, corpus and Debian datasets,
 * `ops` timed submits (after 30 to warm up), then a word count and a PageRank timed from submit to done.
 */
export async function submitsAndJobs(c: Cluster, opts: { ops: number; corpus: string; iterations: number }): Promise<Run> {
  await tinyDataset(c);
  await putDataset(c.redis.client(), c.keys, createReadStream(opts.corpus), { name: 'corpus', format: 'text', splitBytes: 8 << 20 });
  await putDataset(c.redis.client(), c.keys, createReadStream(resolve(repoRoot, 'datasets/debian-python3-deps.csv')), { name: 'debian', format: 'edges', splitBytes: 8 << 20 });
  const client = c.client();
  for (let i = 0; i < 30; i++) await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
  const submits: number[] = [];
  for (let i = 0; i < opts.ops; i++) {
    const t0 = performance.now();
    await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
    submits.push(performance.now() - t0);
  }
  // The submits' jobs finish before the timed jobs start, so they do not share the workers.
  for (const j of await client.list()) if (j.phase !== 'done') await client.waitUntilFinished(j.id);
  const wordcountMs = await jobMs(c, { type: 'wordcount', dataset: 'corpus', partitions: 2 });
  const pagerankMs = await jobMs(c, { type: 'pagerank', dataset: 'debian', partitions: 2, params: { iterations: String(opts.iterations), tol: '0' } });
  return { submits, wordcountMs, pagerankMs };
}

async function runOnce(policy: Policy, opts: { ops: number; corpus: string; iterations: number }): Promise<Run> {
  const redis = await startRedis({ appendfsync: policy });
  let c: Cluster | undefined;
  try {
    c = await startCluster({ name: `bench-fsync-${policy}`, masters: 2, workers: 2, redis, env });
    await c.replicated();
    return await submitsAndJobs(c, opts);
  } finally {
    await c?.stop();
    await redis.stop();
  }
}

export async function benchFsync(opts: { ops: number; mb: number; iterations: number; rounds: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-fsync-'));
  try {
    const corpus = join(dir, 'corpus.txt');
    const { bytes } = await buildCorpus(corpus, opts.mb * 1e6);
    const runs: Record<Policy, Run[]> = { everysec: [], always: [] };
    for (let r = 0; r < opts.rounds; r++) {
      for (const policy of ['everysec', 'always'] as Policy[]) {
        const run = await runOnce(policy, { ops: opts.ops, corpus, iterations: opts.iterations });
        runs[policy].push(run);
        log(`round ${r + 1}, ${policy}: submit p50 ${f2(median(run.submits))} ms, p99 ${f2(pct(run.submits, 99))} ms; word count ${run.wordcountMs.toFixed(0)} ms; PageRank ${run.pagerankMs.toFixed(0)} ms`);
      }
    }
    const agg = (p: Policy) => {
      const s = runs[p].flatMap((x) => x.submits);
      return { p50: median(s), p99: pct(s, 99), wc: median(runs[p].map((x) => x.wordcountMs)), pr: median(runs[p].map((x) => x.pagerankMs)) };
    };
    const e = agg('everysec');
    const a = agg('always');
    const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
    const each = (p: Policy, k: 'wordcountMs' | 'pagerankMs') => runs[p].map((x) => x[k].toFixed(0)).join(', ');
    const md = `
Run: \`npm run bench -- fsync --ops ${opts.ops} --mb ${opts.mb} --iterations ${opts.iterations} --rounds ${opts.rounds}\` (${new Date().toISOString().slice(0, 10)}; 2 cores, loopback, one disk; a fresh Redis (AOF on) and cluster (primary + backup, 2 workers) per policy and round, measured alternately).

**What \`appendfsync always\` costs** against Redis's default \`everysec\` (${opts.ops} submits per cluster; jobs timed from submit to done; median of ${opts.rounds} rounds (of an even count, the higher), each run in brackets; submit percentiles over all rounds' submits):

| | everysec | always | always / everysec |
| --- | --- | --- | --- |
| submit p50 | ${f2(e.p50)} ms | ${f2(a.p50)} ms | ${ratio(a.p50, e.p50)} |
| submit p99 | ${f2(e.p99)} ms | ${f2(a.p99)} ms | ${ratio(a.p99, e.p99)} |
| word count, ${(bytes / 1e6).toFixed(0)} MB, 2 partitions | ${e.wc.toFixed(0)} ms (${each('everysec', 'wordcountMs')}) | ${a.wc.toFixed(0)} ms (${each('always', 'wordcountMs')}) | ${ratio(a.wc, e.wc)} |
| PageRank, Debian graph, ${opts.iterations} iterations | ${e.pr.toFixed(0)} ms (${each('everysec', 'pagerankMs')}) | ${a.pr.toFixed(0)} ms (${each('always', 'pagerankMs')}) | ${ratio(a.pr, e.pr)} |

Under \`always\` Redis fsyncs its AOF before it answers each write (group commit: the writes of one
event-loop turn share an fsync), so the cost is that of the disk's flush; it buys that an
acknowledged op outlives a crash of Redis's host (docs/DESIGN.md §3.7). Under \`everysec\` a host
crash may lose the last second, which Tandem detects and reports (§3.4) but cannot undo.
`;
    log(md);
    log(`written to ${writeSection('fsync', md)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
