// Job types from a folder outside the checkout (README "Your own job types"): examples/jobs copied
// to the temporary folder with @tandem/client installed there from client/ (offline, as
// test/client.test.ts does), a cluster whose masters and workers load it through TANDEM_JOBS_DIR,
// the example run with the CLI, `tandem job types` as the cluster reports it, a type added while
// the cluster runs, a worker with another version of a file (an alert naming the type and the
// worker), and the loader's refusals, each naming the file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRegistry, JobTypeError } from '@tandem/jobs';
import { authHeader, type JobTypesView } from '@tandem/shared';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { kill, startCluster, type Cluster } from './harness/cluster.ts';
import { waitFor } from './harness/wait.ts';

const hashOf = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);

/** A copy of examples/jobs in a fresh temporary folder, with @tandem/client installed from the checkout. */
function userJobsFolder(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tandem-${label}-`));
  cpSync(join(repoRoot, 'examples/jobs'), dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(repoRoot, 'client')], { cwd: dir, stdio: 'pipe' });
  return dir;
}

/** What linelength prints for `text` with `bucket`: lengths in code points, bucketed, shortest first. */
function lineLengths(text: string, bucket: number, trim = false): string {
  const counts = new Map<number, number>();
  for (const line of text.split('\n').slice(0, -1)) {
    const n = Math.floor([...(trim ? line.trim() : line)].length / bucket) * bucket;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${n}\t${c}\n`).join('');
}

const longestWordJs = `import { defineJobType, lines } from '@tandem/client';
export default defineJobType({
  name: 'longestword', description: 'the longest word of each line; output line<TAB>word', formats: ['text'], params: {},
  map(input, ctx) {
    lines(input, ctx, (line, record) => {
      const word = line.split(/\\s+/).reduce((a, b) => (b.length > a.length ? b : a), '');
      ctx.emit(String(record).padStart(10, '0'), word);
    });
  },
  reduce: (_key, words) => words[0],
  format: (key, word) => \`\${Number(key)}\\t\${word}\`,
});
`;

