import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_BATCH, OpPipeline, type Forwarder } from './op-pipeline.ts';
import { StateHolder } from './state-holder.ts';
import type { Op } from './state.ts';
import { readyToEnqueue } from './scheduler.ts';
import { submitOp, testCommit, testSpec } from './test-support.ts';

/**
 * The backup, as the primary's pipeline sees it: it records each batch it is sent and, while held,
 * answers none until released. Our own interface (replication.ts forward), not Redis or the network.
 */
class BackupDouble implements Forwarder {
  serving = true;
  batches: Op[][] = [];
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};
  private refusal: Error | null = null;

  notPrimary(): Error {
    return new Error('not primary: test');
  }

  async forward(ops: Op[]): Promise<void> {
    this.batches.push(ops);
    if (this.refusal) {
      const err = this.refusal;
      this.refusal = null;
      throw err;
    }
    await this.gate;
  }

  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open();
    this.gate = Promise.resolve();
  }

  refuseNext(err: Error): void {
    this.refusal = err;
  }
}

function pipeline() {
  const holder = new StateHolder();
  const backup = new BackupDouble();
  const applied: Op[] = [];
  const p = new OpPipeline({ holder, replication: backup, journal: null, onApplied: (_c, op) => applied.push(op) });
  return { holder, backup, applied, p };
}

const submit = (jobId: string) => submitOp(jobId, testSpec(1, 1));
const eventsRead = (n: number): Op => ({ op: 'eventsRead', queue: 'map', id: `${n}-0` });

test('an op is applied only after the backup holds it, and its caller gets the reply', async () => {
  const { holder, backup, p } = pipeline();
  backup.hold();
  const reply = p.propose(submit('j1'));
  assert.deepEqual(backup.batches, [[submit('j1')]]);
  assert.deepEqual(holder.state.jobs, {}, 'not applied while the backup has not answered');
  backup.release();
  assert.deepEqual(await reply, { ok: true, jobId: 'j1', phase: 'map' });
  assert.ok(holder.state.jobs.j1);
});

test('ops proposed while a batch is in flight go to the backup together (group commit), applied in proposal order', async () => {
  const { backup, applied, p } = pipeline();
  backup.hold();
  const first = p.propose(submit('j1'));
  const rest = [p.propose(submit('j2')), p.confirmRead(), p.propose(submit('j3'))];
  assert.equal(backup.batches.length, 1, 'the second batch waits for the first');
  backup.release();
  await Promise.all([first, ...rest]);
  assert.deepEqual(backup.batches, [[submit('j1')], [submit('j2'), submit('j3')]], "the read's confirmation adds no op to its batch");
  assert.deepEqual(applied.map((op) => 'jobId' in op && op.jobId), ['j1', 'j2', 'j3']);
});

test(`a batch carries at most ${MAX_BATCH} ops`, async () => {
  const { backup, p } = pipeline();
  backup.hold();
  const all = Array.from({ length: 2 * MAX_BATCH + 500 }, (_, i) => p.propose(eventsRead(i + 1)));
  backup.release();
  await Promise.all(all);
  assert.deepEqual(backup.batches.map((b) => b.length), [1, MAX_BATCH, MAX_BATCH, 499]);
});

test('without the durable log, a batch the backup refuses is applied nowhere and fails its callers; the next batch goes through', async () => {
  const { holder, backup, p } = pipeline();
  backup.refuseNext(new Error('backup refused'));
  await assert.rejects(p.propose(submit('j1')), /backup refused/);
  assert.deepEqual(holder.state.jobs, {});
  assert.equal((await p.propose(submit('j2')))?.ok, true);
  assert.deepEqual(Object.keys(holder.state.jobs), ['j2']);
});

test('a read waits for the backup like an op, as an empty batch', async () => {
  const { backup, p } = pipeline();
  backup.hold();
  let confirmed = false;
  const read = p.confirmRead().then(() => (confirmed = true));
  await Promise.resolve();
  assert.equal(confirmed, false);
  assert.deepEqual(backup.batches, [[]]);
  backup.release();
  await read;
  assert.equal(confirmed, true);
});

