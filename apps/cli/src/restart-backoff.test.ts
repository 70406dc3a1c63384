// The supervisor's restart rule, death by death.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_WAIT_MS, MAX_WAIT_MS, restartPlan } from './restart-backoff.ts';

/** The waits of a run of deaths, each after running `ranFor[i]` ms. */
function waits(ranFor: number[], resetAfterMs: number): number[] {
  let quick = 0;
  return ranFor.map((ran) => {
    const p = restartPlan(quick, ran, resetAfterMs);
    quick = p.quickDeaths;
    return p.waitMs;
  });
}

test('a child that dies at once, again and again, waits twice as long each time, up to the maximum', () => {
  assert.deepEqual(waits([10, 10, 10, 10, 10, 10, 10], 10_000), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(FIRST_WAIT_MS, 500);
  assert.equal(MAX_WAIT_MS, 5000);
});

test('a child that ran for the reset time before it died is restarted after the first wait again', () => {
  // Five quick deaths reach the maximum; a death after a healthy run starts over.
  assert.deepEqual(waits([10, 10, 10, 10, 10, 10_000, 10, 10_000], 10_000), [500, 1000, 2000, 4000, 5000, 500, 1000, 500]);
  // Just short of the reset time is still a quick death.
  assert.deepEqual(waits([10, 10, 9_999], 10_000), [500, 1000, 2000]);
});

test('ten deaths each after a healthy run all restart after the first wait (the chaos run of issue 17)', () => {
  assert.deepEqual(waits(Array(11).fill(60_000), 10_000), Array(11).fill(500));
});

test('a reset time of 0 never resets: the old rule, every death after the fifth waits the maximum', () => {
  assert.deepEqual(waits(Array(11).fill(60_000), 0), [500, 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000, 5000]);
});
