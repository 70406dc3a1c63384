import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkTaskJobId, commitTask, roundOutput, setJobValues, taskJobId, type Keys } from '@tandem/shared';
import { checkEpoch, checkOutputs, checkRunningJobs, dataLossAlerts, missingQueueEntries, type DataLossDeps } from './data-loss.ts';
import { StateHolder } from './state-holder.ts';
import type { Op } from './state.ts';
import { putTestSplits, redisFixture, silentLog, submitOp, testCommit, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => (fx = await redisFixture()));
after(async () => fx?.close());

function deps(k: Keys, holder: StateHolder, added: (id: string) => boolean = () => false): DataLossDeps & { proposed: Op[] } {
  const proposed: Op[] = [];
  return {
    redis: fx.redis, keys: k, log: silentLog, queues: fx.queues(k), added, state: () => holder.state, proposed,
    propose: async (op) => {
      proposed.push(op);
      holder.apply(op);
    },
  };
}

/** Ops that take a one-map, one-partition job to done. */
const doneOps = (jobId: string): Op[] => [
  submitOp(jobId, testSpec(1, 1)),
  { op: 'enqueued', at: 2, jobId, round: 0, kind: 'map', indices: [0] },
  { op: 'committed', at: 3, jobId, round: 0, kind: 'map', index: 0, commit: testCommit() },
  { op: 'enqueued', at: 4, jobId, round: 0, kind: 'reduce', indices: [0] },
  { op: 'committed', at: 5, jobId, round: 0, kind: 'reduce', index: 0, commit: testCommit() },
];

test('the epoch is recorded once; when it is gone or changed, every running job fails saying Redis lost its data, and an alert says so', async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  for (const op of [submitOp('run1', testSpec(2, 1)), submitOp('run2', testSpec(1, 1)), ...doneOps('fin')]) holder.apply(op);
  const d = deps(k, holder);
  assert.equal(await checkEpoch(d), false);
  const first = holder.state.epoch;
  assert.equal(first, await fx.redis.get(k.epoch()));
  assert.equal(await checkEpoch(d), false);
  assert.deepEqual(d.proposed.map((op) => op.op), ['epoch'], 'an unchanged epoch proposes nothing');

  await fx.redis.del(k.epoch());
  assert.equal(await checkEpoch(d), true);
  const s = holder.state;
  assert.notEqual(s.epoch, first);
  assert.equal(s.epoch, await fx.redis.get(k.epoch()), 'the new epoch is recorded');
  for (const id of ['run1', 'run2']) {
    assert.equal(s.jobs[id].phase, 'failed');
    assert.match(s.jobs[id].error!, new RegExp(`Redis lost its data \\(the epoch key ${k.epoch()} is gone: Redis restarted without persistence, or was flushed\\); the job's task state and inputs went with it: resubmit`));
  }
  assert.equal(s.jobs.fin.phase, 'done', 'a finished job is not failed');
  const alerts = dataLossAlerts(s, Date.now(), 60_000);
  assert.equal(alerts.length, 1);
  assert.match(alerts[0], /^data loss at \d{4}-\d\d-\d\dT.*Z: Redis lost its data/);
  assert.deepEqual(dataLossAlerts(s, Date.now() + 120_000, 60_000), [], 'an alert lasts its window');

  holder.apply(submitOp('run3', testSpec(1, 1)));
  await fx.redis.set(k.epoch(), 'someone-else');
  assert.equal(await checkEpoch(d), true);
  assert.match(holder.state.jobs.run3.error!, /Redis holds other data than before \(the epoch key .* changed/);
  assert.equal(holder.state.epoch, 'someone-else');
});