test('a read whose confirmation comes back after the master stopped serving is refused: its state may be gone', async () => {
  const { backup, p } = pipeline();
  backup.hold();
  const read = p.confirmRead();
  await Promise.resolve();
  assert.deepEqual(backup.batches, [[]], 'the confirmation is on its way to the backup');
  // A new view makes this master idle (it drops its state) while the backup still answers for the old one.
  backup.serving = false;
  backup.release();
  await assert.rejects(read, /not primary/);
});

test('a batch the backup holds after this master dropped its state is not applied to the empty state, and its caller is told to retry', async () => {
  const { holder, backup, p, applied } = pipeline();
  await p.propose(submit('j1'));
  backup.hold();
  const op = p.propose(submit('j2'));
  await Promise.resolve();
  // A new view makes this master idle (it drops its state) while the backup still answers for the old one.
  backup.serving = false;
  holder.reset();
  backup.release();
  await assert.rejects(op, /not primary/);
  assert.deepEqual(Object.keys(holder.state.jobs), []);
  assert.equal(holder.seq, 0);
  assert.deepEqual(applied.map((o) => (o as { jobId: string }).jobId), ['j1']);
});

test('a master that is not serving refuses at once and forwards nothing', async () => {
  const { backup, p } = pipeline();
  backup.serving = false;
  await assert.rejects(p.propose(submit('j1')), /not primary/);
  await assert.rejects(p.confirmRead(), /not primary/);
  assert.deepEqual(backup.batches, []);
});

test('rejectAll (a step-down) fails every op still waiting, and none of them is applied', async () => {
  const { holder, backup, p } = pipeline();
  backup.hold();
  const inFlight = p.propose(submit('j1'));
  const waiting = [p.propose(submit('j2')), p.confirmRead()];
  p.rejectAll(new Error('not primary: stepped down'));
  for (const w of waiting) await assert.rejects(w, /stepped down/);
  backup.release();
  await inFlight;
  assert.deepEqual(Object.keys(holder.state.jobs), ['j1']);
  assert.equal(backup.batches.length, 1);
});

test('onApplied hears of the ops that changed the state only', async () => {
  const { applied, p } = pipeline();
  await p.propose(submit('j1'));
  const again = await p.propose(submit('j1'));
  assert.deepEqual(again, { ok: true, jobId: 'j1', phase: 'map' }, 'a retried request gets the first reply');
  assert.equal(applied.length, 1);
});

test('settled waits for the commit loop, or gives up after its timeout', async () => {
  const { backup, p } = pipeline();
  await p.settled(10_000);
  backup.hold();
  const op = p.propose(submit('j1'));
  const t0 = Date.now();
  await p.settled(50);
  assert.ok(Date.now() - t0 >= 45, 'gave up after the timeout while the backup holds the batch');
  backup.release();
  await p.settled(10_000);
  assert.equal((await op)?.ok, true);
});

/** A pipeline whose follow-ups enqueue the tasks each batch makes ready, as the master's do (readyToEnqueue). */
function withFollowUps() {
  const holder = new StateHolder();
  const backup = new BackupDouble();
  const settled: string[] = [];
  const p = new OpPipeline({
    holder, replication: backup, journal: null, onApplied: () => {},
    followUps: (after, ops) => readyToEnqueue(after, ops.flatMap((op) => ('jobId' in op ? [op.jobId] : []))).map((a) => ({
      op: { op: 'enqueued', at: 5, jobId: a.jobId, round: a.round, kind: a.kind, indices: a.indices },
      resolve: () => settled.push(`added ${a.jobId} ${a.kind} ${a.indices.join(',')}`),
      reject: (err) => settled.push(`refused ${a.jobId}: ${err.message}`),
    })),
  });
  return { holder, backup, settled, p };
}

