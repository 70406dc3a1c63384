import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RedisConnection } from './redis.ts';
import { onEachTopology } from '../../test/harness/topologies.ts';
import { BulkClient } from './bulk-client.ts';
import { ContentCache } from './content-cache.ts';
import { redisBlobs } from './blob-store.ts';
import {
  commitTask, deleteJobData, getJobValueHead, getJobValues, getLargeJobValue, isCommitted, missingOutputsOf, readCommit, readCommits, roundOutput,
  setJobValues, shuffleBlob, type CommitRecord, type JobDataIO, type JobValue,
} from './job-data.ts';
import { keys } from './keys.ts';

onEachTopology((topology) => {
  let redis: RedisConnection;
  let bulk: BulkClient;
  before(() => {
    redis = topology().redis;
    bulk = BulkClient.forUrl(topology().url, 3);
  });
  after(() => bulk?.close());

  /** Each test its own prefix, so no test sees another's keys. */
  let tests = 0;
  const io = (extra: Partial<JobDataIO> = {}): JobDataIO => ({ redis, keys: keys(`jd${++tests}`), blobs: redisBlobs(redis), ...extra });
  const keysOf = (d: JobDataIO) => topology().keys(`${d.keys.prefix}:*`);
  const keyCount = async (d: JobDataIO) => (await keysOf(d)).length;

  const record = (attempt: string): CommitRecord => ({
    attempt, worker: 'w', startedAt: 1, ms: 2, recordsIn: 3, recordsOut: 4, bytesIn: 5, bytesOut: 6, failedAttempts: 0, stalls: 0,
  });

  test('the first commit of a task wins; a later attempt changes nothing but the expiry', async () => {
    const d = io();
    const t = { jobId: 'j', round: 1, kind: 'map' as const, index: 3 };
    assert.equal(await isCommitted(redis, d.keys, t), false);
    assert.equal(await commitTask(redis, d.keys, t, record('first'), 600), true);
    assert.equal(await commitTask(redis, d.keys, t, record('backup'), 900), false);
    assert.equal(await isCommitted(redis, d.keys, t), true);
    assert.equal((await readCommit(redis, d.keys, t))?.attempt, 'first');
    const ttl = await redis.ttl((await keysOf(d))[0]);
    assert.ok(ttl > 600 && ttl <= 900, `the losing commit set the expiry again (ttl ${ttl})`);
  });

  test('commits are per round: a late commit of an earlier round does not count in the next', async () => {
    const d = io();
    await commitTask(redis, d.keys, { jobId: 'j', round: 1, kind: 'reduce', index: 0 }, record('r0'), 600);
    await commitTask(redis, d.keys, { jobId: 'j', round: 1, kind: 'map', index: 2 }, record('m2'), 600);
    await commitTask(redis, d.keys, { jobId: 'j', round: 0, kind: 'reduce', index: 1 }, record('late'), 600);
    const round1 = await readCommits(redis, d.keys, 'j', 1);
    assert.deepEqual([...round1.keys()].sort(), ['m2', 'r0']);
    assert.equal(round1.get('m2')?.attempt, 'm2');
    assert.equal(await readCommit(redis, d.keys, { jobId: 'j', round: 1, kind: 'reduce', index: 1 }), null);
    assert.deepEqual([...(await readCommits(redis, d.keys, 'j', 0)).keys()], ['r1']);
  });

  /** A job of two rounds, 3 splits and 2 partitions, every key written; and one key of another job. */
  async function writeTwoRoundJob(d: JobDataIO) {
    const job = { id: 'j', round: 1, partitions: 2, sendersInRound: (round: number) => (round === 0 ? 3 : 2) };
    const values: JobValue[] = [];
    for (let round = 0; round <= job.round; round++) {
      for (let p = 0; p < job.partitions; p++) {
        for (let s = 0; s < job.sendersInRound(round); s++) values.push(shuffleBlob(round, p, s));
        values.push(roundOutput(round, p));
      }
      for (let i = 0; i < job.sendersInRound(round); i++) await commitTask(redis, d.keys, { jobId: 'j', round, kind: 'map', index: i }, record('a'), 600);
      for (let i = 0; i < job.partitions; i++) await commitTask(redis, d.keys, { jobId: 'j', round, kind: 'reduce', index: i }, record('a'), 600);
    }
    await setJobValues(d, 'j', values.map((at) => ({ at, value: Buffer.from(JSON.stringify(at)) })), 600);
    await setJobValues(d, 'other', [{ at: roundOutput(0, 0), value: Buffer.from('kept') }]);
    assert.equal(await keyCount(d), 12 + 2 + 2 + 1, 'shuffle blobs and outputs, two commit hashes, the other job');
    return { job, values };
  }

  test('deleteJobData of a done job keeps its last round\'s output and the commits; with all, nothing of it', async () => {
    const d = io();
    const { job, values } = await writeTwoRoundJob(d);

    await deleteJobData(redis, d.keys, job, false);
    const got = await getJobValues(d, 'j', values);
    const kept = values.filter((_, i) => got[i] !== null);
    assert.deepEqual(kept, [roundOutput(1, 0), roundOutput(1, 1)], 'only the job\'s output is left of its values');
    assert.equal((await readCommits(redis, d.keys, 'j', 0)).size, 5);
    assert.equal((await readCommits(redis, d.keys, 'j', 1)).size, 4);
    assert.equal(await keyCount(d), 2 + 2 + 1);

    await deleteJobData(redis, d.keys, job, true);
    assert.deepEqual(await getJobValues(d, 'j', values), values.map(() => null));
    assert.equal((await readCommits(redis, d.keys, 'j', 0)).size, 0);
    assert.equal((await readCommits(redis, d.keys, 'j', 1)).size, 0);
    assert.deepEqual(await getJobValues(d, 'other', [roundOutput(0, 0)]), [Buffer.from('kept')], 'another job\'s data stays');
    assert.equal(await keyCount(d), 1);
  });

  test('values move over ioredis or the bulk client, with the expiry asked for', async () => {
    for (const d of [io(), io({ blobs: bulk })]) {
      await setJobValues(d, 'j', [{ at: shuffleBlob(0, 1, 2), value: Buffer.from('blob') }], 600);
      await setJobValues(d, 'j', [{ at: roundOutput(0, 1), value: Buffer.from('out') }]);
      assert.deepEqual(await getJobValues(d, 'j', [roundOutput(0, 1), shuffleBlob(0, 1, 2), shuffleBlob(0, 1, 3)]), [Buffer.from('out'), Buffer.from('blob'), null]);
      const ttls = await Promise.all((await keysOf(d)).sort().map((key) => redis.ttl(key)));
      assert.equal(ttls.length, 2);
      assert.equal(ttls.filter((t) => t === -1).length, 1, 'the output written without a ttl does not expire');
      assert.equal(ttls.filter((t) => t > 0 && t <= 600).length, 1, 'the shuffle blob expires');
    }
  });

  test('a value this process wrote is read once from its written cache, without Redis', async () => {
    const written = new ContentCache(1 << 20);
    const d = io({ blobs: bulk, written });
    await setJobValues(d, 'j', [{ at: shuffleBlob(2, 0, 1), value: Buffer.from('cached') }], 600);
    await redisBlobs(redis).delete(await keysOf(d));
    assert.deepEqual(await getJobValues(d, 'j', [shuffleBlob(2, 0, 1)]), [Buffer.from('cached')], 'served from memory: RedisConnection no longer has it');
    assert.deepEqual(await getJobValues(d, 'j', [shuffleBlob(2, 0, 1)]), [null], 'a read takes the value out of the cache');
  });

  test('a large value is read as ranges, into a reused buffer when it fits, and its head alone', async () => {
    const big = Buffer.alloc(2.5 * (1 << 20));
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    for (const d of [io(), io({ blobs: bulk })]) {
      await setJobValues(d, 'j', [{ at: roundOutput(3, 1), value: big }], 600);
      const into = Buffer.alloc(3 << 20);
      const read = await getLargeJobValue(d, 'j', roundOutput(3, 1), into);
      assert.ok(read?.data.equals(big));
      assert.equal(read?.backing, into);
      assert.equal(await getLargeJobValue(d, 'j', roundOutput(3, 0)), null);
      assert.deepEqual(await getJobValueHead(d, 'j', roundOutput(3, 1), 4), big.subarray(0, 4));
      assert.equal(await getJobValueHead(d, 'j', roundOutput(3, 0), 4), null);
    }
  });

  test('missingOutputsOf names, per job, the partitions whose round output is gone', async () => {
    const d = io();
    await setJobValues(d, 'a', [0, 2].map((r) => ({ at: roundOutput(1, r), value: Buffer.from('x') })));
    await setJobValues(d, 'b', [0, 1].map((r) => ({ at: roundOutput(0, r), value: Buffer.from('x') })));
    const gone = await missingOutputsOf(redis, d.keys, [{ id: 'a', round: 1, partitions: 3 }, { id: 'b', round: 0, partitions: 2 }, { id: 'c', round: 0, partitions: 1 }]);
    assert.deepEqual([...gone], [['a', [1]], ['c', [0]]]);
    assert.deepEqual(await missingOutputsOf(redis, d.keys, []), new Map());
  });
});
