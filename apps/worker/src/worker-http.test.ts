// The worker's listener on a real socket: /health open (503 once stopping), /metrics behind the
// cluster secret (404 with metrics off), JSON 404 and 405 for anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Metrics, createLogger } from '@tandem/shared';
import { TaskMetrics } from './task-metrics.ts';
import { startWorkerHttp, workerRoutes } from './worker-http.ts';

const SECRET = 'worker-http-secret-0123456789';
const log = createLogger('worker-http-test', 'silent');

async function serve(metrics: Metrics, state: { running: number; stopping: boolean }) {
  const server: Server = await startWorkerHttp(workerRoutes(metrics, SECRET, () => ({ name: 'w1', ...state })), { host: '127.0.0.1', port: 0 }, log);
  const { port } = server.address() as { port: number };
  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
    return { status: res.status, type: res.headers.get('content-type') ?? '', allow: res.headers.get('allow'), text: await res.text() };
  };
  return { get, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('/health is open and says running tasks; 503 with stopping true once the worker stops', async () => {
  const state = { running: 2, stopping: false };
  const s = await serve(new Metrics('worker', true), state);
  try {
    const up = await s.get('/health');
    assert.equal(up.status, 200);
    assert.deepEqual(JSON.parse(up.text), { ok: true, role: 'worker', name: 'w1', running: 2, stopping: false });
    state.stopping = true;
    state.running = 1;
    const down = await s.get('/health?probe=readiness');
    assert.equal(down.status, 503);
    assert.deepEqual(JSON.parse(down.text), { ok: false, role: 'worker', name: 'w1', running: 1, stopping: true });
  } finally {
    await s.close();
  }
});

test('/metrics needs the secret and serves the task metrics; unknown paths 404 and other methods 405, in JSON', async () => {
  const metrics = new Metrics('worker', true);
  new TaskMetrics(metrics).attempt('reduce', 'wordcount', 0.2);
  const s = await serve(metrics, { running: 0, stopping: false });
  try {
    const refused = await s.get('/metrics');
    assert.equal(refused.status, 401);
    assert.match(JSON.parse(refused.text).error, /Authorization: Bearer/);
    const ok = await s.get('/metrics', { headers: { authorization: `Bearer ${SECRET}` } });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^tandem_task_attempts_total\{queue="reduce",outcome="failed",process="worker"\} 1$/m);
    assert.match(ok.text, /^tandem_task_duration_seconds_count\{process="worker",queue="reduce",type="wordcount"\} 1$/m);
    const missing = await s.get('/jobs');
    assert.equal(missing.status, 404);
    assert.match(missing.type, /application\/json/);
    assert.match(JSON.parse(missing.text).error, /no \/jobs on a worker; it serves GET \/metrics and GET \/health/);
    const posted = await s.get('/health', { method: 'POST', body: 'x' });
    assert.equal(posted.status, 405);
    assert.equal(posted.allow, 'GET');
    assert.equal(JSON.parse(posted.text).code, 'method_not_allowed');
  } finally {
    await s.close();
  }
});

test('with metrics off, /metrics is a 404 and /health still answers', async () => {
  const s = await serve(new Metrics('worker', false), { running: 0, stopping: false });
  try {
    const off = await s.get('/metrics', { headers: { authorization: `Bearer ${SECRET}` } });
    assert.equal(off.status, 404);
    assert.match(JSON.parse(off.text).error, /TANDEM_METRICS=off/);
    assert.equal((await s.get('/health')).status, 200);
  } finally {
    await s.close();
  }
});