describe('job types from a folder outside the checkout', { timeout: 120_000 }, () => {
  let c: Cluster;
  let jobs: string;
  const text = ['short', 'a somewhat longer line', '', '  padded  ', 'naïve café ünïcode', 'x'.repeat(41), 'the end'].join('\n') + '\n';

  before(async () => {
    const built = spawnSync(process.execPath, [join(repoRoot, 'scripts/build-client.mjs')], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    jobs = userJobsFolder('jobs');
    c = await startCluster({ name: 'user-job-types', workers: 2, env: { TANDEM_JOBS_DIR: jobs } });
    const input = join(jobs, 'input.txt.data');
    writeFileSync(input, text);
    const put = await c.cli(['dataset', 'put', 'lines', input, '--format', 'text']);
    assert.equal(put.code, 0, put.stderr);
  });
  after(async () => {
    await c?.stop();
    rmSync(jobs, { recursive: true, force: true });
  });

  const types = async () => {
    const r = await c.cli(['job', 'types', '--json'], { env: { TANDEM_JOBS_DIR: '' } });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as JobTypesView;
  };

  test('the example runs with the CLI, with its parameters', async () => {
    for (const [params, bucket, trim] of [[[], 1, false], [['--param', 'bucket=5', '--param', 'trim=true'], 5, true]] as const) {
      const r = await c.cli(['job', 'run', 'linelength', '--dataset', 'lines', ...params]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, lineLengths(text, bucket, trim));
    }
    assert.equal((await c.cli(['job', 'run', 'linelength', '--dataset', 'lines', '--param', 'bucket=0'])).code, 1, 'the schema is the platform\'s to check');
  });

  test('tandem job types shows what the cluster runs, as each master and worker reports it', async () => {
    const hash = hashOf(join(jobs, 'linelength.js'));
    const v = await waitFor(async () => {
      const t = await types();
      return t.processes.length === 3 ? t : null;
    }, { what: 'the master and both workers to report' });
    assert.equal(v.types.find((t) => t.name === 'linelength')?.hash, hash);
    assert.deepEqual(v.processes.map((p) => [p.role, p.types]), [['master', { linelength: hash }], ['worker', { linelength: hash }], ['worker', { linelength: hash }]]);
    assert.deepEqual(v.alerts, []);
    // The CLI here has no jobs folder: what it prints is the cluster's.
    const r = await c.cli(['job', 'types'], { env: { TANDEM_JOBS_DIR: '' } });
    assert.match(r.stdout, /^linelength: how many lines have each length .*\n.*\n {2}from the jobs folder; its file's hash: [0-9a-f]{16}\n/m);
    assert.match(r.stdout, new RegExp(`^worker \\S+:\\d+ +linelength@${hash}$`, 'm'));
    assert.match(r.stdout, /^every master and worker runs the same job types$/m);
  });

  test('a type added to the folder while the cluster runs is usable without a restart, and a changed one runs its new version', async () => {
    writeFileSync(join(jobs, 'longestword.js'), longestWordJs);
    const r = await c.cli(['job', 'run', 'longestword', '--dataset', 'lines']);
    assert.equal(r.code, 0, r.stderr);
    const want = text.split('\n').slice(0, -1).map((line, i) => `${i + 1}\t${line.split(/\s+/).reduce((a, b) => (b.length > a.length ? b : a), '')}\n`).join('');
    assert.equal(r.stdout, want);
    await waitFor(async () => (await types()).processes.every((p) => p.types.longestword === hashOf(join(jobs, 'longestword.js'))), { what: 'every process to report longestword' });
    // A changed file: once every process reports its new hash, jobs run the new version.
    writeFileSync(join(jobs, 'longestword.js'), longestWordJs.replace('format: (key, word) => `', 'format: (key, word) => `line '));
    const changed = hashOf(join(jobs, 'longestword.js'));
    await waitFor(async () => (await types()).processes.every((p) => p.types.longestword === changed), { what: 'every process to report the changed longestword' });
    const again = await c.cli(['job', 'run', 'longestword', '--dataset', 'lines']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, want.replace(/^/gm, 'line ').replace(/line $/, ''));
  });

  test('a broken file in the folder stops no other new type from loading; job run of its type names the file, line and column', async () => {
    writeFileSync(join(jobs, 'broken.js'), "export default {\n  name: 'broken',\n  map() { return ) },\n};\n");
    writeFileSync(join(jobs, 'shoutlength.js'), readFileSync(join(jobs, 'linelength.js'), 'utf8').replace("name: 'linelength'", "name: 'shoutlength'"));
    try {
      const other = await c.cli(['job', 'run', 'shoutlength', '--dataset', 'lines']);
      assert.equal(other.code, 0, other.stderr);
      assert.equal(other.stdout, lineLengths(text, 1));
      const refused = await c.cli(['job', 'run', 'broken', '--dataset', 'lines']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /unknown job type "broken"; known types: .*shoutlength.*; the jobs folder has a file that does not load \(it may be defined there\): jobs folder: broken\.js:3:18: syntax error: Unexpected token '\)'/);
      // Every master and worker reports the file it cannot load (an alert in tandem job types and /health).
      await waitFor(async () => (await types()).alerts.filter((a) => /^(master|worker) .* does not load all of its jobs folder: jobs folder: broken\.js:3:18: syntax error/.test(a)).length === c.masters.length + c.workers.length, { what: 'an alert for each master and worker' });
    } finally {
      rmSync(join(jobs, 'broken.js'), { force: true });
      rmSync(join(jobs, 'shoutlength.js'), { force: true });
    }
    await waitFor(async () => (await types()).alerts.length === 0, { what: 'the alerts to clear once the file is gone' });
  });

  test('a worker with another version of a file, and without a type, is an alert naming the type and the worker, and runs no task of it', async () => {
    const other = userJobsFolder('other-jobs');
    try {
      writeFileSync(join(other, 'linelength.js'), readFileSync(join(other, 'linelength.js'), 'utf8') + '// another version\n');
      const w = c.startWorker({ TANDEM_JOBS_DIR: other });
      const name = `:${w.pid}`;
      const v = await waitFor(async () => {
        const t = await types();
        return t.alerts.length >= 2 ? t : null;
      }, { what: 'the alerts' });
      const differs = v.alerts.find((a) => a.startsWith('job type "linelength" differs'));
      assert.ok(differs?.includes(`${hashOf(join(other, 'linelength.js'))} on worker `) && differs.includes(name), v.alerts.join('\n'));
      const missing = v.alerts.find((a) => a.startsWith('job type "longestword" is missing on worker'));
      assert.ok(missing?.includes(name), v.alerts.join('\n'));
      // The primary's /health carries the same alerts (the console's cluster page shows them).
      const health = await (await fetch(new URL('/health', c.masters[0].url), { headers: authHeader(c.env.TANDEM_SECRET) })).json() as { alerts: string[] };
      assert.ok(health.alerts.includes(differs!), health.alerts.join('\n'));
      const printed = await c.cli(['job', 'types'], { env: { TANDEM_JOBS_DIR: '' } });
      assert.ok(printed.stdout.includes(`ALERT: ${differs}`), printed.stdout);
      // With only that worker left, a job of the type fails saying why, rather than run another version.
      await Promise.all(c.workers.filter((x) => x !== w).map((x) => kill(x)));
      const refused = await c.cli(['job', 'run', 'linelength', '--dataset', 'lines']);
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stderr, new RegExp(`this worker runs job type "linelength" at hash ${hashOf(join(other, 'linelength.js'))}, and job \\S+ was submitted with ${hashOf(join(jobs, 'linelength.js'))} \\(the file changed since`));
      await kill(w);
      await waitFor(async () => (await types()).alerts.length === 0, { what: 'the alerts to clear once that worker is gone' });
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('the jobs folder loader names the file and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bad-jobs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const good = `export default { name: 'fine', description: 'd', formats: ['text'], params: {}, map() {}, reduce() {}, format: () => '' };\n`;
  /** The folder with `files` (and a good file beside them) loads the good one and reports the bad one's problem. */
  const refused = async (files: Record<string, string>, message: RegExp) => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'z-fine.mjs'), good);
    for (const [f, body] of Object.entries(files)) writeFileSync(join(dir, f), body);
    const registry = await loadRegistry(dir);
    assert.ok(registry.get('fine'), 'a broken file stops no other from loading');
    assert.equal(registry.broken().length, 1, registry.problem() ?? '');
    assert.match(registry.broken()[0].problem, message);
    assert.match(registry.problem() ?? '', message);
    return registry;
  };
  const type = (name: string) => `export default { name: '${name}', description: 'd', formats: ['text'], params: {}, map() {}, reduce() {}, format: () => '' };\n`;

  test('a syntax error (with its file:line:column), a missing export, a missing package, a duplicate and a built-in name', async () => {
    await refused({ 'a.mjs': 'export default {\n  name: "x",\n  map() { return 1 +; },\n};\n' }, /^jobs folder: a\.mjs:3:21: syntax error: Unexpected token ';'$/);
    await refused({ 'a.mjs': 'export const x = 1;\n' }, /^jobs folder: a\.mjs must export default a job type/);
    await refused({ 'a.mjs': "import { defineJobType } from '@tandem/client';\nexport default defineJobType({});\n" },
      /^jobs folder: a\.mjs imports @tandem\/client, which is not installed in .*; run `npm install <the Tandem checkout>\/client` there/);
    await refused({ 'a.mjs': type('twice'), 'b.mjs': type('twice') }, /^jobs folder: b\.mjs defines job type "twice", which a\.mjs already defines$/);
    await refused({ 'a.mjs': type('wordcount') }, /^jobs folder: a\.mjs defines job type "wordcount", which is a built-in type's name; rename it$/);
    await refused({ 'a.mjs': 'const x = 1;\nthrow new Error("no config");\n' }, /^jobs folder: a\.mjs:2:7 does not load: no config$/);
  });

  test('a TypeScript syntax error names its file:line:column', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'tandem-ts-syntax-'));
    try {
      writeFileSync(join(outside, 'package.json'), '{"type": "module"}');
      writeFileSync(join(outside, 'a.ts'), 'const n: number = 1;\nexport default { name: n +; };\n');
      writeFileSync(join(outside, 'b.ts'), type('fine'));
      const registry = await loadRegistry(outside);
      assert.ok(registry.get('fine'));
      assert.match(registry.problem() ?? '', /^jobs folder: a\.ts:2:27: syntax error: Unexpected ";"$/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('"unknown job type" names the files that do not load, with their problem; a file fixed later loads on the next read', async () => {
    const registry = await refused({ 'new.mjs': "export default { name: 'newtype',\n  map() { return ) },\n};\n" }, /^jobs folder: new\.mjs:2:18: syntax error: Unexpected token '\)'$/);
    assert.throws(() => registry.require('newtype'), (err: Error) => {
      assert.ok(err instanceof JobTypeError);
      assert.match(err.message, /^unknown job type "newtype"; known types: .*fine.*; the jobs folder has a file that does not load \(it may be defined there\): jobs folder: new\.mjs:2:18: syntax error: Unexpected token '\)'$/);
      return true;
    });
    writeFileSync(join(dir, 'new.mjs'), type('newtype'));
    assert.ok(await registry.lookup('newtype'), 'the fixed file loads');
    assert.equal(registry.problem(), null);
  });

  test('the compiled CLI (what tandem up runs) loads such a folder with plain node, a .ts file in it through tsx', () => {
    const user = userJobsFolder('compiled');
    try {
      writeFileSync(join(user, 'tstype.ts'), "import { defineJobType } from '@tandem/client';\nconst n: number = 2;\n" +
        "export default defineJobType({ name: 'tstype', description: 'a TypeScript job type', formats: ['text'], params: {}, map() {}, reduce: () => n, format: () => '' });\n");
      const r = spawnSync(process.execPath, [join(repoRoot, 'bin/tandem.js'), 'job', 'types', '--local', '--jobs-dir', user], { cwd: user, encoding: 'utf8', env: { PATH: process.env.PATH!, HOME: user } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^linelength: how many lines have each length/m);
      assert.match(r.stdout, /^tstype: a TypeScript job type$/m);
    } finally {
      rmSync(user, { recursive: true, force: true });
    }
  });

  test('a .ts job type without "type": "module" is refused with the fix, not the require(esm) cycle', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'tandem-ts-jobs-'));
    try {
      writeFileSync(join(outside, 'a.ts'), type('tsjob'));
      assert.match((await loadRegistry(outside)).problem() ?? '', /^jobs folder: a\.ts is TypeScript, which Tandem loads as an ES module only: add "type": "module" to .*package\.json/);
      writeFileSync(join(outside, 'package.json'), '{"type": "module"}');
      assert.ok((await loadRegistry(outside)).get('tsjob'));
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
