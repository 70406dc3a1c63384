import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LamportClock, readJobEvents } from '@tandem/shared';
import { EventStamper, describeChange } from './event-stamping.ts';
import { StateHolder } from './state-holder.ts';
import type { Op } from './state.ts';
import { redisFixture, silentLog, submitOp, testCommit, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => (fx = await redisFixture()));
after(async () => fx?.close());

/** Applies ops one by one and collects what each stands for. */
function described(ops: Op[]): string[][] {
  const h = new StateHolder();
  return ops.map((op) => {
    const c = h.apply(op);
    return describeChange(c.before, c.after, op).map((e) => (e.detail ? `${e.what}: ${e.detail}` : e.task ? `${e.what}: ${e.task}` : e.what));
  });
}

const committed = (kind: 'map' | 'reduce', index: number, round = 0, stats?: Record<string, number>): Op =>
  ({ op: 'committed', at: 5, jobId: 'j1', round, kind, index, commit: testCommit({ stats }) });

test('each op stands for its events; a phase change and a finished round add theirs', () => {
  assert.deepEqual(described([
    submitOp('j1', testSpec(2, 1)),
    { op: 'enqueued', at: 2, jobId: 'j1', round: 0, kind: 'map', indices: [0, 1] },
    { op: 'speculated', at: 3, jobId: 'j1', round: 0, kind: 'map', index: 1 },
    committed('map', 0), committed('map', 1), committed('reduce', 0),
    { op: 'cleaned', at: 6, jobId: 'j1' },
    { op: 'eventsRead', queue: 'map', id: '1-0' },
  ]), [
    ['job submitted: wordcount on books, 2 maps, 1 partitions'],
    ['tasks enqueued: map 0..1'],
    ['backup attempt enqueued: map 1'],
    ['task commit seen: map 0'],
    ['task commit seen: map 1', 'phase reduce'],
    ['task commit seen: reduce 0', 'job done'],
    ['job cleaned up'],
    [],
  ]);
});

test('a failed or cancelled job says so once, without a phase event', () => {
  assert.deepEqual(described([
    submitOp('j1', testSpec(1, 1)),
    { op: 'failed', at: 3, jobId: 'j1', round: 0, kind: 'map', index: 0, reason: 'map task 0 failed: boom' },
  ]).slice(1), [['job failed: map task 0 failed: boom']]);
  assert.deepEqual(described([submitOp('j1', testSpec(1, 1)), { op: 'cancel', at: 3, clientId: 'c', requestId: 'x', jobId: 'j1' }]).slice(1), [['job cancelled']]);
});

test('a refused cancel or remove (no such job, already finished) and a stale failure are no events', () => {
  const cancel = (id: string, requestId: string): Op => ({ op: 'cancel', at: 3, clientId: 'c', requestId, jobId: id });
  assert.deepEqual(described([
    cancel('nosuch', 'a'),
    { op: 'remove', at: 3, clientId: 'c', requestId: 'b', jobId: 'nosuch' },
    submitOp('j1', testSpec(1, 1)),
    cancel('j1', 'c'),
    cancel('j1', 'd'),
    { op: 'failed', at: 4, jobId: 'j1', round: 0, kind: 'map', index: 0, reason: 'late' },
    { op: 'cleaned', at: 5, jobId: 'j1' },
    { op: 'cleaned', at: 6, jobId: 'j1' },
  ]), [[], [], ['job submitted: wordcount on books, 1 maps, 1 partitions'], ['job cancelled'], [], [], ['job cleaned up'], []]);
});

test("an iterative job's finished round is an event with its summed statistics", () => {
  const ops = [submitOp('j1', testSpec(1, 1, { setup: 0, iterations: 3, tol: 0 })), committed('map', 0, 0, { dangling: 0.25 }), committed('reduce', 0, 0, { delta: 0.5 })];
  assert.deepEqual(described(ops)[2], ['task commit seen: reduce 0', 'round 0 done: dangling=0.25 delta=0.5', 'phase map']);
});

test("events land in the log stamped in causal order: a commit's worker clock is merged before the master's events", async () => {
  const k = fx.fresh();
  const clock = new LamportClock();
  const stamper = new EventStamper({ redis: fx.redis, keys: k, log: silentLog, clock, proc: 'master:test' });
  const h = new StateHolder();
  const record = async (op: Op) => {
    const c = h.apply(op);
    await stamper.record(c.before, c.after, op);
  };
  await record(submitOp('j1', testSpec(1, 1)));
  const payloadClock = stamper.stamp('j1');
  assert.deepEqual(payloadClock.vc, { 'master:test': 1 }, 'a task payload carries the job clock');
  await record({ op: 'committed', at: 5, jobId: 'j1', round: 0, kind: 'map', index: 0, commit: testCommit({ clock: { lamport: 100, vc: { 'master:test': 1, 'worker:w1': 4 } } }) });
  const events = await readJobEvents(fx.redis, k, 'j1');
  assert.deepEqual(events.map((e) => e.what), ['job submitted', 'task commit seen', 'phase reduce']);
  assert.deepEqual(events.map((e) => e.proc), ['master:test', 'master:test', 'master:test']);
  assert.ok(events[1].lamport > 100, 'the commit seen comes after the worker committed');
  assert.ok(events[2].lamport > events[1].lamport);
  assert.deepEqual(events[1].vc, { 'master:test': 2, 'worker:w1': 4 });
  assert.deepEqual(events[2].vc, { 'master:test': 3, 'worker:w1': 4 });
});

test('a removed job, or a dropped state, leaves no job clock behind', async () => {
  const k = fx.fresh();
  const stamper = new EventStamper({ redis: fx.redis, keys: k, log: silentLog, clock: new LamportClock(), proc: 'master:test' });
  const h = new StateHolder();
  for (const op of [submitOp('j1', testSpec(1, 1)), submitOp('j2', testSpec(1, 1)), { op: 'cancel', at: 2, clientId: 'c1', requestId: 'x', jobId: 'j1' }, { op: 'cleaned', at: 3, jobId: 'j1' }, { op: 'remove', at: 4, clientId: 'c1', requestId: 'y', jobId: 'j1' }] satisfies Op[]) {
    const c = h.apply(op);
    await stamper.record(c.before, c.after, op);
  }
  assert.deepEqual(stamper.stamp('j1').vc, {});
  assert.deepEqual(stamper.stamp('j2').vc, { 'master:test': 1 });
  stamper.forget();
  assert.deepEqual(stamper.stamp('j2').vc, {});
  assert.deepEqual((await readJobEvents(fx.redis, k, 'j1')).map((e) => e.what), ['job submitted', 'job cancelled', 'job cleaned up', 'job removed']);
});
