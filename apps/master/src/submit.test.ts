import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Worker } from 'bullmq';
import { getDataset, putDataset, splitFirstRecords, type Keys } from '@tandem/shared';
import { loadRegistry, type Registry } from '@tandem/jobs';
import { waitFor } from '../../../test/harness/wait.ts';
import { RequestError, defaultPartitions, jobSpecFor, newJobId, type SubmitDeps, type SubmitRequest } from './submit.ts';
import { redisFixture, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
let registry: Registry;
before(async () => {
  fx = await redisFixture();
  registry = await loadRegistry();
});
after(async () => fx?.close());

async function* once(text: string) {
  yield Buffer.from(text);
}

/** A prefix holding a text dataset `books` (several splits) and an edges dataset `graph`. */
async function withDatasets(): Promise<{ k: Keys; deps: SubmitDeps }> {
  const k = fx.fresh();
  await putDataset(fx.redis, k, once('aaaa\nbbbb\ncccc\ndddd\neeee\nffff\n'), { name: 'books', format: 'text', splitBytes: 16 });
  await putDataset(fx.redis, k, once('a,b\nb,c\n'), { name: 'graph', format: 'edges', splitBytes: 1024 });
  const queues = fx.queues(k);
  return { k, deps: { registry, redis: fx.redis, keys: k, workersOnline: () => queues.map.getWorkersCount() } };
}

const req = (more: Partial<SubmitRequest>): SubmitRequest => ({ clientId: 'c1', requestId: 'r1', type: 'wordcount', dataset: 'books', params: {}, ...more });

test('a valid request becomes a spec that pins the dataset version and its splits', async () => {
  const { deps } = await withDatasets();
  const spec = await jobSpecFor(deps, req({ partitions: 4 }));
  assert.equal(spec.type, 'wordcount');
  assert.equal(spec.partitions, 4);
  assert.equal(spec.rounds, undefined);
  const meta = (await getDataset(fx.redis, deps.keys, 'books'))!;
  assert.ok(meta.splits > 1);
  assert.deepEqual(spec.dataset.firstRecords, splitFirstRecords(meta), 'one map task per split');
  assert.equal(spec.dataset.records, 6);
  assert.equal(spec.dataset.version, meta.version);
  assert.equal(spec.dataset.format, 'text');
  const grep = await jobSpecFor(deps, req({ type: 'grep', params: { pattern: 'b+' } }));
  assert.deepEqual(grep.params, { pattern: 'b+', flags: '' }, 'params are validated and defaulted by the job type');
  assert.equal(grep.partitions, 1, 'a small one-round job gets one partition');
});

test('an iterative job gets its round plan, and at least one partition per worker online', async () => {
  const { k, deps } = await withDatasets();
  const workers = [0, 1, 2].map(() => new Worker('map', async () => {}, { connection: fx.server.client(), prefix: k.bullPrefix('map') }));
  try {
    await waitFor(async () => (await deps.workersOnline()) === 3, { what: 'three workers online' });
    const spec = await jobSpecFor(deps, req({ type: 'pagerank', dataset: 'graph', params: { iterations: '4' } }));
    assert.equal(spec.partitions, 3);
    assert.equal(spec.rounds?.iterations, 4);
    assert.equal(spec.params.iterations, 4);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
});

test('a request the master cannot run is refused with a RequestError that says what to change', async () => {
  const { deps } = await withDatasets();
  const refusals: [Partial<SubmitRequest>, RegExp][] = [
    [{ type: 'nope' }, /unknown job type "nope"/],
    [{ params: { x: '1' } }, /unknown parameter/],
    [{ dataset: 'missing' }, /dataset "missing" does not exist; upload it with: tandem dataset put missing FILE/],
    [{ type: 'pagerank', dataset: 'books' }, /job type "pagerank" reads edges datasets; dataset "books" is text/],
    [{ partitions: 0 }, /partitions must be a whole number from 1 to 1024 \(got 0\)/],
    [{ partitions: 1025 }, /from 1 to 1024/],
    [{ partitions: 1.5 }, /from 1 to 1024/],
  ];
  for (const [more, message] of refusals) {
    await assert.rejects(jobSpecFor(deps, req(more)), (err: Error) => err instanceof RequestError && message.test(err.message), JSON.stringify(more));
  }
});

test('default partitions: by size one per 32 MiB; per worker one per worker or per 128 MiB; from 1 to 16', () => {
  assert.equal(defaultPartitions(0), 1);
  assert.equal(defaultPartitions(32 << 20), 1);
  assert.equal(defaultPartitions((32 << 20) + 1), 2);
  assert.equal(defaultPartitions(10 * 2 ** 30), 16);
  assert.equal(defaultPartitions(100, 5), 5);
  assert.equal(defaultPartitions(100, 0), 1);
  assert.equal(defaultPartitions(233e6, 2), 2);
  assert.equal(defaultPartitions((3 * 128 << 20) + 1, 2), 4);
  assert.equal(defaultPartitions(10 * 2 ** 30, 2), 16);
  assert.equal(defaultPartitions(100, 40), 16);
});

test('job ids are fresh and sort by submit time', () => {
  const a = newJobId(Date.parse('2025-01-01'));
  assert.notEqual(newJobId(Date.parse('2025-01-01')), a);
  assert.ok(newJobId(Date.parse('2025-01-02')) > a);
  assert.match(a, /^j[0-9a-z]+$/);
});

test('verify: a key/value job keeps it in its spec (replicated with the submit); an iterative one is refused, saying why', async () => {
  const { deps } = await withDatasets();
  assert.equal((await jobSpecFor(deps, req({ verify: true }))).verify, true);
  assert.equal('verify' in (await jobSpecFor(deps, req({ verify: false }))), false, 'false is the same as absent');
  await assert.rejects(jobSpecFor(deps, req({ type: 'pagerank', dataset: 'graph', verify: true })), (err: RequestError) => {
    assert.ok(err instanceof RequestError);
    assert.match(err.message, /^--verify runs key\/value job types only; "pagerank" is an iterative job type .*Run it without --verify$/);
    return true;
  });
});
