// `--verify` (docs/DESIGN.md §3.6) on real processes: every task runs twice, on the two workers, and a
// job type that is not deterministic fails naming the task, the key and both values.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TandemError, putDataset, scanJobKeys, verifyText, type JobStatus } from '@tandem/shared';
import { jobOutput, kill, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { referenceInvertedIndex, referenceWordCount } from './harness/reference.ts';
import { waitFor } from './harness/wait.ts';
import { repoRoot } from '../apps/cli/src/processes.ts';

const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
/** About 200 KB of the sample books in 32 KiB splits: several map tasks. */
const small = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('').slice(0, 200_000).replace(/[^\n]*$/, '');

async function upload(c: Cluster, name: string, data: string, format: 'text' | 'edges' = 'text') {
  return putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(data)]), { name, format, splitBytes: 32 * 1024 });
}

/** Waits for the job's clean-up, then lists the verify keys (second runs' copies, verify hashes) left of it. */
async function verifyKeysLeft(c: Cluster, s: JobStatus): Promise<string[]> {
  await waitFor(async () => (await c.client().status(s.id)).cleaned, { what: `job ${s.id} to be cleaned up` });
  const keys = (await scanJobKeys(c.redis.client(), c.keys)).get(s.id) ?? [];
  return keys.filter((k) => k.endsWith(':v') || k.endsWith(':verify'));
}

