// Bounded resources (issue 17, failure 4), against real processes: PageRank of the Debian graph at
// the allowed maximum of partitions is refused naming its cap; at the cap it runs with its keys and
// Redis memory bounded, each round deleting what the one before consumed; a job that does not fit
// Redis's maxmemory is refused naming the estimate; cancel deletes every key of the job; workers
// report their memory and task counters, drop their caches when idle, and the console's cluster
// page shows it all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { MasterError, jobKeyBytes, putDataset, readRedisMemory, scanJobKeys, type JobStatus, type ProcessMemory } from '@tandem/shared';
import { SETUP_ROUNDS, buildGraph, powerIteration, readJobTypesReports } from '@tandem/jobs';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { estimateJobBytes, iterativePartitionCap } from '../apps/master/src/job-limits.ts';
import { jobOutput, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { call } from './harness/http.ts';
import { waitFor } from './harness/wait.ts';

const debianCsv = readFileSync(join(repoRoot, 'datasets/debian-python3-deps.csv'));

describe('bounded resources', { timeout: 300_000 }, () => {
  let c: Cluster;
  let cap: number;
  before(async () => {
    c = await startCluster({ name: 'bounds', workers: 2 });
    await putDataset(c.redis.client(), c.keys, Readable.from([debianCsv]), { name: 'deps', format: 'edges', splitBytes: 8 << 20 });
    cap = iterativePartitionCap(debianCsv.length, 2);
    await waitFor(async () => (await c.client().health()).role === 'primary', { what: 'a primary' });
  });
  after(async () => c?.stop());

  const jobKeys = async (id: string) => (await scanJobKeys(c.redis.client(), c.keys)).get(id) ?? [];
  const refusal = async (spec: Parameters<ReturnType<Cluster['client']>['submit']>[0]) => {
    const err = await c.client().submit(spec).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof MasterError, `refused: ${String(err)}`);
    assert.equal(err.code, 'invalid');
    return err.message;
  };

  test('PageRank of the Debian graph with 1024 partitions (the allowed maximum) is refused, naming its cap and why', async () => {
    assert.equal(cap, 10);
    const msg = await refusal({ type: 'pagerank', dataset: 'deps', partitions: 1024, params: {} });
    assert.match(msg, /partitions 1024 is more than this iterative job may have: 10 for dataset "deps" \(\d+ bytes\) with 2 workers online/);
    assert.match(msg, /every round of an iterative job moves partitions² blobs/i);
    assert.match(msg, /ask for 10 or fewer/);
    // Over HTTP it is a 400, and the CLI says it too.
    const cli = await c.cli(['job', 'run', 'pagerank', '--dataset', 'deps', '--partitions', '1024']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /more than this iterative job may have: 10/);
  });

  test('at the cap, each round deletes what it consumed: the job keys and Redis memory stay bounded over 40 iterations, and the ranks are right', async () => {
    const P = cap;
    const iterations = 40;
    const redis = c.redis.client();
    const id = await c.client().submit({ type: 'pagerank', dataset: 'deps', partitions: P, params: { iterations, tol: 0 } });
    // Round 0's shuffle (1 split × P), the set-up outputs (2 × P), two rounds of shuffle (2 × P²) and
    // of outputs (2 × P), and one commit hash per round.
    const bound = P + SETUP_ROUNDS * P + 2 * P * P + 2 * P + (SETUP_ROUNDS + iterations + 1);
    const estimate = estimateJobBytes({ bytes: debianCsv.length, splits: 1, partitions: P, setupRounds: SETUP_ROUNDS, rounds: SETUP_ROUNDS + iterations + 1 });
    let maxKeys = 0;
    let maxBytes = 0;
    let checkedRound = 0;
    let s: JobStatus = await c.client().status(id);
    while (s.phase === 'map' || s.phase === 'reduce') {
      // The round read before the scan: rounds only advance, so what must be gone at it is gone at the scan too.
      const round = s.round;
      const names = new Set(await jobKeys(id));
      maxKeys = Math.max(maxKeys, names.size);
      maxBytes = Math.max(maxBytes, await jobKeyBytes(redis, [...names]));
      const k = c.keys;
      for (let j = 1; j <= round - 2; j++) {
        for (let r = 0; r < P; r++) {
          for (let i = 0; i < P; i++) assert.ok(!names.has(k.mapOutput(id, r, j, i)), `round ${j}'s shuffle blob ${i}→${r} is gone once round ${round} runs`);
        }
      }
      for (let j = SETUP_ROUNDS; j <= round - 3; j++) {
        for (let r = 0; r < P; r++) assert.ok(!names.has(k.reduceOutput(id, r, j)), `iteration round ${j}'s output of partition ${r} is gone once round ${round} runs`);
      }
      for (let r = 0; r < P; r++) assert.ok(names.has(k.reduceOutput(id, r, 1)) || round < 2, 'the adjacency (a set-up output) stays');
      checkedRound = Math.max(checkedRound, round);
      // The next look when the job changes (a long poll): about one per round.
      s = await c.client().status(id, { after: s.version, waitMs: 5000 });
    }
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.ok(checkedRound >= SETUP_ROUNDS + 3, `the run was sampled into its iterations (up to round ${checkedRound})`);
    assert.ok(maxKeys <= bound, `at most ${bound} job keys at once (saw ${maxKeys}); without the deletion it grows by ${P * P + P} a round`);
    assert.ok(maxBytes > 0 && maxBytes <= estimate, `the job's keys took ${maxBytes} bytes of Redis (MEMORY USAGE), within the submit's estimate of ${estimate}`);

    // The same ranks as the single-thread power iteration.
    const rows = parse(debianCsv, { from_line: 2 }) as [string, string][];
    const g = buildGraph(rows);
    const want = powerIteration(g, { iterations, tol: 0 }).ranks;
    const got = new Map((await jobOutput(c, s)).trim().split('\n').slice(1).map((l) => {
      const comma = l.lastIndexOf(',');
      return [l.slice(0, comma).replace(/^"|"$/g, ''), Number(l.slice(comma + 1))] as const;
    }));
    assert.equal(got.size, g.ids.length);
    g.ids.forEach((node, i) => assert.ok(Math.abs(got.get(node)! - want[i]) < 1e-12, `rank of ${node}: ${got.get(node)} vs ${want[i]}`));
    // Done: only its output (P keys) and its rounds' commit records are left.
    const commits = new Set(Array.from({ length: s.round + 1 }, (_, j) => c.keys.commits(id, j)));
    const data = async () => (await jobKeys(id)).filter((key) => !commits.has(key));
    await waitFor(async () => (await data()).length === P, { what: 'the done job cleaned up to its output' });
    assert.deepEqual(new Set(await data()), new Set(Array.from({ length: P }, (_, r) => c.keys.reduceOutput(id, r, s.round))));
  });

  test('a job whose estimated memory does not fit Redis\'s maxmemory is refused at submit, naming the estimate and the headroom', async () => {
    const redis = c.redis.client();
    const used = (await readRedisMemory(redis)).used;
    await redis.config('SET', 'maxmemory', String(used + (2 << 20)));
    try {
      const msg = await refusal({ type: 'pagerank', dataset: 'deps', partitions: cap, params: {} });
      const estimate = estimateJobBytes({ bytes: debianCsv.length, splits: 1, partitions: cap, setupRounds: SETUP_ROUNDS, rounds: SETUP_ROUNDS + 20 + 1 });
      assert.match(msg, new RegExp(`this job needs about ${(estimate / 2 ** 20).toFixed(1)} MiB of Redis memory`));
      assert.match(msg, /Redis has [\d.]+ MiB of headroom \([\d.]+ MiB by Redis's maxmemory, [\d.]+ MiB in use\)/);
      // A small job still fits.
      await putDataset(redis, c.keys, Readable.from([Buffer.from('a,b\nb,c\nc,a\n')]), { name: 'tiny', format: 'edges', splitBytes: 1024 });
      const small = await c.client().submit({ type: 'pagerank', dataset: 'tiny', partitions: 2, params: { iterations: 2 } });
      assert.equal((await waitForJob(c, small)).phase, 'done');
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });

  test('cancelling a running PageRank deletes every key of the job', async () => {
    const id = await c.client().submit({ type: 'pagerank', dataset: 'deps', partitions: cap, params: { iterations: 10_000, tol: 0 } });
    await waitFor(async () => (await c.client().status(id)).round >= SETUP_ROUNDS + 2, { what: 'the job into its iterations', timeoutMs: 60_000 });
    assert.ok((await jobKeys(id)).length > 0);
    await c.client().cancel(id);
    assert.equal((await waitForJob(c, id)).phase, 'cancelled');
    // A task running at the cancel may still write its round's keys (they carry the intermediate TTL), then clean-up has run.
    await waitFor(async () => (await c.client().status(id)).cleaned && (await jobKeys(id)).length === 0, { what: 'no key of the cancelled job left', timeoutMs: 60_000 });
  });

  test('workers report their memory; idle, they drop their caches; the console\'s cluster page shows Redis\'s memory and theirs', async () => {
    const workers = async () => (await readJobTypesReports(c.redis.client(), c.keys, { prune: false })).filter((r) => r.role === 'worker');
    const mem = (m?: ProcessMemory) => m && m.rss > 0 && m.heapUsed > 0 && m.cacheLimit > 0 && m.cacheBytes <= m.cacheLimit;
    await waitFor(async () => (await workers()).length === 2 && (await workers()).every((r) => mem(r.memory)), { what: 'both workers reporting their memory' });
    // And their task counters (the console's throughput charts): the jobs above ran tasks that read and wrote bytes.
    const counted = (await workers()).map((r) => r.counters!);
    assert.ok(counted.every((n) => n && n.since > 0 && n.tasks >= 0), `every worker reports its counters: ${JSON.stringify(counted)}`);
    assert.ok(counted.reduce((n, x) => n + x.tasks, 0) > 0 && counted.reduce((n, x) => n + x.bytesIn + x.bytesOut, 0) > 0, `the jobs' tasks are counted: ${JSON.stringify(counted)}`);
    // The jobs above filled their caches; with no task for a while each drops them.
    await waitFor(async () => (await workers()).every((r) => r.memory!.cacheBytes === 0), { what: 'idle workers with empty caches', timeoutMs: 60_000 });

    const { url } = await c.startConsole();
    const api = (await call(`${url}/api/cluster`)).json as { redisMemory: { used: number; peak: number; maxmemory: number }; workers: { name: string; memory: ProcessMemory }[] };
    assert.ok(api.redisMemory.used > 0 && api.redisMemory.peak >= api.redisMemory.used);
    assert.equal(api.redisMemory.maxmemory, 0);
    assert.equal(api.workers.length, 2);
    const page = (await call(`${url}/cluster`)).text;
    assert.match(page, /<th>Redis used<\/th><td>[\d.]+ (KiB|MiB|GiB)<\/td>/);
    assert.match(page, /<th>Redis maxmemory<\/th><td>none set/);
    assert.match(page, /<th>Redis peak<\/th><td>[\d.]+ (KiB|MiB|GiB)<\/td>/);
    for (const w of api.workers) {
      assert.match(page, new RegExp(`<tr><td><code>${w.name}</code></td><td>[\\d.]+ MiB</td><td>[\\d.]+ MiB</td><td>[\\d.]+ (B|KiB|MiB)</td><td>[\\d.]+ (B|KiB|MiB) of [\\d.]+ MiB</td></tr>`));
    }
  });
});
