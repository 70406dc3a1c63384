// With TANDEM_SECRET set, the view service, both masters and the replica channel refuse every
// request without it, or with a wrong one, with 401 `unauthorized`, and nothing changes: not the
// view (a forged ping and a fake server included), not the job table. /health says only that a
// master lives and its role. The CLI and MasterClient work with the secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { MasterClient, MasterError, authHeader, putDataset } from '@tandem/shared';
import { startCluster, type Cluster } from './harness/cluster.ts';

const SECRET = 'a-test-cluster-secret-0123456789';
const WRONG = { none: {}, wrong: { authorization: 'Bearer not-the-cluster-secret-at-all' }, basic: { authorization: `Basic ${SECRET}` } };

describe('cluster secret', { timeout: 120_000 }, () => {
  let c: Cluster;
  let primary: string;
  let backup: string;
  let jobId: string;

  before(async () => {
    c = await startCluster({ name: 'cluster-secret', workers: 0, masters: 2, env: { TANDEM_SECRET: SECRET } });
    const r = await c.replicated();
    primary = c.masters[r.primary].url;
    backup = c.masters[r.backup].url;
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from('the cat\nthe dog\n')]), { name: 'words', format: 'text', splitBytes: 1 << 20 });
    // No workers: the job stays running, so a cancel that got through would show.
    jobId = await c.client().submit({ type: 'wordcount', dataset: 'words', partitions: 1 });
  });
  after(async () => c?.stop());

  async function send(base: string, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown) {
    const res = await fetch(new URL(path, base), {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** What a refused request must leave as it was: the view and the job table. */
  async function snapshot() {
    const status = await send(c.viewUrl, 'GET', '/status', authHeader(SECRET));
    assert.equal(status.status, 200);
    const jobs = (await c.client().list()).map((j) => ({ id: j.id, phase: j.phase })).sort((a, b) => a.id.localeCompare(b.id));
    return { view: status.body.view, acked: status.body.acked, jobs };
  }

  test('every internal route refuses a request without the secret or with a wrong one, and nothing changes', async () => {
    const before = await snapshot();
    assert.equal(before.jobs.length, 1);
    const ids = (n: number) => ({ clientId: 'stranger', requestId: String(n) });
    const routes: [string, 'GET' | 'POST', string, unknown?][] = [
      [c.viewUrl, 'POST', '/ping', { server: primary, viewnum: 0 }],
      [c.viewUrl, 'GET', '/view'],
      [c.viewUrl, 'GET', '/status'],
      ...[primary, backup].flatMap((m): [string, 'GET' | 'POST', string, unknown?][] => [
        [m, 'GET', '/jobs'],
        [m, 'POST', '/jobs', { type: 'wordcount', dataset: 'words', ...ids(1) }],
        [m, 'GET', `/jobs/${jobId}`],
        [m, 'POST', `/jobs/${jobId}/cancel`, ids(2)],
        [m, 'POST', `/jobs/${jobId}/remove`, ids(3)],
        [m, 'POST', '/gc', { dryRun: false }],
        [m, 'GET', '/job-types'],
        [m, 'GET', '/no-such-route'],
      ]),
    ];
    for (const [base, method, path, body] of routes) {
      for (const [how, headers] of Object.entries(WRONG)) {
        const r = await send(base, method, path, headers, body);
        assert.equal(r.status, 401, `${method} ${base}${path} with ${how} secret answered ${r.status}`);
        assert.equal(r.body.code, 'unauthorized', `${method} ${base}${path} with ${how} secret`);
      }
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('forged pings (as the primary with viewnum 0, and from a fake server) change no view', async () => {
    const before = await snapshot();
    const fake = 'http://127.0.0.1:9';
    for (const [, headers] of Object.entries(WRONG)) {
      assert.equal((await send(c.viewUrl, 'POST', '/ping', headers, { server: primary, viewnum: 0 })).status, 401);
      for (let i = 0; i < 3; i++) assert.equal((await send(c.viewUrl, 'POST', '/ping', headers, { server: fake, viewnum: i })).status, 401);
    }
    const after = await snapshot();
    assert.deepEqual(after, before);
    const view = after.view as { primary: string; backup: string };
    assert.equal(view.primary, primary);
    assert.notEqual(view.backup, fake);
  });

  test('/health without the secret says only that the master lives and its role', async () => {
    for (const m of [primary, backup]) {
      for (const [how, headers] of Object.entries(WRONG)) {
        const r = await send(m, 'GET', '/health', headers);
        assert.equal(r.status, 200);
        assert.deepEqual(Object.keys(r.body).sort(), ['ok', 'role'], `${m}/health with ${how} secret`);
      }
      const full = await send(m, 'GET', '/health', authHeader(SECRET));
      assert.equal(full.body.jobs, 1);
      assert.ok('view' in full.body);
    }
  });

  test('the replica channel refuses an upgrade without the secret', async () => {
    for (const [how, headers] of Object.entries(WRONG)) {
      const u = new URL('/replica/stream', backup);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, headers: { ...headers, connection: 'Upgrade', upgrade: 'tandem-replica' } });
        req.on('upgrade', (_res, socket) => {
          socket.destroy();
          resolve(101);
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 401, `upgrade with ${how} secret`);
    }
    // The real channel, which carries the secret, still replicates: a change is confirmed by the backup.
    await c.client().cancel(jobId);
    const after = await snapshot();
    assert.deepEqual(after.jobs, [{ id: jobId, phase: 'cancelled' }]);
  });

  test('the CLI and MasterClient work with the secret and fail clearly without it', async () => {
    const ls = await c.cli(['job', 'ls', '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok((JSON.parse(ls.stdout) as { id: string }[]).some((j) => j.id === jobId));
    const view = await c.cli(['view']);
    assert.equal(view.code, 0, view.stderr);
    for (const secret of ['', 'not-the-cluster-secret-at-all']) {
      const refused = await c.cli(['job', 'ls'], { env: { TANDEM_SECRET: secret } });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /cluster secret/);
      assert.doesNotMatch(refused.stderr + refused.stdout, new RegExp(SECRET));
    }
    await assert.rejects(new MasterClient({ viewUrl: c.viewUrl, secret: 'not-the-cluster-secret-at-all', retryForMs: 60_000 }).list(), (e: unknown) => e instanceof MasterError && e.code === 'unauthorized');
    await assert.rejects(new MasterClient({ masterUrl: primary, secret: undefined, retryForMs: 60_000 }).list(), (e: unknown) => e instanceof MasterError && e.code === 'unauthorized');
  });
});
