import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateHolder } from './state-holder.ts';
import { emptyState } from './state.ts';
import { stateAfter, submitOp, testSpec } from './test-support.ts';

test('apply changes the state through state.ts apply and says what changed', () => {
  const h = new StateHolder();
  const first = h.apply(submitOp('j1', testSpec(2, 1)));
  assert.equal(first.changed, true);
  assert.deepEqual(first.before, emptyState());
  assert.equal(first.after, h.state);
  assert.deepEqual(first.reply, { ok: true, jobId: 'j1', phase: 'map' });
  const again = h.apply(submitOp('j1', testSpec(2, 1)));
  assert.equal(again.changed, false, 'a retried submit changes nothing');
  assert.equal(again.after, first.after);
});

test('reset installs a snapshot as received (an install op), or an empty state', () => {
  const h = new StateHolder();
  h.apply(submitOp('j1', testSpec(1, 1)));
  const snapshot = JSON.parse(JSON.stringify(stateAfter([submitOp('j2', testSpec(1, 1))])));
  h.reset(snapshot);
  assert.equal(h.state, snapshot);
  assert.deepEqual(Object.keys(h.state.jobs), ['j2']);
  h.reset();
  assert.deepEqual(h.state, emptyState());
});

test('seq counts the batches the state includes; a batch out of order is refused', () => {
  const h = new StateHolder();
  h.applyBatch([submitOp('j1', testSpec(1, 1))], 1);
  assert.equal(h.seq, 1);
  assert.throws(() => h.applyBatch([submitOp('j2', testSpec(1, 1))], 3), /batch 3 cannot follow batch 1/);
  assert.deepEqual(Object.keys(h.state.jobs), ['j1'], 'the refused batch changed nothing');
  h.reset(emptyState(), 7);
  assert.equal(h.seq, 7, 'a snapshot carries the seq it includes');
});
