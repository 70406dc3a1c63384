import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Worker, type Job } from 'bullmq';
import { commitTask, lostOutputText, parseTaskJobId, splitKey, taskJobId, type Keys } from '@tandem/shared';
import { waitFor } from '../../../test/harness/wait.ts';
import { QueueIntake } from './queue-intake.ts';
import { StateHolder } from './state-holder.ts';
import type { Op } from './state.ts';
import { putTestSplits, redisFixture, silentLog, submitOp, testCommit, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => (fx = await redisFixture()));
after(async () => fx?.close());

/** Long enough that a task that commits at once is committed before its start would be recorded. */
const STARTED_DELAY = 1000;

function intake(k: Keys, holder: StateHolder, onOp: (op: Op) => void = () => {}) {
  const proposed: Op[] = [];
  const qi = new QueueIntake({
    redis: fx.redis, keys: k, log: silentLog, eventConnection: () => fx.server.client(), state: () => holder.state,
    propose: async (op) => {
      proposed.push(op);
      holder.apply(op);
      onOp(op);
    },
    startedDelayMs: STARTED_DELAY,
  });
  return { qi, proposed };
}

const of = (proposed: Op[], jobId: string) => proposed.filter((op) => 'jobId' in op && op.jobId === jobId).map((op) => op.op);

