import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { commitTask, jobDataIO, roundOutput, scanJobKeys, setJobValues, shuffleBlob, type Keys } from '@tandem/shared';
import { collectGarbage } from './gc.ts';
import { StateHolder } from './state-holder.ts';
import { redisFixture, silentLog, submitOp, testCommit, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => (fx = await redisFixture()));
after(async () => fx?.close());

/** Writes a job's output, a shuffle blob and a commit hash: three keys, in two hash tags. */
async function writeJob(k: Keys, jobId: string, bytes: number): Promise<void> {
  const io = jobDataIO(fx.redis, k);
  await setJobValues(io, jobId, [{ at: roundOutput(0, 0), value: Buffer.alloc(bytes, 'x') }, { at: shuffleBlob(0, 0, 0), value: Buffer.from('blob') }]);
  await commitTask(fx.redis, k, { jobId, round: 0, kind: 'map', index: 0 }, testCommit(), 3600);
}

test('gc deletes the keys of jobs the table does not hold, reports keys and bytes, and leaves a live job and other prefixes alone; a dry run only lists', async () => {
  const k = fx.fresh();
  const neighbour = fx.fresh();
  const holder = new StateHolder();
  holder.apply(submitOp('live', testSpec(1, 1)));
  await writeJob(k, 'live', 100);
  await writeJob(k, 'big', 50_000);
  await writeJob(k, 'small', 10);
  await writeJob(neighbour, 'big', 10);
  let confirms = 0;
  const d = { redis: fx.redis, keys: k, log: silentLog, state: () => holder.state, confirmRead: async () => void confirms++ };

  const dry = await collectGarbage(d, true);
  assert.equal(dry.dryRun, true);
  assert.equal(dry.orphanJobs, 2);
  assert.equal(dry.keys, 6);
  assert.deepEqual(dry.jobs.map((j) => [j.jobId, j.keys]), [['big', 3], ['small', 3]], 'largest first');
  assert.ok(dry.jobs[0].bytes > 50_000, `MEMORY USAGE counts the value: ${dry.jobs[0].bytes}`);
  assert.equal(dry.bytes, dry.jobs[0].bytes + dry.jobs[1].bytes);
  assert.equal((await scanJobKeys(fx.redis, k)).size, 3, 'a dry run deletes nothing');

  const real = await collectGarbage(d, false);
  assert.equal(real.dryRun, false);
  assert.deepEqual({ ...real, dryRun: true }, dry, 'the same report as the dry run');
  assert.equal(confirms, 3, 'the table is confirmed before the scan and again before deleting');
  const left = await scanJobKeys(fx.redis, k);
  assert.deepEqual([...left.keys()], ['live']);
  assert.equal(left.get('live')!.length, 3, "the live job's keys are untouched");
  assert.equal((await scanJobKeys(fx.redis, neighbour)).get('big')?.length, 3, "another prefix's keys are untouched");
  assert.equal((await collectGarbage(d, false)).keys, 0, 'nothing is left to free');
});

test('a job submitted while gc scans is in the table when gc checks, so its keys stay', async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  await writeJob(k, 'late', 10);
  let calls = 0;
  const confirmRead = async () => {
    // The confirmation after the scan sees the submit that happened meanwhile.
    if (++calls === 2) holder.apply(submitOp('late', testSpec(1, 1)));
  };
  const report = await collectGarbage({ redis: fx.redis, keys: k, log: silentLog, state: () => holder.state, confirmRead }, false);
  assert.equal(report.keys, 0);
  assert.equal((await scanJobKeys(fx.redis, k)).get('late')?.length, 3);
});
