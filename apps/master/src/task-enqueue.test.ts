import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { commitTask, isCommitted, parseTaskJobId, readCommit, taskPayloadSchema, uncommitTask, type ClockStamp } from '@tandem/shared';
import { TaskEnqueuer, taskPayload } from './task-enqueue.ts';
import type { Op } from './state.ts';
import { redisFixture, stateAfter, submitOp, testCommit, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => (fx = await redisFixture()));
after(async () => fx?.close());

const clock: ClockStamp = { lamport: 7, vc: { 'master:test': 2 } };
const enqueued = (jobId: string, kind: 'map' | 'reduce', indices: number[], round = 0): Op => ({ op: 'enqueued', at: 2, jobId, round, kind, indices });
const committed = (jobId: string, kind: 'map' | 'reduce', index: number, round = 0, stats?: Record<string, number>): Op =>
  ({ op: 'committed', at: 3, jobId, round, kind, index, commit: testCommit({ stats }) });

function enqueuer() {
  const k = fx.fresh();
  const queues = fx.queues(k);
  const stamps: string[] = [];
  const origin = { master: 'http://10.0.0.1:7100', viewnum: 4 };
  const e = new TaskEnqueuer({
    queues, attempts: 3, retryDelayMs: 250, keep: { completed: { count: 10, age: 60 }, failed: { count: 10, age: 60 } },
    stamp: (jobId) => (stamps.push(jobId), clock), origin: () => origin,
  });
  return { queues, e, stamps, origin };
}

test("a round-0 map task's payload names its split's records; a reduce task's the number of senders", () => {
  const job = stateAfter([submitOp('j1', testSpec(3, 2))]).jobs.j1;
  const m1 = taskPayload(job, 'map', 1, clock);
  assert.deepEqual(m1, {
    jobId: 'j1', round: 0, kind: 'map', index: 1, type: 'wordcount', params: {}, dataset: { name: 'books', version: 'v1' },
    firstRecord: 11, records: 10, clock, enqueuedBy: undefined, senders: 3, partitions: 2,
    previousStats: undefined, output: undefined, chained: undefined,
  });
  assert.equal(taskPayload(job, 'map', 2, clock).records, 10, 'the last split runs to the end of the dataset');
  const r0 = taskPayload(job, 'reduce', 0, clock);
  assert.equal(r0.firstRecord, undefined);
  assert.equal(r0.senders, 3);
  for (const p of [m1, r0]) assert.ok(taskPayloadSchema.safeParse(p).success);
});

test("an iterative job's tasks carry the previous round's statistics, and chained and output rounds say so", () => {
  const spec = testSpec(2, 2, { setup: 1, iterations: 1, tol: 0, chainFrom: 1 });
  const round0 = [submitOp('j1', spec), committed('j1', 'map', 0), committed('j1', 'map', 1), committed('j1', 'reduce', 0, 0, { delta: 1 }), committed('j1', 'reduce', 1, 0, { delta: 2 })];
  let job = stateAfter(round0).jobs.j1;
  assert.deepEqual([job.round, job.phase], [1, 'map']);
  const m = taskPayload(job, 'map', 0, clock);
  assert.deepEqual([m.firstRecord, m.records, m.senders, m.previousStats, m.chained], [undefined, undefined, 2, { delta: 3 }, undefined]);
  assert.equal(taskPayload(job, 'reduce', 0, clock).chained, true, 'round 1 chains into round 2');
  const round1 = [committed('j1', 'map', 0, 1), committed('j1', 'map', 1, 1), committed('j1', 'reduce', 0, 1, { delta: 1 }), committed('j1', 'reduce', 1, 1, { delta: 1 })];
  job = stateAfter([...round0, ...round1]).jobs.j1;
  assert.deepEqual([job.round, job.outputRound], [2, true]);
  const out = taskPayload(job, 'reduce', 1, clock);
  assert.deepEqual([out.senders, out.output, out.chained, out.previousStats], [0, true, undefined, { delta: 2 }]);
});

