import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METRICS, Metrics, metricsHandler, type MetricSpec } from './metrics.ts';

test('every metric name follows the Prometheus rules Tandem keeps (prefix, units, _total on counters only)', () => {
  const names = new Set<string>();
  for (const spec of Object.values(METRICS) as MetricSpec[]) {
    assert.match(spec.name, /^tandem_[a-z_]+$/, spec.name);
    assert.ok(!names.has(spec.name), `${spec.name} named twice`);
    names.add(spec.name);
    assert.equal(spec.name.endsWith('_total'), spec.type === 'counter', `${spec.name}: _total exactly on counters`);
    assert.ok(!spec.labels.some((l) => /job|id/i.test(l)), `${spec.name}: no job id as a label`);
    if (spec.type === 'histogram') assert.ok(spec.buckets && spec.buckets.length > 3, `${spec.name}: buckets`);
    assert.ok(spec.on.length > 0 && spec.help.length > 10);
  }
});

test('a process registers only its own metrics; a scrape shows them with the process label', async () => {
  const m = new Metrics('worker', true);
  m.counter('taskBytes').inc({ direction: 'read' }, 42);
  m.redisRtt(async () => 'PONG');
  assert.throws(() => m.gauge('jobs'), /tandem_jobs is not one a worker exports/);
  const text = await m.scrape();
  assert.match(text, /^tandem_task_bytes_total\{direction="read",process="worker"\} 42$/m);
  assert.match(text, /^tandem_redis_rtt_seconds\{process="worker"\} [0-9.e-]+$/m);
  assert.match(text, /^process_cpu_user_seconds_total/m, 'prom-client default metrics');
});

test('a Redis that does not answer reads as NaN, after the timeout', async () => {
  const m = new Metrics('console', true);
  m.redisRtt(() => new Promise(() => {}), 20);
  assert.match(await m.scrape(), /^tandem_redis_rtt_seconds\{process="console"\} Nan$/m);
});

test('/metrics: 401 without the bearer, 200 with it, 404 with metrics off', async () => {
  const call = async (m: Metrics, auth?: string) => {
    let status = 0;
    let body = '';
    const res = { statusCode: 0, setHeader() {}, end(b: string) { status = this.statusCode; body = b; } };
    metricsHandler(m, 'a-secret-of-16-chars')({ headers: auth ? { authorization: auth } : {} } as never, res as never);
    await new Promise((r) => setTimeout(r, 20));
    return { status, body };
  };
  const on = new Metrics('master', true);
  assert.equal((await call(on)).status, 401);
  assert.equal((await call(on, 'Bearer wrong-secret-of-16')).status, 401);
  const ok = await call(on, 'Bearer a-secret-of-16-chars');
  assert.equal(ok.status, 200);
  assert.match(ok.body, /process_resident_memory_bytes/);
  const off = new Metrics('master', false);
  off.counter('viewChanges').inc();
  assert.equal((await call(off, 'Bearer a-secret-of-16-chars')).status, 404);
});
