import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkTaskJobId, commitTask, jobDataIO, roundOutput, setJobValues, taskJobId, type Keys } from '@tandem/shared';
import { LOST_WINDOW_MARGIN_MS, checkEpoch, checkOutputs, checkRunningJobs, dataLossAlerts, lostJob, lostJobText, missingQueueEntries, restoredOp, rollbackLoss, type DataLossDeps } from './data-loss.ts';
import { MAX_BATCH } from './op-pipeline.ts';
import { newJobId } from './submit.ts';
import { StateHolder } from './state-holder.ts';
import { MAX_DATA_LOSSES, apply, type Op } from './state.ts';
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
  await setJobValues(jobDataIO(fx.redis, k), 'kept', [{ at: roundOutput(0, 0), value: Buffer.from('a\t1\n') }]);
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

test('a rolled-back op log, step by step: the loss is recorded with its batches, running jobs say lost, every version jumps past what the lost batches could add, and ids issued in the lost window answer lost', () => {
  const T = 1_700_000_000_000;
  // The surviving log: a job done at T+5, one running (its map committed at T+10).
  const holder = new StateHolder();
  const done = newJobId(T);
  const running = newJobId(T + 6);
  for (const op of doneOps(done).map((o, i) => ({ ...o, at: T + i + 1 }) as Op)) holder.apply(op);
  holder.apply(submitOp(running, testSpec(2, 1), T + 6));
  holder.apply({ op: 'enqueued', at: T + 7, jobId: running, round: 0, kind: 'map', indices: [0, 1] });
  holder.apply({ op: 'committed', at: T + 10, jobId: running, round: 0, kind: 'map', index: 0, commit: testCommit() });
  const before = holder.state;

  assert.equal(rollbackLoss(before, 41, 41, T + 5000), null, 'a log at the witness lost nothing');
  assert.equal(rollbackLoss(before, 45, 41, T + 5000), null, 'a log past the witness (batches after the last ping) lost nothing');

  const loss = rollbackLoss(before, 23, 41, T + 5000)!;
  assert.deepEqual(loss.rollback, { from: 24, to: 41, jobsSince: T + 10 - LOST_WINDOW_MARGIN_MS, versionBump: 19 * MAX_BATCH });
  assert.deepEqual(loss.jobIds, [running]);
  assert.match(loss.message, /the durable op log ends at batch 23 but a master held batch 41, so batches 24-41 \(at least\) are gone/);
  const after = apply(before, loss).state;

  assert.equal(after.jobs[running].phase, 'failed');
  assert.deepEqual(after.jobs[running].lost, { at: T + 5000 });
  assert.equal(after.jobs[running].error, loss.message);
  assert.equal(after.jobs[done].phase, 'done', 'a job done in the surviving log stays done');
  assert.equal(after.jobs[done].lost, undefined);
  for (const id of [done, running]) {
    assert.ok(after.jobs[id].version > before.jobs[id].version + 18 * MAX_BATCH, `${id}: the version jumps past anything the lost batches reached`);
  }
  const alerts = dataLossAlerts(after, T + 6000, 60_000);
  assert.equal(alerts.length, 1);
  assert.match(alerts[0], /^data loss at .*Z: Redis lost acknowledged writes in a crash/);

  // A job submitted in a lost batch is gone from the table; its id says lost, not unknown.
  assert.match(lostJobText(after, newJobId(T + 300))!, /^job j\w+ is lost: Redis lost its record in a crash \(detected at .*Z\); resubmit it$/);
  assert.equal(lostJobText(after, newJobId(T - 60_000)), null, 'an id from before the lost window is simply unknown');
  assert.equal(lostJobText(after, newJobId(T + 9000)), null, 'an id from after the detection is simply unknown');
  assert.equal(lostJobText(after, 'nonsense'), null);
  assert.equal(lostJobText(before, newJobId(T + 300)), null, 'no loss recorded, nothing is lost');

  // The same crash took the outputs of many done jobs: each is a loss of its own, and none pushes the rollback out.
  let later = after;
  for (let i = 0; i < 2 * MAX_DATA_LOSSES; i++) {
    const id = `d${i}`;
    for (const op of doneOps(id).map((o) => ({ ...o, at: T + 5001 }) as Op)) later = apply(later, op).state;
    later = apply(later, { op: 'outputLost', at: T + 5002, jobId: id, partitions: [0] }).state;
  }
  assert.equal(later.dataLoss!.length, MAX_DATA_LOSSES + 1, 'the newest output losses and the rollback');
  assert.match(lostJobText(later, newJobId(T + 300))!, /is lost: Redis lost its record in a crash/);
  assert.ok(dataLossAlerts(later, T + 6000, 60_000).some((a) => /Redis lost acknowledged writes in a crash/.test(a)));

  // Nor the loss that explains them when it was no rollback (the primary wrote the log again): it
  // is kept apart from the outputs (the redis-crash test saw 20 lost outputs push it out).
  let reseeded = apply(before, { op: 'dataLost', at: T + 5000, message: 'Redis lost acknowledged writes: the durable op log ended at batch 3 while the primary held batch 9', jobIds: [] }).state;
  for (let i = 0; i < 2 * MAX_DATA_LOSSES; i++) {
    const id = `e${i}`;
    for (const op of doneOps(id).map((o) => ({ ...o, at: T + 5001 }) as Op)) reseeded = apply(reseeded, op).state;
    reseeded = apply(reseeded, { op: 'outputLost', at: T + 5002, jobId: id, partitions: [0] }).state;
  }
  assert.equal(reseeded.dataLoss!.filter((l) => l.output).length, MAX_DATA_LOSSES);
  assert.ok(dataLossAlerts(reseeded, T + 6000, 60_000).some((a) => /the durable op log ended at batch 3 while the primary held batch 9/.test(a)));
});

