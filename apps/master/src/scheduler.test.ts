import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, readyToEnqueue, stragglers } from './scheduler.ts';
import { apply, emptyState, type Op } from './state.ts';

const cfg = { speculateFactor: 3, speculateMinMs: 1000, retentionMs: 1_000_000 };
const spec = { type: 'wordcount', params: {}, partitions: 1, dataset: { name: 'd', version: 'v', format: 'text', bytes: 1, firstRecords: [1, 2, 3, 4], records: 4 } };

test('pending tasks of the current phase are enqueued, nothing else', () => {
  let s = apply(emptyState(), { op: 'submit', at: 0, clientId: 'c', requestId: 'r', jobId: 'j', spec }).state;
  assert.deepEqual(plan(s, 0, cfg), [{ type: 'enqueue', jobId: 'j', round: 0, kind: 'map', indices: [0, 1, 2, 3] }]);
  s = apply(s, { op: 'enqueued', at: 0, jobId: 'j', round: 0, kind: 'map', indices: [0, 1, 2, 3] }).state;
  assert.deepEqual(plan(s, 0, cfg), []);
});

test('finished jobs get cleaned up once', () => {
  let s = apply(emptyState(), { op: 'submit', at: 0, clientId: 'c', requestId: 'r', jobId: 'j', spec }).state;
  s = apply(s, { op: 'cancel', at: 1, clientId: 'c', requestId: 'r2', jobId: 'j' }).state;
  assert.deepEqual(plan(s, 2, cfg), [{ type: 'cleanup', jobId: 'j' }]);
  s = apply(s, { op: 'cleaned', at: 3, jobId: 'j' }).state;
  assert.deepEqual(plan(s, 4, cfg), []);
});

test('a finished job expires once cleaned up and its retention has run out, and its expiry removes its record', () => {
  let s = apply(emptyState(), { op: 'submit', at: 0, clientId: 'c', requestId: 'r', jobId: 'j', spec }).state;
  s = apply(s, { op: 'submit', at: 0, clientId: 'c', requestId: 'r1', jobId: 'live', spec }).state;
  s = apply(s, { op: 'enqueued', at: 0, jobId: 'live', round: 0, kind: 'map', indices: [0, 1, 2, 3] }).state;
  s = apply(s, { op: 'cancel', at: 10, clientId: 'c', requestId: 'r2', jobId: 'j' }).state;
  assert.deepEqual(plan(s, 10 + cfg.retentionMs, cfg), [{ type: 'cleanup', jobId: 'j' }], 'not before its clean-up');
  s = apply(s, { op: 'cleaned', at: 11, jobId: 'j' }).state;
  assert.deepEqual(plan(s, 9 + cfg.retentionMs, cfg), [], 'kept until the retention runs out');
  assert.deepEqual(plan(s, 10 + cfg.retentionMs, cfg), [{ type: 'expire', jobId: 'j' }]);
  assert.deepEqual(plan(s, 10 * cfg.retentionMs, cfg), [{ type: 'expire', jobId: 'j' }], 'a running job never expires');
  s = apply(s, { op: 'expired', at: 10 + cfg.retentionMs, jobId: 'j' }).state;
  assert.deepEqual(Object.keys(s.jobs), ['live']);
  assert.equal(apply(s, { op: 'expired', at: 10 * cfg.retentionMs, jobId: 'live' }).state, s, 'an expiry of a running job changes nothing');
});

test('a straggler gets one backup attempt once half its phase has committed', () => {
  const commit = { attempt: 'a', worker: 'w', startedAt: 0, ms: 100, recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, failedAttempts: 0, stalls: 0 };
  let s = apply(emptyState(), { op: 'submit', at: 0, clientId: 'c', requestId: 'r', jobId: 'j', spec }).state;
  const ops: Op[] = [
    { op: 'enqueued', at: 0, jobId: 'j', round: 0, kind: 'map', indices: [0, 1, 2, 3] },
    ...[0, 1, 2, 3].map((index): Op => ({ op: 'started', at: 0, jobId: 'j', round: 0, kind: 'map', index })),
    { op: 'committed', at: 100, jobId: 'j', round: 0, kind: 'map', index: 0, commit },
  ];
  for (const op of ops) s = apply(s, op).state;
  assert.deepEqual(plan(s, 5000, cfg), [], 'one of four committed is not yet near the end');
  s = apply(s, { op: 'committed', at: 100, jobId: 'j', round: 0, kind: 'map', index: 1, commit }).state;
  assert.deepEqual(plan(s, 900, cfg), [], 'younger than the minimum');
  assert.deepEqual(plan(s, 5000, cfg).map((a) => a.type === 'speculate' && a.index), [2, 3]);
  s = apply(s, { op: 'speculated', at: 5000, jobId: 'j', round: 0, kind: 'map', index: 2 }).state;
  assert.deepEqual(plan(s, 6000, cfg).map((a) => a.type === 'speculate' && a.index), [3]);

  // A verified job runs each task twice already: the same stragglers get no backup attempt.
  let v = apply(emptyState(), { op: 'submit', at: 0, clientId: 'c', requestId: 'r', jobId: 'j', spec: { ...spec, verify: true } }).state;
  for (const op of [...ops, { op: 'committed', at: 100, jobId: 'j', round: 0, kind: 'map', index: 1, commit } as Op]) v = apply(v, op).state;
  assert.deepEqual(plan(v, 5000, cfg), [], 'a verified job');
});

test('stragglers: the limit is factor × median of committed durations', () => {
  const c = (ms: number) => ({ state: 'committed', index: 0, speculative: 0, commit: { ms } });
  const tasks = [c(100), c(200), c(5000), { state: 'running', index: 3, speculative: 0, startedAt: 0 }];
  assert.deepEqual(stragglers(tasks, 500, { speculateFactor: 3, speculateMinMs: 0 }), []);
  assert.deepEqual(stragglers(tasks, 601, { speculateFactor: 3, speculateMinMs: 0 }), [3]);
});

test('readyToEnqueue: the pending tasks of the named jobs only, as the enqueue that joins an op batch', () => {
  let s = apply(emptyState(), { op: 'submit', at: 0, clientId: 'c', requestId: 'r', jobId: 'j', spec }).state;
  s = apply(s, { op: 'submit', at: 0, clientId: 'c', requestId: 'r1', jobId: 'other', spec }).state;
  assert.deepEqual(readyToEnqueue(s, ['j', 'j', 'gone']), [{ type: 'enqueue', jobId: 'j', round: 0, kind: 'map', indices: [0, 1, 2, 3] }]);
  s = apply(s, { op: 'enqueued', at: 0, jobId: 'j', round: 0, kind: 'map', indices: [0, 1, 2, 3] }).state;
  assert.deepEqual(readyToEnqueue(s, ['j']), [], 'queued already');
  const commit = { attempt: 'a', worker: 'w', startedAt: 0, ms: 1, recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, failedAttempts: 0, stalls: 0 };
  for (const index of [0, 1, 2, 3]) s = apply(s, { op: 'committed', at: 1, jobId: 'j', round: 0, kind: 'map', index, commit }).state;
  assert.deepEqual(readyToEnqueue(s, ['j']), [{ type: 'enqueue', jobId: 'j', round: 0, kind: 'reduce', indices: [0] }], 'the last commit makes the reduce phase ready');
  s = apply(s, { op: 'cancel', at: 2, clientId: 'c', requestId: 'r2', jobId: 'other' }).state;
  assert.deepEqual(readyToEnqueue(s, ['other']), [], 'a finished job enqueues nothing');
});
