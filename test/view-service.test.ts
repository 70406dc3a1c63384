// The view service as a process: pings over HTTP decide the view, /view volunteers nothing, and
// /status reports servers, queues and alerts in plain words.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { keys } from '@tandem/shared';
import { repoRoot, spawnApp } from '../apps/cli/src/processes.ts';
import { startRedis, type TestRedis } from './harness/redis.ts';
import { freePort, waitFor } from './harness/wait.ts';

let redis: TestRedis;
let url: string;
let env: NodeJS.ProcessEnv;
const prefix = `t${process.pid}`;
const procs: ChildProcess[] = [];

before(async () => {
  redis = await startRedis();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = { ...process.env, REDIS_URL: redis.url, TANDEM_PREFIX: prefix, TANDEM_VIEW_PORT: String(port), TANDEM_PING_INTERVAL_MS: '50', TANDEM_DEAD_PINGS: '5' };
  const out = join(repoRoot, 'test-output', 'view-service');
  mkdirSync(out, { recursive: true });
  const vs = spawnApp('view-service', env, ['ignore', 'ignore', 'pipe']);
  vs.stderr!.pipe(createWriteStream(join(out, 'view-service.log')));
  procs.push(vs);
  await waitFor(async () => (await fetch(`${url}/view`)).ok, { what: 'the view service' });
});
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await redis?.stop();
});

// Responses are checked field by field below, so they are typed loosely here.
type Json = any;
const post = async (server: string, viewnum: number): Promise<Json> =>
  ((await (await fetch(`${url}/ping`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ server, viewnum }) })).json()) as Json).view;
const get = async (path: string): Promise<Json> => (await fetch(`${url}${path}`)).json();

test('first ping makes the first primary; the primary must acknowledge before a backup joins', async () => {
  assert.deepEqual((await get('/view')).view, { viewnum: 0, primary: '', backup: '' }, 'no primary before any ping');
  assert.deepEqual(await post('m1', 0), { viewnum: 1, primary: 'm1', backup: '' });
  // m2 keeps pinging (as a live master would); m1 pings too but does not acknowledge view 1.
  const pinger = setInterval(() => void post('m2', 0).then(() => post('m1', 0)), 50);
  // Every ping runs the rules at once, so once m2 is seen the view would already have changed if an
  // unacknowledged view could: wait for that, not for a while.
  const status = await waitFor(async () => { const s = await get('/status'); return s.servers.some((x: { name: string }) => x.name === 'm2') && s; }, { what: 'the view service to see m2' });
  assert.deepEqual(status.view, { viewnum: 1, primary: 'm1', backup: '' }, 'no change before the ack');
  assert.equal(status.acked, false);
  assert.deepEqual(status.servers.map((s: { name: string; role: string }) => [s.name, s.role]), [['m1', 'primary'], ['m2', 'idle']]);
  await waitFor(async () => (await get('/status')).alerts.some((a: string) => /has not acknowledged view 1/.test(a)), { what: 'the ack alert', timeoutMs: 10_000 });
  clearInterval(pinger);
  await post('m2', 0);
  assert.deepEqual(await post('m1', 1), { viewnum: 2, primary: 'm1', backup: 'm2' });
  assert.equal((await get('/view')).view.viewnum, 2, 'GET /view does not count as a ping');
});

test('bad pings are refused with a message', async () => {
  const res = await fetch(`${url}/ping`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ server: '', viewnum: -1 }) });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as Json).error, /bad ping: server: .*viewnum/);
});

test('the queue monitor counts tasks and workers, and warns when tasks wait with no worker', async () => {
  const q = new Queue('map', { connection: redis.client(), prefix: keys(prefix).bullPrefix('map') });
  await q.add('probe', { not: 'a task' }, { jobId: 'probe.0.m.0' });
  await waitFor(async () => {
    const s = await get('/status');
    return s.queues.queues.map.waiting === 1 && s.alerts.some((a: string) => /1 task\(s\) waiting and no worker online/.test(a));
  }, { what: 'the no-worker alert', timeoutMs: 10_000 });
  const w = spawnApp('worker', env, ['ignore', 'ignore', 'pipe']);
  w.stderr!.pipe(createWriteStream(join(repoRoot, 'test-output', 'view-service', 'worker.log')));
  procs.push(w);
  await waitFor(async () => (await get('/status')).queues.workersOnline === 1, { what: 'the worker to be seen online', timeoutMs: 20_000 });
  await q.close();
});

