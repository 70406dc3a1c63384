// The compiled release: `npm run build` (scripts/build.mjs) writes dist/, and bin/tandem.js runs it
// (rebuilding it first when it is older than the sources) from any working directory: --help, --version, and `tandem up` starting the compiled programs with
// plain node (no tsx), which then run a word count and a .js job type from the jobs folder (a .ts
// one is listed too: compiled processes register tsx for the jobs folder). main.ts lists the
// commands without importing them; their summaries must be the commands' own descriptions.
// The other tests run the sources through tsx and need no build.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { fixtureJobsDir } from './harness/cluster.ts';
import { redisForFile } from './harness/redis.ts';
import { freePort, freePortPair, waitFor } from './harness/wait.ts';

const bin = join(repoRoot, 'bin/tandem.js');
const elsewhere = mkdtempSync(join(tmpdir(), 'tandem-build-cwd-'));
// Under the repository, so that a job type's `import '@tandem/shared'` resolves.
mkdirSync(join(repoRoot, 'test-output'), { recursive: true });
const jobsDir = mkdtempSync(join(repoRoot, 'test-output', 'build-jobs-'));
after(() => {
  rmSync(elsewhere, { recursive: true, force: true });
  rmSync(jobsDir, { recursive: true, force: true });
});
const rs = redisForFile();

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: elsewhere, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('npm run build writes dist/ with the programs, the Lua scripts, the console files and a stamp', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts/build.mjs')], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['cli.js', 'master.js', 'worker.js', 'view-service.js', 'console.js', 'cli.js.map', '.stamp', 'lua/commit-task-1.lua', 'public/console.css']) {
    assert.ok(existsSync(join(repoRoot, 'dist', f)), `dist/${f}`);
  }
  assert.ok(statSync(join(repoRoot, 'dist/.stamp')).mtimeMs >= statSync(join(repoRoot, 'apps/cli/src/main.ts')).mtimeMs, 'the stamp is newer than the sources');
});

