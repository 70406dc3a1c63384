/**
 * The fixed cost of an iteration (issue 19): where one barrier's time goes, on the Debian graph.
 *
 * PageRank's iterations are chained rounds: one reduce task per partition per iteration, and the
 * next round starts when the master has seen every task of this one commit. The benchmark runs
 * PageRank (2 partitions, tol 0) on the harness cluster (view service, primary and backup masters,
 * 2 workers) and splits each iteration, from the master recording one round's last commit to the
 * same for the next round, into stages, from timestamps the code already keeps (no instrumentation):
 *
 *   the round's last `committed` op proposed (the round history's finishedAt: the master's clock)
 *   -> applied: appended to the durable op log and held by the backup ("round k done" event)
 *   -> the next round's `enqueued` op applied after the same trip ("tasks enqueued" event)
 *   -> addBulk called (each BullMQ task's `timestamp`)
 *   -> taken by a worker (`processedOn`, the worker's moveToActive)
 *   -> run started (commit record `startedAt`: after the payload check and isCommitted)
 *   -> outputs written (`startedAt + ms`)
 *   -> committed (the worker's "task committed" event, after commit-task's Lua)
 *   -> moved to completed (`finishedOn`, the worker's moveToFinished)
 *   -> the master's `committed` op of the round's last task proposed (after the queue event and the
 *      commit record's read): the next round's finishedAt.
 *
 * For each iteration the stages are taken along its critical task (the one that finished last),
 * so they sum to the iteration's time exactly. All processes share one machine's clock; values are
 * milliseconds (Date.now), so stages are given as means over the iterations (their rounding
 * averages out) with the median of whole iterations beside them.
 *
 * With `--base DIR` (a checkout of the code to compare with, e.g. main in a second worktree with
 * its own node_modules) a second cluster is started from DIR's harness, and the jobs alternate
 * between the two clusters, so both are measured in the same run under the same noise.
 * With `--profile`, one more job runs on a cluster of this code whose masters and workers
 * run under a CPU profiler (cpu-profile.mjs: `node --cpu-prof` from NODE_OPTIONS); their profiles'
 * self time is summarised by area.
 */
import { createReadStream, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { putDataset, readCommits, requestJson, readJobEvents, taskJobId, type ClusterEvent, type CommitRecord, type JobStatus } from '@tandem/shared';
import { SETUP_ROUNDS } from '@tandem/jobs';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import type { Cluster, startCluster as StartCluster } from '../../test/harness/cluster.ts';
import { writeSection } from './report.ts';

/** As the pagerank benchmark runs its cluster: failure detection and reconcile off the path. */
const benchEnv = { TANDEM_LOG_LEVEL: 'warn', TANDEM_LOCK_MS: '4000', TANDEM_STALLED_MS: '2000', TANDEM_RECONCILE_MS: '1000' };
const DATASET = 'debian-python3-deps';

export const STAGES = [
  ['log', "commit op: durable log + backup"],
  ['plan', 'plan + enqueued op: log + backup'],
  ['add', 'to addBulk'],
  ['pickup', 'add + worker takes it (BullMQ)'],
  ['prelude', 'payload check, isCommitted'],
  ['run', 'task run: read, compute, write'],
  ['commit', 'commit (Lua)'],
  ['complete', 'moveToFinished (BullMQ)'],
  ['notice', 'queue event + commit read, op proposed'],
] as const;
export type Stage = (typeof STAGES)[number][0];

export interface Breakdown {
  /** Whole iterations, ms (finishedAt to finishedAt). */
  iterations: number[];
  /** Per stage, its value in each iteration, ms. */
  stages: Record<Stage, number[]>;
  /** Iterations whose two tasks ran on different workers, of all. */
  parallel: number;
  /** The other task's finish before the critical one's, ms (how far the two tasks are apart). */
  slack: number[];
  /** Op batches the primary forwarded to its backup during the job, per iteration (set-up, output round and status reads included), and their mean round trip, ms. */
  batches?: number;
  forwardMs?: number;
  /** Redis commands per iteration (whole job), by name. */
  calls?: Record<string, number>;
  /** CPU time per iteration (whole job), ms, by process. */
  cpu?: Record<string, number>;
}

/** CPU time (user + system) each of a cluster's processes has used, in ms (/proc: Linux). */
function cpuOf(c: Cluster): Record<string, number> {
  const procs: Record<string, number | undefined> = {
    redis: c.redis.proc.pid, 'view service': c.viewService.pid, 'primary master': c.masters[0].proc.pid, 'backup master': c.masters[1]?.proc.pid,
    'worker 1': c.workers[0]?.pid, 'worker 2': c.workers[1]?.pid,
  };
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(procs)) {
    if (pid === undefined) continue;
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    out[name] = (Number(f[11]) + Number(f[12])) * 10;
  }
  return out;
}

