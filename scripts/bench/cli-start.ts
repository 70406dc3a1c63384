/**
 * Start-up of the compiled CLI (dist/, `npm run build`) against the same CLI through tsx, in one run:
 *  (1) `node bin/tandem.js --help` and `--version` (compiled) vs `node --import tsx
 *      apps/cli/src/main.ts --help` / `--version` (what bin/tandem.js ran before the build), and
 *      `node -e 0` (node alone), N runs each, interleaved; median, p90, ratio;
 *  (2) `tandem up --workers 1` from the spawn to its "up:" line (view service, two masters as
 *      primary and backup, a worker), compiled vs through tsx, against one private redis-server.
 * The build is brought up to date first (not timed). Results go to docs/BENCHMARKS.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { startRedis } from '../../test/harness/redis.ts';
import { freePort, freePortPair } from '../../test/harness/wait.ts';
import { median, pct } from './failover.ts';
import { writeSection } from './report.ts';

const bin = join(repoRoot, 'bin/tandem.js');
const src = join(repoRoot, 'apps/cli/src/main.ts');

/** Wall-clock ms of one run of node with these arguments (its output is checked, not shown). */
function timed(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  if (r.stderr) throw new Error(`node ${args.join(' ')} wrote to stderr (a rebuild or a fallback?): ${r.stderr}`);
  return ms;
}

/** Ms from spawning `tandem up` to its "up:" line; then stops it (SIGINT) and waits for it to exit. */
async function upReady(args: string[], redisUrl: string, prefix: string): Promise<number> {
  const [masterPort, viewPort, consolePort] = [await freePortPair(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-up-'));
  const env = {
    ...process.env, REDIS_URL: redisUrl, TANDEM_PREFIX: prefix, TANDEM_DATA_DIR: dataDir,
    TANDEM_MASTER_PORT: String(masterPort), TANDEM_VIEW_PORT: String(viewPort), TANDEM_VIEW_URL: `http://127.0.0.1:${viewPort}`, TANDEM_CONSOLE_PORT: String(consolePort), TANDEM_METRICS_PORT: '0',
  };
  const t0 = performance.now();
  // Its own process group, so that whatever is left after it stops can be found and killed.
  const p = spawn(process.execPath, [...args, 'up', '--workers', '1'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<string>((r) => p.once('exit', (code, signal) => r(signal ?? `code ${code}`)));
  let out = '';
  let ready = 0;
  try {
    // Timed to "up:"; stopped once it handles Ctrl-C (after the console answers), so it stops its children.
    await new Promise<void>((resolve, reject) => {
      p.stdout.on('data', (d) => {
        out += d;
        if (!ready && out.includes('tandem: up:')) ready = performance.now() - t0;
        if (out.includes('Ctrl-C stops everything')) resolve();
      });
      p.stderr.on('data', (d) => (out += d));
      p.once('exit', (code) => reject(new Error(`tandem up exited (${code}) before it was up:\n${out}`)));
    });
    return ready;
  } finally {
    if (p.exitCode === null) p.kill('SIGINT');
    const how = await exited;
    const left = spawnSync('pgrep', ['-g', String(p.pid)], { encoding: 'utf8' }).stdout.trim();
    if (left) {
      console.log(`warning: ${args.join(' ')} up exited (${how}) with processes of its own still running; killed now: ${left.split('\n').join(', ')}`);
      process.kill(-p.pid!, 'SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A table row: median, p90, and how many times faster than `base` (by medians). */
const row = (name: string, xs: number[], base?: number[]) =>
  `| ${name} | ${median(xs).toFixed(0)} ms | ${pct(xs, 90).toFixed(0)} ms | ${base ? `${(median(base) / median(xs)).toFixed(1)}×` : ''} |`;

export async function benchCliStart(opts: { runs: number; upRuns: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const b = spawnSync(process.execPath, [join(repoRoot, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  if (b.status !== 0) throw new Error('npm run build failed');
  const cases: Record<string, string[]> = {
    'node -e 0 (node alone)': ['-e', '0'],
    'compiled --help': [bin, '--help'],
    'tsx --help': ['--import', 'tsx', src, '--help'],
    'compiled --version': [bin, '--version'],
    'tsx --version': ['--import', 'tsx', src, '--version'],
  };
  const ms: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const args of Object.values(cases)) timed(args); // warm the file cache
  for (let i = 0; i < opts.runs; i++) for (const [k, args] of Object.entries(cases)) ms[k].push(timed(args));
  for (const [k, xs] of Object.entries(ms)) log(`${k}: median ${median(xs).toFixed(0)} ms, p90 ${pct(xs, 90).toFixed(0)} ms`);

  const up = { compiled: [] as number[], tsx: [] as number[] };
  const redis = await startRedis({ aof: false });
  try {
    for (let i = 0; i < opts.upRuns; i++) {
      up.compiled.push(await upReady([bin], redis.url, `bench-up-c${i}`));
      up.tsx.push(await upReady(['--import', 'tsx', src], redis.url, `bench-up-t${i}`));
      log(`tandem up ready: compiled ${up.compiled[i].toFixed(0)} ms, tsx ${up.tsx[i].toFixed(0)} ms`);
    }
  } finally {
    await redis.stop();
  }

  const md = `
## CLI start-up: compiled vs tsx (issue 13)

Run: \`npm run bench -- cli-start --runs ${opts.runs} --up-runs ${opts.upRuns}\` (${new Date().toISOString().slice(0, 10)}; 2 cores, Node ${process.version}, a shared, noisy machine).
Wall clock of a whole process, ${opts.runs} runs of each, interleaved; "compiled" is \`node bin/tandem.js\` with a fresh
build in dist/ (its staleness check included), "tsx" is \`node --import tsx apps/cli/src/main.ts\`.

| command | median | p90 | compiled is faster by |
| --- | --- | --- | --- |
${row('`node -e 0` (node alone, for scale)', ms['node -e 0 (node alone)'])}
${row('`tandem --help`, tsx', ms['tsx --help'])}
${row('**`tandem --help`, compiled** (goal ≤ 150 ms)', ms['compiled --help'], ms['tsx --help'])}
${row('`tandem --version`, tsx', ms['tsx --version'])}
${row('`tandem --version`, compiled', ms['compiled --version'], ms['tsx --version'])}
${row(`\`tandem up --workers 1\` to "up:", tsx (${opts.upRuns} runs)`, up.tsx)}
${row(`\`tandem up --workers 1\` to "up:", compiled (${opts.upRuns} runs)`, up.compiled, up.tsx)}

Above node's own start (medians): \`--help\` ${(median(ms['compiled --help']) - median(ms['node -e 0 (node alone)'])).toFixed(0)} ms compiled, ${(median(ms['tsx --help']) - median(ms['node -e 0 (node alone)'])).toFixed(0)} ms through tsx.
On a loaded machine node's own start grows the most, so compare within a run.
"up:" comes once the view service answers, one master is primary and the other its acknowledged
backup, so that line includes the masters' ping interval and view changes, not only start-up.
`;
  log(md);
  log(`written to ${writeSection('cli-start', md)}`);
}
