import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Worker } from 'bullmq';
import { taskJobId, type Keys } from '@tandem/shared';
import { cleanUpJob } from './cleanup.ts';
import type { JobRecord, Op } from './state.ts';
import { waitFor } from '../../../test/harness/wait.ts';
import { redisFixture, stateAfter, submitOp, testCommit, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => (fx = await redisFixture()));
after(async () => fx?.close());

const committed = (jobId: string, kind: 'map' | 'reduce', index: number, round = 0): Op =>
  ({ op: 'committed', at: 3, jobId, round, kind, index, commit: testCommit() });

/** Writes every key a job's tasks write, round by round, as workers would. */
async function writeJobKeys(k: Keys, job: JobRecord, maps: (round: number) => number): Promise<void> {
  for (let round = 0; round <= job.round; round++) {
    for (let r = 0; r < job.spec.partitions; r++) {
      for (let i = 0; i < maps(round); i++) await fx.redis.set(k.mapOutput(job.id, r, round, i), 'x');
      await fx.redis.set(k.reduceOutput(job.id, r, round), 'x');
    }
    await fx.redis.hset(k.commits(job.id, round), 'r0', '{}');
  }
}

const keysOf = async (k: Keys, jobId: string) => (await fx.redis.keys(`${k.prefix}:job:{${jobId}*`)).sort();

test('a done job keeps its output and commit markers; its map outputs go', async () => {
  const k = fx.fresh();
  const job = stateAfter([submitOp('j1', testSpec(2, 2)), committed('j1', 'map', 0), committed('j1', 'map', 1), committed('j1', 'reduce', 0), committed('j1', 'reduce', 1)]).jobs.j1;
  assert.equal(job.phase, 'done');
  await writeJobKeys(k, job, () => 2);
  await writeJobKeys(k, stateAfter([submitOp('other', testSpec(1, 1))]).jobs.other, () => 1);
  await cleanUpJob({ redis: fx.redis, keys: k, queues: fx.queues(k) }, job, false);
  assert.deepEqual(await keysOf(k, 'j1'), [k.commits('j1', 0), k.reduceOutput('j1', 0, 0), k.reduceOutput('j1', 1, 0)].sort());
  assert.equal((await keysOf(k, 'other')).length, 3, "another job's keys are left alone");
});

test("an iterative job keeps only its last round's output", async () => {
  const k = fx.fresh();
  const ops: Op[] = [submitOp('j1', testSpec(3, 2, { setup: 0, iterations: 1, tol: 0 }))];
  for (const i of [0, 1, 2]) ops.push(committed('j1', 'map', i));
  ops.push(committed('j1', 'reduce', 0), committed('j1', 'reduce', 1), committed('j1', 'reduce', 0, 1), committed('j1', 'reduce', 1, 1));
  const job = stateAfter(ops).jobs.j1;
  assert.deepEqual([job.phase, job.round], ['done', 1]);
  await writeJobKeys(k, job, (round) => (round === 0 ? 3 : 2));
  await cleanUpJob({ redis: fx.redis, keys: k, queues: fx.queues(k) }, job, false);
  assert.deepEqual(await keysOf(k, 'j1'), [k.commits('j1', 0), k.commits('j1', 1), k.reduceOutput('j1', 0, 1), k.reduceOutput('j1', 1, 1)].sort());
});

test('a failed, cancelled or removed job loses everything: output, commit markers and its queue entries', async () => {
  const k = fx.fresh();
  const queues = fx.queues(k);
  const job = stateAfter([submitOp('j1', testSpec(2, 1)), committed('j1', 'map', 0), { op: 'cancel', at: 4, clientId: 'c', requestId: 'x', jobId: 'j1' }]).jobs.j1;
  await writeJobKeys(k, job, () => 2);
  const ids = [taskJobId('j1', 0, 'map', 0), taskJobId('j1', 0, 'map', 1), taskJobId('j1', 0, 'map', 1, 1), taskJobId('j1', 0, 'reduce', 0)];
  for (const id of ids) await queues[id.includes('.r.') ? 'reduce' : 'map'].add('wordcount', {}, { jobId: id });
  await queues.map.add('wordcount', {}, { jobId: taskJobId('other', 0, 'map', 0) });
  await cleanUpJob({ redis: fx.redis, keys: k, queues }, job, true);
  assert.deepEqual(await keysOf(k, 'j1'), []);
  assert.deepEqual((await queues.map.getJobs(['waiting'])).map((j) => j.id), ['other.0.m.0']);
  assert.equal(await queues.reduce.count(), 0);
});

test('what a task running at the cancel writes after the clean-up is swept once the task ends', async () => {
  const k = fx.fresh();
  const queues = fx.queues(k);
  const job = stateAfter([submitOp('j1', testSpec(1, 1)), { op: 'cancel', at: 4, clientId: 'c', requestId: 'x', jobId: 'j1' }]).jobs.j1;
  await queues.map.add('wordcount', {}, { jobId: taskJobId('j1', 0, 'map', 0) });
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const worker = new Worker('map', async () => {
    await released;
    // The straggler's write, after the clean-up below deleted the job's keys.
    await fx.redis.set(k.mapOutput('j1', 0, 0, 0), 'late', 'EX', 600);
  }, { connection: fx.server.client(), prefix: k.bullPrefix('map') });
  try {
    await waitFor(async () => (await queues.map.getJobState(taskJobId('j1', 0, 'map', 0))) === 'active', { what: 'the task running' });
    await cleanUpJob({ redis: fx.redis, keys: k, queues }, job, true);
    assert.deepEqual(await keysOf(k, 'j1'), []);
    release();
    await waitFor(async () => (await fx.redis.exists(k.mapOutput('j1', 0, 0, 0))) === 1 || (await queues.map.getJobState(taskJobId('j1', 0, 'map', 0))) === 'completed', { what: 'the straggler done' });
    await waitFor(async () => (await keysOf(k, 'j1')).length === 0, { what: 'the late key swept' });
  } finally {
    await worker.close();
  }
});
