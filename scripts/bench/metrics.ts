/**
 * What Prometheus metrics cost (issue 20): the same jobs on a cluster with TANDEM_METRICS=off, on and
 * not scraped, and on and scraped, in one run, a fresh Redis and cluster (primary + backup, 2 workers) per side and round, the sides
 * taking turns (each round starts with another side) so drift in the machine's load hits all
 * three. On the scraped side, a scraper reads every process's /metrics (bearer secret) every
 * `--scrape-ms`, harsher than Prometheus's usual 15 s, so the cost includes being scraped.
 * Measured: submit latency (p50, p99: each op batch observes tandem_op_commit_seconds), a word
 * count of a generated corpus and a PageRank of the Debian graph (many small tasks: one observation
 * per task), submit to done. Results go to docs/BENCHMARKS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authHeader } from '@tandem/shared';
import { startCluster, type Cluster } from '../../test/harness/cluster.ts';
import { startRedis } from '../../test/harness/redis.ts';
import { freePort } from '../../test/harness/wait.ts';
import { buildCorpus } from './corpus.ts';
import { env, f2, median, pct } from './failover.ts';
import { submitsAndJobs } from './fsync.ts';
import { writeSection } from './report.ts';

type Side = 'off' | 'on' | 'scraped';
const SIDES: Side[] = ['off', 'on', 'scraped'];
const LABEL: Record<Side, string> = { off: 'metrics off', on: 'on, not scraped', scraped: 'on, scraped' };
const SECRET = 'bench-metrics-secret-0123456789';

interface Run {
  submits: number[];
  wordcountMs: number;
  pagerankMs: number;
  scrapes: number;
  scrapeBytes: number;
}

/** Scrapes every URL every `everyMs` until stopped; counts the scrapes that answered 200 and their bytes. */
function startScraper(urls: string[], everyMs: number) {
  let scrapes = 0;
  let bytes = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(urls.map(async (u) => {
        const r = await fetch(u, { headers: authHeader(SECRET) }).catch(() => null);
        if (r?.status === 200) {
          scrapes++;
          bytes += (await r.arrayBuffer()).byteLength;
        }
      }));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { async stop() { stopped = true; await loop; return { scrapes, bytes }; } };
}

async function runOnce(side: Side, opts: { ops: number; corpus: string; iterations: number; scrapeMs: number }): Promise<Run> {
  const redis = await startRedis();
  let c: Cluster | undefined;
  try {
    c = await startCluster({ name: `bench-metrics-${side}`, masters: 2, workers: 0, redis, env: { ...env, TANDEM_SECRET: SECRET, TANDEM_METRICS: side === 'off' ? 'off' : 'on' } });
    const workerPorts = [await freePort(), await freePort()];
    for (const port of workerPorts) c.startWorker({ TANDEM_METRICS_PORT: String(port) });
    await c.replicated();
    const urls = [c.viewUrl, ...c.masters.map((m) => m.url), ...workerPorts.map((p) => `http://127.0.0.1:${p}`)].map((u) => new URL('/metrics', u).href);
    const scraper = side === 'scraped' ? startScraper(urls, opts.scrapeMs) : null;
    const { submits, wordcountMs, pagerankMs } = await submitsAndJobs(c, opts);
    const s = (await scraper?.stop()) ?? { scrapes: 0, bytes: 0 };
    if (side === 'scraped' && s.scrapes === 0) throw new Error(`no scrape of ${urls.join(', ')} answered 200: are metrics served?`);
    return { submits, wordcountMs, pagerankMs, scrapes: s.scrapes, scrapeBytes: s.bytes };
  } finally {
    await c?.stop();
    await redis.stop();
  }
}

