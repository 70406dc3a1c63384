/**
 * The pipeline with the durable op log (a real DurableLog on a real Redis): a batch reaches the log
 * before the backup, a fenced batch reaches neither, and a batch in the log is applied even when the
 * backup never got it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DurableLog, LogFencedError } from './durable-log.ts';
import { OpPipeline, type Forwarder } from './op-pipeline.ts';
import { StateHolder } from './state-holder.ts';
import type { Op } from './state.ts';
import { redisFixture, silentLog, submitOp, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => {
  fx = await redisFixture();
});
after(async () => fx.close());

const submit = (jobId: string) => submitOp(jobId, testSpec(1, 1));

/** The backup: before it answers, it records which of the batches it is sent the log already held. */
class Backup implements Forwarder {
  serving = true;
  seen: { seq: number; ops: Op[]; inLog: boolean }[] = [];
  refusal: Error | null = null;

  constructor(private log: DurableLog) {}

  notPrimary(): Error {
    return new Error('not primary: test');
  }

  async forward(ops: Op[], seq: number): Promise<void> {
    const inLog = (await this.log.read(seq - 1)).entries.some((e) => e.seq === seq);
    this.seen.push({ seq, ops, inLog });
    if (this.refusal) throw this.refusal;
  }
}

async function setUp(viewnum = 1) {
  const keys = fx.fresh();
  const log = new DurableLog({ redis: fx.redis, keys, log: silentLog, snapshotEvery: 1000 });
  await log.claim(viewnum);
  const holder = new StateHolder();
  const backup = new Backup(log);
  const batches: number[] = [];
  const p = new OpPipeline({
    holder, replication: backup, onApplied: () => {}, onBatch: (seq) => batches.push(seq),
    journal: { append: (seq, ops) => log.appendUntilKnown(viewnum, seq, ops, () => backup.serving) },
  });
  return { keys, log, holder, backup, batches, p };
}

test('each batch is in the log before the backup is sent it, numbered as the log numbers it', async () => {
  const { log, holder, backup, batches, p } = await setUp();
  await Promise.all([p.propose(submit('j1')), p.confirmRead()]);
  await p.propose(submit('j2'));
  assert.deepEqual(backup.seen.map(({ seq, inLog, ops }) => ({ seq, inLog, n: ops.length })), [
    { seq: 0, inLog: false, n: 0 }, { seq: 1, inLog: true, n: 1 }, { seq: 2, inLog: true, n: 1 },
  ], "a read's confirmation appends nothing and carries the seq the state is at (0: batch 1 was still appending)");
  assert.equal(holder.seq, 2);
  assert.deepEqual(batches, [1, 2]);
  assert.deepEqual((await log.read(0)).entries.map((e) => e.ops), [[submit('j1')], [submit('j2')]]);
});

test('a batch the log fences reaches neither the backup nor the state, and its callers are refused', async () => {
  const { keys, holder, backup, p } = await setUp(2);
  await new DurableLog({ redis: fx.redis, keys, log: silentLog, snapshotEvery: 1000 }).claim(3);
  await assert.rejects(p.propose(submit('j1')), (err: Error) => err instanceof LogFencedError && err.fence === 3);
  assert.deepEqual(backup.seen, []);
  assert.deepEqual(holder.state.jobs, {});
  assert.equal(holder.seq, 0);
});

test('a batch in the log that the backup did not take is applied here all the same, and its callers are refused', async () => {
  const { log, holder, backup, p } = await setUp();
  backup.refusal = new Error('not primary: the backup refused');
  await assert.rejects(p.propose(submit('j1')), /the backup refused/);
  assert.deepEqual(Object.keys(holder.state.jobs), ['j1'], 'the state stays the log\'s');
  assert.equal(holder.seq, 1);
  backup.refusal = null;
  assert.equal((await p.propose(submit('j1')))?.ok, true, 'the retry is answered by dedupe');
  assert.deepEqual((await log.read(0)).entries.map((e) => e.seq), [1, 2]);
  assert.deepEqual(Object.keys(holder.state.jobs), ['j1'], 'and creates nothing twice');
});

test('while a batch waits for its append (Redis slow or down), reads are still confirmed, and see no effect of that batch', async () => {
  const keys = fx.fresh();
  const log = new DurableLog({ redis: fx.redis, keys, log: silentLog, snapshotEvery: 1000 });
  await log.claim(1);
  const holder = new StateHolder();
  const backup = new Backup(log);
  let open = () => {};
  const gate = new Promise<void>((r) => (open = r));
  const p = new OpPipeline({
    holder, replication: backup, onApplied: () => {},
    journal: { append: async (seq, ops) => {
      await gate;
      await log.append(1, seq, ops);
    } },
  });
  const op = p.propose(submit('j1'));
  await p.confirmRead();
  await p.confirmRead();
  assert.deepEqual(holder.state.jobs, {}, 'the read saw the state before the batch');
  assert.deepEqual(backup.seen.map((b) => [b.seq, b.ops.length]), [[0, 0], [0, 0]]);
  open();
  assert.equal((await op)?.ok, true);
  assert.deepEqual(backup.seen.map((b) => [b.seq, b.ops.length]), [[0, 0], [0, 0], [1, 1]]);
});
