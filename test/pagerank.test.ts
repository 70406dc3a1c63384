// PageRank (issue 4) on real processes, on one Redis and on a Redis Cluster from one definition:
// the script against networkx and the in-process power iteration, small graphs of every awkward
// shape, a worker and the primary master SIGKILLed in the middle of an iteration, --attach and
// interruption, and bad input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import { parse } from 'csv-parse/sync';
import { compareCodePoints, getDataset, putDataset, type JobStatus } from '@tandem/shared';
import { buildGraph, powerIteration } from '@tandem/jobs';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { jobOutput, kill, startCluster, waitForJob, waitForWorkers, type Cluster, type TestRedisLike } from './harness/cluster.ts';
import { PLATFORM_TOPOLOGIES } from './harness/topologies.ts';
import { waitFor } from './harness/wait.ts';

const debianCsv = join(repoRoot, 'datasets/debian-python3-deps.csv');
const debianRows = () => parse(readFileSync(debianCsv), { from_line: 2 }) as [string, string][];
const networkx = () => JSON.parse(readFileSync(join(repoRoot, 'datasets/debian-python3-deps.pagerank.json'), 'utf8')) as { ranks: Record<string, number> };

/** `node,rank` CSV (with its header) as a map. */
function ranksOf(csv: string): Map<string, number> {
  const rows = parse(csv, { from_line: 2 }) as [string, string][];
  return new Map(rows.map(([id, r]) => [id, Number(r)]));
}

function maxError(got: Map<string, number>, want: Map<string, number> | Record<string, number>): number {
  const w = want instanceof Map ? want : new Map(Object.entries(want));
  assert.equal(got.size, w.size, 'one rank per node');
  let worst = 0;
  for (const [id, r] of w) worst = Math.max(worst, Math.abs(got.get(id)! - r));
  return worst;
}

/** The in-process reference for the same pairs and settings. */
function reference(pairs: [string, string][], iterations: number, tol: number): Map<string, number> {
  const g = buildGraph(pairs);
  const { ranks } = powerIteration(g, { iterations, tol });
  return new Map(g.ids.map((id, i) => [id, ranks[i]]));
}

