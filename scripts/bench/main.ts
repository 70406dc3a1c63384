/**
 * `npm run bench -- <name> [options]`: runs a benchmark and records its results in docs/BENCHMARKS.md.
 * Benchmarks compare against a baseline measured in the same run and report ratios.
 */
import { Command, Option } from 'commander';
import { benchBarrier } from './barrier.ts';
import { benchBulk } from './bulk.ts';
import { benchCliStart } from './cli-start.ts';
import { benchCluster } from './cluster.ts';
import { benchDurability } from './durability.ts';
import { benchFailover } from './failover.ts';
import { benchLinearizability } from './linearizability.ts';
import { benchMetrics } from './metrics.ts';
import { benchFsync } from './fsync.ts';
import { benchKvCodec } from './kv-codec.ts';
import { benchPagerank } from './pagerank.ts';
import { benchPagerankSetup } from './pagerank-setup.ts';
import { benchReduceMerge, benchReduceMergeJobs } from './reduce-merge.ts';
import { benchRestarts } from './restarts.ts';
import { benchScale, parseList, type ScaleOptions } from './scale.ts';
import { benchWordcount } from './wordcount.ts';
import { wcTimeline } from './wc-timeline.ts';

const program = new Command('bench').description('Tandem benchmarks; results go to docs/BENCHMARKS.md');
program
  .command('wordcount')
  .description('single-thread word count vs the platform with 2 workers; upload MB/s; per-task overhead; worker memory')
  .option('--mb <n>', 'corpus size in MB', (v) => Number(v), 100)
  .option('--runs <n>', 'runs of each side (best is reported)', (v) => Number(v), 2)
  .action(async (opts: { mb: number; runs: number }) => benchWordcount(opts));

program
  .command('failover')
  .description('replicated master: failover time, replication cost (latency with vs without a backup), a word count across a failover')
  .option('--trials <n>', 'failovers to time', (v) => Number(v), 10)
  .option('--ops <n>', 'submits per latency measurement', (v) => Number(v), 400)
  .option('--mb <n>', 'word-count corpus size in MB', (v) => Number(v), 100)
  .action(async (opts: { trials: number; ops: number; mb: number }) => benchFailover(opts));

program
  .command('durability')
  .description('durable op log: submit latency with vs without it, recovery after both masters or the view service are SIGKILLed')
  .option('--ops <n>', 'submits per latency measurement', (v) => Number(v), 400)
  .option('--jobs <n>', 'jobs in the table when both masters die', (v) => Number(v), 200)
  .option('--trials <n>', 'recoveries to time', (v) => Number(v), 3)
  .action(async (opts: { ops: number; jobs: number; trials: number }) => benchDurability(opts));

program
  .command('fsync')
  .description("Redis's appendfsync always (tandem up's) vs everysec: submit p50/p99, a word count and a PageRank job")
  .option('--ops <n>', 'submits per cluster', (v) => Number(v), 300)
  .option('--mb <n>', 'word-count corpus size in MB', (v) => Number(v), 20)
  .option('--iterations <n>', 'PageRank iterations', (v) => Number(v), 10)
  .option('--rounds <n>', 'clusters of each policy, alternately', (v) => Number(v), 2)
  .action(async (opts: { ops: number; mb: number; iterations: number; rounds: number }) => benchFsync(opts));

program
  .command('metrics')
  .description('what Prometheus metrics cost: submit latency, a word count and a PageRank with TANDEM_METRICS=off vs on (every process scraped), taking turns')
  .option('--ops <n>', 'submits per cluster', (v) => Number(v), 300)
  .option('--mb <n>', 'word-count corpus size in MB', (v) => Number(v), 50)
  .option('--iterations <n>', 'PageRank iterations', (v) => Number(v), 20)
  .option('--rounds <n>', 'rounds, each a cluster per side', (v) => Number(v), 3)
  .option('--scrape-ms <n>', 'with metrics on, scrape every process this often', (v) => Number(v), 1000)
  .action(async (opts: { ops: number; mb: number; iterations: number; rounds: number; scrapeMs: number }) => benchMetrics(opts));

