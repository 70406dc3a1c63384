import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { waitFor } from '../../../test/harness/wait.ts';
import { catchUp, DurableLog, LogFencedError, LogDivergedError, LogGapError, type LogTail } from './durable-log.ts';
import { StateHolder } from './state-holder.ts';
import type { Op } from './state.ts';
import { redisFixture, silentLog, stateAfter, submitOp, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => {
  fx = await redisFixture();
});
after(async () => fx.close());

const newLog = (snapshotEvery = 1000) => {
  const keys = fx.fresh();
  return { keys, log: new DurableLog({ redis: fx.redis, keys, log: silentLog, snapshotEvery }) };
};
const batch = (n: number): Op[] => [submitOp(`j${n}`, testSpec(1, 1), n)];

test('a claimed log read back holds what was appended, in order', async () => {
  const { log } = newLog();
  await log.claim(1);
  for (let seq = 1; seq <= 3; seq++) assert.equal(await log.append(1, seq, batch(seq)), 'appended');
  const tail = await log.read(0);
  assert.equal(tail.snapshot, null);
  assert.equal(tail.head, 3);
  assert.deepEqual(tail.entries, [1, 2, 3].map((seq) => ({ seq, view: 1, ops: batch(seq) })));
  assert.deepEqual((await log.read(2)).entries.map((e) => e.seq), [3], 'only what lies after the given seq');
});

test('a retried batch is a success and is stored once; a batch that leaves a hole is refused', async () => {
  const { log } = newLog();
  await log.claim(1);
  await log.append(1, 1, batch(1));
  assert.equal(await log.append(1, 1, batch(1)), 'duplicate');
  await assert.rejects(log.append(1, 1, batch(7)), (err: Error) => err instanceof LogDivergedError && /batch 1 of view 1 is already in the log with other ops/.test(err.message), 'the same seq with other ops is another batch, not a retry');
  await assert.rejects(log.append(1, 3, batch(3)), (err: Error) => err instanceof LogGapError && /batch 3 of view 1 would leave a hole after batch 1/.test(err.message));
  assert.deepEqual((await log.read(0)).entries.map((e) => e.seq), [1]);
});

test('a primary whose view is below the fence can neither append nor snapshot, and the refusal names the fencing view', async () => {
  const { log, keys } = newLog();
  await log.claim(2);
  await log.append(2, 1, batch(1));
  const newer = new DurableLog({ redis: fx.redis, keys, log: silentLog, snapshotEvery: 1000 });
  await newer.claim(4);
  const fenced = (err: Error) => err instanceof LogFencedError && err.code === 'not_primary' && err.fence === 4 && /view 4 claimed it/.test(err.message);
  await assert.rejects(log.append(2, 2, batch(2)), fenced);
  await assert.rejects(log.saveSnapshot(2, 1, stateAfter(batch(1))), fenced);
  await assert.rejects(log.claim(3), fenced, 'an older view cannot take the fence back');
  const tail = await newer.read(0);
  assert.deepEqual(tail.entries.map((e) => e.seq), [1], 'nothing of the fenced primary after the claim');
  assert.equal(tail.snapshot, null);
  assert.equal(await newer.append(4, 2, batch(2)), 'appended', 'the claimer appends after what it read');
  await newer.claim(4);
  assert.equal(await newer.append(4, 3, batch(3)), 'appended', 'claiming again in the same view changes nothing');
});

test('a snapshot trims the entries it covers, and a reader gets the snapshot and the entries after it', async () => {
  const { log, keys } = newLog();
  await log.claim(1);
  for (let seq = 1; seq <= 4; seq++) await log.append(1, seq, batch(seq));
  assert.equal(await log.saveSnapshot(1, 3, stateAfter([...batch(1), ...batch(2), ...batch(3)])), true);
  assert.equal(await fx.redis.xlen(keys.masterLog()), 1, 'entries 1..3 trimmed');
  assert.equal(await log.saveSnapshot(1, 2, stateAfter(batch(1))), false, 'an older snapshot changes nothing');
  const tail = await log.read(0);
  assert.equal(tail.snapshot?.seq, 3);
  assert.deepEqual(Object.keys(tail.snapshot!.state.jobs).sort(), ['j1', 'j2', 'j3']);
  assert.deepEqual(tail.entries.map((e) => e.seq), [4]);
  assert.equal(tail.head, 4);
  const behind = await log.read(3);
  assert.equal(behind.snapshot, null, 'a reader that holds batch 3 needs no snapshot');
  assert.deepEqual(behind.entries.map((e) => e.seq), [4]);
  assert.equal(await log.append(1, 3, batch(3)), 'duplicate', 'a retry of a trimmed batch is still a success');
  await assert.rejects(log.append(1, 6, batch(6)), LogGapError);
  assert.equal(await log.append(1, 5, batch(5)), 'appended', 'appends go on after the trim');
});

