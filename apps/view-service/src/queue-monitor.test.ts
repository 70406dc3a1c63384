import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, Worker } from 'bullmq';
import { redisForFile } from '../../../test/harness/redis.ts';
import { waitFor } from '../../../test/harness/wait.ts';
import { QueueMonitor, decodeQueueEvent, queueAlerts } from './queue-monitor.ts';

const fx = redisForFile();

/** Each test its own BullMQ prefix. */
let tests = 0;
const prefix = () => `qm${++tests}`;

/** A worker that takes tasks by hand and never renews their locks: each task it takes stalls. */
function stallingWorker(p: string) {
  return new Worker('map', null, { connection: fx.server.client(), prefix: p, autorun: false, lockDuration: 200, stalledInterval: 100, maxStalledCount: 10 });
}

const take = (w: Worker, token: string) => waitFor(() => w.getNextJob(token, { block: false }), { what: 'a task to take', timeoutMs: 10_000 });

test('entries of a real BullMQ event stream decode by field name, wherever the fields stand', async () => {
  const p = prefix();
  const queue = new Queue('map', { connection: fx.redis, prefix: p });
  const worker = stallingWorker(p);
  try {
    await queue.add('t', { n: 1 }, { jobId: 'a.0.m.0' });
    const job = await take(worker, 'tok');
    await job.moveToCompleted({ ok: true }, 'tok', false);
    const entries = await fx.redis.xrange(queue.keys.events, '-', '+');
    const events = entries.map(([, fields]) => decodeQueueEvent(fields));
    // `drained` (the queue ran empty) is the one event that names no task: fields differ per event.
    for (const e of events) assert.equal(e.jobId, e.event === 'drained' ? undefined : 'a.0.m.0', `event ${JSON.stringify(e)}`);
    const names = events.map((e) => e.event);
    for (const [before, later] of [['added', 'waiting'], ['waiting', 'active'], ['active', 'completed']]) {
      assert.ok(names.indexOf(before) >= 0 && names.indexOf(before) < names.indexOf(later), `${before} comes before ${later} in ${names.join(', ')}`);
    }
    const completed = events.find((e) => e.event === 'completed')!;
    assert.deepEqual(JSON.parse(completed.returnvalue), { ok: true });
    assert.equal(events.find((e) => e.event === 'added')?.name, 't');

    await fx.redis.xadd(queue.keys.events, '*', 'jobId', 'b.0.m.1', 'event', 'stalled');
    const [[, moved]] = await fx.redis.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
    assert.deepEqual(decodeQueueEvent(moved), { event: 'stalled', jobId: 'b.0.m.1' }, 'the same event with its fields in another order');
  } finally {
    await worker.close();
    await queue.close();
  }
});

test('a task whose worker keeps losing it is counted each time it stalls, and alerted on', async () => {
  const p = prefix();
  const queue = new Queue('map', { connection: fx.redis, prefix: p });
  const worker = stallingWorker(p);
  const monitor = new QueueMonitor({ connection: fx.server.client(), prefix: () => p });
  try {
    // Stalls are counted from the monitor's first check on: the one before is not.
    await queue.add('t', {}, { jobId: 'early.0.m.0' });
    await take(worker, 'tok0');
    void worker.startStalledCheckTimer();
    await waitFor(async () => (await queue.getWaitingCount()) === 1, { what: 'the first task to stall back to waiting', timeoutMs: 10_000 });
    await queue.obliterate({ force: true });
    assert.equal((await monitor.check()).stalled, 0);

    await queue.add('t', {}, { jobId: 'j.0.m.3' });
    for (let times = 1; times <= 2; times++) {
      await take(worker, `tok${times}`);
      await waitFor(async () => (await monitor.check()).stalled === times, { what: `stall ${times} counted`, timeoutMs: 10_000 });
    }
    assert.deepEqual(monitor.report.repeatedlyStalled, [{ task: 'j.0.m.3', times: 2 }]);
    assert.equal(monitor.report.error, null);
    assert.ok(queueAlerts(monitor.report).some((a) => a.startsWith('task j.0.m.3 stalled 2 times')), queueAlerts(monitor.report).join('; '));
  } finally {
    await monitor.stop();
    await worker.close();
    await queue.close();
  }
});
