import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LongPolls } from './long-polls.ts';

function polls() {
  const versions = new Map<string, number>();
  return { versions, polls: new LongPolls((id) => versions.get(id) ?? 0) };
}

test('a poll whose version is already stale answers at once', async () => {
  const { versions, polls: p } = polls();
  versions.set('j1', 3);
  await p.waitForChange('j1', 2, 60_000);
  assert.equal(p.waiting(), 0);
});

test('a poll answers when its job changes, and not when another job does', async () => {
  const { versions, polls: p } = polls();
  versions.set('j1', 1);
  let answered = false;
  const poll = p.waitForChange('j1', 1, 60_000).then(() => (answered = true));
  p.changed('j2');
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, false, 'a change to another job leaves the poll waiting');
  versions.set('j1', 2);
  p.changed('j1');
  await poll;
  assert.equal(p.waiting('j1'), 0, 'the answered poll stops listening');
});

test('a poll with no change answers after its timeout', async () => {
  const { polls: p } = polls();
  const t0 = Date.now();
  await p.waitForChange('j1', 0, 80);
  assert.ok(Date.now() - t0 >= 75);
  assert.equal(p.waiting(), 0);
});

test('wakeAll (a step-down) answers every poll on every job at once', async () => {
  const { polls: p } = polls();
  const all = [p.waitForChange('j1', 0, 60_000), p.waitForChange('j1', 0, 60_000), p.waitForChange('j2', 0, 60_000)];
  assert.equal(p.waiting(), 3);
  p.wakeAll();
  await Promise.all(all);
  assert.equal(p.waiting(), 0);
});

function heldPolls() {
  const versions = new Map<string, number>();
  const finished = new Set<string>();
  return { versions, finished, polls: new LongPolls((id) => versions.get(id) ?? 0, (id) => finished.has(id)) };
}

test('a held poll keeps a change that leaves the job running, and answers the change that finishes it at once', async () => {
  const { versions, finished, polls: p } = heldPolls();
  versions.set('j1', 1);
  let answered = false;
  const poll = p.waitForChange('j1', 1, 60_000, 60_000).then(() => (answered = true));
  versions.set('j1', 2);
  p.changed('j1');
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, false, 'a progress change waits for the hold');
  versions.set('j1', 3);
  finished.add('j1');
  p.changed('j1');
  await poll;
  assert.equal(p.waiting(), 0, 'the answered poll stops listening');
});

test('a held poll on a version already stale answers when its hold ends, or at once for a finished job', async () => {
  const { versions, finished, polls: p } = heldPolls();
  versions.set('j1', 2);
  await p.waitForChange('j1', 1, 60_000, 20);
  assert.equal(p.waiting(), 0);
  finished.add('j1');
  await p.waitForChange('j1', 1, 60_000, 60_000);
  assert.equal(p.waiting(), 0);
});

test('wakeAll answers held polls too', async () => {
  const { versions, polls: p } = heldPolls();
  versions.set('j1', 2);
  const poll = p.waitForChange('j1', 1, 60_000, 60_000);
  assert.equal(p.waiting(), 1);
  p.wakeAll();
  await poll;
  assert.equal(p.waiting(), 0);
});