program
  .command('pagerank')
  .description('ms per PageRank iteration: single-thread power iteration vs the platform with 2 workers, on a generated graph and the Debian sample')
  .option('--nodes <n>', 'nodes of the generated graph (those that get no edge do not count)', (v) => Number(v), 65_536)
  .option('--edges <n>', 'edges of the generated graph, about', (v) => Number(v), 275_000)
  .option('--iterations <n>', 'iterations per job', (v) => Number(v), 50)
  .option('--runs <n>', 'runs of each side', (v) => Number(v), 3)
  .action(async (opts: { nodes: number; edges: number; iterations: number; runs: number }) => benchPagerank(opts));

program
  .command('pagerank-setup')
  .description("PageRank's two set-up rounds on an R-MAT graph, task by task in child processes (no Redis): time and peak RSS per phase, this checkout vs a git ref")
  .option('--scale <n>', 'R-MAT graph scale: 2^n vertices, 16 · 2^n edges', (v) => Number(v), 18)
  .option('--runs <n>', 'runs of each side, taking turns', (v) => Number(v), 3)
  .option('--partitions <n>', 'partitions P', (v) => Number(v), 2)
  .option('--before <ref>', 'git ref whose jobs/src/pagerank/ is the baseline', 'main')
  .option('--job-base <dir>', 'also time whole jobs on the harness cluster: this checkout vs the one in DIR (with its node_modules)')
  .option('--job-scale <n>', 'R-MAT scale of the whole jobs', (v) => Number(v), 18)
  .option('--job-runs <n>', 'whole jobs of each side, taking turns', (v) => Number(v), 2)
  .action(async (opts: { scale: number; runs: number; partitions: number; before: string; jobBase?: string; jobScale: number; jobRuns: number }) => benchPagerankSetup(opts));

program
  .command('barrier')
  .description('the fixed cost of a PageRank iteration on the Debian graph, split into stages (pick-up, run, commit, queue event, op log and backup, enqueue); with --base, against another checkout in the same run')
  .option('--iterations <n>', 'iterations per job', (v) => Number(v), 200)
  .option('--runs <n>', 'jobs per side', (v) => Number(v), 5)
  .option('--base <dir>', 'a checkout (with node_modules) to compare with, e.g. main in a second worktree')
  .option('--label <s>', "this checkout's name in the table", 'this code')
  .option('--base-label <s>', "the base checkout's name in the table", 'main')
  .option('--nice <n>', "the clusters' processes' nice value (e.g. -5: less of the shared machine's noise)", (v) => Number(v))
  .option('--env <k=v...>', "environment for this checkout's cluster")
  .option('--base-env <k=v...>', "environment for the base checkout's cluster")
  .option('--profile', 'also run one job with the masters and the workers under a CPU profiler (node --cpu-prof)', false)
  .action(async (opts: { iterations: number; runs: number; base?: string; label: string; baseLabel: string; profile: boolean; env?: string[]; baseEnv?: string[]; nice?: number }) => benchBarrier(opts));

program
  .command('cli-start')
  .description('start-up of the compiled CLI vs the same through tsx: tandem --help, --version, and tandem up until it is up')
  .option('--runs <n>', 'runs of each command', (v) => Number(v), 20)
  .option('--up-runs <n>', 'runs of tandem up on each side', (v) => Number(v), 3)
  .action(async (opts: { runs: number; upRuns: number }) => benchCliStart(opts));

program
  .command('linearizability')
  .description('the linearizability checker on chaos-sized histories of the simulated master, vs the pairwise read check it replaced')
  .option('--histories <n>', 'histories (simulation seeds)', (v) => Number(v), 5)
  .option('--runs <n>', 'checks of each history', (v) => Number(v), 5)
  .action(async (opts: { histories: number; runs: number }) => benchLinearizability(opts));

