// A worker told to stop (SIGTERM, as Kubernetes scales in) finishes or hands back (apps/worker/src/drain.ts):
// a task that ends within TANDEM_WORKER_DRAIN_MS is finished and committed by that worker, which then
// exits 0; a task that would run past it is handed back to its queue, where another worker takes it
// at once, not after the lock lapses (its commit counts no stall and no failed attempt), and the
// stopping worker exits 0 long before the task would have ended. Workers' /health and /metrics are
// read on their own listeners (TANDEM_METRICS_PORT).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { putDataset, readCommit, readCommits } from '@tandem/shared';
import { jobOutput, startCluster, waitForJob, waitForWorkers, type Cluster } from './harness/cluster.ts';
import { call } from './harness/http.ts';
import { referenceWordCount } from './harness/reference.ts';
import { freePort, waitFor } from './harness/wait.ts';

const text = Array.from({ length: 200 }, (_, i) => `alpha beta line${i % 20}`).join('\n') + '\n';
const straggled = mkdtempSync(join(tmpdir(), 'tandem-sigterm-'));

let c: Cluster;
before(async () => {
  // Workers are started by each test, each with its own metrics port; no backup attempts muddle who ran what.
  c = await startCluster({ name: 'worker-sigterm', workers: 0, env: { TANDEM_SPECULATE_MIN_MS: '600000' } });
  const r = c.redis.client();
  // One split: one map task.
  await putDataset(r, c.keys, Readable.from([Buffer.from(text)]), { name: 'small', format: 'text', splitBytes: 1 << 20 });
  r.disconnect();
});
after(async () => {
  await c?.stop();
});

interface TestWorker {
  proc: ChildProcess;
  /** Its name in commit records. */
  name: string;
  health: () => Promise<{ status: number; json: Record<string, any> }>;
  metrics: () => Promise<string>;
  exited: Promise<number | null>;
}

async function startWorker(env: Record<string, string> = {}): Promise<TestWorker> {
  const port = await freePort();
  const proc = c.startWorker({ TANDEM_METRICS_PORT: String(port), ...env });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const w = { proc, name: `${hostname()}:${proc.pid}`, exited, health: () => call(`${base}/health`), metrics: async () => (await call(`${base}/metrics`)).text };
  await waitFor(async () => (await w.health().catch(() => ({ status: 0 }))).status === 200, { what: `worker ${w.name} /health`, timeoutMs: 90_000 });
  await waitForWorkers({ ...c, workers: c.workers.filter((p) => p.exitCode === null && p.signalCode === null) });
  return w;
}

const runningOn = async (w: TestWorker) => (await w.health()).json.running > 0;

/** The exit code, or a failure once `ms` pass (a worker that waits for its task instead of handing it back). */
const exitWithin = (w: TestWorker, ms: number) =>
  Promise.race([w.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`worker ${w.name} did not exit within ${ms} ms of SIGTERM`)), ms).unref())]);

test('SIGTERM while a task runs that ends within the drain time: the worker finishes and commits it, then exits 0', { timeout: 180_000 }, async () => {
  const a = await startWorker();
  const id = await c.client().submit({ type: 'slowwordcount', dataset: 'small', partitions: 1, params: { mapMs: 5000 } });
  await waitFor(() => runningOn(a), { what: `worker ${a.name} to run map task 0`, timeoutMs: 60_000 });
  const r = c.redis.client();
  try {
    assert.equal((await readCommits(r, c.keys, id, 0)).size, 0, 'map task 0 has not committed when the worker is told to stop');
    a.proc.kill('SIGTERM');
    assert.equal(await exitWithin(a, 60_000), 0, 'the worker exits 0');
    const commit = await readCommit(r, c.keys, { jobId: id, round: 0, kind: 'map', index: 0 });
    assert.equal(commit?.worker, a.name, 'the stopping worker committed the task it ran');
    assert.equal(commit?.failedAttempts, 0);
    assert.equal(commit?.stalls, 0);
  } finally {
    r.disconnect();
  }
  // The reduce task needs a worker.
  const b = await startWorker();
  const s = await waitForJob(c, id);
  assert.equal(s.phase, 'done', s.error ?? '');
  assert.equal(await jobOutput(c, s), referenceWordCount(text));
  b.proc.kill('SIGTERM');
  assert.equal(await exitWithin(b, 60_000), 0, 'an idle worker exits 0 at once');
});

test('SIGTERM while a task runs past the drain time: the worker hands it back and exits 0, another worker runs it at once, no failed attempt', { timeout: 180_000 }, async () => {
  // Map calls in this worker hang for 10 minutes (the straggler job type); elsewhere they take 200 ms.
  const slow = await startWorker({ TANDEM_TEST_STRAGGLER: '1', TANDEM_WORKER_DRAIN_MS: '1000' });
  const id = await c.client().submit({ type: 'straggler', dataset: 'small', partitions: 1, params: { dir: straggled, hangMs: 600_000 } });
  await waitFor(async () => readFileSync(join(straggled, 'straggler'), 'utf8').includes('start 0'), { what: 'the slow worker to start map task 0', timeoutMs: 60_000 }).catch(async (err) => {
    throw new Error(`${(err as Error).message}; its /health: ${JSON.stringify((await slow.health()).json)}`);
  });
  const other = await startWorker();
  slow.proc.kill('SIGTERM');
  // Far less than the 10-minute map call, and than the job's wait below: it did not wait for the task.
  assert.equal(await exitWithin(slow, 60_000), 0, 'the stopping worker exits 0');
  const s = await waitForJob(c, id, 60_000);
  assert.equal(s.phase, 'done', s.error ?? '');
  assert.equal(await jobOutput(c, s), 'split-0000\t1\n');
  const r = c.redis.client();
  try {
    const commit = await readCommit(r, c.keys, { jobId: id, round: 0, kind: 'map', index: 0 });
    assert.equal(commit?.worker, other.name, 'the other worker ran the task handed back');
    // Handed back, not taken over after its lock lapsed (a stall), and not a failed attempt.
    assert.equal(commit?.stalls, 0, 'no stall: the task was handed back, not left to its lock');
    assert.equal(commit?.failedAttempts, 0, 'the hand-back is not a failed attempt');
  } finally {
    r.disconnect();
  }
  assert.match(readFileSync(join(straggled, 'straggler'), 'utf8'), /^start 0\n$/, 'the slow attempt never ended: it died with its worker');
  // One observation per attempt: the other worker won map 0 and reduce 0.
  const scraped = await other.metrics();
  assert.match(scraped, /^tandem_task_attempts_total\{queue="map",outcome="won",process="worker"\} 1$/m);
  assert.match(scraped, /^tandem_task_duration_seconds_count\{process="worker",queue="reduce",type="straggler"\} 1$/m);
  assert.match(scraped, /^tandem_task_records_total\{direction="out",process="worker"\} [1-9]/m);
  other.proc.kill('SIGTERM');
  assert.equal(await exitWithin(other, 60_000), 0);
});
