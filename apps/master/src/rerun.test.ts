/**
 * Rerunning a map task whose committed output Redis lost (docs/DESIGN.md §3.4), tick by tick: the
 * rule (`rerunRule`), the `rerun` op, and what the scheduler then plans. Pure: no Redis.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lostOutputText, parseLostOutput, parseTaskJobId, taskJobId, checkTaskJobId } from '@tandem/shared';
import { plan } from './scheduler.ts';
import { MAX_RERUNS, apply, rerunRule, type MasterState, type Op } from './state.ts';
import { stateAfter, submitOp, testCommit, testSpec } from './test-support.ts';

const cfg = { speculateFactor: 2, speculateMinMs: 1000, retentionMs: 60_000 };
const commit = (kind: 'map' | 'reduce', index: number, attempt: string, round = 0): Op =>
  ({ op: 'committed', at: 5, jobId: 'j', round, kind, index, commit: testCommit({ attempt }) });
const rerunOp = (map: number | null, reduce: number, reduceRerun = 0, round = 0): Extract<Op, { op: 'rerun' }> =>
  ({ op: 'rerun', at: 9, jobId: 'j', round, map, reduce, reduceRerun, reason: `reduce task ${reduce} failed: lost` });

/** Job j: 2 splits, 2 partitions, both maps committed (attempts m0, m1), reduces queued, reduce 0 committed. */
function inReduce(): MasterState {
  return stateAfter([
    submitOp('j', testSpec(2, 2)),
    { op: 'enqueued', at: 2, jobId: 'j', round: 0, kind: 'map', indices: [0, 1] },
    commit('map', 0, 'm0'), commit('map', 1, 'm1'),
    { op: 'enqueued', at: 6, jobId: 'j', round: 0, kind: 'reduce', indices: [0, 1] },
    commit('reduce', 0, 'r0'),
  ]);
}

test('tick by tick: a reduce task finds map 1\'s output lost; map 1 reruns under a new id, then reduce 1, and the job ends done', () => {
  let s = inReduce();
  assert.equal(s.jobs.j.phase, 'reduce');
  assert.equal(s.jobs.j.counters.map.recordsIn, 20);
  assert.equal(rerunRule(s.jobs.j, rerunOp(1, 1)), 'rerun');

  // Tick 1: the rerun op. Map 1 pending and uncommitted, its lost attempt discarded; the job back in its map phase.
  s = apply(s, rerunOp(1, 1)).state;
  const job = s.jobs.j;
  assert.equal(job.phase, 'map');
  assert.deepEqual(job.maps[1], { kind: 'map', index: 1, state: 'pending', speculative: 0, reruns: 1, discarded: ['m1'] });
  assert.deepEqual(job.reduces[1], { kind: 'reduce', index: 1, state: 'pending', speculative: 0, reruns: 1 });
  assert.equal(job.reduces[0].state, 'committed', 'a reduce task that committed stays committed');
  assert.equal(job.maps[0].state, 'committed');
  assert.deepEqual(job.reruns, [{ at: 9, round: 0, map: 1, reason: 'reduce task 1 failed: lost' }]);
  assert.equal(job.counters.map.recordsIn, 10, "the lost commit's records no longer count");
  assert.equal(job.counters.reduce.failures, 1, 'the failed reduce attempt counts');

  // Tick 2: the scheduler enqueues map 1 again, under its rerun's id.
  assert.deepEqual(plan(s, 10, cfg), [{ type: 'enqueue', jobId: 'j', round: 0, kind: 'map', indices: [1] }]);
  assert.equal(taskJobId('j', 0, 'map', 1, 0, s.jobs.j.maps[1].reruns), 'j.0.m.1.a1');
  s = apply(s, { op: 'enqueued', at: 10, jobId: 'j', round: 0, kind: 'map', indices: [1] }).state;

  // Tick 3: the lost attempt's record, read again before the enqueue took it back, does not count.
  const stale = apply(s, commit('map', 1, 'm1'));
  assert.equal(stale.state, s);
  // Nor does the old reduce attempt's failure, read again from the failed list.
  assert.equal(apply(s, { op: 'failed', at: 11, jobId: 'j', round: 0, kind: 'reduce', index: 1, reason: 'lost', rerun: 0 }).state, s);
  // Nor the same rerun again (the queue event and the failure reconcile both report it).
  assert.equal(apply(s, rerunOp(1, 1)).state, s);

  // Tick 4: the rerun commits; the barrier moves the job to reduce, and reduce 1 is enqueued under its new id.
  s = apply(s, commit('map', 1, 'm1-again')).state;
  assert.equal(s.jobs.j.phase, 'reduce');
  assert.equal(s.jobs.j.counters.map.recordsIn, 20);
  assert.deepEqual(plan(s, 12, cfg), [{ type: 'enqueue', jobId: 'j', round: 0, kind: 'reduce', indices: [1] }]);
  s = apply(s, { op: 'enqueued', at: 12, jobId: 'j', round: 0, kind: 'reduce', indices: [1] }).state;
  s = apply(s, commit('reduce', 1, 'r1')).state;
  assert.equal(s.jobs.j.phase, 'done');
  assert.equal(s.jobs.j.reruns?.length, 1);
});

