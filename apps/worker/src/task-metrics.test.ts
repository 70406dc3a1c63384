// One observation per attempt: its outcome, duration, parts, bytes and records, from runTask's result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '@tandem/shared';
import { TaskMetrics, outcomeOf } from './task-metrics.ts';
import type { TaskResult } from './run-task.ts';

const result = (won: boolean | null): TaskResult => ({
  skipped: false, won, phases: { readMs: 10, computeMs: 30, writeMs: 5 },
  attempt: 'j.0.m.0', worker: 'w', startedAt: 0, ms: 45, recordsIn: 100, recordsOut: 7, bytesIn: 4096, bytesOut: 512, failedAttempts: 0, stalls: 0,
});

test('outcomes: won, lost, a verified run recorded counts as won, skipped', () => {
  assert.equal(outcomeOf(result(true)), 'won');
  assert.equal(outcomeOf(result(false)), 'lost');
  assert.equal(outcomeOf(result(null)), 'won');
  assert.equal(outcomeOf({ skipped: true }), 'skipped');
  assert.equal(outcomeOf({ skipped: true, deferMs: 100 }), 'skipped');
});

test('an attempt adds its parts, bytes and records; a skipped or failed one only its duration and outcome', async () => {
  const m = new Metrics('worker', true);
  const counters = { since: 1, tasks: 0, bytesIn: 0, bytesOut: 0 };
  const t = new TaskMetrics(m, counters);
  t.attempt('map', 'wordcount', 0.05, result(true));
  t.attempt('map', 'wordcount', 0.06, result(false));
  t.attempt('map', 'wordcount', 0.001, { skipped: true });
  t.attempt('reduce', 'wordcount', 0.5);
  const text = await m.scrape();
  const value = (line: string) => {
    const found = text.split('\n').find((l) => l.startsWith(`${line} `));
    assert.ok(found, `${line} in:\n${text}`);
    return Number(found.slice(line.length + 1));
  };
  assert.equal(value('tandem_task_attempts_total{queue="map",outcome="won",process="worker"}'), 1);
  assert.equal(value('tandem_task_attempts_total{queue="map",outcome="lost",process="worker"}'), 1);
  assert.equal(value('tandem_task_attempts_total{queue="map",outcome="skipped",process="worker"}'), 1);
  assert.equal(value('tandem_task_attempts_total{queue="reduce",outcome="failed",process="worker"}'), 1);
  assert.equal(value('tandem_task_duration_seconds_count{process="worker",queue="map",type="wordcount"}'), 3);
  assert.equal(value('tandem_task_part_seconds_count{process="worker",queue="map",type="wordcount",part="compute"}'), 2);
  assert.equal(value('tandem_task_part_seconds_sum{process="worker",queue="map",type="wordcount",part="read"}'), 0.02);
  assert.equal(value('tandem_task_bytes_total{direction="read",process="worker"}'), 8192);
  assert.equal(value('tandem_task_bytes_total{direction="written",process="worker"}'), 1024);
  assert.equal(value('tandem_task_records_total{direction="in",process="worker"}'), 200);
  assert.equal(value('tandem_task_records_total{direction="out",process="worker"}'), 14);
  assert.deepEqual(counters, { since: 1, tasks: 2, bytesIn: 8192, bytesOut: 1024 }, "the report's counters: the two attempts that ran to a result");
});

test("with metrics off the report's counters still count", () => {
  const counters = { since: 1, tasks: 0, bytesIn: 0, bytesOut: 0 };
  const t = new TaskMetrics(new Metrics('worker', false), counters);
  t.attempt('map', 'wordcount', 0.05, result(true));
  t.attempt('map', 'wordcount', 0.001, { skipped: true });
  assert.deepEqual(counters, { since: 1, tasks: 1, bytesIn: 4096, bytesOut: 512 });
});