test('add puts each task in its queue under its deterministic id, with its payload, retry policy and retention', async () => {
  const { queues, e, stamps, origin } = enqueuer();
  const state = stateAfter([submitOp('j1', testSpec(3, 1)), enqueued('j1', 'map', [0, 1, 2])]);
  await e.add(state.jobs.j1, 'map', [0, 2], 0);
  await e.add(state.jobs.j1, 'map', [0], 1);
  const jobs = await queues.map.getJobs(['waiting']);
  assert.deepEqual(jobs.map((j) => j.id).sort(), ['j1.0.m.0', 'j1.0.m.0.s1', 'j1.0.m.2']);
  const m2 = jobs.find((j) => j.id === 'j1.0.m.2')!;
  assert.equal(m2.name, 'wordcount.map');
  assert.deepEqual(m2.data, JSON.parse(JSON.stringify(taskPayload(state.jobs.j1, 'map', 2, clock, origin))));
  assert.deepEqual(m2.data.enqueuedBy, origin, 'the payload names the master that added it and its view');
  assert.ok(taskPayloadSchema.safeParse(m2.data).success);
  assert.equal(m2.opts.attempts, 3);
  assert.deepEqual(m2.opts.backoff, { type: 'exponential', delay: 250 });
  assert.deepEqual([m2.opts.removeOnComplete, m2.opts.removeOnFail], [{ count: 10, age: 60 }, { count: 10, age: 60 }], 'finished entries are kept by count and age');
  assert.deepEqual(stamps, ['j1', 'j1', 'j1'], 'every payload is stamped');
  assert.equal(await queues.reduce.count(), 0);
});

test("a verified job's task is two entries, its first run and its second (.v), which the id parser tells apart; a backup attempt is one", async () => {
  const { queues, e } = enqueuer();
  const state = stateAfter([submitOp('j1', { ...testSpec(2, 1), verify: true }), enqueued('j1', 'map', [0, 1])]);
  await e.add(state.jobs.j1, 'map', [1], 0);
  await e.add(state.jobs.j1, 'map', [0], 1);
  const jobs = await queues.map.getJobs(['waiting']);
  assert.deepEqual(jobs.map((j) => [j.id, j.data.verify]).sort(), [['j1.0.m.0.s1', undefined], ['j1.0.m.1', 'first'], ['j1.0.m.1.v', 'check']]);
  for (const j of jobs) assert.ok(taskPayloadSchema.safeParse(j.data).success);
  assert.deepEqual(parseTaskJobId('j1.0.m.1.v'), { jobId: 'j1', round: 0, kind: 'map', index: 1, speculative: 0, check: true, rerun: 0 });
  assert.deepEqual(parseTaskJobId('j1.0.m.0.s1'), { jobId: 'j1', round: 0, kind: 'map', index: 0, speculative: 1, check: false, rerun: 0 });
  e.forget();
  await e.ensureQueued(state, async () => {});
  assert.deepEqual((await queues.map.getJobs(['waiting'])).map((j) => j.id).sort(), ['j1.0.m.0', 'j1.0.m.0.s1', 'j1.0.m.0.v', 'j1.0.m.1', 'j1.0.m.1.v'], 'a new primary adds both runs again');
});

test('ensureQueued adds, once and after one read confirmation, the queued tasks this process has not added', async () => {
  const { queues, e } = enqueuer();
  const state = stateAfter([
    submitOp('j1', testSpec(3, 1)), enqueued('j1', 'map', [0, 1]),
    submitOp('j2', testSpec(1, 1)), enqueued('j2', 'map', [0]), committed('j2', 'map', 0), enqueued('j2', 'reduce', [0]),
    submitOp('j3', testSpec(1, 1)),
  ]);
  await e.add(state.jobs.j1, 'map', [0], 0);
  let confirmations = 0;
  await e.ensureQueued(state, async () => void confirmations++);
  assert.equal(confirmations, 1);
  assert.deepEqual((await queues.map.getJobs(['waiting'])).map((j) => j.id).sort(), ['j1.0.m.0', 'j1.0.m.1'], 'pending tasks (j1 m2, j3) are the scheduler\'s, not ensureQueued\'s');
  assert.deepEqual((await queues.reduce.getJobs(['waiting'])).map((j) => j.id), ['j2.0.r.0']);
  await e.ensureQueued(state, async () => void confirmations++);
  assert.equal(confirmations, 1, 'nothing missing: no confirmation, no add');

  // A new primary has seen nothing added: it adds everything again, and the ids make that harmless.
  e.forget();
  await e.ensureQueued(state, async () => void confirmations++);
  assert.equal(confirmations, 2);
  assert.equal(await queues.map.count(), 2);
  assert.equal(await queues.reduce.count(), 1);
});

