import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RedisConnection } from './redis.ts';
import { onEachTopology } from '../../test/harness/topologies.ts';
import { jobDataIO, roundOutput, shuffleBlob, type CommitRecord } from './job-data.ts';
import { keys } from './keys.ts';
import { claimRun, deleteCopies, deleteVerifyData, getCopy, readRuns, recordRun, setCopies } from './verify-data.ts';

onEachTopology((topology) => {
  let redis: RedisConnection;
  before(() => {
    redis = topology().redis;
  });

  let tests = 0;
  const fresh = () => keys(`vd${++tests}`);
  const t = { jobId: 'j', round: 0, kind: 'map' as const, index: 2 };
  const record = (worker: string): CommitRecord => ({
    attempt: 'a', worker, startedAt: 1, ms: 2, recordsIn: 3, recordsOut: 4, bytesIn: 5, bytesOut: 6, failedAttempts: 0, stalls: 0,
  });
  /** othersOnline that counts how often it was asked. */
  function online(answer: boolean) {
    const f = async () => (f.asked++, answer);
    f.asked = 0;
    return f;
  }

  test('claims: a worker that ran the other run defers this one while another worker is online, at most maxDeferrals times, then runs it', async () => {
    const k = fresh();
    const others = online(true);
    assert.deepEqual(await claimRun(redis, k, t, 'first', 'w1', others, 2, 60), { claimed: true });
    assert.equal(others.asked, 0, 'no other run claimed: nobody to ask about');
    assert.deepEqual(await claimRun(redis, k, t, 'check', 'w1', others, 2, 60), { deferred: 1 });
    assert.deepEqual(await claimRun(redis, k, t, 'check', 'w1', others, 2, 60), { deferred: 2 });
    assert.deepEqual(await claimRun(redis, k, t, 'check', 'w1', others, 2, 60), { claimed: true }, 'after the last deferral it runs here');
    assert.equal(others.asked, 3);
    assert.ok((await redis.ttl(k.verifyRuns('j', 0))) > 0, 'the hash expires');
  });

  test('claims: another worker takes the run at once; with no other worker online the same worker does', async () => {
    const k = fresh();
    assert.deepEqual(await claimRun(redis, k, t, 'check', 'w1', online(true), 8, 60), { claimed: true });
    assert.deepEqual(await claimRun(redis, k, t, 'first', 'w2', online(true), 8, 60), { claimed: true }, 'a different worker');
    const k2 = fresh();
    await claimRun(redis, k2, t, 'first', 'w1', online(false), 8, 60);
    assert.deepEqual(await claimRun(redis, k2, t, 'check', 'w1', online(false), 8, 60), { claimed: true }, 'alone: both runs on w1');
  });

  test('run records: the first record of a run stays; both are read together', async () => {
    const k = fresh();
    assert.deepEqual(await readRuns(redis, k, t), {});
    await recordRun(redis, k, t, 'first', { record: record('w1'), digests: ['d1', 'd2'] }, 60);
    await recordRun(redis, k, t, 'first', { record: record('w3'), digests: ['x', 'y'] }, 60);
    await recordRun(redis, k, t, 'check', { record: record('w2'), digests: ['d1', 'd2'] }, 60);
    const runs = await readRuns(redis, k, t);
    assert.equal(runs.first?.record.worker, 'w1');
    assert.deepEqual(runs.first?.digests, ['d1', 'd2']);
    assert.equal(runs.check?.record.worker, 'w2');
    assert.deepEqual(await readRuns(redis, k, { ...t, index: 3 }), {}, 'another task has none');
  });

  test('copies live beside the outputs, expire, and go with the task (deleteCopies) or the job (deleteVerifyData)', async () => {
    const k = fresh();
    const io = jobDataIO(redis, k);
    const at = [shuffleBlob(0, 0, 2), shuffleBlob(0, 1, 2)];
    await setCopies(io, 'j', at.map((a, i) => ({ at: a, value: Buffer.from(`v${i}`) })), 60);
    await setCopies(io, 'j', [{ at: roundOutput(0, 1), value: Buffer.from('out') }], 60);
    assert.equal((await getCopy(io, 'j', at[1]))?.toString(), 'v1');
    assert.ok((await redis.ttl(k.verifyCopy('j', 1, 0, 2))) > 0);
    await deleteCopies(redis, k, 'j', at);
    assert.equal(await getCopy(io, 'j', at[0]), null);
    await recordRun(redis, k, t, 'first', { record: record('w1'), digests: [] }, 60);
    assert.equal((await topology().keys(`${k.prefix}:*`)).length, 2, 'the reduce copy and the verify hash');
    await deleteVerifyData(redis, k, { id: 'j', round: 0, partitions: 2, sendersInRound: () => 3 });
    assert.deepEqual(await topology().keys(`${k.prefix}:*`), []);
  });
});