test('an unwitnessed rollback (the log lost only batches no ping had reported, both masters died): an id the restored table lacks answers lost, and reports the loss once', () => {
  const T = 1_700_000_000_000;
  // The surviving log ends with a job done at T+5; the witness is at the log's end, so no rollback is seen.
  let s = new StateHolder().state;
  const done = newJobId(T);
  for (const op of doneOps(done).map((o, i) => ({ ...o, at: T + i + 1 }) as Op)) s = apply(s, op).state;
  assert.equal(rollbackLoss(s, 41, 41, T + 5000), null);
  assert.equal(restoredOp(new StateHolder().state, T + 5000), null, 'a new cluster (nothing in the log) has nothing to lose');

  // Restored from the log alone at T+5000: ids from the newest time it records (less the margin) until then may be lost.
  const restored = restoredOp(s, T + 5000)!;
  assert.deepEqual(restored, { op: 'restored', at: T + 5000, jobsSince: T + 5 - LOST_WINDOW_MARGIN_MS });
  s = apply(s, restored).state;
  assert.deepEqual(dataLossAlerts(s, T + 5001, 60_000), [], 'a restore alone is no loss: no alert');

  // Job J was submitted (and cancelled) at T+40 in batches the crash took, before any ping reported them.
  const j = newJobId(T + 40);
  const found = lostJob(s, j, T + 7000)!;
  assert.equal(found.text, `job ${j} is lost: Redis lost its record in a crash (detected at ${new Date(T + 7000).toISOString()}); resubmit it`);
  assert.deepEqual(found.report?.lostJobs, { since: T + 5 - LOST_WINDOW_MARGIN_MS, until: T + 5000 });
  assert.deepEqual(found.report?.jobIds, [], 'no running job is failed by it');
  for (const id of [newJobId(T - 60_000), newJobId(T + 6000), 'nonsense']) assert.equal(lostJob(s, id, T + 7000), null, `${id}: outside the window, simply unknown`);

  // Reported: the alert says so, the window answers lost from the loss, and asking again reports nothing more.
  s = apply(s, found.report!).state;
  const alerts = dataLossAlerts(s, T + 7001, 60_000);
  assert.equal(alerts.length, 1);
  assert.match(alerts[0], new RegExp(`^data loss at .*Z: Redis lost acknowledged writes in a crash: job ${j}, acknowledged before the masters restored the job table`));
  assert.deepEqual(lostJob(s, j, T + 9000), { text: found.text, report: null });
  assert.deepEqual(lostJob(s, newJobId(T + 100), T + 9000)?.report, null, 'another id of the window: lost, already reported');
  assert.equal(lostJobText(s, newJobId(T + 6000)), null, 'an id from after the restore (the new tenure\'s) is simply unknown');
});
