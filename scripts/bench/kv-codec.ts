/**
 * `npm run bench -- kv-codec` (issue 19): the key/value path's blob codecs in one process, the JSON
 * codec they replaced (`encodePairs`/`decodePairs`, `JSON.stringify([keys, values])`) against the
 * binary ones (shared/src/codec.ts), alternately in one run: encode and decode of
 *  - a word-count-shaped shuffle blob: distinct keys (the sample books' bigrams), int counts;
 *  - a string-valued shuffle blob: the same keys, each with a line of text (grep-shaped);
 *  - an output blob: the same keys with their `key<TAB>count` lines.
 * Medians of `runs`, and new/old ratios (below 1: the binary codec is faster).
 *
 * With `--job-mb N`, also a user's plain word count (test/fixtures/jobs/plainwordcount.ts) on an N MB
 * corpus, whole jobs (submit, done, output written to a file) on the harness's cluster with 2
 * workers, against the same functions in one process (a child process: map over 8 MiB chunks into
 * one combiner table, reduce, sort, format, write), taking turns; with `--before DIR`, also with
 * the 2 workers started from another checkout (the code before, its `npm ci` done), the rest of
 * the cluster unchanged.
 *
 *   node --import tsx scripts/bench/kv-codec.ts one-process CORPUS OUT    # the baseline alone, one JSON line
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  compareCodePoints, decodeOutput, decodePairs, decodeShuffle, encodeOutput, encodePairs, encodeShuffle, putDataset, writeOutputFile, type JobType, type MapContext,
} from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { fixtureJobsDir, startCluster, waitForWorkers, type Cluster } from '../../test/harness/cluster.ts';
import { forEachChunk } from './baseline.ts';
import { buildCorpus, sampleTexts } from './corpus.ts';
import { writeSection } from './report.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** `n` distinct keys: the sample books' bigrams in order of first appearance, numbered beyond them if they run out. */
export function bigramKeys(n: number): string[] {
  const seen = new Set<string>();
  for (const t of sampleTexts()) {
    for (const line of t.toString('utf8').split('\n')) {
      const w = line.toLowerCase().match(/\p{L}+/gu) ?? [];
      for (let i = 0; i + 1 < w.length && seen.size < n; i++) seen.add(`${w[i]} ${w[i + 1]}`);
      if (seen.size >= n) break;
    }
    if (seen.size >= n) break;
  }
  const keys = [...seen];
  for (let i = 0; keys.length < n; i++) keys.push(`${keys[i % seen.size]} ${i}`);
  return keys;
}

interface Workload {
  name: string;
  keys: string[];
  values: unknown[];
  old: { encode: () => Buffer; decode: (b: Buffer) => unknown };
  now: { encode: () => Buffer; decode: (b: Buffer) => unknown };
}