program
  .command('restarts')
  .description("tandem up's view service SIGKILLed after ten earlier restarts: time until the view answers again, with the restart wait never resetting vs resetting")
  .option('--earlier <n>', 'restarts before the measured ones', (v) => Number(v), 10)
  .option('--trials <n>', 'measured kills on each side', (v) => Number(v), 3)
  .option('--gap-s <s>', 'seconds the view service runs before each kill (more than the 10 s reset time)', (v) => Number(v), 11)
  .action(async (opts: { earlier: number; trials: number; gapS: number }) => benchRestarts(opts));

program
  .command('bulk')
  .description("the workers' raw Redis client on one Redis vs a 3-primary Redis Cluster (with and without replicas): split reads, PageRank blobs, reduce inputs")
  .option('--reads <n>', '8 MiB split reads per round', (v) => Number(v), 48)
  .option('--tasks <n>', 'tasks of each blob workload per round', (v) => Number(v), 200)
  .option('--rounds <n>', 'rounds, the topologies taking turns', (v) => Number(v), 3)
  .option('--connections <n>', 'connections per node (TANDEM_READ_CONNECTIONS)', (v) => Number(v), 4)
  .action(async (opts: { reads: number; tasks: number; rounds: number; connections: number }) => benchBulk(opts));

program
  .command('cluster')
  .description('Tandem on one Redis vs a Redis Cluster of 3 primaries + 3 replicas: word count and R-MAT PageRank wall times, each primary\'s share of the bytes, what WAIT on the op log costs')
  .option('--mb <n>', 'word-count corpus size in MB', (v) => Number(v), 1024)
  .option('--scale <n>', 'R-MAT graph scale: 2^n vertices, 16 · 2^n edges', (v) => Number(v), 20)
  .option('--iterations <n>', 'PageRank iterations', (v) => Number(v), 10)
  .option('--rounds <n>', 'rounds, one Redis and the cluster taking turns', (v) => Number(v), 1)
  .option('--ops <n>', 'submits per op-log setting per round', (v) => Number(v), 300)
  .action(async (opts: { mb: number; scale: number; iterations: number; rounds: number; ops: number }) => benchCluster(opts));

program
  .command('reduce-merge')
  .description("a key/value job's shuffle and reduce in one process: the table path (decode whole, fold, sort) vs the streamed merge of sorted runs, a plain word count's map and reduce sides")
  .option('--mb <n>', 'corpus MB (8 MiB splits)', (v) => Number(v), 100)
  .option('--partitions <n>', 'reduce partitions', (v) => Number(v), 3)
  .option('--runs <n>', 'runs of each side, taking turns', (v) => Number(v), 5)
  .option('--job-mb <n>', 'whole jobs instead (word count and the plain word count) on a corpus of this many MB, with --before', (v) => Number(v))
  .option('--before <dir>', 'with --job-mb: a checkout of the code before (its npm ci done), whose workers take turns with this checkout\'s')
  .option('--types <list>', 'with --job-mb: the job types, comma-separated', (v) => v.split(',').filter(Boolean), ['wordcount', 'plainwordcount'])
  .action(async (opts: { mb: number; partitions: number; runs: number; jobMb?: number; before?: string; types: string[] }) => {
    if (opts.jobMb === undefined) return benchReduceMerge(opts);
    if (!opts.before) throw new Error('--job-mb needs --before DIR (a checkout of the code before)');
    return benchReduceMergeJobs({ jobMb: opts.jobMb, before: opts.before, runs: opts.runs, types: opts.types });
  });

