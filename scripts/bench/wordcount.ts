/**
 * Word-count benchmark (issue 2): in one run, on one machine,
 *  (a) the fastest single-thread word count (WordCounter, the same kernel the workers run),
 *  (b) the platform with 2 workers, dataset already uploaded, from submit to committed output,
 * and the ratio b/a; plus upload throughput, per-task overhead and the workers' peak memory.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { putDataset, type JobStatus } from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { jobOutput, startCluster, waitForWorkers, type Cluster } from '../../test/harness/cluster.ts';
import { baselineWordCount } from './baseline.ts';
import { buildCorpus } from './corpus.ts';
import { mbps, writeSection } from './report.ts';

const benchEnv = { TANDEM_LOG_LEVEL: 'warn', TANDEM_LOCK_MS: '4000', TANDEM_STALLED_MS: '2000', TANDEM_RECONCILE_MS: '1000' };

/** Peak resident memory (VmHWM) of a process, in MiB. */
function peakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Submits a job and follows it (long polls) until it finishes; returns the wall time from submit to done. */
async function timeJob(c: Cluster, spec: { type: string; dataset: string; partitions?: number }): Promise<{ ms: number; s: JobStatus }> {
  const client = c.client();
  const t0 = performance.now();
  const id = await client.submit(spec);
  const s = await client.waitUntilFinished(id);
  const ms = performance.now() - t0;
  if (s.phase !== 'done') throw new Error(`benchmark job ${id} ${s.phase}: ${s.error}`);
  return { ms, s };
}

async function upload(c: Cluster, name: string, path: string, splitBytes: number) {
  const t0 = performance.now();
  const meta = await putDataset(c.redis.client(), c.keys, createReadStream(path, { highWaterMark: 1 << 20 }), { name, format: 'text', splitBytes });
  return { ms: performance.now() - t0, meta };
}

async function restartWorkers(c: Cluster, n: number) {
  for (const w of c.workers) w.kill('SIGTERM');
  await Promise.all(c.workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : null)));
  c.workers.length = 0;
  for (let i = 0; i < n; i++) c.startWorker();
  await waitForWorkers(c);
}

