import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Worker } from 'bullmq';
import { commitTask, taskJobId, type Keys, type QueueName } from '@tandem/shared';
import { waitFor } from '../../../test/harness/wait.ts';
import type { TaskAttempt } from './queue-intake.ts';
import { FAILURES_EVERY, Reconciler } from './reconcile.ts';
import { StateHolder } from './state-holder.ts';
import type { Op } from './state.ts';
import { putTestSplits, redisFixture, silentLog, submitOp, testCommit, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => (fx = await redisFixture()));
after(async () => fx?.close());

function reconciler(k: Keys, holder: StateHolder, lastSeen: Partial<Record<QueueName, string>> = {}) {
  const proposed: Op[] = [];
  const failures: { t: TaskAttempt; reason: string }[] = [];
  const r = new Reconciler({
    redis: fx.redis, keys: k, log: silentLog, queues: fx.queues(k), serving: () => true, state: () => holder.state,
    propose: async (op) => {
      proposed.push(op);
      holder.apply(op);
    },
    lastSeen: () => lastSeen,
    added: () => false,
    taskFailed: async (t, reason) => void failures.push({ t, reason }),
  });
  return { r, proposed, failures };
}

test("commits whose queue events were missed are proposed from the round's commit hash, each once", async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  holder.apply(submitOp('j1', testSpec(3, 1)));
  holder.apply({ op: 'enqueued', at: 2, jobId: 'j1', round: 0, kind: 'map', indices: [0, 1, 2] });
  holder.apply({ op: 'committed', at: 3, jobId: 'j1', round: 0, kind: 'map', index: 0, commit: testCommit() });
  for (const index of [0, 2]) await commitTask(fx.redis, k, { jobId: 'j1', round: 0, kind: 'map', index }, testCommit({ worker: `w${index}` }), 3600);
  await commitTask(fx.redis, k, { jobId: 'j1', round: 0, kind: 'reduce', index: 0 }, testCommit(), 3600);
  const { r, proposed } = reconciler(k, holder);
  await r.catchUpCommits();
  assert.deepEqual(proposed.map((op) => op.op === 'committed' && `${op.kind} ${op.index} by ${op.commit.worker}`), ['map 2 by w2'],
    'map 0 is in the state already; a reduce commit is not of the current phase');
  await r.catchUpCommits();
  assert.equal(proposed.length, 1);
});

test('the queue-event position is recorded when it moved, and only then', async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  const seen: Partial<Record<QueueName, string>> = { map: '5-0' };
  const { r, proposed } = reconciler(k, holder, seen);
  await r.recordPositions();
  await r.recordPositions();
  seen.reduce = '7-1';
  await r.recordPositions();
  assert.deepEqual(proposed, [{ op: 'eventsRead', queue: 'map', id: '5-0' }, { op: 'eventsRead', queue: 'reduce', id: '7-1' }]);
  assert.deepEqual(holder.state.lastEventIds, { map: '5-0', reduce: '7-1' });
});

test(`failed queue entries of running jobs are handed to taskFailed, on every ${FAILURES_EVERY}th run`, async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  holder.apply(submitOp('j1', testSpec(2, 1)));
  await putTestSplits(fx.redis, k, testSpec(2, 1));
  holder.apply(submitOp('gone', testSpec(1, 1)));
  holder.apply({ op: 'cancel', at: 2, clientId: 'c', requestId: 'x', jobId: 'gone' });
  const { r, failures } = reconciler(k, holder);
  const queue = fx.queues(k).map;
  const worker = new Worker('map', async () => {
    throw new Error('boom');
  }, { connection: fx.server.client(), prefix: k.bullPrefix('map') });
  try {
    for (const id of [taskJobId('j1', 0, 'map', 1), taskJobId('gone', 0, 'map', 0)]) await queue.add('wordcount.map', {}, { jobId: id, attempts: 1 });
    await waitFor(async () => (await queue.getFailedCount()) === 2, { what: 'both tasks to fail' });
  } finally {
    await worker.close();
  }
  for (let i = 1; i < FAILURES_EVERY; i++) await r.run();
  assert.deepEqual(failures, [], 'the failed lists wait for their turn');
  await r.run();
  assert.deepEqual(failures, [{ t: { jobId: 'j1', round: 0, kind: 'map', index: 1, speculative: 0, check: false, rerun: 0 }, reason: 'boom' }], 'a cancelled job is not failed again');
});

test('a master that is not serving reconciles nothing', async () => {
  const k = fx.fresh();
  const holder = new StateHolder();
  holder.apply(submitOp('j1', testSpec(1, 1)));
  await commitTask(fx.redis, k, { jobId: 'j1', round: 0, kind: 'map', index: 0 }, testCommit(), 3600);
  const proposed: Op[] = [];
  const r = new Reconciler({
    redis: fx.redis, keys: k, log: silentLog, queues: fx.queues(k), serving: () => false, state: () => holder.state,
    propose: async (op) => void proposed.push(op), lastSeen: () => ({ map: '1-0' }), added: () => false, taskFailed: async () => {},
  });
  await r.run();
  assert.deepEqual(proposed, []);
});