test('catchUp installs a newer snapshot and applies the entries after it; the state equals one that applied every batch', async () => {
  const { log } = newLog();
  await log.claim(1);
  const all: Op[] = [];
  for (let seq = 1; seq <= 5; seq++) {
    await log.append(1, seq, batch(seq));
    all.push(...batch(seq));
    if (seq === 2) await log.saveSnapshot(1, 2, stateAfter(all));
  }
  const fresh = new StateHolder();
  assert.equal(catchUp(fresh, await log.read(fresh.seq)), 3);
  assert.equal(fresh.seq, 5);
  assert.deepEqual(fresh.state, stateAfter(all));
  const behind = new StateHolder();
  behind.applyBatch(batch(1), 1);
  behind.applyBatch(batch(2), 2);
  behind.applyBatch(batch(3), 3);
  catchUp(behind, await log.read(behind.seq));
  assert.deepEqual(behind.state, stateAfter(all), 'a master that holds part of the log applies only the rest');
  const holey: LogTail = { snapshot: null, entries: [{ seq: 2, view: 1, ops: batch(2) }], head: 2 };
  assert.throws(() => catchUp(new StateHolder(), holey), LogGapError);
});

test('compact writes a snapshot once enough batches passed, off the commit path', async () => {
  const { log, keys } = newLog(3);
  await log.claim(1);
  const all: Op[] = [];
  for (let seq = 1; seq <= 3; seq++) {
    await log.append(1, seq, batch(seq));
    all.push(...batch(seq));
    log.compact(1, seq, stateAfter(all));
  }
  assert.equal(await fx.redis.hget(keys.masterSnapshot(), 'seq'), null, 'not written in the same turn');
  await waitFor(async () => (await fx.redis.hget(keys.masterSnapshot(), 'seq')) === '3', { what: 'the snapshot after batch 3' });
  assert.equal(await fx.redis.xlen(keys.masterLog()), 0);
});

test('an append whose outcome is unknown (Redis down) is retried with the same seq until Redis answers, and lands once', async () => {
  const keys = fx.fresh();
  // A connection that fails commands while Redis is down, instead of queueing them.
  const failing = new Redis(fx.server.port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  failing.on('error', () => {});
  try {
    const log = new DurableLog({ redis: failing, keys, log: silentLog, snapshotEvery: 1000 });
    await log.claim(1);
    await log.append(1, 1, batch(1));
    fx.redis.on('error', () => {}); // the file's own connection, down for as long
    await fx.server.kill();
    let attempts = 0;
    const appended = log.appendUntilKnown(1, 2, batch(2), () => ++attempts > 0);
    await waitFor(() => attempts >= 3, { what: 'three attempts while Redis is down' });
    await fx.server.restart();
    await appended;
    await log.append(1, 2, batch(2)).then((o) => assert.equal(o, 'duplicate'));
    assert.deepEqual((await log.read(0)).entries.map((e) => e.seq), [1, 2]);
  } finally {
    failing.disconnect();
  }
});

test('restore claims, then catches up; a log that ends before the state (Redis lost data) gets the state as a snapshot', async () => {
  const { log, keys } = newLog();
  await log.claim(1);
  await log.append(1, 1, batch(1));
  const fresh = new StateHolder();
  assert.deepEqual(await log.restore(fresh, 2), { applied: 1, snapshot: false, seq: 1 });
  assert.equal(await fx.redis.get(keys.masterFence()), '2');
  const ahead = new StateHolder();
  for (let seq = 1; seq <= 3; seq++) ahead.applyBatch(batch(seq), seq);
  await log.restore(ahead, 3);
  assert.equal(await fx.redis.hget(keys.masterSnapshot(), 'seq'), '3');
  assert.equal(await log.append(3, 4, batch(4)), 'appended', 'appends go on after the state');
  await assert.rejects(log.restore(new StateHolder(), 2), LogFencedError, 'an older view cannot restore (and so cannot serve)');
});

test('Redis lost the log under a serving primary: reseed claims it again and writes the state, and the next batch follows it', async () => {
  const { log, keys } = newLog();
  const holder = new StateHolder();
  await log.claim(3);
  for (let seq = 1; seq <= 3; seq++) {
    await log.append(3, seq, batch(seq));
    holder.applyBatch(batch(seq), seq);
  }
  await fx.redis.del(keys.masterLog(), keys.masterSnapshot(), keys.masterFence());
  await assert.rejects(log.append(3, 4, batch(4)), LogGapError, 'the lost log leaves a hole before batch 4');
  await log.reseed(3, holder);
  assert.equal(await log.append(3, 4, batch(4)), 'appended');
  const restored = new StateHolder();
  catchUp(restored, await log.read(0));
  holder.applyBatch(batch(4), 4);
  assert.deepEqual([restored.seq, restored.state], [4, holder.state], 'the log again gives the primary\'s state');
  await assert.rejects(log.append(2, 5, batch(5)), LogFencedError, 'the fence is back');
});
