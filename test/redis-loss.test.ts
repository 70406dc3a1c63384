// Redis loses its data (a restart without AOF) in the middle of a job: the master notices within a
// few reconcile intervals, fails the job saying what was lost, raises an alert, and a job that was
// done before says "output lost". Also `tandem gc` on the same cluster, before the loss.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { commitTask, jobDataIO, putDataset, roundOutput, scanJobKeys, setJobValues, type MasterHealth } from '@tandem/shared';
import { startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { startRedis } from './harness/redis.ts';
import { waitFor } from './harness/wait.ts';
import { testCommit } from '../apps/master/src/test-support.ts';

const RECONCILE_MS = 300;
let c: Cluster;
let dir: string;
before(async () => {
  const redis = await startRedis({ aof: false });
  try {
    c = await startCluster({ name: 'redis-loss', workers: 2, redis, env: { TANDEM_RECONCILE_MS: String(RECONCILE_MS) } });
  } catch (err) {
    await redis.stop();
    throw err;
  }
  dir = mkdtempSync(join(tmpdir(), 'tandem-loss-'));
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} of the loss test`).join('\n') + '\n';
  const r = c.redis.client();
  await putDataset(r, c.keys, Readable.from([Buffer.from(lines)]), { name: 'lines', format: 'text', splitBytes: 16 * 1024 });
  r.disconnect();
});
after(async () => {
  await c?.stop();
  await c?.redis.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const health = async (url: string) => (await (await fetch(new URL('/health', url))).json()) as MasterHealth;

test('tandem gc frees the keys of a job no table holds and leaves a done job alone; --dry-run only lists', { timeout: 60_000 }, async () => {
  console.log('scenario: a done job and an orphan job\'s keys in Redis; gc --dry-run lists the orphan, gc frees it, the done job keeps its output');
  const client = c.client();
  const done = await waitForJob(c, await client.submit({ type: 'timing', dataset: 'lines', partitions: 2, params: { dir, phase: 'map', sleepMs: '0' } }), 30_000);
  assert.equal(done.phase, 'done', done.error ?? '');
  const r = c.redis.client();
  await setJobValues(jobDataIO(r, c.keys), 'jorphan', [0, 1].map((p) => ({ at: roundOutput(0, p), value: Buffer.alloc(10_000, 'o') })));
  await commitTask(r, c.keys, { jobId: 'jorphan', round: 0, kind: 'map', index: 0 }, testCommit(), 3600);

  const dry = await c.cli(['gc', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^would free 3 keys \(\d+(\.\d+)? KiB\) of 1 jobs that no job in the table owns\nJOB +KEYS +BYTES\njorphan +3 /);
  assert.equal((await scanJobKeys(r, c.keys)).get('jorphan')?.length, 3, 'a dry run deletes nothing');

  const real = await c.cli(['gc', '--json']);
  assert.equal(real.code, 0, real.stderr);
  const report = JSON.parse(real.stdout);
  assert.equal(report.keys, 3);
  assert.ok(report.bytes > 20_000, `bytes freed: ${report.bytes}`);
  const left = await scanJobKeys(r, c.keys);
  assert.equal(left.has('jorphan'), false);
  assert.ok(left.has(done.id), "the done job's keys stay");
  const out = await c.cli(['job', 'output', done.id]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.split('\n').filter(Boolean).length, done.maps.total * 2);
});

test('Redis restarted without AOF mid-job: the job fails saying Redis lost its data, an alert shows, and a done job says output lost', { timeout: 60_000 }, async () => {
  console.log('scenario: a job in its reduce phase when Redis restarts empty; expect a failure naming the loss within a few reconcile intervals, an alert in /health and tandem view, "output lost" for an earlier done job');
  const client = c.client();
  const earlier = await waitForJob(c, await client.submit({ type: 'timing', dataset: 'lines', partitions: 2, params: { dir, phase: 'map', sleepMs: '0' } }), 30_000);
  assert.equal(earlier.phase, 'done', earlier.error ?? '');
  const id = await client.submit({ type: 'timing', dataset: 'lines', partitions: 3, params: { dir, phase: 'reduce', sleepMs: '5000' } });
  await waitFor(async () => (await client.status(id)).reduces.running >= 1, { what: 'a running reduce task', timeoutMs: 30_000 });
  await c.redis.kill();
  await c.redis.restart();
  const restarted = Date.now();

  const s = await waitForJob(c, id, 30_000);
  const tookMs = Date.now() - restarted;
  console.log(`the job failed ${tookMs} ms after Redis came back empty`);
  assert.equal(s.phase, 'failed');
  assert.match(s.error ?? '', /^Redis lost its data \(the epoch key t[0-9a-f]+:epoch is gone: Redis restarted without persistence, or was flushed\); the job's task state and inputs went with it: resubmit the job/);
  // Redis answers again after its restart; the master reconnects with backoff, then one reconcile.
  assert.ok(tookMs < 20 * RECONCILE_MS + 5000, `failed ${tookMs} ms after Redis came back`);

  const primary = c.masters[await c.primary()].url;
  const alerts = (await health(primary)).alerts;
  assert.ok(alerts.some((a) => /^data loss at .*Z: Redis lost its data/.test(a)), alerts.join('\n'));
  const view = await c.cli(['view']);
  assert.equal(view.code, 0, view.stderr);
  assert.match(view.stdout, /^alert: data loss at .*Z: Redis lost its data/m);

  let e = await client.status(earlier.id);
  await waitFor(async () => (e = await client.status(earlier.id)).outputLost !== null, { what: 'the done job to be marked output lost', timeoutMs: 30_000 });
  assert.equal(e.phase, 'done');
  assert.deepEqual(e.outputLost?.partitions, [0, 1]);
  const status = await c.cli(['job', 'status', earlier.id]);
  assert.match(status.stdout, new RegExp(`^job ${earlier.id}: timing on lines — output lost\\n  output  lost: its output \\(partitions 0, 1\\) was gone from Redis at .*Z; run the job again`));
  const ls = await c.cli(['job', 'ls']);
  assert.match(ls.stdout, new RegExp(`^${earlier.id} +timing +lines +output lost `, 'm'));
  const { url } = await c.startConsole();
  const page = await (await fetch(`${url}/jobs/${earlier.id}`)).text();
  assert.match(page, /<span class="badge output lost">output lost<\/span>/);
  assert.match(page, /<p class="error" role="alert">Output lost: its output \(partitions 0, 1\) was gone from Redis at /);
  assert.match(await (await fetch(`${url}/cluster`)).text(), /<ul class="alerts" role="alert"><li>data loss at .*Z: Redis lost its data/, "the cluster page shows the masters' alerts");
  const output = await c.cli(['job', 'output', earlier.id]);
  assert.equal(output.code, 1);
  assert.match(output.stderr, new RegExp(`job ${earlier.id} is done but its output \\(partitions 0, 1\\) was gone from Redis`));
});