/** Commands Redis ran, by name (INFO commandstats; a script's own calls included). */
async function commandCalls(c: Cluster): Promise<Map<string, number>> {
  const info = String(await c.redis.client().info('commandstats'));
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1], Number(m[2]));
  return out;
}

/** Commands that are round trips of the barrier's processes (not a script's inner calls), per iteration. */
const TRIPS = ['evalsha', 'xread', 'xadd', 'hget', 'hexists', 'bzpopmin', 'mget', 'set', 'unlink', 'exec'];

type Health = { replication?: { batches: number; meanMs: number | null } };

/** The primary's replication figures (GET /health): batches forwarded so far and their total time. */
async function forwarded(c: Cluster): Promise<{ batches: number; ms: number }> {
  const { body } = await requestJson<Health>(new URL('/health', c.masters[0].url).href, { timeoutMs: 5000, secret: c.env.TANDEM_SECRET });
  const r = body.replication;
  return { batches: r?.batches ?? 0, ms: (r?.meanMs ?? 0) * (r?.batches ?? 0) };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

type BullTimes = { timestamp: number; processedOn: number; finishedOn: number };

/** The stages of every iteration of finished job `s` (its events, commit records and BullMQ entries must still be there). */
export async function breakdown(c: Cluster, s: JobStatus): Promise<Breakdown> {
  const redis = c.redis.client();
  const events = await readJobEvents(redis, c.keys, s.id, s.submittedAt);
  const master = events.filter((e) => e.proc.startsWith('master:'));
  // The master's events in order: "round k done", then the next "tasks enqueued" is round k+1's.
  const roundDone = new Map<number, number>();
  const enqueued = new Map<number, number>();
  let after = -1;
  for (const e of master) {
    const m = /^round (\d+) done$/.exec(e.what);
    if (m) {
      roundDone.set(Number(m[1]), e.at);
      after = Number(m[1]) + 1;
    } else if (e.what === 'tasks enqueued' && after >= 0 && !enqueued.has(after)) {
      enqueued.set(after, e.at);
    }
  }
  // A worker's "task committed" names the attempt: the BullMQ id, which holds the round.
  const committedAt = new Map<string, number>();
  for (const e of events as ClusterEvent[]) if (e.what === 'task committed' && e.detail) committedAt.set(e.detail, e.at);
  const b: Breakdown = { iterations: [], stages: Object.fromEntries(STAGES.map(([k]) => [k, []])) as unknown as Record<Stage, number[]>, parallel: 0, slack: [] };
  const R = s.partitions;
  const bull = async (id: string): Promise<BullTimes> => {
    const [t, p, f] = await redis.hmget(`${c.keys.bullPrefix('reduce')}:reduce:${id}`, 'timestamp', 'processedOn', 'finishedOn');
    if (!t || !p || !f) throw new Error(`BullMQ entry ${id} is gone (TANDEM_KEEP_COMPLETED_TASKS too low for this many iterations?)`);
    return { timestamp: Number(t), processedOn: Number(p), finishedOn: Number(f) };
  };
  const rounds = s.rounds;
  // Iteration k+1 follows round k; every round from the first iteration to the last has a successor in the history.
  for (let i = SETUP_ROUNDS; i + 1 < rounds.length; i++) {
    const k = rounds[i].round;
    const next = k + 1;
    const G0 = rounds[i].finishedAt;
    const G1 = rounds[i + 1].finishedAt;
    const H = roundDone.get(k);
    const I = enqueued.get(next);
    if (H === undefined || I === undefined) continue;
    const commits = await readCommits(redis, c.keys, s.id, next);
    const tasks: { id: string; bt: BullTimes; cr: CommitRecord; at: number }[] = [];
    for (let r = 0; r < R; r++) {
      const id = taskJobId(s.id, next, 'reduce', r);
      const cr = commits.get(`r${r}`);
      const at = committedAt.get(id);
      if (!cr || at === undefined || cr.attempt !== id) break;
      tasks.push({ id, bt: await bull(id), cr, at });
    }
    if (tasks.length !== R) continue;
    tasks.sort((x, y) => x.bt.finishedOn - y.bt.finishedOn);
    const t = tasks[R - 1];
    const v: Record<Stage, number> = {
      log: H - G0,
      plan: I - H,
      add: t.bt.timestamp - I,
      pickup: t.bt.processedOn - t.bt.timestamp,
      prelude: t.cr.startedAt - t.bt.processedOn,
      run: t.cr.ms,
      commit: t.at - (t.cr.startedAt + t.cr.ms),
      complete: t.bt.finishedOn - t.at,
      notice: G1 - t.bt.finishedOn,
    };
    for (const [k2] of STAGES) b.stages[k2].push(v[k2]);
    b.iterations.push(G1 - G0);
    if (new Set(tasks.map((x) => x.cr.worker)).size === R) b.parallel++;
    b.slack.push(t.bt.finishedOn - tasks[0].bt.finishedOn);
  }
  return b;
}

async function submitAndWait(c: Cluster, iterations: number): Promise<JobStatus> {
  const client = c.client();
  const id = await client.submit({ type: 'pagerank', dataset: DATASET, partitions: 2, params: { iterations: String(iterations), tol: '0' } });
  const s = await client.waitUntilFinished(id);
  if (s.phase !== 'done') throw new Error(`benchmark job ${id} ${s.phase}: ${s.error}`);
  return s;
}

/** The harness of the code in `dir` (this checkout, or the baseline's). */
async function harnessOf(dir: string): Promise<typeof StartCluster> {
  const mod = (await import(pathToFileURL(join(dir, 'test/harness/cluster.ts')).href)) as { startCluster: typeof StartCluster };
  return mod.startCluster;
}

async function clusterOf(dir: string, name: string, env: Record<string, string> = {}): Promise<Cluster> {
  const start = await harnessOf(dir);
  const c = await start({ name, workers: 2, masters: 2, env: { ...benchEnv, ...env } });
  await c.replicated();
  await putDataset(c.redis.client(), c.keys, createReadStream(resolve(repoRoot, `datasets/${DATASET}.csv`)), { name: DATASET, format: 'edges', splitBytes: 8 << 20 });
  await submitAndWait(c, 5); // warm-up: JIT, connections, the workers' code paths
  return c;
}

interface Side {
  label: string;
  dir: string;
  runs: Breakdown[];
}

/**
 * Self time of one .cpuprofile by area (a package, one of Tandem's files, Node's internals, GC),
 * counting only the samples taken between `fromMs` and `toMs` (Date.now() times).
 */
function profileAreas(path: string, fromMs: number, toMs: number): { busy: number; areas: [string, number][]; top: [string, number][] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    startTime: number;
    samples: number[];
    timeDeltas: number[];
    wallOffsetUs: number;
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime + p.wallOffsetUs;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    t += d;
    if (t >= fromMs * 1000 && t <= toMs * 1000) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + d);
  }
  const area = (url: string, fn: string): string => {
    if (fn === '(idle)' || fn === '(garbage collector)') return fn;
    if (fn === '(program)') return '(program: native)';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) return nm[1];
    const own = /\/(apps\/[^/]+\/src\/[^/]+|shared\/src\/[^/]+|jobs\/src\/.+)$/.exec(url);
    if (own) return own[1];
    if (url.startsWith('node:') || url === '') return 'node internals';
    return 'other';
  };
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const a = area(n.callFrame.url, n.callFrame.functionName);
    if (a === '(idle)') continue;
    areas.set(a, (areas.get(a) ?? 0) + us);
    const f = `${n.callFrame.functionName || '(anonymous)'} (${a})`;
    fns.set(f, (fns.get(f) ?? 0) + us);
    busy += us;
  }
  const sorted = (m: Map<string, number>) => [...m].sort((x, y) => y[1] - x[1]);
  return { busy, areas: sorted(areas), top: sorted(fns).slice(0, 8) };
}

