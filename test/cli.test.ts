// The tandem CLI end to end, and every bad input it must refuse with a clear message, leaving no trace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRegistry } from '@tandem/jobs';
import { readJobEvents } from '@tandem/shared';
import { fixtureJobsDir, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { freePort, waitFor } from './harness/wait.ts';
import { repoRoot } from '../apps/cli/src/processes.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
const file = (name: string, data: string | Buffer) => {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
};
const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
const ascii = readFileSync(join(repoRoot, 'datasets', books[0]), 'utf8').slice(0, 200_000).replace(/[^\x00-\x7f]/g, ' ');

describe('tandem CLI', { timeout: 600_000 }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ name: 'cli', workers: 2, env: { TANDEM_SPLIT_BYTES: '16384' } });
  });
  after(async () => c?.stop());

  const keysLeft = async () => (await c.redis.client().keys(`${c.prefix}:ds*`)).sort();

  test('dataset put, ls, show, and job run --out give what tr | sort | uniq -c gives', async () => {
    const path = file('ascii.txt', ascii);
    const put = await c.cli(['dataset', 'put', 'ascii', path]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /dataset ascii: text, .* records, \d+ splits/);
    const ls = await c.cli(['dataset', 'ls']);
    assert.match(ls.stdout, /^ascii\s+text/m);
    const show = await c.cli(['dataset', 'show', 'ascii', '--lines', '2']);
    assert.match(show.stdout, /records:\s+\d+/);
    assert.ok(show.stdout.includes(ascii.split('\n')[0]));

    const out = join(tmp, 'counts.txt');
    const run = await c.cli(['job', 'run', 'wordcount', '--dataset', 'ascii', '--partitions', '3', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /wrote \d+ lines/);
    const expected = execSync(`tr -cs A-Za-z '\\n' < ${path} | tr A-Z a-z | LC_ALL=C sort | uniq -c`, { encoding: 'utf8' })
      .split('\n').map((l) => l.trim()).filter((l) => /^\d+ [a-z]+$/.test(l))
      .map((l) => { const [n, w] = l.split(' '); return `${w}\t${n}\n`; }).join('');
    assert.equal(readFileSync(out, 'utf8'), expected);
  });

  test("jobs chain: job run --save-as stores a job's output as a dataset the next job reads; dataset put --from-job does the same for a done job", async () => {
    const counts = await c.cli(['job', 'run', 'wordcount', '--dataset', 'ascii', '--partitions', '2', '--save-as', 'ascii-counts']);
    assert.equal(counts.code, 0, counts.stderr);
    assert.equal(counts.stdout, '', '--save-as without --out writes nothing to standard output');
    assert.match(counts.stderr, /stored the output as dataset ascii-counts: text, .* records/);
    const id = /submitted job (\S+)/.exec(counts.stderr)![1];
    const all = (await c.cli(['job', 'output', id])).stdout;
    // The next job reads the stored output: the words counted exactly once.
    const once = await c.cli(['job', 'run', 'grep', '--dataset', 'ascii-counts', '--param', 'pattern=\t1$']);
    assert.equal(once.code, 0, once.stderr);
    const expected = all.split('\n').filter((l) => /\t1$/.test(l));
    assert.ok(expected.length > 10, 'the book has words that occur once');
    assert.deepEqual(once.stdout.trimEnd().split('\n').map((l) => l.split('\t').slice(2).join('\t')), expected);

    const put = await c.cli(['dataset', 'put', 'ascii-counts-2', '--from-job', id]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /dataset ascii-counts-2: text/);
    const shown = JSON.parse((await c.cli(['dataset', 'show', 'ascii-counts-2', '--json'])).stdout) as { records: number; head: string[] };
    assert.equal(shown.records, all.trimEnd().split('\n').length);
    assert.deepEqual(shown.head, all.split('\n').slice(0, 5));
    const again = await c.cli(['dataset', 'put', 'ascii-counts-2', '--from-job', id]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /ascii-counts-2.*already exists.*--replace/);
    const both = await c.cli(['dataset', 'put', 'x', join(tmp, 'counts.txt'), '--from-job', id]);
    assert.match(both.stderr, /either FILE .* or --from-job, not both/);
    const unknown = await c.cli(['dataset', 'put', 'x', '--from-job', 'jnosuchjob']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /job jnosuchjob does not exist/);
    assert.equal((await c.cli(['dataset', 'show', 'x'])).code, 1, 'a failed put leaves no dataset');
  });

  test('job submit, status, ls, output, rm', async () => {
    const sub = await c.cli(['job', 'submit', 'grep', '--dataset', 'ascii', '--param', 'pattern=the']);
    assert.equal(sub.code, 0, sub.stderr);
    const id = sub.stdout.trim();
    let status;
    for (;;) {
      const st = await c.cli(['job', 'status', id, '--json']);
      status = JSON.parse(st.stdout);
      if (status.phase === 'done') break;
    }
    const human = await c.cli(['job', 'status', id]);
    assert.match(human.stdout, new RegExp(`job ${id}: grep on ascii — done`));
    assert.match((await c.cli(['job', 'ls'])).stdout, new RegExp(`^${id}\\s+grep\\s+ascii\\s+done`, 'm'));
    const out = await c.cli(['job', 'output', id]);
    const expected = ascii.split('\n').map((l, i) => [i + 1, l] as const).filter(([, l]) => /the/.test(l));
    assert.equal(out.stdout.trimEnd().split('\n').length, expected.length);
    assert.equal(out.stdout.split('\n')[0], `${expected[0][0]}\t0\t${expected[0][1]}`);
    for (;;) if (JSON.parse((await c.cli(['job', 'status', id, '--json'])).stdout).cleaned) break;
    assert.equal((await c.cli(['job', 'rm', id])).code, 0);
    assert.match((await c.cli(['job', 'status', id])).stderr, /does not exist/);
  });

  test('job cancel stops a running job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-cancel-'));
    const sub = await c.cli(['job', 'submit', 'timing', '--dataset', 'ascii', '--param', `dir=${dir}`, '--param', 'phase=map', '--param', 'sleepMs=2000']);
    const id = sub.stdout.trim();
    const cancel = await c.cli(['job', 'cancel', id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(JSON.parse((await c.cli(['job', 'status', id, '--json'])).stdout).phase, 'cancelled');
    const again = await c.cli(['job', 'cancel', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already cancelled/);
  });

  test('job output of a running job says it is still running, with its phase and progress, and how to wait; --wait waits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-running-'));
    // Map calls sleep 10 s: the job is still mapping when its output is asked for; it is cancelled after,
    // and the quick job waits for the workers to finish those sleeps.
    const slow = (await c.cli(['job', 'submit', 'timing', '--dataset', 'ascii', '--param', `dir=${dir}`, '--param', 'phase=map', '--param', 'sleepMs=10000'])).stdout.trim();
    const early = await c.cli(['job', 'output', slow]);
    assert.equal(early.code, 1);
    assert.match(early.stderr, new RegExp(`job ${slow} is still running \\(map phase: 0/\\d+ map and 0/\\d+ reduce tasks committed\\); its output can be read once it is done: wait for it with \`tandem job output ${slow} --wait\``));
    assert.equal((await c.cli(['job', 'cancel', slow])).code, 0);
    const quick = (await c.cli(['job', 'submit', 'timing', '--dataset', 'ascii', '--param', `dir=${dir}`, '--param', 'phase=map', '--param', 'sleepMs=100'])).stdout.trim();
    const waited = await c.cli(['job', 'output', quick, '--wait']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /^split-0\t1$/m);
  });

  const badUploads: [string, string | Buffer, string[], RegExp][] = [
    ['empty file', '', [], /empty/i],
    ['binary file', Buffer.from([0x68, 0x69, 0x0a, 0x00, 0x01, 0x02, 0x0a]), [], /line 2.*binary|binary.*line 2/i],
    ['invalid UTF-8', Buffer.concat([Buffer.from('good line\nstill good\nbad '), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]), [], /line 3.*UTF-8|UTF-8.*line 3/i],
    ['line longer than the split size', `short\n${'x'.repeat(20_000)}\nshort\n`, [], /line 2.*20000|20000.*line 2/],
    ['CSV row with 3 columns', 'src,dst\na,b\nb,c,d\n', ['--format', 'edges'], /line 3 has 3 columns, expected 2 \(src,dst\); a file that is not a graph can be stored as lines of text instead \(format text: --format text\)/],
    ['CSV row with 1 column', 'a,b\nc\n', ['--format', 'edges'], /line 2 has 1 column/],
  ];
  for (const [what, data, flags, message] of badUploads) {
    test(`dataset put refuses a ${what}, naming the place, and leaves no trace`, async () => {
      const before = await keysLeft();
      const r = await c.cli(['dataset', 'put', 'bad', file(`bad-${what.replace(/\W/g, '_')}`, data), ...flags]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /"bad"/);
      assert.deepEqual(await keysLeft(), before);
    });
  }

  test('dataset put refuses to overwrite without --replace, and --replace publishes the new version', async () => {
    const v1 = file('v1.txt', 'one\n');
    const v2 = file('v2.txt', 'two two\n');
    assert.equal((await c.cli(['dataset', 'put', 'twice', v1])).code, 0);
    const again = await c.cli(['dataset', 'put', 'twice', v2]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists.*--replace/);
    assert.match((await c.cli(['dataset', 'show', 'twice'])).stdout, /^ {2}one$/m);
    assert.equal((await c.cli(['dataset', 'put', 'twice', v2, '--replace'])).code, 0);
    assert.match((await c.cli(['dataset', 'show', 'twice'])).stdout, /^ {2}two two$/m);
    assert.equal((await c.cli(['dataset', 'rm', 'twice'])).code, 0);
    assert.match((await c.cli(['dataset', 'show', 'twice'])).stderr, /does not exist/);
  });

  test('dataset put reads a first row of words above numeric edges as a header and says so; --header and --no-header decide', async () => {
    const csv = file('st.csv', 'source,target\n1,2\n2,3\n');
    const put = await c.cli(['dataset', 'put', 'st', csv]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /dataset st: edges, .* 2 records, .*; line 1 `source,target` read as a header \(--no-header reads it as an edge\)/);
    const named = file('names.csv', 'source,target\npython3,openssl\n');
    const edge = await c.cli(['dataset', 'put', 'names', named]);
    assert.match(edge.stdout, /2 records, .*; line 1 `source,target` read as an edge \(--header skips it as a header\)/);
    const forced = await c.cli(['dataset', 'put', 'names', named, '--header', '--replace']);
    assert.match(forced.stdout, /1 records, .*read as a header/);
    const none = await c.cli(['dataset', 'put', 'st', csv, '--no-header', '--replace']);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /3 records, .*; line 1 `source,target` read as an edge/);
    const text = await c.cli(['dataset', 'put', 'txt', file('t.txt', 'a\n'), '--header']);
    assert.equal(text.code, 1);
    assert.match(text.stderr, /--header is for edges datasets \(this upload is text; see --format\)/);
  });

  test('dataset put names a missing file and a bad dataset name', async () => {
    assert.match((await c.cli(['dataset', 'put', 'x', join(tmp, 'nope.txt')])).stderr, /nope\.txt: no such file/);
    assert.match((await c.cli(['dataset', 'put', 'bad/name', file('n.txt', 'a\n')])).stderr, /name/i);
  });

  const badJobs: [string, string[], RegExp][] = [
    ['a missing dataset', ['job', 'run', 'wordcount', '--dataset', 'nosuch'], /dataset "nosuch" does not exist/],
    ['an unknown job type', ['job', 'run', 'nosuchtype', '--dataset', 'ascii'], /unknown job type "nosuchtype"; known types: .*wordcount/],
    ['a missing required parameter', ['job', 'run', 'grep', '--dataset', 'ascii'], /job type "grep": parameter "pattern"/],
    ['an unknown parameter', ['job', 'run', 'wordcount', '--dataset', 'ascii', '--param', 'colour=red'], /unknown parameter.*"colour"/],
    ['a parameter named __proto__', ['job', 'run', 'wordcount', '--dataset', 'ascii', '--param', '__proto__=x'], /unknown parameter.*"__proto__"/],
    ['a parameter named constructor', ['job', 'run', 'grep', '--dataset', 'ascii', '--param', 'pattern=a', '--param', 'constructor=x'], /unknown parameter.*"constructor"/],
    ['an invalid regular expression', ['job', 'run', 'grep', '--dataset', 'ascii', '--param', 'pattern=(('], /parameter "pattern": not a valid regular expression/],
    ['a malformed --param', ['job', 'run', 'grep', '--dataset', 'ascii', '--param', 'pattern'], /--param must look like key=value/],
    ['zero partitions', ['job', 'run', 'wordcount', '--dataset', 'ascii', '--partitions', '0'], /--partitions must be a whole number/],
  ];
  for (const [what, args, message] of badJobs) {
    test(`job run refuses ${what} and creates no job`, async () => {
      const jobsBefore = (await c.client().list()).length;
      const r = await c.cli(args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
      assert.equal((await c.client().list()).length, jobsBefore);
    });
  }

  test('unreachable Redis, master and view service get a clear message naming the address, at once', async () => {
    const port = await freePort();
    const noRedis = await c.cli(['dataset', 'ls'], { env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    assert.equal(noRedis.code, 1);
    assert.match(noRedis.stderr, new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}`));
    const noMaster = await c.cli(['job', 'ls', '--master-url', `http://127.0.0.1:${port}`]);
    assert.equal(noMaster.code, 1);
    assert.match(noMaster.stderr, new RegExp(`cannot reach the master at http://127.0.0.1:${port}`));
    const noView = await c.cli(['job', 'ls', '--view-url', `http://127.0.0.1:${port}`]);
    assert.equal(noView.code, 1);
    assert.match(noView.stderr, new RegExp(`cannot reach the view service at http://127.0.0.1:${port} \\(connect ECONNREFUSED`));
  });

  test("job run --help, job submit --help and job types list every job type's parameters from its schema", async () => {
    const flat = async (args: string[]) => (await c.cli(args)).stdout.replace(/\s+/g, ' ');
    const listed = [
      /pagerank \(iterative\): PageRank of an edge list; .* reads edges datasets; partitions unless --partitions: one per worker online/,
      /PARAMETER TYPE DEFAULT ALLOWED DESCRIPTION iterations integer 20 a whole number from 1 to 10000 iterations at most damping number 0\.85 between 0 and 1 \(exclusive\) damping factor/,
      /tol number 1e-8 a number ≥ 0 stop once the L1 change/,
      /grep: lines matching a regular expression; .* pattern string required text the regular expression to match \(JavaScript syntax\) flags string "" text matching \[imsu\]\* regular expression flags/,
      /wordcount: count words .* reads text datasets; partitions unless --partitions: one per 32 MiB of input \(1 to 16\) no parameters/,
      /invertedindex: .* no parameters/,
      // From the jobs folder (TANDEM_JOBS_DIR): nothing in the CLI knows these types.
      /timing: test only: .* dir string required text folder of the files that log each call phase enum required one of map, reduce the phase whose calls sleep sleepMs integer 1000 a whole number ≥ 0/,
      /crash: .* crashRate number 0\.3333333333333333 from 0 to 1 share of calls that kill their worker/,
    ];
    for (const sub of ['run', 'submit']) {
      const help = await flat(['job', sub, '--help']);
      assert.match(help, /Job types and their parameters \(give each as --param NAME=VALUE\):/, sub);
      for (const re of listed) assert.match(help, re, `job ${sub} --help`);
    }
    const types = await flat(['job', 'types']);
    for (const re of listed) assert.match(types, re, 'job types');
    const local = JSON.parse((await c.cli(['job', 'types', '--local', '--json'])).stdout);
    const registry = await loadRegistry(fixtureJobsDir);
    assert.deepEqual(local, registry.describe(), 'job types --local --json is the registry\'s description');
    // Without --local the primary answers: its types (the same descriptions, with each jobs-folder file's hash).
    const json = JSON.parse((await c.cli(['job', 'types', '--json'])).stdout) as { types: { hash?: string }[] };
    assert.deepEqual(json.types.map(({ hash: _, ...t }) => t), registry.describe(), 'job types --json: the primary\'s description');
    assert.deepEqual(Object.fromEntries(json.types.filter((t) => t.hash).map((t) => [(t as { name: string }).name, t.hash])), registry.hashes());
    const broken = await c.cli(['job', 'run', '--help'], { env: { TANDEM_JOBS_DIR: join(tmp, 'no-such-folder') } });
    assert.equal(broken.code, 0, 'help still works');
    assert.match(broken.stdout, /\(the job types cannot be listed: jobs folder .*no-such-folder does not exist \(TANDEM_JOBS_DIR\)\)/);
  });

  test('--out into a missing folder is refused before anything is submitted (job run, job output, pagerank)', async () => {
    const jobsBefore = (await c.client().list()).length;
    const missing = join(tmp, 'no-such-folder', 'out.txt');
    for (const args of [['job', 'run', 'wordcount', '--dataset', 'ascii', '--out', missing], ['pagerank', '--dataset', 'ascii', '--out', missing], ['job', 'output', 'anything', '--out', missing]]) {
      const r = await c.cli(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /--out .*no-such-folder.*out\.txt: the folder .*no-such-folder does not exist/, args.join(' '));
      assert.doesNotMatch(r.stderr, /Unhandled|ENOENT|at .*\.ts:\d+/, 'one line, no stack');
    }
    assert.equal((await c.client().list()).length, jobsBefore, 'no job was submitted');
  });

  test('job output piped into head exits 0 without a word (EPIPE)', async () => {
    // Every line of the dataset: far more than a pipe holds, so the writes after head exits fail with EPIPE.
    const sub = await c.cli(['job', 'submit', 'grep', '--dataset', 'ascii', '--param', 'pattern=.']);
    const done = await waitForJob(c, sub.stdout.trim());
    assert.ok(ascii.length > 2 * 65536);
    const cmd = `node --import tsx apps/cli/src/main.ts job output ${done.id} | head -n 1; echo "tandem exit \${PIPESTATUS[0]}" >&2`;
    const r = spawnSync('bash', ['-c', cmd], { cwd: repoRoot, env: c.env, encoding: 'utf8' });
    assert.equal(r.stdout.split('\n').length, 2, 'one line, then head closed the pipe');
    assert.equal(r.stderr, 'tandem exit 0\n', 'exit 0 and nothing on standard error');
  });

  test('cancelling an unknown job is not_found, exits 1, and logs no event', async () => {
    const r = await c.cli(['job', 'cancel', 'nosuchjob']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /job nosuchjob does not exist/);
    assert.deepEqual(await readJobEvents(c.redis.client(), c.keys, 'nosuchjob'), []);
  });

  test("a failed job counts its task's attempts and shows nothing running; so does a cancelled one", async () => {
    const poisoned = file('poison.txt', 'fine line\npoison here\n');
    assert.equal((await c.cli(['dataset', 'put', 'poisoned', poisoned])).code, 0);
    const r = await c.cli(['job', 'run', 'poison', '--dataset', 'poisoned', '--param', 'word=poison']);
    assert.equal(r.code, 1);
    const id = /submitted job (\S+)/.exec(r.stderr)![1];
    const s = await c.client().status(id);
    assert.equal(s.phase, 'failed');
    assert.equal(s.counters.map.attempts, 3, 'TANDEM_TASK_ATTEMPTS attempts of the poisoned map task, as its timeline shows');
    assert.equal(s.counters.map.failures, 3);
    assert.equal(s.maps.running + s.maps.queued + s.reduces.running + s.reduces.queued, 0);
    assert.match(r.stderr, /attempts 3, failed attempts 3/);
    assert.match(r.stderr, /\(0 running\)/);
    assert.doesNotMatch(r.stderr, /\([1-9]\d* running\)/);

    const dir = mkdtempSync(join(tmpdir(), 'tandem-cancel-'));
    const sub = await c.cli(['job', 'submit', 'timing', '--dataset', 'ascii', '--param', `dir=${dir}`, '--param', 'phase=map', '--param', 'sleepMs=5000']);
    const cid = sub.stdout.trim();
    await waitFor(async () => (await c.client().status(cid)).maps.running > 0, { what: 'a map task of the timing job to run' });
    assert.equal((await c.cli(['job', 'cancel', cid])).code, 0);
    const cs = await c.client().status(cid);
    assert.equal(cs.phase, 'cancelled');
    assert.equal(cs.maps.running + cs.maps.queued, 0, 'a cancelled job runs nothing');
    assert.match((await c.cli(['job', 'status', cid])).stdout, /\(0 running\)/);
  });

  test('a config error names the flag the user typed, or the variable when it came from the environment; messages say "got" once', async () => {
    const f = file('tiny.txt', 'a\n');
    const flag = await c.cli(['dataset', 'put', 'tiny', f, '--split-bytes', '10']);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /--split-bytes "10": .*1024/);
    assert.doesNotMatch(flag.stderr, /TANDEM_SPLIT_BYTES/);
    const env = await c.cli(['dataset', 'put', 'tiny', f], { env: { TANDEM_SPLIT_BYTES: '10' } });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /TANDEM_SPLIT_BYTES="10"/);
    const envParsed = await c.cli(['dataset', 'put', 'tiny', f], { env: { TANDEM_SPLIT_BYTES: 'abc' } });
    assert.match(envParsed.stderr, /^tandem: TANDEM_SPLIT_BYTES must be a whole number ≥ 1 \(got "abc"\)$/m, 'a bad value from the environment is named by its variable');
    const flagParsed = await c.cli(['dataset', 'put', 'tiny', f, '--split-bytes=abc'], { env: { TANDEM_SPLIT_BYTES: '4096' } });
    assert.match(flagParsed.stderr, /^tandem: --split-bytes must be a whole number ≥ 1 \(got "abc"\)$/m);
    for (const args of [['up', '--workers', 'abc'], ['dataset', 'put', 'tiny', f, '--split-bytes', 'abc'], ['pagerank', '--dataset', 'ascii', '--iterations', 'abc'],
      ['job', 'run', 'pagerank', '--dataset', 'ascii', '--param', 'iterations=abc'], ['job', 'run', 'wordcount', '--dataset', 'ascii', '--partitions', 'abc']]) {
      const r = await c.cli(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr.split('got').length, 2, `one "got" in: ${r.stderr}`);
    }
  });

  test('a command whose prefix differs from the master\'s warns in one line on standard error', async () => {
    const done = (await c.client().list()).find((j) => j.phase === 'done')!;
    const r = await c.cli(['job', 'output', done.id, '--prefix', 'otherprefix']);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('tandem: warning:'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0], new RegExp(`uses prefix "${c.prefix}" \\(this command uses "otherprefix"; set TANDEM_PREFIX / --prefix\\)`));
    const same = await c.cli(['job', 'output', done.id]);
    assert.doesNotMatch(same.stderr, /warning/, 'no warning for the same cluster');
  });

  test('the info log tells the story of each job; per-task lines are at debug', async () => {
    const logs = readdirSync(c.outDir).map((f) => readFileSync(join(c.outDir, f), 'utf8'));
    const lines = logs.join('').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l) as { level: number; msg: string }; } catch { return null; } }).filter((l) => l !== null);
    const info = lines.filter((l) => l.level >= 30).map((l) => l.msg);
    assert.ok(info.includes('job submitted') && info.includes('job done') && info.includes('job failed') && info.includes('job cancelled'), `job-level lines at info: ${[...new Set(info)].join(' | ')}`);
    for (const perTask of ['task finished', 'task started', 'task commit seen', 'tasks enqueued']) assert.ok(!info.includes(perTask), `no "${perTask}" at info`);
  });

  test('subcommand help lists the global flags', async () => {
    for (const args of [['job', 'status', '--help'], ['dataset', 'put', '--help'], ['up', '--help']]) {
      const help = (await c.cli(args)).stdout;
      assert.match(help, /Global Options:/, args.join(' '));
      assert.match(help, /--redis-url <url>/, args.join(' '));
    }
  });

  test('--help documents every address flag with its environment variable', async () => {
    const flat = async (args: string[]) => (await c.cli(args)).stdout.replace(/\s+/g, ' ');
    const help = await flat(['--help']);
    for (const env of ['REDIS_URL', 'TANDEM_PREFIX', 'TANDEM_MASTER_URL', 'TANDEM_JOBS_DIR']) assert.match(help, new RegExp(`env: ${env}\\)`));
    assert.match(await flat(['up', '--help']), /env: TANDEM_WORKERS\)/);
    assert.match(await flat(['dataset', 'put', '--help']), /env: TANDEM_SPLIT_BYTES\)/);
  });
});