test('queue events become ops: commits are collected, final failures fail the job, slow tasks get a start record', async () => {
  const k = fx.fresh();
  const queues = fx.queues(k);
  const holder = new StateHolder();
  for (const [jobId, maps] of [['fast', 1], ['bad', 2], ['slow', 1]] as const) {
    holder.apply(submitOp(jobId, testSpec(maps, 1)));
    holder.apply({ op: 'enqueued', at: 2, jobId, round: 0, kind: 'map', indices: Array.from({ length: maps }, (_, i) => i) });
  }
  let releaseSlow!: () => void;
  const slowMayFinish = new Promise<void>((r) => (releaseSlow = r));
  const { qi, proposed } = intake(k, holder, (op) => op.op === 'started' && op.jobId === 'slow' && releaseSlow());
  qi.start({ map: '0-0', reduce: '0-0' });

  const worker = new Worker('map', async (job: Job) => {
    const t = parseTaskJobId(job.id!);
    if (!t) return;
    if (t.jobId === 'bad' && t.speculative > 0) throw new Error('the backup attempt broke');
    if (t.jobId === 'bad') throw new Error('job stalled more than allowable limit');
    if (t.jobId === 'slow') await slowMayFinish;
    await commitTask(fx.redis, k, t, testCommit({ worker: job.id! }), 3600);
  }, { connection: fx.server.client(), prefix: k.bullPrefix('map') });
  try {
    for (const id of [taskJobId('fast', 0, 'map', 0), taskJobId('bad', 0, 'map', 0, 1), taskJobId('bad', 0, 'map', 1), 'not-a-task', taskJobId('slow', 0, 'map', 0)]) {
      // The failing task gets two attempts: the failure counts both.
      await queues.map.add('wordcount.map', {}, { jobId: id, attempts: id === taskJobId('bad', 0, 'map', 1) ? 2 : 1 });
    }
    await waitFor(() => of(proposed, 'slow').includes('committed') && qi.pendingStarts === 0, { what: 'the slow task to commit and every start timer to fire' });
  } finally {
    await worker.close();
    await qi.stop();
  }

  assert.deepEqual(of(proposed, 'fast'), ['committed'], 'a task that committed at once gets no start record');
  const fastCommit = proposed.find((op) => op.op === 'committed' && op.jobId === 'fast');
  assert.equal(fastCommit?.op === 'committed' && fastCommit.commit.worker, 'fast.0.m.0', 'the commit record is the one the worker wrote');

  assert.deepEqual(of(proposed, 'bad').filter((op) => op !== 'started'), ['failed'], "a backup attempt's failure fails nothing; the original's fails the job once");
  const failed = proposed.find((op) => op.op === 'failed');
  assert.equal(failed?.op === 'failed' && failed.index, 1);
  assert.match(failed?.op === 'failed' ? failed.reason : '', /^map task 1 failed: its worker died or stopped renewing the task's lock more times than TANDEM_MAX_STALLS allows/);
  assert.equal(holder.state.jobs.bad.phase, 'failed');
  assert.equal(failed?.op === 'failed' && failed.attempts, 2, "the failure carries the attempts BullMQ made, from the task's record");
  assert.deepEqual([holder.state.jobs.bad.counters.map.attempts, holder.state.jobs.bad.counters.map.failures], [2, 2], 'the job counts them');

  assert.deepEqual(of(proposed, 'slow'), ['started', 'committed']);
  assert.equal(holder.state.jobs.slow.phase, 'reduce');

  // The position is the last active, completed or failed event read.
  const stream = (await fx.redis.xrange(`${k.bullPrefix('map')}:map:events`, '-', '+')) as [string, string[]][];
  const taskEvents = stream.filter(([, f]) => ['active', 'completed', 'failed'].includes(f[1]));
  assert.equal(qi.lastSeen.map, taskEvents[taskEvents.length - 1][0]);
  assert.equal(qi.lastSeen.reduce, '0-0', 'nothing read on the reduce queue: the position it started from');
});

test('a reader started from a recorded position reads only the events after it', async () => {
  const k = fx.fresh();
  const queues = fx.queues(k);
  const setup = new StateHolder();
  for (const jobId of ['early', 'late']) {
    setup.apply(submitOp(jobId, testSpec(1, 1)));
    setup.apply({ op: 'enqueued', at: 2, jobId, round: 0, kind: 'map', indices: [0] });
  }
  const worker = new Worker('map', async (job: Job) => {
    await commitTask(fx.redis, k, parseTaskJobId(job.id!)!, testCommit(), 3600);
  }, { connection: fx.server.client(), prefix: k.bullPrefix('map') });
  try {
    const early = await queues.map.add('wordcount.map', {}, { jobId: taskJobId('early', 0, 'map', 0) });
    await waitFor(async () => (await early.getState()) === 'completed', { what: 'the early task to complete' });
    const [[position]] = (await fx.redis.xrevrange(`${k.bullPrefix('map')}:map:events`, '+', '-', 'COUNT', 1)) as [string, string[]][];
    await queues.map.add('wordcount.map', {}, { jobId: taskJobId('late', 0, 'map', 0) });

    // A promoted backup resumes at the replicated position: it sees the late commit, not the early one.
    const holder = new StateHolder();
    holder.reset(JSON.parse(JSON.stringify(setup.state)));
    const resumed = intake(k, holder);
    resumed.qi.start({ map: position });
    await waitFor(() => of(resumed.proposed, 'late').includes('committed'), { what: 'the late commit' });
    await resumed.qi.stop();
    assert.deepEqual(of(resumed.proposed, 'early'), []);
  } finally {
    await worker.close();
  }
});

test("a task that fails after Redis lost data while its job ran says that loss is the likely cause; one that fails without a loss does not", async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  for (const id of ['jplain', 'jafter']) holder.apply(submitOp(id, testSpec(1, 2), 100));
  const { qi, proposed } = intake(k, holder);
  const missing = 'reduce task 0: the output of map task 0 is missing from Redis';
  await qi.taskFailed({ jobId: 'jplain', round: 0, kind: 'reduce', index: 0, speculative: 0, check: false, rerun: 0 }, missing);
  holder.apply({ op: 'dataLost', at: 200, message: 'Redis lost acknowledged writes', jobIds: [] });
  await qi.taskFailed({ jobId: 'jafter', round: 0, kind: 'reduce', index: 0, speculative: 0, check: false, rerun: 0 }, missing);
  const reasons = proposed.map((op) => (op.op === 'failed' ? op.reason : ''));
  assert.equal(reasons[0], `reduce task 0 failed: ${missing}`);
  assert.equal(reasons[1], `reduce task 0 failed: ${missing}; Redis lost data while the job ran (at ${new Date(200).toISOString()}: see the alerts), which is the likely cause`);
  assert.equal(holder.state.jobs.jafter.error, reasons[1]);
});