test('follow-ups join the batch whose ops make tasks ready: a commit that ends a phase goes out with the enqueue of the next', async () => {
  const { holder, backup, settled, p } = withFollowUps();
  await p.propose(submit('j1'));
  assert.deepEqual(backup.batches[0].map((op) => op.op), ['submit', 'enqueued'], "a new job's first tasks are enqueued in its submit's batch");
  assert.deepEqual(settled, ['added j1 map 0'], 'the side effect comes once the batch is confirmed');
  assert.equal(holder.state.jobs.j1.maps[0].state, 'queued');
  const commit: Op = { op: 'committed', at: 6, jobId: 'j1', round: 0, kind: 'map', index: 0, commit: testCommit() };
  const [answer] = p.proposeAll([commit]);
  await answer;
  assert.deepEqual(backup.batches[1].map((op) => op.op), ['committed', 'enqueued']);
  assert.deepEqual(holder.state.jobs.j1.reduces.map((t) => t.state), ['queued']);
  assert.deepEqual(settled, ['added j1 map 0', 'added j1 reduce 0']);
});

test('ops proposed together go out in one batch; follow-ups are computed on the state the whole batch leads to', async () => {
  const { holder, backup, p } = withFollowUps();
  await p.propose(submitOp('j1', testSpec(2, 1)));
  const commit = (index: number): Op => ({ op: 'committed', at: 6, jobId: 'j1', round: 0, kind: 'map', index, commit: testCommit() });
  await Promise.all(p.proposeAll([commit(0), commit(1)]));
  assert.deepEqual(backup.batches[1].map((op) => op.op), ['committed', 'committed', 'enqueued'], 'both commits and the reduce phase\'s enqueue: one trip');
  assert.equal(holder.state.jobs.j1.phase, 'reduce');
});

test(`follow-ups that would take a batch past ${MAX_BATCH} ops are left out (the scheduler enqueues those tasks)`, async () => {
  const { holder, backup, settled, p } = withFollowUps();
  backup.hold();
  const first = p.propose(eventsRead(1));
  const all = Array.from({ length: MAX_BATCH }, (_, i) => p.propose(submit(`j${i}`)));
  backup.release();
  await Promise.all([first, ...all]);
  assert.deepEqual(backup.batches.map((b) => b.length), [1, MAX_BATCH]);
  assert.equal(settled.length, 0);
  assert.equal(holder.state.jobs.j0.maps[0].state, 'pending');
});

test('a follow-up of a batch the backup refuses is refused with it, and nothing is added', async () => {
  const { holder, backup, settled, p } = withFollowUps();
  backup.refuseNext(new Error('backup refused'));
  await assert.rejects(p.propose(submit('j1')), /backup refused/);
  assert.deepEqual(settled, ['refused j1: backup refused']);
  assert.deepEqual(holder.state.jobs, {});
});

test('tandem_op_commit_seconds: one observation per batch applied, from its proposal to its apply; none for a read or a refused batch', async () => {
  const holder = new StateHolder();
  const backup = new BackupDouble();
  const seen: number[] = [];
  const p = new OpPipeline({ holder, replication: backup, journal: null, onApplied: () => {}, commitSeconds: { observe: (s) => seen.push(s) } });
  await p.propose(submit('j1'));
  assert.equal(seen.length, 1);
  await new Promise((r) => setImmediate(r)); // the commit loop ends: the next op starts a batch of its own
  backup.hold();
  const first = p.propose(eventsRead(1));
  const batched = [p.propose(eventsRead(2)), p.propose(eventsRead(3))];
  const t0 = performance.now();
  // The backup answers late: the batch's time includes the wait for it.
  await new Promise((r) => setImmediate(r));
  backup.release();
  await Promise.all([first, ...batched]);
  const waitedS = (performance.now() - t0) / 1000;
  assert.deepEqual(backup.batches.map((b) => b.length), [1, 1, 2]);
  assert.equal(seen.length, 3, 'two more batches: the held one, then the two ops proposed meanwhile together');
  assert.ok(seen[1] >= 0 && seen[1] <= waitedS + 1, `the held batch's time, ${seen[1]} s, is a duration in seconds`);
  await p.confirmRead();
  assert.equal(seen.length, 3, 'a read confirmation applies nothing, so it is no commit');
  backup.refuseNext(new Error('backup refused'));
  await assert.rejects(p.propose(submit('j2')), /backup refused/);
  assert.equal(seen.length, 3, 'a batch the backup refused (no log) is applied nowhere, so it is no commit');
});