test('a second reduce task failing on the same lost output while the map task reruns only goes back to pending, counting no new rerun', () => {
  let s = stateAfter([
    submitOp('j', testSpec(2, 3)),
    { op: 'enqueued', at: 2, jobId: 'j', round: 0, kind: 'map', indices: [0, 1] },
    commit('map', 0, 'm0'), commit('map', 1, 'm1'),
    { op: 'enqueued', at: 6, jobId: 'j', round: 0, kind: 'reduce', indices: [0, 1, 2] },
  ]);
  s = apply(s, rerunOp(0, 0)).state;
  assert.equal(rerunRule(s.jobs.j, rerunOp(0, 2)), 'rerun');
  s = apply(s, rerunOp(0, 2)).state;
  assert.equal(s.jobs.j.reruns?.length, 1);
  assert.equal(s.jobs.j.maps[0].reruns, 1);
  assert.deepEqual(s.jobs.j.reduces.map((t) => [t.state, t.reruns ?? 0]), [['pending', 1], ['queued', 0], ['pending', 1]]);
  // Reduce task 1, still queued under its first id, keeps it: it may commit while map 0 reruns.
  assert.deepEqual(plan(s, 10, cfg), [{ type: 'enqueue', jobId: 'j', round: 0, kind: 'map', indices: [0] }]);
});

test("a reduce task that failed on an output its map task's rerun has written again only runs again (map null)", () => {
  let s = apply(inReduce(), rerunOp(1, 1)).state;
  s = stateAfter([{ op: 'enqueued', at: 10, jobId: 'j', round: 0, kind: 'map', indices: [1] }, commit('map', 1, 'm1b')], s);
  // A reduce task 1 attempt of before the rerun raced it: stale. Another reduce task that read too early is not.
  assert.equal(rerunRule(s.jobs.j, rerunOp(null, 1, 0)), 'stale');
  s = apply(s, { op: 'enqueued', at: 11, jobId: 'j', round: 0, kind: 'reduce', indices: [1] }).state;
  assert.equal(rerunRule(s.jobs.j, rerunOp(null, 1, 1)), 'rerun');
  s = apply(s, rerunOp(null, 1, 1)).state;
  assert.equal(s.jobs.j.phase, 'reduce');
  assert.equal(s.jobs.j.maps[1].state, 'committed');
  assert.deepEqual([s.jobs.j.reduces[1].state, s.jobs.j.reduces[1].reruns], ['pending', 2]);
  assert.equal(s.jobs.j.reruns?.length, 1);
});

test(`a job reruns at most MAX_RERUNS (${MAX_RERUNS}) map tasks; the next loss fails it as before`, () => {
  let s = inReduce();
  for (let i = 0; i < MAX_RERUNS; i++) {
    s = apply(s, rerunOp(1, 1, i)).state;
    s = stateAfter([{ op: 'enqueued', at: 10, jobId: 'j', round: 0, kind: 'map', indices: [1] }, commit('map', 1, `m1-${i}`), { op: 'enqueued', at: 11, jobId: 'j', round: 0, kind: 'reduce', indices: [1] }], s);
  }
  assert.equal(s.jobs.j.reruns?.length, MAX_RERUNS);
  assert.equal(s.jobs.j.phase, 'reduce');
  const why = rerunRule(s.jobs.j, rerunOp(1, 1, MAX_RERUNS));
  assert.match(why, /lost committed task output of this job 3 times already/);
  assert.equal(apply(s, rerunOp(1, 1, MAX_RERUNS)).state, s);
});