/** Runs `npm run pagerank`'s script (scripts/pagerank.ts) as its own process. */
function script(c: Cluster<TestRedisLike>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/pagerank.ts'), ...args], { cwd: repoRoot, env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

for (const topology of PLATFORM_TOPOLOGIES) describe(`PageRank on real processes, on ${topology.name}`, { timeout: 600_000 }, () => {
  let c: Cluster<TestRedisLike>;
  const tmp = mkdtempSync(join(tmpdir(), 'tandem-pagerank-'));
  before(async () => {
    const redis = await topology.start();
    try {
      c = await startCluster({ name: `pagerank${topology.cluster ? '-cluster' : ''}`, workers: 2, masters: 2, redis });
    } catch (err) {
      await redis.stop();
      throw err;
    }
    await c.replicated();
  });
  after(async () => {
    await c?.stop();
    await c?.redis.stop();
  });

  test("the script on Debian's graph equals networkx (1e-6) and the in-process power iteration (1e-12), at tol 1e-10", async () => {
    const out = join(tmp, 'ranks.csv');
    const r = await script(c, ['--dataset', debianCsv, '--tol', '1e-10', '--iterations', '1000', '--partitions', '2', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /5712 nodes, 19519 edges, \d+ iterations, converged/);
    const top = r.stdout.trim().split('\n');
    assert.match(top[0], /^#\s+NODE\s+RANK$/);
    assert.equal(top.length, 11, 'the top 10 by default');
    assert.match(top[1], /^1\s+python3\s+0\.2111997/);
    const csv = readFileSync(out, 'utf8');
    const got = ranksOf(csv);
    const nx = maxError(got, networkx().ranks);
    assert.ok(nx < 1e-6, `max abs error against networkx ${nx}`);
    const own = maxError(got, reference(debianRows(), 1000, 1e-10));
    assert.ok(own < 1e-12, `max abs error against the power iteration ${own}`);
    // rank descending, ties by node id in code point order
    const rows = parse(csv, { from_line: 2 }) as [string, string][];
    for (let i = 1; i < rows.length; i++) {
      const [a, ra] = rows[i - 1];
      const [b, rb] = rows[i];
      assert.ok(Number(ra) > Number(rb) || (Number(ra) === Number(rb) && compareCodePoints(a, b) < 0), `line ${i + 2}: ${a} before ${b}`);
    }
    const again = await script(c, ['--dataset', debianCsv, '--tol', '1e-10', '--iterations', '1000', '--top', '0', '--out', join(tmp, 'again.csv')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already holds .* not uploading it again/);
  });

  test('graphs with dangling nodes, self-loops, duplicate edges, one node, two parts and quoted ids equal the reference', async () => {
    const graphs: Record<string, [string, string][]> = {
      dangling: [['a', 'b'], ['b', 'c'], ['c', 'a'], ['a', 'd'], ['e', 'd']],
      selfloops: [['a', 'a'], ['a', 'b'], ['b', 'b'], ['c', 'a']],
      duplicates: [['a', 'b'], ['a', 'b'], ['b', 'a'], ['a', 'c'], ['a', 'b']],
      onenode: [['x', 'x']],
      twoparts: [['a', 'b'], ['b', 'a'], ['p', 'q'], ['q', 'r'], ['r', 'p'], ['r', 'q']],
      quoted: [['x,y', 'a'], ['say "hi"', 'a'], ['ü', 'x,y'], ['a', 'say "hi"']],
    };
    const csvField = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const client = c.client();
    const jobs = await Promise.all(Object.entries(graphs).map(async ([name, pairs]) => {
      const csv = 'src,dst\n' + pairs.map((p) => p.map(csvField).join(',')).join('\n') + '\n';
      await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(csv)]), { name, format: 'edges', splitBytes: 1 << 20 });
      const id = await client.submit({ type: 'pagerank', dataset: name, partitions: 3, params: { iterations: '30', tol: '0' } });
      return { name, pairs, id };
    }));
    for (const { name, pairs, id } of jobs) {
      const s = await waitForJob(c, id);
      assert.equal(s.phase, 'done', `${name}: ${s.error}`);
      const out = await jobOutput(c, s);
      const err = maxError(ranksOf(out), reference(pairs, 30, 0));
      assert.ok(err < 1e-12, `${name}: max abs error ${err}`);
      assert.equal(out.split('\n')[0], 'node,rank', `${name}: a header first`);
      assert.equal(out.split('\n').length, 1 + new Set(pairs.flat()).size + 1, `${name}: one line per node`);
      assert.equal(s.rounds.length, 2 + 30, `${name}: 2 set-up rounds and 30 iterations`);
      if (name === 'quoted') {
        assert.match(out, /^"x,y",0\.\d+$/m);
        assert.match(out, /^"say ""hi""",0\.\d+$/m);
      }
      if (name === 'twoparts') {
        // The generic job command runs it too, and a task gives the same bytes every time it runs.
        const file = join(tmp, 'twoparts.csv');
        const run = await c.cli(['job', 'run', 'pagerank', '--dataset', name, '--partitions', '3', '--param', 'iterations=30', '--param', 'tol=0', '--out', file]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /done: 30\/30 iterations done/);
        assert.equal(readFileSync(file, 'utf8'), out);
      }
    }
  });

  test('a worker SIGKILLed and the primary master SIGKILLed mid-iteration: the job finishes with the same ranks, to the bit', async () => {
    const client = c.client();
    const params = { iterations: '12', tol: '0' };
    await putDataset(c.redis.client(), c.keys, Readable.from([readFileSync(debianCsv)]), { name: 'deps', format: 'edges', splitBytes: 128 * 1024 });
    const clean = await waitForJob(c, await client.submit({ type: 'pagerank', dataset: 'deps', partitions: 2, params }));
    assert.equal(clean.phase, 'done', clean.error ?? '');
    const want = await jobOutput(c, clean);

    const id = await client.submit({ type: 'slowpagerank', dataset: 'deps', partitions: 2, params: { ...params, slow: '5,8', slowMs: '2500' } });
    const reduce = new Queue('reduce', { connection: c.redis.client(), prefix: c.keys.bullPrefix('reduce') });
    try {
      // Round 5 (the fourth iteration): kill a worker that holds one of its tasks.
      await waitFor(async () => (await client.status(id)).round === 5, { what: 'round 5', timeoutMs: 60_000, intervalMs: 20 });
      const holder = await waitFor(async () => {
        for (const j of await reduce.getJobs(['active'])) {
          const pid = Number(String(j.processedBy ?? '').split(':').pop());
          const w = c.workers.find((p) => p.pid === pid && p.exitCode === null);
          if (j.id?.startsWith(`${id}.5.`) && w) return w;
        }
        return null;
      }, { what: 'a worker holding a task of round 5', timeoutMs: 10_000, intervalMs: 20 });
      await kill(holder);
      c.workers.splice(c.workers.indexOf(holder), 1);
      c.startWorker();
      // Round 8: kill the primary master while both tasks run; the backup takes over.
      await waitFor(async () => (await client.status(id)).round === 8, { what: 'round 8', timeoutMs: 60_000, intervalMs: 20 });
      const primary = await c.primary();
      await kill(c.masters[primary].proc);
      const next = await c.primary();
      assert.notEqual(next, primary, 'the backup became primary');
      await c.startMaster(primary);
    } finally {
      await reduce.close();
    }
    const s: JobStatus = await waitForJob(c, id);
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.ok(s.counters.reduce.failures >= 1, 'the killed worker\'s task was run again');
    assert.deepEqual(s.rounds.map((r) => r.stats.delta), clean.rounds.map((r) => r.stats.delta), 'the same convergence history');
    assert.equal(await jobOutput(c, s), want, 'the same ranks, byte for byte');
    await c.replicated();
    await waitForWorkers(c);
  });

  // The script's own behaviour: the same on every topology.
  if (!topology.cluster) test('interrupted, the script leaves the job running; --attach follows it to the end', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/pagerank.ts'), '--dataset', 'deps', '--iterations', '400', '--tol', '0'],
      { cwd: repoRoot, env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
    const id = (await waitFor(() => /submitted job (\S+)/.exec(stderr)?.[1], { what: 'the script to submit', timeoutMs: 30_000 }))!;
    p.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.match(stderr, new RegExp(`job ${id} keeps running; follow it with: npm run pagerank -- --attach ${id}`));
    const out = join(tmp, 'attached.csv');
    const r = await script(c, ['--attach', id, '--top', '3', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /400 iterations, stopped at the iteration limit/);
    assert.equal(r.stdout.trim().split('\n').length, 4, 'a header and the top 3');
    const err = maxError(ranksOf(readFileSync(out, 'utf8')), reference(debianRows(), 400, 0));
    assert.ok(err < 1e-12, `max abs error ${err}`);
    const status = await c.cli(['job', 'status', id]);
    assert.match(status.stdout, /rounds {2}done; 400 of at most 400 iterations done \(tol 0\); last round: nodes 5712, delta [\d.e-]+, dangling 0\.\d+$/m);
  });

  test('bad input gets a message that names the problem (and the line), and leaves nothing behind', async () => {
    const file = (name: string, content: string | Buffer) => {
      const path = join(tmp, name);
      writeFileSync(path, content);
      return path;
    };
    const cases: [string[], RegExp][] = [
      [['--dataset', file('three.csv', 'src,dst\na,b\na,b,c\n')], /three\.csv: dataset "three": line 3 has 3 columns, expected 2 \(src,dst\)/],
      [['--dataset', file('one.csv', 'a,b\nc\n')], /one\.csv: dataset "one": line 2 has 1 column, expected 2/],
      [['--dataset', file('headeronly.csv', 'src,dst\n')], /dataset "headeronly": the file has no edges/],
      [['--dataset', file('nothing.csv', '')], /dataset "nothing": the file is empty/],
      [['--dataset', file('binary.csv', Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0x00, 0x01, 0x02]))], /binary\.csv: dataset "binary": line 2 contains a NUL byte/],
      [['--dataset', join(tmp, 'missing.csv')], /cannot read .*missing\.csv: no such file/],
      [['--dataset', 'deps', '--damping', '1'], /--damping must be between 0 and 1 \(exclusive\) \(got "1"\)/],
      [['--dataset', 'deps', '--damping', '0'], /--damping must be between 0 and 1/],
      [['--dataset', 'deps', '--iterations', '0'], /--iterations must be a whole number from 1 to 10000 \(got "0"\)/],
      [['--dataset', 'deps', '--iterations', '-2'], /--iterations must be a whole number from 1 to 10000 \(got "-2"\)/],
      [['--dataset', 'deps', '--tol', 'small'], /--tol must be a number/],
      [['--dataset', 'nosuchgraph'], /dataset "nosuchgraph" does not exist/],
      // A file name that is neither a file nor a dataset is a missing file (issue 17), not a missing dataset.
      [['--dataset', 'nope.csv'], /cannot read nope\.csv: no such file \(nor is there a dataset of that name; `tandem dataset ls` lists them\)/],
      [[], /--dataset is required/],
    ];
    for (const [args, message] of cases) {
      const r = await script(c, [...args, '--out', join(tmp, 'never.csv')]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    for (const name of ['three', 'one', 'headeronly', 'nothing', 'binary', 'missing']) {
      assert.equal(await getDataset(c.redis.client(), c.keys, name), null, `no dataset "${name}" was left behind`);
    }
    assert.equal(existsSync(join(tmp, 'never.csv')), false, 'no output file');
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from('just text\n')]), { name: 'prose', format: 'text', splitBytes: 1024 });
    const text = await script(c, ['--dataset', 'prose']);
    assert.match(text.stderr, /job type "pagerank" reads edges datasets; dataset "prose" is text/);
    const wc = await c.client().submit({ type: 'wordcount', dataset: 'prose' });
    const attach = await script(c, ['--attach', wc]);
    assert.equal(attach.code, 1);
    assert.match(attach.stderr, new RegExp(`job ${wc} is a wordcount job, not pagerank`));
  });
});
