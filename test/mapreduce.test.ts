// MIT 6.824's MapReduce test script (test-mr.sh), ported as black-box tests against real processes, on one
// Redis and on a Redis Cluster (harness/topologies.ts) from one definition.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { causalTimeline, putDataset, readCommits, readJobEvents, scanKeys, vcCompare, type JobStatus, type RedisConnection } from '@tandem/shared';
import { jobOutput, startCluster, waitForJob, type Cluster, type TestRedisLike } from './harness/cluster.ts';
import { PLATFORM_TOPOLOGIES } from './harness/topologies.ts';
import { referenceInvertedIndex, referenceWordCount } from './harness/reference.ts';
import { waitFor } from './harness/wait.ts';
import { repoRoot } from '../apps/cli/src/processes.ts';

const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
const text = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('');
/** About 300 KB of the sample books: small splits make many map tasks. */
const small = text.slice(0, 300_000).replace(/[^\n]*$/, '');

/** Every key matching `pattern`, on every primary of a Redis Cluster. */
async function allKeys(redis: RedisConnection, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of scanKeys(redis, pattern)) found.push(...batch);
  return [...new Set(found)];
}

async function upload(c: Cluster<TestRedisLike>, name: string, data: string, splitBytes = 32 * 1024) {
  const redis = c.redis.client();
  return putDataset(redis, c.keys, Readable.from([Buffer.from(data)]), { name, format: 'text', splitBytes });
}

const output = jobOutput;

const intervals = (file: string) =>
  readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number, number]);

/** True if two calls from different processes overlapped in time. */
function overlapped(calls: [number, number, number][]): boolean {
  return calls.some(([p1, s1, e1]) => calls.some(([p2, s2, e2]) => p1 !== p2 && s1 < e2 && s2 < e1));
}

for (const topology of PLATFORM_TOPOLOGIES) describe(`MapReduce on real processes, on ${topology.name}`, { timeout: 600_000 }, () => {
  let c: Cluster<TestRedisLike>;
  before(async () => {
    const redis = await topology.start();
    try {
      c = await startCluster({ name: `mapreduce${topology.cluster ? '-cluster' : ''}`, workers: 2, redis });
    } catch (err) {
      await redis.stop();
      throw err;
    }
    await upload(c, 'books', small);
  });
  after(async () => {
    await c?.stop();
    await c?.redis.stop();
  });

  test('word count equals the sequential reference', async () => {
    const client = c.client();
    const id = await client.submit({ type: 'wordcount', dataset: 'books', partitions: 3 });
    const s = await waitForJob(c, id);
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.ok(s.maps.total > 5, `expected many map tasks, got ${s.maps.total}`);
    assert.equal(await output(c, s), referenceWordCount(small));
    assert.equal(s.counters.map.recordsIn, small.split('\n').length - 1);
  });

  test('inverted index equals the sequential reference', async () => {
    const id = await c.client().submit({ type: 'invertedindex', dataset: 'books', partitions: 2 });
    const s = await waitForJob(c, id);
    assert.equal(s.phase, 'done', s.error ?? '');
    assert.equal(await output(c, s), referenceInvertedIndex(small));
  });

  test('grep finds matching lines with their line numbers', async () => {
    const id = await c.client().submit({ type: 'grep', dataset: 'books', params: { pattern: 'Elizabeth|Emma', flags: 'i' } });
    const s = await waitForJob(c, id);
    assert.equal(s.phase, 'done', s.error ?? '');
    const expected = small.split('\n').slice(0, -1).map((l, i) => [i + 1, l] as const).filter(([, l]) => /Elizabeth|Emma/i.test(l));
    const got = (await output(c, s)).trimEnd().split('\n').map((l) => l.split('\t'));
    assert.ok(expected.length > 10);
    assert.deepEqual(got.map(([line, , t]) => [Number(line), t]), expected.map(([n, l]) => [n, l]));
  });

  test('map parallelism: two workers run map tasks at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-mtiming-'));
    const id = await c.client().submit({ type: 'timing', dataset: 'books', partitions: 2, params: { dir, phase: 'map', sleepMs: '1000' } });
    assert.equal((await waitForJob(c, id)).phase, 'done');
    const calls = intervals(join(dir, 'map-calls'));
    assert.equal(new Set(calls.map(([pid]) => pid)).size, 2, 'both workers ran map tasks');
    assert.ok(overlapped(calls), 'map calls of two workers overlapped');
  });

  test('reduce parallelism: two workers run reduce tasks at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-rtiming-'));
    const id = await c.client().submit({ type: 'timing', dataset: 'books', partitions: 4, params: { dir, phase: 'reduce', sleepMs: '1000' } });
    assert.equal((await waitForJob(c, id)).phase, 'done');
    const calls = intervals(join(dir, 'reduce-calls'));
    assert.equal(calls.length, 4);
    assert.ok(overlapped(calls), 'reduce calls of two workers overlapped');
  });

  test('job count: with no failures, no map task runs twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-jobcount-'));
    const id = await c.client().submit({ type: 'jobcount', dataset: 'books', partitions: 1, params: { dir } });
    const s = await waitForJob(c, id);
    assert.equal(s.phase, 'done');
    const calls = readFileSync(join(dir, 'map-calls'), 'utf8').trim().split('\n');
    assert.equal(calls.length, s.maps.total);
    assert.equal(new Set(calls.map((l) => l.split(' ')[1])).size, s.maps.total);
    assert.equal(s.counters.map.attempts, s.maps.total);
    assert.equal(s.counters.map.failures, 0);
  });

  test('early exit: the job is reported done only when every output is committed and readable', async () => {
    const client = c.client();
    const id = await client.submit({ type: 'wordcount', dataset: 'books', partitions: 4 });
    const redis = c.redis.client();
    let s: JobStatus;
    for (;;) {
      s = await client.status(id);
      if (s.phase === 'done') break;
      assert.notEqual(s.phase, 'failed');
    }
    // Read immediately at the first "done": everything must already be there.
    const commits = await readCommits(redis, c.keys, id, s.round);
    assert.deepEqual([...commits.keys()].filter((f) => f.startsWith('r')).sort(), ['r0', 'r1', 'r2', 'r3']);
    assert.equal(await output(c, s), referenceWordCount(small));
    // Clean-up runs after "done" and deletes intermediate data: the output must outlive it.
    const cleaned = await waitFor(async () => { const t = await client.status(id); return t.cleaned ? t : null; }, { what: 'the clean-up after done' });
    assert.equal(await output(c, cleaned), referenceWordCount(small), 'output unchanged after clean-up');
  });

  test('intermediate data is deleted when a job ends; outputs stay until the job is removed', async () => {
    const client = c.client();
    const id = await client.submit({ type: 'wordcount', dataset: 'books', partitions: 2 });
    await waitForJob(c, id);
    const redis = c.redis.client();
    await waitFor(async () => (await client.status(id)).cleaned, { what: 'clean-up' });
    const left = await allKeys(redis, `${c.prefix}:job:{${id}:*`);
    assert.deepEqual(left.filter((k) => /:m\d+$/.test(k)), []);
    assert.equal(left.filter((k) => k.endsWith(':out')).length, 2);
    await client.remove(id);
    assert.deepEqual(await allKeys(redis, `${c.prefix}:job:{${id}*`), []);
    await assert.rejects(client.status(id), /does not exist/);
  });
});