/** One job on a cluster whose masters and workers run under --cpu-prof; a summary per process, per iteration. */
async function profile(iterations: number): Promise<string> {
  const dir = resolve(repoRoot, '.tandem/bench/barrier-prof');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // NODE_OPTIONS refuses --cpu-prof: cpu-profile.mjs does the same from inside the process.
  const c = await clusterOf(repoRoot, 'bench-barrier-prof', { NODE_OPTIONS: `--import ${pathToFileURL(resolve(repoRoot, 'scripts/bench/cpu-profile.mjs')).href}`, TANDEM_CPU_PROF_DIR: dir });
  let out = '';
  try {
    const s = await submitAndWait(c, iterations);
    const b = await breakdown(c, s);
    const primary = c.masters[0].proc;
    const procs = { 'primary master': primary, 'backup master': c.masters[1].proc, 'worker 1': c.workers[0], 'worker 2': c.workers[1] };
    // A clean exit writes the profile (SIGTERM: the processes stop and exit).
    for (const p of Object.values(procs)) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
    }
    const files = readdirSync(dir);
    // Only the iterations: from the first iteration's barrier to the last's.
    const from = s.rounds[SETUP_ROUNDS].finishedAt;
    const to = s.rounds[s.rounds.length - 1].finishedAt;
    const n = s.rounds.length - 1 - SETUP_ROUNDS;
    const perIt = (us: number) => us / 1000 / n;
    const parts: string[] = [];
    for (const [name, p] of Object.entries(procs)) {
      const f = files.find((x) => x === `CPU.${p.pid}.cpuprofile`);
      if (!f) {
        parts.push(`- ${name}: no profile written`);
        continue;
      }
      const r = profileAreas(join(dir, f), from, to);
      parts.push(`- **${name}**: ${f2(perIt(r.busy))} ms busy per iteration. By area: ${r.areas.slice(0, 10).map(([a, us]) => `${a} ${f2(perIt(us))}`).join(', ')}. Top functions (self): ${r.top.map(([fn, us]) => `${fn} ${f2(perIt(us))}`).join('; ')}.`);
    }
    out = `CPU profiles: one job of ${iterations} iterations on this code (${f2(mean(b.iterations))} ms per iteration under the profiler), each process's sampled time outside its idle event loop from the first iteration's barrier to the last's, divided by the iterations, ms. V8 samples by the wall clock, so a process preempted inside a system call (a write that wakes Redis or the backup, which on 2 loaded cores often runs first) is charged for the wait: the socket writes' share is mostly that, not CPU.\n\n${parts.join('\n')}\n\nProfiles: \`${dir.replace(repoRoot, '')}\` (open in Chrome's DevTools).`;
  } finally {
    await c.stop();
  }
  return out;
}