test("a reduce task that failed on a map task's lost output reruns that map task when its split is there, and fails the job naming the loss when it is not", async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  const spec = testSpec(2, 2);
  for (const id of ['jkept', 'jgone']) {
    holder.apply(submitOp(id, spec, 100));
    holder.apply({ op: 'enqueued', at: 101, jobId: id, round: 0, kind: 'map', indices: [0, 1] });
    for (const i of [0, 1]) holder.apply({ op: 'committed', at: 102, jobId: id, round: 0, kind: 'map', index: i, commit: testCommit({ attempt: `${id}.0.m.${i}` }) });
    holder.apply({ op: 'enqueued', at: 103, jobId: id, round: 0, kind: 'reduce', indices: [0, 1] });
  }
  await putTestSplits(fx.redis, k, spec);
  const { qi, proposed } = intake(k, holder);
  const reason = `reduce task 1: the output of map task 1 is missing from Redis ${lostOutputText({ round: 0, sender: 1, partition: 1 })}`;
  await qi.taskFailed({ jobId: 'jkept', round: 0, kind: 'reduce', index: 1, speculative: 0, check: false, rerun: 0 }, reason);
  assert.deepEqual(proposed.map((op) => op.op), ['rerun']);
  assert.deepEqual(holder.state.jobs.jkept.maps[1], { kind: 'map', index: 1, state: 'pending', speculative: 0, reruns: 1, discarded: ['jkept.0.m.1'] });
  assert.equal(holder.state.jobs.jkept.phase, 'map');
  // Reported again (the failure reconcile reads the failed list): the old attempt is stale now.
  await qi.taskFailed({ jobId: 'jkept', round: 0, kind: 'reduce', index: 1, speculative: 0, check: false, rerun: 0 }, reason);
  assert.equal(proposed.length, 1);

  await fx.redis.del(splitKey(k, spec.dataset, 1));
  await qi.taskFailed({ jobId: 'jgone', round: 0, kind: 'reduce', index: 1, speculative: 0, check: false, rerun: 0 }, reason);
  assert.deepEqual(proposed.map((op) => op.op), ['rerun', 'failed']);
  assert.equal(holder.state.jobs.jgone.phase, 'failed');
  assert.equal(holder.state.jobs.jgone.error, `reduce task 1 failed: ${reason}; not rerun: its input, split 1 of dataset books version v1, is gone too`);
});

test("a round's commits go out together with the one that completes it; one without it waits out the hold and goes alone; the completed event's record is used when it carries the winner's", async () => {
  const k = fx.fresh();
  const queues = fx.queues(k);
  const holder = new StateHolder();
  for (const jobId of ['pair', 'lone']) {
    holder.apply(submitOp(jobId, testSpec(2, 1)));
    holder.apply({ op: 'enqueued', at: 2, jobId, round: 0, kind: 'map', indices: [0, 1] });
  }
  const groups: Op[][] = [];
  const hold = 400;
  const qi = new QueueIntake({
    redis: fx.redis, keys: k, log: silentLog, eventConnection: () => fx.server.client(), state: () => holder.state,
    propose: async () => assert.fail('commits go through proposeAll'),
    proposeAll: (ops) => {
      groups.push(ops);
      return ops.map(async (op) => void holder.apply(op));
    },
    startedDelayMs: 60_000, commitHoldMs: hold,
  });
  qi.start({ map: '0-0', reduce: '0-0' });
  let releaseSecond!: () => void;
  const secondMayFinish = new Promise<void>((r) => (releaseSecond = r));
  const worker = new Worker('map', async (job: Job) => {
    const t = parseTaskJobId(job.id!)!;
    if (t.jobId === 'lone' && t.index === 1) return { won: false };
    if (t.index === 1) await secondMayFinish;
    await commitTask(fx.redis, k, t, testCommit({ attempt: job.id!, worker: 'in the hash' }), 3600);
    // Task 0 returns its record as a winning worker does; task 1 returns none, so the master reads the hash.
    return t.index === 0 ? { won: true, ms: 10, commit: testCommit({ attempt: job.id!, worker: 'carried' }) } : { won: true, ms: 10 };
  }, { connection: fx.server.client(), prefix: k.bullPrefix('map'), concurrency: 4 });
  try {
    for (const jobId of ['pair', 'lone']) for (const i of [0, 1]) await queues.map.add('wordcount.map', {}, { jobId: taskJobId(jobId, 0, 'map', i) });
    await waitFor(() => qi.heldCommits === 2, { what: "both jobs' first commits to be held" });
    const t0 = Date.now();
    releaseSecond();
    await waitFor(() => holder.state.jobs.pair.phase === 'reduce', { what: 'the pair to end its map phase' });
    assert.ok(Date.now() - t0 < hold, 'the completing commit did not wait for the hold');
    await waitFor(() => groups.some((g) => g.some((op) => 'jobId' in op && op.jobId === 'lone')), { what: "the lone commit's hold to run out" });
  } finally {
    await worker.close();
    await qi.stop();
  }
  const pair = groups.find((g) => g.some((op) => 'jobId' in op && op.jobId === 'pair'))!;
  assert.deepEqual(pair.map((op) => op.op === 'committed' && [op.index, op.commit.worker]), [[0, 'carried'], [1, 'in the hash']], 'one proposal: the held commit and the completing one');
  const lone = groups.filter((g) => g.some((op) => 'jobId' in op && op.jobId === 'lone'));
  assert.deepEqual(lone.map((g) => g.map((op) => op.op === 'committed' && op.index)), [[0]], 'alone, once the hold ran out');
  assert.equal(holder.state.jobs.lone.phase, 'map');
  assert.equal(qi.heldCommits, 0);
});