test("a running job whose inputs or commit markers vanished fails naming them; one with all its data runs on", async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  const spec = testSpec(3, 1);
  for (const id of ['whole', 'nosplits', 'nocommits']) holder.apply(submitOp(id, spec));
  await putTestSplits(fx.redis, k, spec);
  for (const id of ['whole', 'nocommits']) {
    holder.apply({ op: 'enqueued', at: 2, jobId: id, round: 0, kind: 'map', indices: [0, 1, 2] });
    holder.apply({ op: 'committed', at: 3, jobId: id, round: 0, kind: 'map', index: 0, commit: testCommit() });
  }
  await commitTask(fx.redis, k, { jobId: 'whole', round: 0, kind: 'map', index: 0 }, testCommit(), 3600);
  // "nosplits" pins another version of the dataset, none of whose splits exist.
  const other = { ...spec, dataset: { ...spec.dataset, version: 'v9' } };
  holder.apply({ op: 'install', state: { ...holder.state, jobs: { ...holder.state.jobs, nosplits: { ...holder.state.jobs.nosplits, spec: other } } } });
  const d = deps(k, holder);
  await checkRunningJobs(d);
  const s = holder.state;
  assert.equal(s.jobs.whole.phase, 'map');
  assert.equal(s.jobs.nosplits.phase, 'failed');
  assert.equal(s.jobs.nosplits.error, 'Redis lost its input, splits 0, 1, 2 of dataset books version v9 of job nosplits: resubmit the job (upload its dataset again if it is gone too)');
  assert.equal(s.jobs.nocommits.phase, 'failed');
  assert.match(s.jobs.nocommits.error!, /^Redis lost the commit markers of round 0 of job nocommits: resubmit/);
  assert.equal(s.dataLoss?.length, 2);
});

test('a done job whose output keys are gone is marked output lost, once; one with its output stays done', async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  for (const op of [...doneOps('kept'), ...doneOps('lost')]) holder.apply(op);
  await setJobValues({ redis: fx.redis, keys: k }, 'kept', [{ at: roundOutput(0, 0), value: Buffer.from('a\t1\n') }]);
  const d = deps(k, holder);
  await checkOutputs(d);
  await checkOutputs(d);
  assert.equal(holder.state.jobs.kept.outputLost, undefined);
  assert.equal(holder.state.jobs.lost.phase, 'done');
  assert.deepEqual(holder.state.jobs.lost.outputLost?.partitions, [0]);
  assert.deepEqual(d.proposed.map((op) => op.op), ['outputLost'], 'marked once');
  assert.match(dataLossAlerts(holder.state, Date.now(), 60_000)[0], /the output of job lost \(partitions 0\) is gone from Redis/);
});

test("queued tasks whose queue entry vanished, uncommitted, fail the job, on the slow cadence only; an entry not added yet, or a committed task's, does not", async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  const spec = testSpec(4, 1);
  holder.apply(submitOp('j', spec));
  holder.apply({ op: 'enqueued', at: 2, jobId: 'j', round: 0, kind: 'map', indices: [0, 1, 2, 3] });
  await putTestSplits(fx.redis, k, spec);
  const d = deps(k, holder, (id) => id !== taskJobId('j', 0, 'map', 3));
  // Task 0's entry is there, task 1 committed (its entry removed after completion), 2 vanished, 3 is not added yet.
  await d.queues.map.add('wordcount.map', {}, { jobId: taskJobId('j', 0, 'map', 0) });
  await commitTask(fx.redis, k, { jobId: 'j', round: 0, kind: 'map', index: 1 }, testCommit(), 3600);
  assert.equal(await missingQueueEntries(d, holder.state.jobs.j), 'the queue entries of map tasks 2 of round 0');
  await checkRunningJobs(d);
  assert.equal(holder.state.jobs.j.phase, 'map', 'queue entries wait for the slow cadence');
  await checkRunningJobs(d, true);
  assert.equal(holder.state.jobs.j.phase, 'failed');
  assert.equal(holder.state.jobs.j.error, 'Redis lost the queue entries of map tasks 2 of round 0 of job j: resubmit the job (upload its dataset again if it is gone too)');
});

test("a verified task whose first run's entry is gone is not lost while its second run's entry is there (it commits the task); with both gone it is", async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  const spec = { ...testSpec(2, 1), verify: true as const };
  holder.apply(submitOp('j', spec));
  holder.apply({ op: 'enqueued', at: 2, jobId: 'j', round: 0, kind: 'map', indices: [0, 1] });
  const d = deps(k, holder, () => true);
  // Both first runs completed and BullMQ dropped their entries; task 0's second run is still queued.
  await d.queues.map.add('wordcount.map', {}, { jobId: checkTaskJobId('j', 0, 'map', 0) });
  assert.equal(await missingQueueEntries(d, holder.state.jobs.j), 'the queue entries of map tasks 1 of round 0');
});