export async function benchMetrics(opts: { ops: number; mb: number; iterations: number; rounds: number; scrapeMs: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-metrics-'));
  try {
    const corpus = join(dir, 'corpus.txt');
    const { bytes } = await buildCorpus(corpus, opts.mb * 1e6);
    const runs: Record<Side, Run[]> = { off: [], on: [], scraped: [] };
    for (let r = 0; r < opts.rounds; r++) {
      // Each round starts with another side, so no side always runs first or last.
      for (const side of SIDES.map((_, i) => SIDES[(i + r) % SIDES.length])) {
        const run = await runOnce(side, { ops: opts.ops, corpus, iterations: opts.iterations, scrapeMs: opts.scrapeMs });
        runs[side].push(run);
        log(`round ${r + 1}, ${LABEL[side]}: submit p50 ${f2(median(run.submits))} ms, p99 ${f2(pct(run.submits, 99))} ms; word count ${run.wordcountMs.toFixed(0)} ms; PageRank ${run.pagerankMs.toFixed(0)} ms${side === 'scraped' ? `; ${run.scrapes} scrapes, ${(run.scrapeBytes / run.scrapes / 1024).toFixed(1)} KiB each` : ''}`);
      }
    }
    const agg = (s: Side) => {
      const all = runs[s].flatMap((x) => x.submits);
      return { p50: median(all), p99: pct(all, 99), wc: median(runs[s].map((x) => x.wordcountMs)), pr: median(runs[s].map((x) => x.pagerankMs)) };
    };
    const off = agg('off');
    const on = agg('on');
    const sc = agg('scraped');
    const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
    const each = (s: Side, k: 'wordcountMs' | 'pagerankMs') => runs[s].map((x) => x[k].toFixed(0)).join(', ');
    const scrapes = runs.scraped.reduce((n, x) => n + x.scrapes, 0);
    const scrapeKiB = runs.scraped.reduce((n, x) => n + x.scrapeBytes, 0) / Math.max(1, scrapes) / 1024;
    const md = `
Run: \`npm run bench -- metrics --ops ${opts.ops} --mb ${opts.mb} --iterations ${opts.iterations} --rounds ${opts.rounds} --scrape-ms ${opts.scrapeMs}\` (${new Date().toISOString().slice(0, 10)}; 2 cores, loopback; a fresh Redis and cluster (primary + backup, 2 workers, TANDEM_SECRET set) per side and round, the sides taking turns).

**What metrics cost**: TANDEM_METRICS=on, not scraped and with every process (view service, both masters, both workers) scraped every ${opts.scrapeMs} ms (${scrapes} scrapes, ${scrapeKiB.toFixed(1)} KiB each on average), against TANDEM_METRICS=off (no instrument, /metrics a 404). Medians of ${opts.rounds} rounds, each run in brackets; submit percentiles over all rounds' ${opts.ops} submits each:

| | metrics off | on, not scraped | on, scraped | not scraped / off | scraped / off |
| --- | --- | --- | --- | --- | --- |
| submit p50 | ${f2(off.p50)} ms | ${f2(on.p50)} ms | ${f2(sc.p50)} ms | ${ratio(on.p50, off.p50)} | ${ratio(sc.p50, off.p50)} |
| submit p99 | ${f2(off.p99)} ms | ${f2(on.p99)} ms | ${f2(sc.p99)} ms | ${ratio(on.p99, off.p99)} | ${ratio(sc.p99, off.p99)} |
| word count, ${(bytes / 1e6).toFixed(0)} MB, 2 partitions | ${off.wc.toFixed(0)} ms (${each('off', 'wordcountMs')}) | ${on.wc.toFixed(0)} ms (${each('on', 'wordcountMs')}) | ${sc.wc.toFixed(0)} ms (${each('scraped', 'wordcountMs')}) | ${ratio(on.wc, off.wc)} | ${ratio(sc.wc, off.wc)} |
| PageRank, Debian graph, ${opts.iterations} iterations | ${off.pr.toFixed(0)} ms (${each('off', 'pagerankMs')}) | ${on.pr.toFixed(0)} ms (${each('on', 'pagerankMs')}) | ${sc.pr.toFixed(0)} ms (${each('scraped', 'pagerankMs')}) | ${ratio(on.pr, off.pr)} | ${ratio(sc.pr, off.pr)} |

Instruments are observed once per task and once per op batch, never per record; gauges (queue
counts, jobs by phase, Redis RTT) are read at scrape time, so an unscraped process pays only for
the counters and histograms.
`;
    log(md);
    log(`written to ${writeSection('metrics', md)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