test('a deposed primary adds nothing: a failed confirmation stops ensureQueued before any add', async () => {
  const { queues, e } = enqueuer();
  const state = stateAfter([submitOp('j1', testSpec(2, 1)), enqueued('j1', 'map', [0, 1])]);
  await assert.rejects(e.ensureQueued(state, async () => { throw new Error('not primary: deposed'); }), /deposed/);
  assert.equal(await queues.map.count(), 0);
});

test("a rerun is added under its new id, after its lost commit record is taken back (only that attempt's: a newer commit stays)", async () => {
  const { queues } = enqueuer();
  const k = fx.fresh();
  const e = new TaskEnqueuer({
    queues, attempts: 3, retryDelayMs: 250, keep: { completed: { count: 10, age: 60 }, failed: { count: 10, age: 60 } },
    stamp: () => clock, origin: () => ({ master: 'm', viewnum: 1 }),
    uncommit: (t, attempts) => uncommitTask(fx.redis, k, t, attempts),
  });
  const state = stateAfter([
    submitOp('j1', testSpec(2, 1)), enqueued('j1', 'map', [0, 1]),
    { op: 'committed', at: 3, jobId: 'j1', round: 0, kind: 'map', index: 0, commit: testCommit({ attempt: 'j1.0.m.0' }) },
    { op: 'committed', at: 3, jobId: 'j1', round: 0, kind: 'map', index: 1, commit: testCommit({ attempt: 'j1.0.m.1' }) },
    enqueued('j1', 'reduce', [0]),
    { op: 'rerun', at: 4, jobId: 'j1', round: 0, map: 1, reduce: 0, reduceRerun: 0, reason: 'lost' },
    enqueued('j1', 'map', [1]),
  ]);
  const task = { jobId: 'j1', round: 0, kind: 'map' as const, index: 1 };
  await commitTask(fx.redis, k, task, testCommit({ attempt: 'j1.0.m.1' }), 60);
  await e.add(state.jobs.j1, 'map', [1], 0);
  assert.equal(await isCommitted(fx.redis, k, task), false, 'the lost commit is taken back, so the rerun can commit');
  assert.deepEqual((await queues.map.getJobs(['waiting'])).map((j) => j.id), ['j1.0.m.1.a1']);
  // Added again (a new primary): the rerun's own commit is not taken back.
  await commitTask(fx.redis, k, task, testCommit({ attempt: 'j1.0.m.1.a1' }), 60);
  e.forget();
  await e.ensureQueued(state, async () => {});
  assert.equal((await readCommit(fx.redis, k, task))?.attempt, 'j1.0.m.1.a1');
});

test('tasks whose add is under way are not added again by ensureQueued, and a failed add leaves them to it', async () => {
  const { queues, e } = enqueuer();
  const state = stateAfter([submitOp('j1', testSpec(2, 1)), enqueued('j1', 'map', [0, 1])]);
  const adding = e.add(state.jobs.j1, 'map', [0, 1], 0);
  let confirmations = 0;
  await e.ensureQueued(state, async () => void confirmations++);
  assert.equal(confirmations, 0, 'both in flight: nothing to add, nothing to confirm');
  await adding;
  assert.equal(await queues.map.count(), 2);

  // An add that fails marks nothing as added: BullMQ refuses an id with a ':' (a job id no master makes, here to make the add fail).
  const bad = stateAfter([submitOp('j:1', testSpec(1, 1)), enqueued('j:1', 'map', [0])]);
  await assert.rejects(e.add(bad.jobs['j:1'], 'map', [0], 0), /cannot contain/);
  assert.equal(e.added('j:1.0.m.0'), false);
  await assert.rejects(e.ensureQueued(bad, async () => void confirmations++), /cannot contain/);
  assert.equal(confirmations, 1, 'ensureQueued tried them again');
});