test('compiled tandem --help and --version, from another working directory', async () => {
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const v = await run(['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, `${version}\n`);
  assert.equal(v.stderr, '', 'a fresh build runs without a rebuild or a note');
  const h = await run(['--help']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /^Usage: tandem \[options\] \[command\]/);
  for (const c of ['up', 'dataset', 'job', 'events', 'view', 'gc', 'pagerank']) assert.match(h.stdout, new RegExp(`^  ${c} `, 'm'), `--help lists ${c}`);
  const sub = await run(['--redis-url', 'redis://127.0.0.1:1', 'help', 'dataset']);
  assert.equal(sub.code, 0, sub.stderr);
  assert.match(sub.stdout, /^Usage: tandem dataset/, 'a command named after a global flag and its value is the one loaded');
  const bad = await run(['nosuch']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown command 'nosuch'/);
});

test('bin/tandem.js rebuilds a build older than the sources before it runs, without a note', async () => {
  const stamp = join(repoRoot, 'dist/.stamp');
  utimesSync(stamp, 0, 0);
  const v = await run(['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stderr, '');
  assert.ok(statSync(stamp).mtimeMs >= statSync(join(repoRoot, 'apps/cli/src/main.ts')).mtimeMs, 'a new stamp');
  assert.match(readFileSync(stamp, 'utf8'), /^built \d{4}-/);
});

test("tandem --help lists each command with the command's own description", async () => {
  const loaded = await Promise.all([
    import('../apps/cli/src/commands/dataset.ts').then((m) => m.datasetCommand()),
    import('../apps/cli/src/commands/job.ts').then((m) => m.jobCommand()),
    import('../apps/cli/src/commands/events.ts').then((m) => m.eventsCommand()),
    import('../apps/cli/src/commands/view.ts').then((m) => m.viewCommand()),
    import('../apps/cli/src/commands/gc.ts').then((m) => m.gcCommand()),
    import('../apps/cli/src/commands/pagerank.ts').then((m) => m.pagerankCommand()),
  ]);
  const h = await run(['--help']);
  const listed = h.stdout.slice(h.stdout.indexOf('Commands:')).replace(/\n {20,}/g, ' ');
  for (const c of loaded as Command[]) assert.ok(listed.includes(`  ${c.name()} `) && listed.includes(c.description()), `${c.name()}: "${c.description()}" in\n${listed}`);
});

test('compiled tandem up starts the compiled programs with plain node; a word count and a .js job type run', { timeout: 120_000 }, async () => {
  writeFileSync(join(jobsDir, 'linecount.js'), [
    'export default {',
    "  name: 'linecount', description: 'test only: counts lines', formats: ['text'], params: {},",
    "  map(split, ctx) { ctx.emit('lines', split.toString('utf8').split('\\n').filter(Boolean).length); },",
    '  combine: (a, b) => a + b,',
    '  reduce: (_k, values) => values.reduce((a, b) => a + b, 0),',
    '  format: (k, v) => `${k}\\t${v}`,',
    '};',
    '',
  ].join('\n'));
  copyFileSync(join(fixtureJobsDir, 'jobcount.ts'), join(jobsDir, 'jobcount.ts'));
  const [masterPort, viewPort, consolePort] = [await freePortPair(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-build-up-'));
  const env = {
    ...process.env,
    REDIS_URL: rs.server.url,
    TANDEM_PREFIX: 'build',
    TANDEM_MASTER_PORT: String(masterPort),
    TANDEM_VIEW_PORT: String(viewPort),
    TANDEM_VIEW_URL: `http://127.0.0.1:${viewPort}`,
    TANDEM_CONSOLE_PORT: String(consolePort),
    TANDEM_METRICS_PORT: '0',
    TANDEM_DATA_DIR: dataDir,
    TANDEM_JOBS_DIR: jobsDir,
    TANDEM_SPLIT_BYTES: '1024',
  };
  const up = spawn(process.execPath, [bin, 'up', '--workers', '1'], { cwd: elsewhere, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout.on('data', (d) => (out += d));
  up.stderr.on('data', (d) => (out += d));
  try {
    // The second master may still be joining as backup when `up:` is printed; the console line comes after.
    await waitFor(() => out.includes('tandem: console:') || up.exitCode !== null, { what: 'tandem up to report ready', timeoutMs: 60_000 });
    assert.match(out, /tandem: up:/, out);
    const listed = execFileSync('ps', ['-o', 'args=', '--ppid', String(up.pid)], { encoding: 'utf8' }).trim().split('\n');
    const dist = join(repoRoot, 'dist');
    for (const app of ['view-service', 'master', 'master', 'worker', 'console']) {
      const i = listed.findIndex((l) => l === `${process.execPath} --enable-source-maps ${join(dist, `${app}.js`)}`);
      assert.ok(i >= 0, `a compiled ${app}, with plain node; found:\n${listed.join('\n')}`);
      listed.splice(i, 1);
    }
    assert.ok(!listed.some((l) => l.includes('tsx')), `no process runs tsx:\n${listed.join('\n')}`);

    const text = join(dataDir, 'in.txt');
    writeFileSync(text, 'the cat\nThe dog and the cat\n');
    const put = await run(['dataset', 'put', 'pets', text], env);
    assert.equal(put.code, 0, put.stderr);
    const counts = join(dataDir, 'counts.txt');
    const wc = await run(['job', 'run', 'wordcount', '--dataset', 'pets', '--out', counts], env);
    assert.equal(wc.code, 0, wc.stderr);
    assert.equal(readFileSync(counts, 'utf8'), 'and\t1\ncat\t2\ndog\t1\nthe\t3\n');
    const lines = join(dataDir, 'lines.txt');
    const lc = await run(['job', 'run', 'linecount', '--dataset', 'pets', '--out', lines], env);
    assert.equal(lc.code, 0, lc.stderr);
    assert.equal(readFileSync(lines, 'utf8'), 'lines\t2\n');
    const types = await run(['job', 'types'], env);
    assert.equal(types.code, 0, types.stderr);
    assert.match(types.stdout, /^linecount: test only: counts lines/m, 'the .js job type');
    assert.match(types.stdout, /^jobcount: test only: counts map calls/m, 'the .ts job type, through tsx');

    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    up.kill('SIGINT');
    assert.equal(await exited, 0);
  } finally {
    up.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
