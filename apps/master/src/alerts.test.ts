import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALERT_KINDS, alertCounts, alertTexts, alertsOf } from './alerts.ts';

test('alerts are counted by kind, every kind present (a kind with none is 0, so its series never vanishes)', () => {
  const alerts = [...alertsOf('data_loss', ['loss 1', 'loss 2']), ...alertsOf('durability', ['appendfsync no']), ...alertsOf('job_types', [])];
  const counts = alertCounts(alerts);
  assert.deepEqual(Object.keys(counts).sort(), [...ALERT_KINDS].sort());
  assert.equal(counts.data_loss, 2);
  assert.equal(counts.durability, 1);
  for (const k of ALERT_KINDS.filter((k) => k !== 'data_loss' && k !== 'durability')) assert.equal(counts[k], 0, k);
  assert.deepEqual(alertTexts(alerts), ['loss 1', 'loss 2', 'appendfsync no'], '/health shows the texts, in order');
});

test('alert kinds are bounded label values: lower-case words, never a job id or a URL', () => {
  for (const k of ALERT_KINDS) assert.match(k, /^[a-z]+(_[a-z]+)*$/, k);
  assert.equal(new Set(ALERT_KINDS).size, ALERT_KINDS.length);
});