test('while Redis is unreachable, a view that cannot be recorded is not revealed: pings get 503 unavailable', async (t) => {
  t.diagnostic('Test: Redis down, the backup restarts: the service decides view v+2 but answers 503 until Redis records it ...');
  // m1, primary all along, acknowledges each view until one sticks (m2 stopped pinging long ago);
  // then a new backup m5 joins and syncs.
  let current = (await get('/view')).view;
  for (let next = await post('m1', current.viewnum); next.viewnum !== current.viewnum; next = await post('m1', current.viewnum)) current = next;
  const v = current.viewnum;
  assert.deepEqual(current, { viewnum: v, primary: 'm1', backup: '' });
  assert.deepEqual(await post('m5', 0), { viewnum: v + 1, primary: 'm1', backup: 'm5' });
  await post('m5', v + 1);
  assert.deepEqual(await post('m1', v + 1), { viewnum: v + 1, primary: 'm1', backup: 'm5' });
  await redis.kill();
  try {
    const res = await fetch(`${url}/ping`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ server: 'm5', viewnum: 0 }) });
    assert.equal(res.status, 503);
    const body = (await res.json()) as Json;
    assert.equal(body.code, 'unavailable');
    assert.match(body.error, new RegExp(`cannot record view ${v + 2} in Redis .* reveals no view it has not recorded`));
    assert.deepEqual((await get('/view')).view, { viewnum: v + 1, primary: 'm1', backup: 'm5' }, 'GET /view tells only the recorded view');
    assert.ok((await get('/status')).alerts.some((a: string) => a.startsWith(`view ${v + 2} is decided but cannot be recorded in Redis`)));
  } finally {
    await redis.restart();
  }
  const view = await waitFor(async () => {
    const res = await fetch(`${url}/ping`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ server: 'm1', viewnum: v + 1 }) });
    return res.ok && ((await res.json()) as Json).view;
  }, { what: `the view service to record view ${v + 2} once Redis is back`, timeoutMs: 20_000 });
  assert.deepEqual(view, { viewnum: v + 2, primary: 'm1', backup: '' });
  const stored = JSON.parse((await redis.client().get(keys(prefix).viewService()))!);
  assert.deepEqual(stored.view, view, 'the revealed view is the recorded one');
});

test('a view service started while Redis is unreachable says so, answers nothing, and resumes once Redis is up', async (t) => {
  t.diagnostic('Test: view service started with Redis down: it logs that it cannot read the stored view, then serves it once Redis answers ...');
  const redisPort = await freePort();
  const port = await freePort();
  const here = `http://127.0.0.1:${port}`;
  const p = spawnApp('view-service', { ...env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, TANDEM_VIEW_PORT: String(port) }, ['ignore', 'ignore', 'pipe']);
  procs.push(p);
  let log = '';
  p.stderr!.on('data', (d) => (log += d));
  let late: TestRedis | undefined;
  try {
    await waitFor(() => /cannot reach Redis to take the view-service lease and read the stored view; retrying, answering no ping \(503\) until it can/.test(log), { what: 'the view service to say it cannot reach Redis', timeoutMs: 20_000 });
    const early = await fetch(`${here}/view`);
    assert.equal(early.status, 503, 'no view before the stored view is known');
    assert.match(((await early.json()) as Json).error as string, /no view service holds the view-service lease/);
    late = await startRedis({ port: redisPort });
    await late.client().set(keys(prefix).viewService(), JSON.stringify({ view: { viewnum: 7, primary: 'm1', backup: 'm2' }, acked: true, backupSince: 6, members: { m1: { viewnum: 7, restarted: false }, m2: { viewnum: 7, restarted: false } } }));
    const view = await waitFor(async () => ((await (await fetch(`${here}/view`)).json()) as Json).view, { what: 'the view service to resume the stored view', timeoutMs: 20_000 });
    assert.deepEqual(view, { viewnum: 7, primary: 'm1', backup: 'm2' });
  } finally {
    p.kill('SIGKILL');
    await late?.stop();
  }
});