program
  .command('kv-codec')
  .description('the key/value shuffle and output codecs in one process: JSON (before) vs binary, encode and decode, word-count-shaped and string-valued')
  .option('--keys <n>', 'distinct keys per blob', (v) => Number(v), 300_000)
  .option('--runs <n>', 'runs of each codec (and, up to 3, of each side of the whole job)', (v) => Number(v), 9)
  .option('--job-mb <n>', "also a user's plain word count on a corpus of this many MB: 2 workers against one process", (v) => Number(v))
  .option('--before <dir>', 'with --job-mb, also with the workers from this checkout (the code before)')
  .action(async (opts: { keys: number; runs: number; jobMb?: number; before?: string }) => void (await benchKvCodec(opts)));

program
  .command('scale')
  .description("issue 19's figures on a real `tandem up --workers 2`, whole commands against single-thread baselines in the same run (taking turns): " +
    "word count and a user's plain word count job at each size, R-MAT PageRank (the whole `npm run pagerank`) at each scale, the fixed cost of an " +
    'iteration on the Debian graph, workers\' peak RSS and Redis\'s used_memory alongside; tables and two SVG charts (docs/bench-scale-*.svg)')
  .option('--wc-mb <list>', 'word-count corpus sizes in MB, comma-separated (tandem job run wordcount vs the tuned counter); "" for none', (v) => (v.trim() === '' ? [] : parseList('--wc-mb', v, 1, 100_000)), [100, 300, 1000])
  .option('--plain-mb <list>', 'corpus sizes in MB for the plain job type (vs its functions in one process); "" for none', (v) => (v.trim() === '' ? [] : parseList('--plain-mb', v, 1, 100_000)), [100, 300, 1000])
  .option('--scales <list>', 'R-MAT scales (2^n vertices, 16·2^n edges) for PageRank; "" for none', (v) => (v.trim() === '' ? [] : parseList('--scales', v, 4, 26)), [16, 18, 20])
  .option('--iterations <n>', 'PageRank iterations of the R-MAT jobs (tol 0)', (v) => parseList('--iterations', v, 2, 10_000)[0], 10)
  .option('--fixed <n>', 'iterations of the shorter Debian job (the fixed-cost measure); 0 skips that measure', (v) => parseList('--fixed', v, 0, 10_000)[0], 10)
  .option('--extra <n>', 'iterations the longer Debian job has more', (v) => parseList('--extra', v, 1, 10_000)[0], 200)
  .option('--runs <n>', 'runs of each side of every measure, taking turns', (v) => parseList('--runs', v, 1, 100)[0], 3)
  .addOption(new Option('--appendfsync <policy>', "Redis's fsync policy: always is tandem up's own redis-server (every write fsynced); everysec or no, a redis-server the benchmark starts for tandem up to use").choices(['always', 'everysec', 'no']).default('everysec'))
  .option('--dask', "also the peer issue 19 names, a word count in Dask (Debian's python3-dask and python3-distributed under /usr/bin/python3, 2 worker processes) at each --wc-mb, output compared with Tandem's; skipped with a message when Dask is not installed")
  .action(async (opts: ScaleOptions) => benchScale(opts));

program
  .command('wc-timeline')
  .description("where a whole `tandem job run` word count's wall time goes, from the CLI's spawn to its exit (CLI lines, job status, task commits); printed, not recorded")
  .option('--mb <n>', 'corpus size in MB', (v) => parseList('--mb', v, 1, 100_000)[0], 100)
  .option('--runs <n>', 'runs after a warm-up', (v) => parseList('--runs', v, 1, 100)[0], 5)
  .option('--type <name>', 'job type (wordcount, or the plain job: plainwordcount)', 'wordcount')
  .option('--partitions <r>', 'partitions of the job (default: the job type\'s rule)', (v) => parseList('--partitions', v, 1, 1000)[0])
  .option('--profile <dir>', 'also write CPU profiles of the CLI and every process of tandem up to this folder (cpu-profile.mjs)')
  .action(async (opts: { mb: number; runs: number; type: string; partitions?: number; profile?: string }) => wcTimeline(opts));

program.parseAsync(process.argv).catch((err) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(1);
});
