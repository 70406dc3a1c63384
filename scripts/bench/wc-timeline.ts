/**
 * Where a whole `tandem job run wordcount --dataset D --out FILE` command's wall time goes (issue 19's
 * 100 MB word count): on a real `tandem up --workers 2`, each run's timeline from the CLI's spawn to its
 * exit, from three clocks on one machine: the CLI's standard error lines as they arrive (submitted,
 * progress, output written), the master's job status (submitted, finished) and the tasks' commit
 * records (each map and reduce task's start and duration); and the CPU time the CLI and the workers
 * used (less sensitive than wall time to a machine shared with other work). Medians over the runs; printed, not
 * recorded (a diagnosis for `bench -- scale`'s figures). With --profile DIR the CLI and the workers
 * run with cpu-profile.mjs (NODE_OPTIONS) and write their CPU profiles to DIR.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { readCommits, keys as keysFor, type CommitRecord } from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { startRedis } from '../../test/harness/redis.ts';
import { buildCorpus } from './corpus.ts';
import { median } from './scale.ts';
import { startUp, jobsFolder } from './tandem-up.ts';

const BENCH = resolve(repoRoot, '.tandem/bench');
const bin = join(repoRoot, 'bin/tandem.js');

interface Line {
  at: number;
  text: string;
}

/** CPU time (user + system) a process has used so far, ms (Linux, /proc; NaN once it is gone). */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}
const CLK_TCK = 100;

/**
 * Runs the CLI under /usr/bin/time (its CPU time, the last line of its standard error), stamping each
 * standard error line with Date.now() as it arrives.
 */
function runStamped(args: string[], env: NodeJS.ProcessEnv): Promise<{ spawnAt: number; exitAt: number; lines: Line[]; cpuMs: number }> {
  return new Promise((res, rej) => {
    const spawnAt = Date.now();
    const p = spawn('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, bin, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const lines: Line[] = [];
    let rest = '';
    p.stderr.on('data', (d) => {
      const at = Date.now();
      const parts = (rest + String(d)).split('\n');
      rest = parts.pop()!;
      for (const text of parts) lines.push({ at, text });
    });
    p.on('error', rej);
    p.on('close', (code) => {
      const exitAt = Date.now();
      const cpu = /^cpu (\S+) (\S+)$/.exec(lines.at(-1)?.text ?? '');
      if (code !== 0) rej(new Error(`tandem ${args.join(' ')} exited ${code}:\n${lines.map((l) => l.text).join('\n')}`));
      else res({ spawnAt, exitAt, lines, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN });
    });
  });
}

const span = (cs: CommitRecord[]) => ({
  start: Math.min(...cs.map((c) => c.startedAt)),
  end: Math.max(...cs.map((c) => c.startedAt + c.ms)),
  busy: cs.reduce((a, c) => a + c.ms, 0),
});

export async function wcTimeline(o: { mb: number; runs: number; type: string; profile?: string; partitions?: number }): Promise<void> {
  const log = (s: string) => console.log(`[timeline ${new Date().toISOString().slice(11, 19)}] ${s}`);
  const path = join(BENCH, `corpus-${o.mb}mb.txt`);
  await buildCorpus(path, o.mb * 1_000_000);
  const extra: Record<string, string> = { TANDEM_JOBS_DIR: jobsFolder([resolve(repoRoot, 'scripts/bench/plainwordcount.js')]) };
  if (o.profile) {
    mkdirSync(o.profile, { recursive: true });
    Object.assign(extra, { NODE_OPTIONS: `--import ${resolve(repoRoot, 'scripts/bench/cpu-profile.mjs')}`, TANDEM_CPU_PROF_DIR: resolve(o.profile) });
  }
  const redis = await startRedis({ appendfsync: 'everysec' });
  const up = await startUp(2, extra, log, { url: redis.url, pid: redis.proc.pid! });
  const rows: Record<string, number>[] = [];
  try {
    await up.tandem(['dataset', 'put', 'corpus', path, '--format', 'text']);
    const outFile = join(BENCH, 'timeline-out.txt');
    const args = ['job', 'run', o.type, '--dataset', 'corpus', '--out', outFile, ...(o.partitions ? ['--partitions', String(o.partitions)] : [])];
    for (let run = -1; run < o.runs; run++) {
      const workers = up.pids().workers;
      const cpuBefore = workers.map(cpuMs);
      const r = await runStamped(args, process.env.WC_CLI_NODE_OPTIONS ? { ...up.env, NODE_OPTIONS: process.env.WC_CLI_NODE_OPTIONS } : up.env);
      const id = /submitted job (\S+)/.exec(r.lines.map((l) => l.text).join('\n'))![1];
      const st = await up.master.status(id);
      const commits = [...(await readCommits(up.redis, keysFor(up.env.TANDEM_PREFIX ?? "tandem"), id, 0)).entries()];
      const maps = span(commits.filter(([f]) => f.startsWith('m')).map(([, c]) => c));
      const reds = span(commits.filter(([f]) => f.startsWith('r')).map(([, c]) => c));
      const at = (re: RegExp) => r.lines.find((l) => re.test(l.text))?.at ?? NaN;
      const t = (x: number) => x - r.spawnAt;
      const row = {
        submitted: t(st.submittedAt),
        submittedLine: t(at(/^submitted job/)),
        firstMapStart: t(maps.start),
        lastMapEnd: t(maps.end),
        firstReduceStart: t(reds.start),
        lastReduceEnd: t(reds.end),
        finished: t(st.finishedAt!),
        doneLineSeen: t(at(/^(running|done): map \d+\/\d+, reduce (\d+)\/\2$|^done:/)),
        wroteLine: t(at(/^wrote /)),
        exit: t(r.exitAt),
        mapBusy: maps.busy,
        reduceBusy: reds.busy,
        cliCpu: r.cpuMs,
        workersCpu: workers.reduce((a, w, i) => a + cpuMs(w) - cpuBefore[i], 0),
        maps: commits.filter(([f]) => f.startsWith('m')).length,
        reduces: commits.filter(([f]) => f.startsWith('r')).length,
      };
      log(`run ${run + 1}${run < 0 ? ' (warm-up)' : ''}: ${JSON.stringify(row)}`);
      const byWorker = new Map<string, string[]>();
      for (const [f, c] of commits.sort((a, b) => a[1].startedAt - b[1].startedAt)) {
        byWorker.set(c.worker, [...(byWorker.get(c.worker) ?? []), `${f} ${t(c.startedAt)}+${c.ms}`]);
      }
      for (const [w, ts] of byWorker) log(`  ${w}: ${ts.join(', ')}`);
      if (run >= 0) rows.push(row);
      await up.tandem(['job', 'rm', id]);
    }
  } finally {
    await up.stop();
    await redis.stop();
  }
  const keys = Object.keys(rows[0]);
  log(`medians over ${rows.length} runs (ms from the CLI's spawn):`);
  for (const k of keys) log(`  ${k.padEnd(18)} ${median(rows.map((r) => r[k])).toFixed(0).padStart(6)}   (${rows.map((r) => r[k].toFixed(0)).join(', ')})`);
}