interface Row {
  name: string;
  oldBytes: number;
  newBytes: number;
  oldEncode: number;
  newEncode: number;
  oldDecode: number;
  newDecode: number;
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export async function benchKvCodec(opts: { keys: number; runs: number; jobMb?: number; before?: string }): Promise<Row[]> {
  const log = (s: string) => console.log(s);
  const keys = bigramKeys(opts.keys);
  const counts = keys.map((_, i) => 1 + ((i * 7919) % 1000));
  const texts = keys.map((k, i) => `line ${i}: ${k} and the rest of the line it was found on`);
  const sorted = [...keys].sort(compareCodePoints);
  const lines = sorted.map((k, i) => `${k}\t${counts[i]}`);
  const workloads: Workload[] = [
    {
      name: `word-count shuffle (${keys.length.toLocaleString('en')} keys, int counts)`, keys, values: counts,
      old: { encode: () => encodePairs(keys, counts), decode: (b) => decodePairs(b) },
      now: { encode: () => encodeShuffle(keys, counts), decode: (b) => decodeShuffle(b) },
    },
    {
      name: `string-valued shuffle (${keys.length.toLocaleString('en')} keys, a line of text each)`, keys, values: texts,
      old: { encode: () => encodePairs(keys, texts), decode: (b) => decodePairs(b) },
      now: { encode: () => encodeShuffle(keys, texts), decode: (b) => decodeShuffle(b) },
    },
    {
      name: `output (${keys.length.toLocaleString('en')} keys and lines)`, keys: sorted, values: lines,
      old: { encode: () => encodePairs(sorted, lines), decode: (b) => decodeOutput(b) },
      now: { encode: () => encodeOutput(sorted, lines), decode: (b) => decodeOutput(b) },
    },
  ];
  const rows: Row[] = [];
  for (const w of workloads) {
    const t = { oe: [] as number[], ne: [] as number[], od: [] as number[], nd: [] as number[] };
    const oldBlob = w.old.encode();
    const newBlob = w.now.encode();
    // Both decode to the same records (a check, not a measurement).
    const a = w.old.decode(oldBlob) as { keys: string[]; values: ArrayLike<unknown> };
    const b = w.now.decode(newBlob) as { keys: string[]; values: ArrayLike<unknown> };
    if (a.keys.join('\n') !== b.keys.join('\n') || JSON.stringify(Array.from(a.values)) !== JSON.stringify(Array.from(b.values))) {
      throw new Error(`${w.name}: the two codecs decode to different records`);
    }
    for (let i = 0; i < opts.runs + 1; i++) {
      // Old and new take turns; run 0 warms both up and is not counted.
      const oe = time(w.old.encode);
      const ne = time(w.now.encode);
      const od = time(() => w.old.decode(oldBlob));
      const nd = time(() => w.now.decode(newBlob));
      if (i === 0) continue;
      t.oe.push(oe);
      t.ne.push(ne);
      t.od.push(od);
      t.nd.push(nd);
    }
    const row = { name: w.name, oldBytes: oldBlob.length, newBytes: newBlob.length, oldEncode: median(t.oe), newEncode: median(t.ne), oldDecode: median(t.od), newDecode: median(t.nd) };
    rows.push(row);
    log(`${w.name}: bytes ${row.oldBytes} JSON, ${row.newBytes} binary; encode ${row.oldEncode.toFixed(1)} → ${row.newEncode.toFixed(1)} ms (${(row.newEncode / row.oldEncode).toFixed(2)}); ` +
      `decode ${row.oldDecode.toFixed(1)} → ${row.newDecode.toFixed(1)} ms (${(row.newDecode / row.oldDecode).toFixed(2)}); ` +
      `all runs: encode JSON ${t.oe.map((x) => x.toFixed(0)).join(',')} binary ${t.ne.map((x) => x.toFixed(0)).join(',')}; decode JSON ${t.od.map((x) => x.toFixed(0)).join(',')} binary ${t.nd.map((x) => x.toFixed(0)).join(',')}`);
  }
  const job = opts.jobMb ? await benchPlainJob(opts.jobMb, Math.max(1, Math.min(opts.runs, 3)), opts.before, log) : null;
  const date = new Date().toISOString().slice(0, 10);
  const ms = (x: number) => x.toFixed(1);
  const path = writeSection('kv-codec', `
## The key/value codecs in one process (issue 19)

Measured ${date} by \`npm run bench -- kv-codec --keys ${opts.keys} --runs ${opts.runs}\` on this machine: ${cpus().length} cores
(${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, shared and noisy. JSON is the codec
before (\`JSON.stringify([keys, values])\` and \`JSON.parse\`), binary the one now (shared/src/codec.ts);
the two take turns, medians of ${opts.runs} runs each (the command prints every run). Keys are the sample
books' bigrams. Ratio: binary / JSON (below 1 is faster).

| blob | bytes JSON → binary | encode ms JSON → binary (ratio) | decode ms JSON → binary (ratio) |
| --- | --- | --- | --- |
${rows.map((r) => `| ${r.name} | ${r.oldBytes.toLocaleString('en')} → ${r.newBytes.toLocaleString('en')} | ${ms(r.oldEncode)} → ${ms(r.newEncode)} (${(r.newEncode / r.oldEncode).toFixed(2)}) | ${ms(r.oldDecode)} → ${ms(r.newDecode)} (${(r.newDecode / r.oldDecode).toFixed(2)}) |`).join('\n')}
${job ? `
**A user's plain word count, whole jobs** (\`--job-mb ${opts.jobMb}${opts.before ? ` --before ${opts.before}` : ''}\`): ${job.mb} MB corpus, ${job.maps} map tasks,
${job.partitions} partitions, 2 workers, from submit to the output file written; the one-process baseline runs the same
functions in a child process. Sides take turns, ${job.runs} runs each; medians, and the ratio to the one-process median.
CPU is the workers' CPU time during the job (both summed; the master's and Redis's not counted) or the one process's:
on a machine shared with other work, wall-clock ratios favour the side with more processes, while the CPU ratio says
how much more work the platform does than one process (on an idle 2-core machine, wall ≈ CPU ratio / 2 at best).

| side | wall, ms (runs) | median wall ms | wall ratio | CPU, ms (runs) | median CPU ms | CPU ratio |
| --- | --- | --- | --- | --- | --- | --- |
${job.sides.map((x) => `| ${x.name} | ${x.ms.map((v) => v.toFixed(0)).join(', ')} | ${median(x.ms).toFixed(0)} | ${(median(x.ms) / median(job.sides[0].ms)).toFixed(2)} | ${x.cpuMs.map((v) => v.toFixed(0)).join(', ')} | ${median(x.cpuMs).toFixed(0)} | ${(median(x.cpuMs) / median(job.sides[0].cpuMs)).toFixed(2)} |`).join('\n')}
` : ''}`);
  log(`written to ${path}`);
  return rows;
}

/** A key/value job type's functions in this process over the file (see the header); returns ms and keys. */
export async function runInOneProcess(type: JobType, corpus: string, out: string): Promise<{ ms: number; cpuMs: number; keys: number }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const combine = type.combine!;
  const table = new Map<string, unknown>();
  const emit = (k: string, v: unknown) => {
    const old = table.get(k);
    table.set(k, old === undefined ? v : combine(old, v));
  };
  let split = 0;
  // Each chunk is a view of a reused buffer: a synchronous map is done with it before the next.
  forEachChunk(corpus, (input) => {
    const ctx: MapContext<unknown, unknown> = { params: {}, split: split++, firstRecord: 1, record: 1, emit };
    if (type.map(input, ctx) instanceof Promise) throw new Error('the one-process baseline runs synchronous maps only');
  });
  const keys = [...table.keys()].sort(compareCodePoints);
  const fctx = { params: {}, partition: 0, emit() {} };
  const lines: string[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) lines[i] = type.format(keys[i], await type.reduce(keys[i], [table.get(keys[i])], fctx), fctx);
  writeFileSync(out, lines.join('\n') + '\n');
  const cpu = process.cpuUsage(cpu0);
  return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, keys: keys.length };
}