test('no rerun in a verified job or when the lost sender was a chained round\'s reduce task; stale for a finished job or another round', () => {
  const verified = stateAfter([
    submitOp('j', { ...testSpec(1, 1), verify: true }),
    { op: 'enqueued', at: 2, jobId: 'j', round: 0, kind: 'map', indices: [0] }, commit('map', 0, 'm0'),
  ]);
  assert.equal(rerunRule(verified.jobs.j, rerunOp(0, 0)), 'a verified job does not rerun tasks');

  // A chained iterative job: round 1 starts in its reduce phase, its shuffle sent by round 0's reduce tasks.
  let chained = stateAfter([
    submitOp('j', testSpec(1, 1, { setup: 0, iterations: 3, tol: 0, chainFrom: 0 })),
    { op: 'enqueued', at: 2, jobId: 'j', round: 0, kind: 'map', indices: [0] }, commit('map', 0, 'm0'),
    { op: 'enqueued', at: 3, jobId: 'j', round: 0, kind: 'reduce', indices: [0] }, commit('reduce', 0, 'r0'),
  ]);
  assert.equal(chained.jobs.j.round, 1);
  assert.equal(chained.jobs.j.phase, 'reduce');
  assert.match(rerunRule(chained.jobs.j, rerunOp(0, 0, 0, 1)), /chained round/);
  assert.equal(rerunRule(chained.jobs.j, rerunOp(0, 0, 0, 0)), 'stale');
  chained = apply(chained, { op: 'cancel', at: 4, clientId: 'c', requestId: 'x', jobId: 'j' }).state;
  assert.equal(rerunRule(chained.jobs.j, rerunOp(0, 0, 0, 1)), 'stale');
});

test('an iterative round that did not chain reruns its map task (its input is the round before\'s output)', () => {
  let s = stateAfter([
    submitOp('j', testSpec(1, 2, { setup: 0, iterations: 3, tol: 0 })),
    { op: 'enqueued', at: 2, jobId: 'j', round: 0, kind: 'map', indices: [0] }, commit('map', 0, 'm0'),
    { op: 'enqueued', at: 3, jobId: 'j', round: 0, kind: 'reduce', indices: [0, 1] }, commit('reduce', 0, 'r0'), commit('reduce', 1, 'r1'),
    { op: 'enqueued', at: 4, jobId: 'j', round: 1, kind: 'map', indices: [0, 1] }, commit('map', 0, 'm0', 1), commit('map', 1, 'm1', 1),
    { op: 'enqueued', at: 5, jobId: 'j', round: 1, kind: 'reduce', indices: [0, 1] },
  ]);
  assert.deepEqual([s.jobs.j.round, s.jobs.j.phase], [1, 'reduce']);
  s = apply(s, rerunOp(1, 0, 0, 1)).state;
  assert.deepEqual([s.jobs.j.round, s.jobs.j.phase, s.jobs.j.maps[1].state], [1, 'map', 'pending']);
  assert.deepEqual(plan(s, 10, cfg), [{ type: 'enqueue', jobId: 'j', round: 1, kind: 'map', indices: [1] }]);
});

test('task ids carry the rerun (.a<n>); ids without one still parse; the lost-output mark round-trips', () => {
  assert.equal(taskJobId('j1', 2, 'reduce', 3, 0, 2), 'j1.2.r.3.a2');
  assert.equal(taskJobId('j1', 0, 'map', 1, 1, 1), 'j1.0.m.1.a1.s1');
  assert.equal(checkTaskJobId('j1', 0, 'map', 1, 1), 'j1.0.m.1.a1.v');
  assert.deepEqual(parseTaskJobId('j1.0.m.1.a1.s1'), { jobId: 'j1', round: 0, kind: 'map', index: 1, speculative: 1, check: false, rerun: 1 });
  assert.deepEqual(parseTaskJobId('j1.0.m.1.a1.v'), { jobId: 'j1', round: 0, kind: 'map', index: 1, speculative: 0, check: true, rerun: 1 });
  assert.deepEqual(parseTaskJobId('j1.2.r.3'), { jobId: 'j1', round: 2, kind: 'reduce', index: 3, speculative: 0, check: false, rerun: 0 });
  const reason = `reduce task 4: the output of map task 7 is missing from Redis ${lostOutputText({ round: 2, sender: 7, partition: 4 })}`;
  assert.deepEqual(parseLostOutput(reason), { round: 2, sender: 7, partition: 4 });
  assert.equal(parseLostOutput('reduce task 4 failed: boom'), null);
});