export async function benchWordcount(opts: { mb: number; runs: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const big = resolve(repoRoot, `.tandem/bench/corpus-${opts.mb}mb.txt`);
  const quarter = resolve(repoRoot, `.tandem/bench/corpus-${Math.round(opts.mb / 4)}mb.txt`);
  const { bytes } = await buildCorpus(big, opts.mb * 1_000_000);
  const { bytes: qbytes } = await buildCorpus(quarter, Math.round(opts.mb / 4) * 1_000_000);
  log(`corpus: ${big} (${bytes} bytes); ${cpus().length} cores`);

  const base: number[] = [];
  let reference = '';
  for (let i = 0; i < opts.runs; i++) {
    const r = baselineWordCount(big);
    base.push(r.ms);
    reference = r.text;
    log(`(a) single thread: ${r.ms.toFixed(0)} ms (${r.words} words, ${r.distinct} distinct)`);
  }

  const c = await startCluster({ name: 'bench-wordcount', workers: 0, env: benchEnv });
  try {
    const up = await upload(c, 'corpus', big, 8 << 20);
    log(`upload: ${bytes} bytes in ${up.ms.toFixed(0)} ms = ${mbps(bytes, up.ms).toFixed(0)} MB/s (${up.meta.splits} splits)`);
    const upq = await upload(c, 'quarter', quarter, 8 << 20);
    // The same upload with Redis's append-only file switched off, to separate Redis's disk cost.
    const admin = c.redis.client();
    await admin.config('SET', 'appendonly', 'no');
    const upNoAof = await upload(c, 'corpus-noaof', big, 8 << 20);
    await admin.config('SET', 'appendonly', 'yes');
    log(`upload without AOF: ${mbps(bytes, upNoAof.ms).toFixed(0)} MB/s`);

    await restartWorkers(c, 2);
    await timeJob(c, { type: 'wordcount', dataset: 'quarter' });
    const peakQuarter = c.workers.map((w) => peakMiB(w.pid!));
    log(`workers' peak memory after a ${(qbytes / 1e6).toFixed(0)} MB job: ${peakQuarter.map((m) => m.toFixed(0)).join(', ')} MiB`);

    await restartWorkers(c, 2);
    const plat: number[] = [];
    let last: JobStatus | undefined;
    let peakFirst: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const { ms, s } = await timeJob(c, { type: 'wordcount', dataset: 'corpus' });
      plat.push(ms);
      last = s;
      log(`(b) platform, 2 workers: ${ms.toFixed(0)} ms (${s.maps.total} map tasks, ${s.partitions} partitions)`);
      if (i === 0) {
        peakFirst = c.workers.map((w) => peakMiB(w.pid!));
        log(`workers' peak memory after one ${(bytes / 1e6).toFixed(0)} MB job: ${peakFirst.map((m) => m.toFixed(0)).join(', ')} MiB`);
      }
    }
    const peakBig = c.workers.map((w) => peakMiB(w.pid!));
    log(`workers' peak memory after ${opts.runs} ${(bytes / 1e6).toFixed(0)} MB jobs: ${peakBig.map((m) => m.toFixed(0)).join(', ')} MiB`);
    const same = (await jobOutput(c, last!)) === reference;
    log(`platform output ${same ? 'equals' : 'DIFFERS FROM'} the single-thread output`);
    if (!same) process.exitCode = 1;

    // Per-task overhead: 1,000 splits of one short line each.
    const tiny = Array.from({ length: 1000 }, (_, i) => `${'word '.repeat(190)}line ${i}`).join('\n') + '\n';
    const tmeta = await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(tiny)]), { name: 'tiny', format: 'text', splitBytes: 1024 });
    const tinyRun = await timeJob(c, { type: 'wordcount', dataset: 'tiny', partitions: 1 });
    const perTask = tinyRun.ms / (tmeta.splits + 1);
    log(`per-task overhead: ${tmeta.splits} map tasks + 1 reduce in ${tinyRun.ms.toFixed(0)} ms = ${perTask.toFixed(2)} ms per task (${(perTask * 2).toFixed(2)} ms of worker time per task with 2 workers)`);

    const a = Math.min(...base);
    const b = Math.min(...plat);
    const ratio = b / a;
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    // The platform's first run starts cold workers (JIT warm-up); the median leaves it out.
    const aMed = median(base);
    const bMed = median(plat.slice(1).length ? plat.slice(1) : plat);
    log(`ratio b/a = ${ratio.toFixed(2)} (best of ${opts.runs} each); medians ${bMed.toFixed(0)} / ${aMed.toFixed(0)} = ${(bMed / aMed).toFixed(2)}`);

    const date = new Date().toISOString().slice(0, 10);
    const path = writeSection('wordcount', `
## Word count (issue 2)

Measured ${date} by \`npm run bench -- wordcount\` on this machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}),
Node ${process.version}, a private redis-server (append-only file on, appendfsync no), on a shared, noisy machine.
Corpus: ${(bytes / 1e6).toFixed(0)} MB of English text (the sample books in datasets/, repeated).
Best of ${opts.runs} runs each; all runs are printed by the command.

| measure | result | goal |
| --- | --- | --- |
| (a) single thread, same word rule (WordCounter kernel, read + count + sort + format) | ${a.toFixed(0)} ms (${mbps(bytes, a).toFixed(0)} MB/s) | |
| (b) platform, 2 workers, submit → committed output | ${b.toFixed(0)} ms (${last!.maps.total} map tasks, ${last!.partitions} partitions) | |
| **ratio b/a**, best run of each | **${ratio.toFixed(2)}** | ≤ 1.0 |
| ratio of medians (platform: warm runs only) | ${(bMed / aMed).toFixed(2)} (${bMed.toFixed(0)} / ${aMed.toFixed(0)} ms) | |
| all runs, ms | (a) ${base.map((x) => x.toFixed(0)).join(', ')}; (b) ${plat.map((x) => x.toFixed(0)).join(', ')} (first with cold workers) | |
| upload throughput (\`putDataset\`, 8 MiB splits), Redis AOF on | ${mbps(bytes, up.ms).toFixed(0)} MB/s (${(bytes / 1e6).toFixed(0)} MB in ${(up.ms / 1000).toFixed(2)} s); ${mbps(qbytes, upq.ms).toFixed(0)} MB/s for ${(qbytes / 1e6).toFixed(0)} MB | ≥ 100 MB/s |
| upload throughput, Redis AOF off (same run) | ${mbps(bytes, upNoAof.ms).toFixed(0)} MB/s | ≥ 100 MB/s |
| per-task overhead (1,000 one-line splits + 1 reduce, 2 workers) | ${perTask.toFixed(2)} ms per task wall clock (${(perTask * 2).toFixed(2)} ms of worker time) | ≤ 3 ms |
| workers' peak RSS (VmHWM), fresh workers, one ${(qbytes / 1e6).toFixed(0)} MB job | ${peakQuarter.map((m) => `${m.toFixed(0)} MiB`).join(', ')} | bounded |
| workers' peak RSS, fresh workers, one ${(bytes / 1e6).toFixed(0)} MB job | ${peakFirst.map((m) => `${m.toFixed(0)} MiB`).join(', ')} | same as above |
| workers' peak RSS after ${opts.runs} × ${(bytes / 1e6).toFixed(0)} MB jobs | ${peakBig.map((m) => `${m.toFixed(0)} MiB`).join(', ')} | |

Platform output equals the single-thread output: ${same ? 'yes' : 'NO'}.
`);
    log(`results written to ${path}`);
  } finally {
    await c.stop();
  }
}
