/**
 * The master's scrape-time metrics against a real Redis and real BullMQ queues: a serving primary
 * exports jobs by phase and task counts, a master that does not serve exports neither (its view,
 * role, alerts and Redis round trip it always exports).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { METRICS, Metrics } from '@tandem/shared';
import { parseProm, samplesOf, valueOf } from '../../../test/harness/prom.ts';
import { alertsOf } from './alerts.ts';
import { jobsByPhase, pendingTasks, watchMaster, type MasterScrape } from './master-metrics.ts';
import type { Master } from './master.ts';
import { redisFixture, stateAfter, submitOp, testSpec, type RedisFixture } from './test-support.ts';

let fx: RedisFixture;
before(async () => {
  fx = await redisFixture();
});
after(async () => fx.close());

test('jobsByPhase counts every phase, 0 included; pendingTasks is waiting and prioritized of both queues', () => {
  const s = stateAfter([submitOp('j1', testSpec(1, 1)), submitOp('j2', testSpec(1, 1)), { op: 'cancel', at: 2, clientId: 'c1', requestId: 'x', jobId: 'j2' }]);
  assert.deepEqual(jobsByPhase(s), { map: 1, reduce: 0, done: 0, failed: 0, cancelled: 1 });
  const c = { waiting: 1, prioritized: 2, delayed: 4, active: 8 };
  assert.equal(pendingTasks({ map: c, reduce: { ...c, waiting: 16 } }), 1 + 2 + 16 + 2);
});

/** A master as watchMaster reads it: its state, whether it serves, its view and alerts. */
function masterDouble(serving: boolean): MasterScrape['master'] {
  const state = stateAfter([submitOp('j1', testSpec(1, 1))]);
  return {
    state,
    replication: { serving, view: { viewnum: 7, primary: 'http://a', backup: 'http://b' } },
    alerts: () => alertsOf('data_loss', ['lost']),
  } as unknown as Pick<Master, 'state' | 'replication' | 'alerts'>;
}

async function scrape(serving: boolean) {
  const k = fx.fresh();
  const queues = fx.queues(k);
  await queues.map.add('t1', {}, { priority: 1 });
  await queues.map.add('t2', {});
  await queues.reduce.add('t3', {}, { delay: 60_000 });
  const metrics = new Metrics('master', true);
  watchMaster(metrics, { master: masterDouble(serving), queues, redis: fx.redis, me: 'http://a', processAlerts: () => alertsOf('job_types', ['mismatch']) });
  return parseProm(await metrics.scrape());
}

test('a serving primary exports its jobs by phase, BullMQ task counts and the pending tasks', async () => {
  const s = await scrape(true);
  assert.equal(valueOf(s, METRICS.jobs.name, { phase: 'map' }), 1);
  assert.equal(valueOf(s, METRICS.jobs.name, { phase: 'done' }), 0);
  assert.equal(valueOf(s, METRICS.tasks.name, { queue: 'map', state: 'prioritized' }), 1);
  assert.equal(valueOf(s, METRICS.tasks.name, { queue: 'map', state: 'waiting' }), 1);
  assert.equal(valueOf(s, METRICS.tasks.name, { queue: 'reduce', state: 'delayed' }), 1);
  assert.equal(valueOf(s, METRICS.tasksPending.name), 2, 'a delayed task is not pending');
  assert.equal(valueOf(s, METRICS.primary.name, { master: 'http://a' }), 1);
  assert.equal(valueOf(s, METRICS.viewNumber.name), 7);
  assert.equal(valueOf(s, METRICS.alerts.name, { kind: 'data_loss' }), 1);
  assert.equal(valueOf(s, METRICS.alerts.name, { kind: 'job_types' }), 1);
  assert.equal(valueOf(s, METRICS.alerts.name, { kind: 'durability' }), 0);
  const rtt = valueOf(s, METRICS.redisRtt.name)!;
  assert.ok(Number.isNaN(rtt) || rtt >= 0, `the Redis round trip ${rtt} s (NaN: the PING took over its 1 s limit)`);
});

test('a master that does not serve exports no jobs, tasks or pending tasks, and says it is not primary', async () => {
  const s = await scrape(false);
  for (const m of [METRICS.jobs, METRICS.tasks, METRICS.tasksPending]) assert.deepEqual(samplesOf(s, m.name), [], m.name);
  assert.equal(valueOf(s, METRICS.primary.name, { master: 'http://a' }), 0);
  assert.equal(valueOf(s, METRICS.viewNumber.name), 7);
});

test('with metrics off nothing is registered: the scrape has no Tandem metric and no collector runs', async () => {
  const metrics = new Metrics('master', false);
  let read = false;
  const master = { ...masterDouble(true), alerts: () => ((read = true), []) } as unknown as MasterScrape['master'];
  watchMaster(metrics, { master, queues: fx.queues(fx.fresh()), redis: fx.redis, me: 'http://a', processAlerts: () => [] });
  assert.equal((await metrics.scrape()).trim(), '');
  assert.equal(read, false);
});
