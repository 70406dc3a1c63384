import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQuiet, type QueueLook } from './queue-watchdog.ts';

const quietMs = 30_000;
const look = (l: Partial<QueueLook> = {}): QueueLook => ({ waiting: 3, runningHere: 0, lastTakenAt: 0, lastRestartAt: 0, ...l });

test('tick by tick: tasks wait and nothing is taken for quietMs, then the worker is replaced, and not again within quietMs', () => {
  assert.equal(isQuiet(look(), 29_999, quietMs), false, 'not yet quiet long enough');
  assert.equal(isQuiet(look(), 30_000, quietMs), true, 'quiet: replace it');
  assert.equal(isQuiet(look({ lastRestartAt: 30_000 }), 45_000, quietMs), false, 'just replaced: give it time');
  assert.equal(isQuiet(look({ lastRestartAt: 30_000 }), 60_000, quietMs), true, 'still quiet a whole period after: again');
  assert.equal(isQuiet(look({ lastRestartAt: 30_000, lastTakenAt: 40_000 }), 60_000, quietMs), false, 'it took a task since');
});

test('an idle worker (nothing waits) or a busy one is never replaced', () => {
  assert.equal(isQuiet(look({ waiting: 0 }), 1e9, quietMs), false);
  assert.equal(isQuiet(look({ runningHere: 1 }), 1e9, quietMs), false);
});