describe('the cluster event log', { timeout: 120_000 }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ name: 'events', workers: 2 });
    await upload(c, 'books', small);
  });
  after(async () => c?.stop());

  test("a job's events from master and workers are causally ordered, with concurrent tasks marked", async () => {
    const id = await c.client().submit({ type: 'wordcount', dataset: 'books', partitions: 2 });
    const s = await waitForJob(c, id);
    assert.equal(s.phase, 'done');
    const redis = c.redis.client();
    await waitFor(async () => (await readJobEvents(redis, c.keys, id)).some((e) => e.what === 'job cleaned up'), { what: 'the clean-up event' });
    const timeline = causalTimeline(await readJobEvents(redis, c.keys, id));
    const events = timeline.map((t) => t.event);
    const at = (what: string, task?: string) => events.findIndex((e) => e.what === what && (task === undefined || e.task === task));
    assert.equal(events[0].what, 'job submitted');
    const done = at('job done');
    assert.ok(done > 0);
    for (let i = 0; i < s.maps.total; i++) {
      const started = at('task started', `map ${i}`);
      const committed = at('task committed', `map ${i}`);
      const seen = at('task commit seen', `map ${i}`);
      assert.ok(started >= 0 && started < committed && committed < seen && seen < at('phase reduce'), `map ${i}: started < committed < seen by master < reduce phase`);
      assert.equal(vcCompare(events[committed].vc, events[seen].vc), 'before');
      assert.equal(vcCompare(events[committed].vc, events[done].vc), 'before', 'job done is causally after every commit');
    }
    assert.ok(events.filter((e) => e.proc.startsWith('worker:')).length >= 2 * (s.maps.total + s.reduces.total));
    assert.ok(timeline.some((t) => t.event.what === 'task started' && t.concurrentWith.some((j) => events[j].what === 'task started')), 'tasks on two workers ran concurrently');

    const cli = await c.cli(['events', '--job', id]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^#\s+LAMPORT\s+CONCURRENT WITH/);
    assert.match(cli.stdout, /job submitted/);
    assert.match(cli.stdout, /∥ #\d+/);
    assert.match((await c.cli(['events', '--job', 'jnope'])).stderr, /no events for job jnope/);
  });
});
