// @tandem/client (client/), from its build: the example script installed with `npm install
// <checkout>/client` into a folder outside the checkout and run with plain node (PageRank of the
// Debian graph, each iteration and the top 10 against the in-process power iteration); its type
// declarations compiled by tsc in that folder; and the API in this process, imported from
// client/dist: datasets (put from a stream with progress, list, show, remove), jobs (submit, watch
// with each round's figures, output as a stream, as records and as a file, cancel), typed errors, and a watch
// that carries on through the primary master's SIGKILL; the API on one Redis and on a Redis Cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { compareCodePoints } from '@tandem/shared';
import { buildGraph, powerIteration } from '@tandem/jobs';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { kill, startCluster, type Cluster, type TestRedisLike } from './harness/cluster.ts';
import { PLATFORM_TOPOLOGIES } from './harness/topologies.ts';
import { referenceWordCount } from './harness/reference.ts';
import { freePort } from './harness/wait.ts';

type Client = typeof import('../client/src/index.ts');

const debianCsv = join(repoRoot, 'datasets/debian-python3-deps.csv');
const secret = randomBytes(24).toString('base64url');

/** The power iteration's L1 changes and every node's rank (rank descending, ties by id) for the pairs. */
function reference(pairs: [string, string][], iterations: number, tol: number) {
  const g = buildGraph(pairs);
  const r = powerIteration(g, { iterations, tol });
  const ranks = g.ids.map((node, i) => ({ node, rank: r.ranks[i] })).sort((a, b) => b.rank - a.rank || compareCodePoints(a.node, b.node));
  return { deltas: r.deltas, converged: r.converged, ranks };
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

let api: Client;
before(async () => {
  const built = spawnSync(process.execPath, [join(repoRoot, 'scripts/build-client.mjs')], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  api = (await import(pathToFileURL(join(repoRoot, 'client/dist/index.js')).href)) as Client;
});

// The package's own checks need one topology; the API's run on one Redis and on a Redis Cluster.
for (const topology of PLATFORM_TOPOLOGIES) describe(`@tandem/client, on ${topology.name}`, { timeout: 300_000 }, () => {
  let c: Cluster<TestRedisLike>;
  let tandem: InstanceType<Client['Tandem']>;
  const home = mkdtempSync(join(tmpdir(), 'tandem-client-user-'));

  before(async () => {
    const redis = await topology.start();
    try {
      c = await startCluster({ name: `client${topology.cluster ? '-cluster' : ''}`, workers: 2, masters: 2, env: { TANDEM_SECRET: secret }, redis });
    } catch (err) {
      await redis.stop();
      throw err;
    }
    await c.replicated();
    tandem = api.connect({ viewUrl: c.viewUrl, redisUrl: c.redis.url, prefix: c.prefix, secret, env: {} });
  });
  after(async () => {
    await tandem?.close();
    await c?.stop();
    await c?.redis.stop();
    rmSync(home, { recursive: true, force: true });
  });

  if (!topology.cluster) test('the package lists exactly the npm packages its compiled code imports, and ships only dist/', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'client/package.json'), 'utf8')) as { dependencies: Record<string, string>; exports: unknown; files: string[] };
    const code = readFileSync(join(repoRoot, 'client/dist/index.js'), 'utf8');
    // esbuild writes each import as one statement at the start of a line; dynamic imports anywhere.
    const specifiers = [...code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)";$|^import\s*"([^"]+)";$|\bimport\(\s*"([^"]+)"\s*\)/gm)].map((m) => m[1] ?? m[2] ?? m[3]);
    const imported = new Set(specifiers.filter((s) => !s.startsWith('node:'))
      .map((s) => s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/')));
    assert.deepEqual([...imported].sort(), Object.keys(pkg.dependencies).sort());
    const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const [name, range] of Object.entries(pkg.dependencies)) assert.equal(range, root.dependencies[name], `${name}: the same range as the checkout's`);
    assert.doesNotMatch(code, /\.\.\/shared|@tandem\//, 'no import of the checkout\'s sources');
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(repoRoot, 'client'), encoding: 'utf8' })) as [{ files: { path: string }[] }];
    const files = packed[0].files.map((f) => f.path);
    for (const f of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/types/client/src/index.d.ts', 'dist/lua/publish-dataset-2.lua']) assert.ok(files.includes(f), `the package holds ${f}`);
    assert.ok(files.every((f) => f === 'package.json' || f === 'README.md' || f.startsWith('dist/')), files.join(', '));
  });

  if (!topology.cluster) test('examples/pagerank-script.mjs, installed outside the checkout, prints each iteration and the top 10 as the power iteration does', async () => {
    copyFileSync(join(repoRoot, 'examples/pagerank-script.mjs'), join(home, 'pagerank-script.mjs'));
    writeFileSync(join(home, 'package.json'), JSON.stringify({ name: 'my-analysis', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(repoRoot, 'client')], { cwd: home, stdio: 'pipe' });
    const installed = join(home, 'node_modules/@tandem/client');
    assert.ok(lstatSync(installed).isSymbolicLink(), 'a folder install is a link');
    assert.equal(realpathSync(installed), join(repoRoot, 'client'));
    const env = { PATH: process.env.PATH!, HOME: home, TANDEM_VIEW_URL: c.viewUrl, TANDEM_SECRET: secret, REDIS_URL: c.redis.url, TANDEM_PREFIX: c.prefix };
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['pagerank-script.mjs', debianCsv], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    const want = reference(parse(readFileSync(debianCsv), { from_line: 2 }) as [string, string][], 20, 1e-8);
    const iterations = [...r.stdout.matchAll(/^iteration (\d+): L1 change (\S+)$/gm)];
    assert.equal(iterations.length, want.deltas.length, r.stdout);
    iterations.forEach((m, i) => {
      assert.equal(Number(m[1]), i + 1);
      close(Number(m[2]), want.deltas[i], `iteration ${i + 1}`);
    });
    assert.match(r.stdout, new RegExp(`^5712 nodes, 19519 edges, ${want.converged ? 'converged' : 'stopped at the iteration limit'}$`, 'm'));
    const top = [...r.stdout.matchAll(/^(\d+)\. (\S+) (\S+)$/gm)];
    assert.equal(top.length, 10, r.stdout);
    top.forEach((m, i) => {
      assert.equal(m[1], String(i + 1));
      assert.equal(m[2], want.ranks[i].node, `rank ${i + 1}`);
      close(Number(m[3]), want.ranks[i].rank, `rank of ${m[2]}`);
    });
    assert.equal(top[0][2], 'python3');
  });

  if (!topology.cluster) test("the package's type declarations compile in that folder with tsc, and catch a wrong call", () => {
    writeFileSync(join(home, 'use.ts'), [
      "import { connect, TandemError, type JobUpdate, type NodeRank } from '@tandem/client';",
      "const t = connect({ viewUrl: 'http://127.0.0.1:7000' });",
      'export async function main(): Promise<NodeRank[]> {',
      "  for await (const u of t.jobs.watch('id')) { const x: JobUpdate = u; console.log(x.status.phase, x.rounds.map((r) => r.stats.delta), x.progress?.done); }",
      "  const meta = await t.datasets.put('d', 'x.csv', { onProgress: (p) => console.log(p.bytes, p.total) });",
      '  console.log(meta.records, meta.splits);',
      "  try { await t.jobs.status('x'); } catch (e) { if (e instanceof TandemError && e.code === 'not_found') console.log(e.status); }",
      "  // @ts-expect-error: a job needs a type and a dataset",
      '  await t.jobs.submit({ params: {} });',
      "  const r = await t.pagerank('graph.csv', { iterations: 5, onIteration: (i) => console.log(i.iteration, i.delta.toFixed(3)) });",
      '  await t.close();',
      '  return r.ranks;',
      '}',
    ].join('\n'));
    writeFileSync(join(home, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(repoRoot, 'node_modules/@types')] },
      files: ['use.ts'],
    }));
    const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', home], { cwd: home, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('datasets: put from a stream with progress, list, show, remove; bad input and a taken name are refused by code', async () => {
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i} of the stream`);
    const body = Buffer.from(lines.join('\n') + '\n');
    const seen: number[] = [];
    const chunks = Array.from({ length: 8 }, (_, i) => body.subarray((i * body.length) >> 3, ((i + 1) * body.length) >> 3));
    const meta = await tandem.datasets.put('streamed', Readable.from(chunks), { format: 'text', splitBytes: 2048, onProgress: (p) => seen.push(p.bytes) });
    assert.equal(meta.records, 400);
    assert.ok(meta.splits > 1, `${meta.splits} splits`);
    assert.ok(seen.length > 1 && seen.every((b, i) => i === 0 || b >= seen[i - 1]), `progress in order: ${seen.join(',')}`);
    assert.equal(seen[seen.length - 1], body.length);
    assert.ok((await tandem.datasets.list()).some((d) => d.name === 'streamed' && d.version === meta.version));
    const shown = await tandem.datasets.show('streamed', { lines: 3 });
    assert.deepEqual(shown.head, lines.slice(0, 3));
    assert.equal(shown.version, meta.version);

    const taken = await tandem.datasets.put('streamed', Readable.from([Buffer.from('x\n')])).catch((e: unknown) => e);
    assert.ok(taken instanceof api.TandemError && taken.code === 'conflict', String(taken));
    const bad = await tandem.datasets.put('badedges', Readable.from([Buffer.from('a,b\na,b,c\n')]), { format: 'edges' }).catch((e: unknown) => e);
    assert.ok(bad instanceof api.TandemError && bad.code === 'invalid', String(bad));
    assert.match((bad as Error).message, /line 2 has 3 columns/);
    assert.equal(await tandem.datasets.get('badedges'), null, 'nothing half-stored');

    await tandem.datasets.remove('streamed');
    assert.ok(!(await tandem.datasets.list()).some((d) => d.name === 'streamed'));
    for (const gone of [() => tandem.datasets.show('streamed'), () => tandem.datasets.remove('streamed')]) {
      const e = await gone().catch((x: unknown) => x);
      assert.ok(e instanceof api.TandemError && e.code === 'not_found', String(e));
    }
  });

  test('jobs: submit and watch (phases in order), output as a stream and as records, list', async () => {
    const text = 'the quick brown fox\njumps over the lazy dog\nthe end\n'.repeat(50);
    await tandem.datasets.put('prose', Readable.from([Buffer.from(text)]), { splitBytes: 512 });
    const id = await tandem.jobs.submit({ type: 'wordcount', dataset: 'prose', partitions: 3 });
    const phases: string[] = [];
    const versions: number[] = [];
    for await (const u of tandem.jobs.watch(id)) {
      phases.push(u.status.phase);
      versions.push(u.status.version);
      assert.deepEqual(u.rounds, [], 'a one-round job reports no rounds');
      assert.equal(u.progress, null);
    }
    const order = ['map', 'reduce', 'done'];
    assert.equal(phases[phases.length - 1], 'done');
    assert.ok(phases.every((p, i) => i === 0 || order.indexOf(p) >= order.indexOf(phases[i - 1])), phases.join(' '));
    assert.ok(versions.every((v, i) => i === 0 || v > versions[i - 1]), versions.join(' '));
    const records: string[] = [];
    for await (const r of tandem.jobs.records(id)) records.push(r);
    assert.equal(records.join('\n') + '\n', referenceWordCount(text));
    const streamed: Buffer[] = [];
    for await (const chunk of await tandem.jobs.output(id)) streamed.push(chunk as Buffer);
    assert.equal(Buffer.concat(streamed).toString('utf8'), referenceWordCount(text));
    const saved = await tandem.jobs.saveOutput(id, join(home, 'counts.tsv'));
    assert.equal(readFileSync(join(home, 'counts.tsv'), 'utf8'), referenceWordCount(text));
    assert.equal(saved.lines, records.length);
    assert.ok((await tandem.jobs.list()).some((j) => j.id === id && j.phase === 'done'));
  });

  test("pagerank: watch reports every round once with its figures; the helper's iterations and ranks equal the power iteration", async () => {
    const pairs: [string, string][] = [['a', 'b'], ['b', 'c'], ['c', 'a'], ['a', 'd'], ['e', 'd'], ['d', 'a']];
    await tandem.datasets.put('small', Readable.from(['src,dst\n', pairs.map((p) => p.join(',')).join('\n') + '\n']), { format: 'edges' });
    const id = await tandem.jobs.submit({ type: 'pagerank', dataset: 'small', partitions: 2, params: { iterations: 6, tol: 0 } });
    const rounds: { round: number; iteration: number | null; delta: number | undefined }[] = [];
    for await (const u of tandem.jobs.watch(id)) for (const r of u.rounds) rounds.push({ round: r.round, iteration: r.iteration, delta: r.stats.delta });
    const want = reference(pairs, 6, 0);
    assert.deepEqual(rounds.map((r) => r.round), [0, 1, 2, 3, 4, 5, 6, 7], 'two set-up rounds, six iterations, each once');
    assert.deepEqual(rounds.map((r) => r.iteration), [null, null, 1, 2, 3, 4, 5, 6]);
    rounds.slice(2).forEach((r, i) => close(r.delta!, want.deltas[i], `iteration ${i + 1}`));

    const file = join(home, 'small.csv');
    writeFileSync(file, 'src,dst\n' + pairs.map((p) => p.join(',')).join('\n') + '\n');
    const its: number[] = [];
    const res = await tandem.pagerank(file, { iterations: 6, tol: 0, partitions: 2, onIteration: (i) => its.push(i.iteration) });
    assert.deepEqual(its, [1, 2, 3, 4, 5, 6]);
    assert.equal(res.dataset, 'small');
    assert.equal(res.uploaded, false, 'the dataset already held those bytes');
    assert.deepEqual(res.ranks.map((r) => r.node), want.ranks.map((r) => r.node));
    res.ranks.forEach((r, i) => close(r.rank, want.ranks[i].rank, r.node));
    assert.equal(res.nodes, 5);
    assert.equal(res.converged, false);
  });

  test('typed errors: not_found for an unknown job, invalid for bad parameters, unauthorized with a wrong secret, unavailable with nothing listening, conflict for output of a cancelled job; an aborted watch', async () => {
    const code = async (p: Promise<unknown>) => {
      const e = await p.then(() => null, (x: unknown) => x);
      assert.ok(e instanceof api.TandemError, `a TandemError, got ${String(e)}`);
      return e.code;
    };
    assert.equal(await code(tandem.jobs.status('nosuchjob')), 'not_found');
    assert.equal(await code(tandem.jobs.submit({ type: 'pagerank', dataset: 'small', params: { damping: 2 } })), 'invalid');
    assert.equal(await code(tandem.jobs.submit({ type: 'nosuchtype', dataset: 'small' })), 'invalid');
    const stranger = api.connect({ viewUrl: c.viewUrl, redisUrl: c.redis.url, prefix: c.prefix, secret: 'not-the-secret-at-all', env: {} });
    try {
      assert.equal(await code(stranger.jobs.list()), 'unauthorized');
    } finally {
      await stranger.close();
    }
    const port = await freePort();
    const nowhere = api.connect({ viewUrl: `http://127.0.0.1:${port}`, redisUrl: `redis://127.0.0.1:${port}`, env: {} });
    try {
      assert.equal(await code(nowhere.jobs.list()), 'unavailable');
      assert.equal(await code(nowhere.datasets.list()), 'unavailable');
    } finally {
      await nowhere.close();
    }
    assert.throws(() => api.connect({ prefix: 'no spaces', env: {} }), (e: unknown) => e instanceof api.TandemError && e.code === 'invalid' && /prefix \(TANDEM_PREFIX\)/.test(e.message));

    const id = await tandem.jobs.submit({ type: 'pagerank', dataset: 'small', params: { iterations: 10000, tol: 0 } });
    // Aborting a watch ends the loop and leaves the job running.
    const stop = new AbortController();
    let updates = 0;
    for await (const u of tandem.jobs.watch(id, { signal: stop.signal })) {
      updates++;
      if (u.status.round >= 1) stop.abort();
    }
    assert.ok(updates >= 1);
    assert.ok(!['done', 'failed', 'cancelled'].includes((await tandem.jobs.status(id)).phase), 'the job runs on');
    let cancelled = false;
    let last = '';
    for await (const u of tandem.jobs.watch(id)) {
      last = u.status.phase;
      if (!cancelled && u.rounds.some((r) => r.iteration !== null)) {
        await tandem.jobs.cancel(id);
        cancelled = true;
      }
    }
    assert.equal(last, 'cancelled');
    assert.equal(await code(tandem.jobs.output(id)), 'conflict');
    assert.equal(await code(tandem.jobs.saveOutput(id, join(home, 'never.txt'))), 'conflict');
    assert.equal(await code(tandem.jobs.cancel(id)), 'conflict');
  });

  test("watch carries on through the primary master's SIGKILL and reports every round once", async () => {
    const id = await tandem.jobs.submit({ type: 'slowpagerank', dataset: 'small', partitions: 2, params: { iterations: 6, tol: 0, slow: '3,4', slowMs: 1500 } });
    const rounds: number[] = [];
    let killed = -1;
    let last = '';
    for await (const u of tandem.jobs.watch(id)) {
      rounds.push(...u.rounds.map((r) => r.round));
      last = u.status.phase;
      if (killed < 0 && u.status.round === 3) {
        killed = await c.primary();
        await kill(c.masters[killed].proc);
      }
    }
    assert.ok(killed >= 0, 'the primary was killed mid-job');
    assert.equal(last, 'done');
    assert.deepEqual(rounds, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.notEqual(await c.primary(), killed, 'the backup took over');
    await c.startMaster(killed);
    await c.replicated();
  });
});
