// Task failures: a task that keeps throwing fails its job with a message naming split and record;
// a straggler gets a backup attempt that finishes the job; a worker waits out a Redis that is down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import { headOutput, putDataset } from '@tandem/shared';
import { startCluster, waitForJob, waitForWorkers, type Cluster } from './harness/cluster.ts';
import { startRedis } from './harness/redis.ts';
import { freePort, waitFor } from './harness/wait.ts';

let c: Cluster;
before(async () => {
  c = await startCluster({ name: 'failures', workers: 1, env: { TANDEM_TASK_ATTEMPTS: '2', TANDEM_SPECULATE_MIN_MS: '1000' } });
  const text = Array.from({ length: 3000 }, (_, i) => (i === 2500 ? 'a line with arsenic in it' : `harmless line ${i}`)).join('\n') + '\n';
  await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(text)]), { name: 'lines', format: 'text', splitBytes: 8 * 1024 });
});
after(async () => c?.stop());

test('a task that keeps failing fails the job, naming the split and the record', { timeout: 60_000 }, async () => {
  const id = await c.client().submit({ type: 'poison', dataset: 'lines', partitions: 1, params: { word: 'arsenic' } });
  const s = await waitForJob(c, id, 50_000);
  assert.equal(s.phase, 'failed');
  assert.match(s.error!, /map task \d+ failed: poison map task (\d+) failed on dataset "lines" split \1, record \(line\) 2501: cannot digest "arsenic"/);
  await waitFor(async () => (await c.client().status(id)).cleaned, { what: 'clean-up of the failed job' });
  assert.deepEqual(await c.redis.client().keys(`${c.prefix}:job:{${id}*`), []);
  // The task that failed stays in the map queue's failed list (bull-board's failed tab), with its reason.
  const q = new Queue('map', { connection: c.redis.client(), prefix: c.keys.bullPrefix('map') });
  try {
    const failed = (await q.getJobs(['failed'])).filter((j) => j.id?.startsWith(id));
    assert.equal(failed.length, 1, failed.map((j) => j.id).join(', '));
    assert.match(failed[0].failedReason, /cannot digest "arsenic"/);
    assert.equal(failed[0].attemptsMade, 2, 'TANDEM_TASK_ATTEMPTS');
  } finally {
    await q.close();
  }
});

test('a straggling worker gets a backup attempt, and the first commit wins', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-straggler-'));
  c.startWorker({ TANDEM_TEST_STRAGGLER: '1' });
  // Both workers listening before the job, so the straggler takes a task.
  await waitForWorkers(c);
  const id = await c.client().submit({ type: 'straggler', dataset: 'lines', partitions: 1, params: { dir, hangMs: '60000' } });
  const s = await waitForJob(c, id, 100_000);
  assert.equal(s.phase, 'done', s.error ?? '');
  const log = readFileSync(join(dir, 'straggler'), 'utf8');
  assert.match(log, /^start \d+$/m, 'the straggler took a task');
  assert.doesNotMatch(log, /^end /m, 'the job finished while the straggler still hung');
  assert.ok(s.counters.map.speculative >= 1, 'a backup attempt was enqueued');
  const out = await headOutput(c.redis.client(), c.keys, { jobId: id, round: s.round, partitions: s.partitions }, 10_000);
  assert.deepEqual(out, Array.from({ length: s.maps.total }, (_, i) => `split-${String(i).padStart(4, '0')}\t1`));
});

test('a task that kills every worker that runs it fails the job with a reason, not a retry loop', { timeout: 90_000 }, async () => {
  let restarting = true;
  const keepAlive = () => {
    const w = c.startWorker({ TANDEM_MAX_STALLS: '1' });
    w.on('exit', () => restarting && keepAlive());
  };
  keepAlive();
  try {
    const id = await c.client().submit({ type: 'crash', dataset: 'lines', partitions: 1, params: { crashRate: '1' } });
    const s = await waitForJob(c, id, 80_000);
    assert.equal(s.phase, 'failed');
    assert.match(s.error!, /map task \d+ failed: its worker died or stopped renewing the task's lock more times than TANDEM_MAX_STALLS allows/);
    // The view service counted the stall (it reads the queues' event streams once a second).
    await waitFor(async () => {
      const status = (await (await fetch(new URL('/status', c.viewUrl))).json()) as { queues: { stalled: number } | null };
      return (status.queues?.stalled ?? 0) >= 1;
    }, { what: 'the view service to report the stall', timeoutMs: 10_000 });
  } finally {
    restarting = false;
  }
});

test('a worker started while Redis is down waits for it instead of crashing', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const env = { REDIS_URL: `redis://127.0.0.1:${port}` };
  const w = c.startWorker(env);
  const logs: string[] = [];
  w.stderr!.on('data', (d) => logs.push(String(d)));
  await waitFor(() => logs.join('').includes('Redis unreachable; retrying'), { what: 'the worker to report Redis unreachable', timeoutMs: 30_000 });
  // Now give it a Redis at that address: a worker that waited connects.
  const late = await startRedis({ port });
  try {
    await waitFor(() => logs.join('').includes('Redis reachable again'), { what: 'the worker to connect once Redis is up', timeoutMs: 30_000 });
    assert.equal(w.exitCode, null, 'the worker is still running');
  } finally {
    w.kill('SIGKILL');
    await late.stop();
  }
});