describe('--verify on real processes', { timeout: 600_000 }, () => {
  let c: Cluster;
  const tmp = mkdtempSync(join(tmpdir(), 'tandem-verify-'));
  before(async () => {
    c = await startCluster({ name: 'verify', workers: 2 });
    await upload(c, 'books', small);
    // Line 1 and line 3 start with "a": arrivalorder's reduce joins their numbers in arrival order.
    await upload(c, 'firstwords', 'a x\nb y\na z\nc w\n');
    await upload(c, 'graph', 'a,b\nb,c\nc,a\n', 'edges');
  });
  after(async () => c?.stop());

  test('a deterministic job (word count) verified on two workers: done, every task ran twice on different workers, output identical to the unverified run', async () => {
    const plain = await waitForJob(c, await c.client().submit({ type: 'wordcount', dataset: 'books', partitions: 3 }));
    assert.equal(plain.phase, 'done', plain.error ?? '');
    const out = join(tmp, 'verified.txt');
    const r = await c.cli(['job', 'run', 'wordcount', '--dataset', 'books', '--partitions', '3', '--verify', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /verified: every task ran twice, outputs identical, each time on two different workers/);
    assert.equal(readFileSync(out, 'utf8'), await jobOutput(c, plain), 'the verified output is byte for byte the unverified one');
    assert.equal(readFileSync(out, 'utf8'), referenceWordCount(small));
    const id = /submitted job (\S+)/.exec(r.stderr)![1];
    const s = await c.client().status(id);
    assert.ok(s.maps.total > 3, `several map tasks (got ${s.maps.total})`);
    assert.deepEqual(s.verify, { tasks: s.maps.total + s.reduces.total, sameWorker: 0 });
    // The counters are the first runs': the same as the unverified job's.
    assert.equal(s.counters.map.recordsIn, plain.counters.map.recordsIn);
    assert.equal(s.counters.reduce.recordsOut, plain.counters.reduce.recordsOut);
    const status = await c.cli(['job', 'status', id]);
    assert.match(status.stdout, /verified: every task ran twice, outputs identical/);
    assert.deepEqual(await verifyKeysLeft(c, s), [], 'the second runs\' copies and records are deleted');
    assert.equal(plain.verify, null, 'a job without --verify says nothing of it');
  });

  test('an associative but not commutative combiner whose reduce sorts (inverted index) passes --verify', async () => {
    const s = await waitForJob(c, await c.client().submit({ type: 'invertedindex', dataset: 'books', partitions: 2, verify: true }));
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.equal(await jobOutput(c, s), referenceInvertedIndex(small));
    assert.equal(s.verify?.tasks, s.maps.total + s.reduces.total);
  });

  test('a reduce that joins values in arrival order: done without --verify, and --verify fails the job naming the reduce task, the key and both values', async () => {
    const plain = await waitForJob(c, await c.client().submit({ type: 'arrivalorder', dataset: 'firstwords', partitions: 1 }));
    assert.equal(plain.phase, 'done', 'without --verify nothing shows');
    assert.equal(await jobOutput(c, plain), 'a\t1,3\nb\t2\nc\t4\n');
    const r = await c.cli(['job', 'run', 'arrivalorder', '--dataset', 'firstwords', '--partitions', '1', '--verify']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /reduce task 0(?:'s second run)? failed: the two runs of reduce task 0 \(--verify\) differ at key "a": the first run wrote "a\\t1,3", the second "a\\t3,1"/);
    assert.match(r.stderr, /depends on the order of a key's values/);
    assert.match(r.stderr, /verify: 1 task ran twice with identical outputs before the job failed/, 'the map task agreed');
    const id = /submitted job (\S+)/.exec(r.stderr)![1];
    const s = await c.client().status(id);
    assert.equal(s.phase, 'failed');
    assert.deepEqual(await verifyKeysLeft(c, s), [], 'both runs\' outputs are deleted with the failed job');
  });

  test('a map that reads the clock: --verify fails the job naming the map task, the key and both values', async () => {
    const s = await waitForJob(c, await c.client().submit({ type: 'clockmap', dataset: 'firstwords', partitions: 2, verify: true }));
    assert.equal(s.phase, 'failed');
    assert.match(s.error ?? '', /^map task 0(?:'s second run)? failed: the two runs of map task 0 \(--verify\) differ for partition \d at key "ran-at-0": the first run wrote \d+(\.\d+)?, the second \d+(\.\d+)?\. /);
    const [, first, second] = /the first run wrote ([\d.]+), the second ([\d.]+)/.exec(s.error!)!;
    assert.notEqual(first, second);
    assert.match(s.error!, /a map that reads the clock/);
    assert.equal(s.reduces.committed, 0, 'no reduce ran on unverified map output');
    assert.deepEqual(await verifyKeysLeft(c, s), []);
  });

  test('an iterative job (PageRank) with --verify is refused, saying why', async () => {
    await assert.rejects(c.client().submit({ type: 'pagerank', dataset: 'graph', verify: true }), (err: TandemError) => {
      assert.equal(err.code, 'invalid');
      assert.match(err.message, /--verify runs key\/value job types only; "pagerank" is an iterative job type/);
      return true;
    });
    const r = await c.cli(['job', 'run', 'pagerank', '--dataset', 'graph', '--verify']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"pagerank" is an iterative job type .*Run it without --verify/);
  });

  test('with one worker, both runs of every task run on it, and the status says so', async () => {
    await kill(c.workers[1]);
    const submitted = await c.cli(['job', 'submit', 'wordcount', '--dataset', 'books', '--partitions', '2', '--verify']);
    assert.equal(submitted.code, 0, submitted.stderr);
    const s = await waitForJob(c, submitted.stdout.trim());
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.equal(await jobOutput(c, s), referenceWordCount(small));
    const tasks = s.maps.total + s.reduces.total;
    assert.deepEqual(s.verify, { tasks, sameWorker: tasks });
    assert.match(verifyText(s)!, /^verified: every task ran twice, outputs identical; both runs of every task were on one worker/);
  });
});

describe('--verify through a failover of the primary master', { timeout: 600_000 }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ name: 'verify-failover', masters: 2, workers: 2 });
    await upload(c, 'books', small);
  });
  after(async () => c?.stop());

  test('the primary dies while a verified job maps: the new primary keeps it verified and re-adds both runs of each task; done, every task verified', async () => {
    const { primary } = await c.replicated();
    const id = await c.client().submit({ type: 'slowwordcount', dataset: 'books', partitions: 2, params: { mapMs: 1000 }, verify: true });
    await waitFor(async () => (await c.client().status(id)).maps.committed >= 1, { what: 'a verified map task to commit' });
    const before = await c.client().status(id);
    assert.equal(before.phase, 'map', 'still mapping when the primary dies');
    await kill(c.masters[primary].proc);
    assert.notEqual(await c.primary(), primary, 'the backup takes over');
    const s = await waitForJob(c, id);
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.equal(await jobOutput(c, s), referenceWordCount(small));
    assert.equal(s.verify?.tasks, s.maps.total + s.reduces.total, 'every task, before and after the failover, ran twice and agreed');
  });
});