interface JobResult {
  mb: number;
  runs: number;
  maps: number;
  partitions: number;
  /** Wall time and CPU time (the workers' summed, or the one process's) of each run. */
  sides: { name: string; ms: number[]; cpuMs: number[] }[];
}

/** A process's CPU time so far (user + system), ms, from /proc (clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * Stops the cluster's current workers. The harness's stop() kills only the processes it started,
 * so a bench stops those of another checkout itself (SIGKILL once Redis is going: a worker waiting
 * on a stopped Redis does not end on SIGTERM).
 */
export async function stopWorkers(c: Cluster, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  for (const w of c.workers) if (w.exitCode === null && w.signalCode === null) w.kill(signal);
  await Promise.all(c.workers.map((w) => (w.exitCode === null && w.signalCode === null ? new Promise((r) => w.once('exit', r)) : null)));
  c.workers.length = 0;
}

/** Replaces the cluster's workers with 2 of this checkout (`root` null) or of the checkout at `root` (its `npm ci` done), the rest of the cluster unchanged. */
export async function restartWorkers(c: Cluster, root: string | null): Promise<void> {
  await stopWorkers(c, 'SIGTERM');
  for (let i = 0; i < 2; i++) {
    if (!root) c.startWorker();
    else c.workers.push(spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/worker/src/main.ts')], { cwd: root, env: { ...c.env, TANDEM_JOBS_DIR: fixtureJobsDir }, stdio: 'ignore' }));
  }
  await waitForWorkers(c);
}

async function benchPlainJob(mb: number, runs: number, before: string | undefined, log: (s: string) => void): Promise<JobResult> {
  const corpus = resolve(repoRoot, `.tandem/bench/corpus-${mb}mb.txt`);
  await buildCorpus(corpus, mb * 1_000_000);
  const outDir = resolve(repoRoot, '.tandem/bench/kv-codec');
  mkdirSync(outDir, { recursive: true });
  const c = await startCluster({ name: 'bench-kv-codec', workers: 0, env: { TANDEM_LOG_LEVEL: 'warn', TANDEM_LOCK_MS: '4000', TANDEM_STALLED_MS: '2000', TANDEM_RECONCILE_MS: '1000' } });
  const sides: JobResult['sides'] = [
    { name: 'one process', ms: [], cpuMs: [] },
    ...(before ? [{ name: `Tandem, workers from ${before}`, ms: [], cpuMs: [] }] : []),
    { name: 'Tandem, this checkout', ms: [], cpuMs: [] },
  ];
  let maps = 0;
  let partitions = 0;
  try {
    await putDataset(c.redis.client(), c.keys, createReadStream(corpus, { highWaterMark: 1 << 20 }), { name: 'corpus', format: 'text', splitBytes: 8 << 20 });
    const workers = (root: string | null) => restartWorkers(c, root);
    const workersCpu = () => c.workers.reduce((a, w) => a + cpuMsOf(w.pid!), 0);
    const job = async () => {
      const client = c.client();
      const cpu0 = workersCpu();
      const t0 = performance.now();
      const s = await client.waitUntilFinished(await client.submit({ type: 'plainwordcount', dataset: 'corpus' }));
      if (s.phase !== 'done') throw new Error(`plainwordcount ${s.phase}: ${s.error}`);
      await writeOutputFile(c.redis.client(), c.keys, { jobId: s.id, round: s.round, partitions: s.partitions }, join(outDir, 'tandem.txt'));
      maps = s.maps.total;
      partitions = s.partitions;
      return { ms: performance.now() - t0, cpuMs: workersCpu() - cpu0 };
    };
    for (let i = 0; i < runs; i++) {
      for (const side of sides) {
        if (side.name === 'one process') {
          const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'one-process', corpus, join(outDir, 'one.txt')], { cwd: repoRoot, encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`one-process baseline: ${r.stderr}`);
          const one = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; cpuMs: number };
          side.ms.push(one.ms);
          side.cpuMs.push(one.cpuMs);
        } else {
          await workers(side.name === 'Tandem, this checkout' ? null : before!);
          await job(); // warms the workers up (JIT)
          const t = await job();
          side.ms.push(t.ms);
          side.cpuMs.push(t.cpuMs);
        }
        log(`${side.name}: ${side.ms[side.ms.length - 1].toFixed(0)} ms, CPU ${side.cpuMs[side.cpuMs.length - 1].toFixed(0)} ms`);
      }
    }
    const same = spawnSync('cmp', [join(outDir, 'one.txt'), join(outDir, 'tandem.txt')]).status === 0;
    log(`Tandem's output ${same ? 'equals' : 'DIFFERS FROM'} the one-process output`);
    if (!same) process.exitCode = 1;
  } finally {
    await stopWorkers(c);
    await c.stop();
  }
  return { mb, runs, maps, partitions, sides };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'one-process') {
  const type = (await import(pathToFileURL(join(fixtureJobsDir, 'plainwordcount.ts')).href)).default as JobType;
  console.log(JSON.stringify(await runInOneProcess(type, process.argv[3], process.argv[4])));
}