const envOf = (pairs?: string[]) => Object.fromEntries((pairs ?? []).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));

/** Raises the priority of a cluster's processes (its Redis, view service, masters, workers): the shared machine's other load then delays them less. */
function renice(c: Cluster, nice: number): void {
  const pids = [c.redis.proc, c.viewService, ...c.masters.map((m) => m.proc), ...c.workers].map((p) => p.pid).filter((p): p is number => p !== undefined);
  for (const pid of pids) spawnSync('renice', ['-n', String(nice), '-p', String(pid)], { stdio: 'ignore' });
}

export async function benchBarrier(opts: { iterations: number; runs: number; base?: string; profile: boolean; label: string; baseLabel: string; env?: string[]; baseEnv?: string[]; nice?: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const sides: Side[] = [{ label: opts.label, dir: repoRoot, runs: [] }];
  if (opts.base) sides.push({ label: opts.baseLabel, dir: resolve(opts.base), runs: [] });
  const clusters: Cluster[] = [];
  try {
    for (const [i, side] of sides.entries()) clusters.push(await clusterOf(side.dir, `bench-barrier-${i}`, envOf(i === 0 ? opts.env : opts.baseEnv)));
    if (opts.nice !== undefined) for (const c of clusters) renice(c, opts.nice);
    for (let run = 0; run < opts.runs; run++) {
      // Alternate which side goes first, so a drift of the machine's load hits both alike.
      const order = run % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => i).reverse();
      for (const i of order) {
        const f0 = await forwarded(clusters[i]);
        const c0 = await commandCalls(clusters[i]);
        const u0 = cpuOf(clusters[i]);
        const s = await submitAndWait(clusters[i], opts.iterations);
        const u1 = cpuOf(clusters[i]);
        const c1 = await commandCalls(clusters[i]);
        const f1 = await forwarded(clusters[i]);
        const b = await breakdown(clusters[i], s);
        b.batches = (f1.batches - f0.batches) / opts.iterations;
        b.forwardMs = (f1.ms - f0.ms) / Math.max(1, f1.batches - f0.batches);
        b.cpu = Object.fromEntries(Object.entries(u1).map(([k, ms]) => [k, (ms - (u0[k] ?? 0)) / opts.iterations]));
        b.calls = Object.fromEntries([...c1].map(([k, n]) => [k, (n - (c0.get(k) ?? 0)) / opts.iterations]));
        sides[i].runs.push(b);
        log(`${sides[i].label} run ${run + 1}: cpu ${f2(Object.values(b.cpu ?? {}).reduce((a, n) => a + n, 0))} ms; ${f2(mean(b.iterations))} ms per iteration (mean of ${b.iterations.length}, median ${median(b.iterations)}); ${f2(b.batches)} batches per iteration, forward ${f2(b.forwardMs)} ms; ${STAGES.map(([k]) => `${k} ${f2(mean(b.stages[k]))}`).join(', ')}`);
      }
    }
  } finally {
    await Promise.all(clusters.map((c) => c.stop()));
  }
  const profileText = opts.profile ? await profile(opts.iterations) : '';

  // Per side: the median over runs of each run's median iteration, and of each stage's mean.
  const summary = sides.map((side) => ({
    side,
    iteration: median(side.runs.map((b) => median(b.iterations))),
    meanIteration: median(side.runs.map((b) => mean(b.iterations))),
    stages: Object.fromEntries(STAGES.map(([k]) => [k, median(side.runs.map((b) => mean(b.stages[k])))])) as Record<Stage, number>,
    parallel: median(side.runs.map((b) => b.parallel / Math.max(1, b.iterations.length))),
    slack: median(side.runs.map((b) => median(b.slack))),
    batches: median(side.runs.map((b) => b.batches ?? 0)),
    forwardMs: median(side.runs.map((b) => b.forwardMs ?? 0)),
    calls: Object.fromEntries(TRIPS.map((k) => [k, median(side.runs.map((b) => b.calls?.[k] ?? 0))])),
    allCalls: median(side.runs.map((b) => Object.values(b.calls ?? {}).reduce((a, n) => a + n, 0))),
    cpu: Object.fromEntries(Object.keys(side.runs[0]?.cpu ?? {}).map((k) => [k, median(side.runs.map((b) => b.cpu?.[k] ?? 0))])),
    allCpu: median(side.runs.map((b) => Object.values(b.cpu ?? {}).reduce((a, n) => a + n, 0))),
  }));
  const head = `| stage | ${summary.map((x) => x.side.label).join(' | ')} |`;
  const rule = `| --- | ${summary.map(() => '---:').join(' | ')} |`;
  const rows = STAGES.map(([k, what]) => `| ${what} | ${summary.map((x) => f2(x.stages[k])).join(' | ')} |`);
  const sum = `| **sum: mean iteration** | ${summary.map((x) => `**${f2(x.meanIteration)}**`).join(' | ')} |`;
  const med = `| median iteration (ms are whole: coarse) | ${summary.map((x) => f2(x.iteration)).join(' | ')} |`;
  const par = `| iterations whose 2 tasks ran on 2 workers | ${summary.map((x) => `${Math.round(x.parallel * 100)} %`).join(' | ')} |`;
  const slack = `| the other task finished earlier by (median) | ${summary.map((x) => f2(x.slack)).join(' | ')} |`;
  const batches = `| op batches forwarded to the backup per iteration (whole job) | ${summary.map((x) => f2(x.batches)).join(' | ')} |`;
  const fwd = `| their mean round trip to the backup, ms | ${summary.map((x) => f2(x.forwardMs)).join(' | ')} |`;
  const calls = `| Redis commands per iteration (whole job; scripts' inner calls included) | ${summary.map((x) => f1(x.allCalls)).join(' | ')} |`;
  const trips = TRIPS.map((k) => `| ${k.toUpperCase()} per iteration | ${summary.map((x) => f2(x.calls[k])).join(' | ')} |`);
  const cpuRows = [...Object.keys(summary[0].cpu).map((k) => `| CPU ms per iteration: ${k} | ${summary.map((x) => f2(x.cpu[k] ?? 0)).join(' | ')} |`),
    `| **CPU ms per iteration, all of them** (10 ms ticks: whole job / iterations) | ${summary.map((x) => `**${f2(x.allCpu)}**`).join(' | ')} |`];
  const all = sides.map((side) => `${side.label}: ${side.runs.map((b) => f2(mean(b.iterations))).join(', ')}`).join('; ');
  const ratio = summary.length === 2 ? summary[0].meanIteration / summary[1].meanIteration : null;
  if (ratio !== null) log(`ratio of medians ${opts.label}/${opts.baseLabel}: ${f2(ratio)}`);
  const date = new Date().toISOString().slice(0, 10);
  const command = ['npm run bench -- barrier', `--runs ${opts.runs}`, `--iterations ${opts.iterations}`, ...(opts.nice !== undefined ? [`--nice ${opts.nice}`] : []),
    ...(opts.base ? [`--base ${opts.base}`] : []), ...(opts.profile ? ['--profile'] : [])].join(' ');
  const path = writeSection('barrier', `
## The fixed cost of an iteration (issue 19)

Measured ${date} by \`${command}\` on this machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version},
a shared, noisy machine. PageRank on the Debian graph (\`datasets/${DATASET}.csv\`), 2 partitions,
${opts.iterations} iterations (tol 0), on the harness cluster: view service, primary and backup masters, 2
workers, a private redis-server (append-only file on, appendfsync no)${opts.nice !== undefined ? `, every process of the clusters at nice ${opts.nice} (the other load of the machine then delays them less)` : ''}. ${opts.runs} jobs per side${opts.base ? ', the two sides\' clusters running side by side and taking turns' : ''}, after a warm-up job.
Goal: at most 3 ms per iteration.

Each iteration is split into stages from the timestamps the code keeps (commit records, BullMQ's
task times, the event log), along its critical task (the one that finished last), so the stages sum
to the iteration; ms, the mean over a job's iterations, then the median over jobs. \`scripts/bench/barrier.ts\`
says where each timestamp comes from.

${head}
${rule}
${rows.join('\n')}
${sum}
${med}
${par}
${slack}
${batches}
${fwd}
${cpuRows.join('\n')}
${calls}
${trips.join('\n')}

Mean iteration of each job, ms: ${all}.${ratio !== null ? ` **Ratio of medians ${opts.label} / ${opts.baseLabel}: ${f2(ratio)}.**` : ''}

${profileText}
`);
  log(`results written to ${path}`);
}
