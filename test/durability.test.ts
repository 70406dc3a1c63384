// The durable job table: real view service, masters, workers and Redis; processes are SIGKILLed,
// stopped and SIGSTOPped. The job table lives in the master's durable op log in Redis, so it outlives
// both masters, and a superseded primary is fenced out of that log.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import { putDataset, QUEUES, requestJson, type JobStatus } from '@tandem/shared';
import { jobOutput, kill, startCluster, waitForJob, waitForWorkers, type Cluster } from './harness/cluster.ts';
import { referenceWordCount } from './harness/reference.ts';
import { sleep, waitFor } from './harness/wait.ts';
import { repoRoot, spawnApp } from '../apps/cli/src/processes.ts';

const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
const text = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('').slice(0, 200_000).replace(/[^\n]*$/, '');
const reference = referenceWordCount(text);

const clusters: Cluster[] = [];
const extra: ChildProcess[] = [];
after(async () => {
  await Promise.all(extra.map((p) => kill(p)));
  await Promise.all(clusters.map((c) => c.stop()));
});

async function cluster(name: string, workers: number, env: Record<string, string> = {}): Promise<Cluster> {
  const c = await startCluster({ name, masters: 2, workers, env });
  clusters.push(c);
  await c.replicated();
  await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(text)]), { name: 'books', format: 'text', splitBytes: 16 * 1024 });
  return c;
}

/** A new view service on the same port; it starts with no state, at view 1. */
async function restartViewService(c: Cluster, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await kill(c.viewService, signal);
  const p = spawnApp('view-service', c.env, ['ignore', 'ignore', 'pipe']);
  p.stderr!.pipe(createWriteStream(join(c.outDir, `view-service-restarted-${extra.length}.log`)));
  extra.push(p);
  c.viewService = p;
  await waitFor(async () => (await fetch(new URL('/view', c.viewUrl))).ok, { what: 'the restarted view service' });
}

/**
 * The master the stored view names primary first (it becomes primary again and restores from the
 * log), then the other as its backup: as `tandem up` does, since only the view's primary can
 * acknowledge it. Which master that is depends on which death the view service saw first when both
 * stopped together.
 */
async function restartMasters(c: Cluster): Promise<void> {
  const { body } = await requestJson<{ view: { primary: string } }>(new URL('/view', c.viewUrl).href, { timeoutMs: 5000, secret: c.env.TANDEM_SECRET });
  const first = body.view.primary === c.masters[1].url ? 1 : 0;
  await c.startMaster(first);
  await c.primary();
  await c.startMaster(1 - first);
  await c.replicated();
}

const table = (jobs: JobStatus[]) => jobs.map((j) => `${j.id} ${j.submittedBy.clientId}/${j.submittedBy.requestId}`).sort();

async function expectDone(c: Cluster, ids: string[]): Promise<void> {
  for (const id of ids) {
    const s = await waitForJob(c, id, 60_000);
    assert.equal(s.phase, 'done', `job ${id}: ${s.error ?? ''}`);
    assert.equal(await jobOutput(c, s), reference, `job ${id}'s output`);
  }
}

describe('durable job table', { timeout: 180_000 }, () => {
  test('both masters SIGKILLed at once while jobs run, the view service restarted: the whole job table comes back and every job finishes correct', async () => {
    console.log('Test: both masters and the view service die at once while jobs run ...');
    // Snapshots every few batches: the restore installs one and applies the entries after it.
    const c = await cluster('durability-both', 2, { TANDEM_LOG_SNAPSHOT_EVERY: '5' });
    const client = c.client();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await client.submit({ type: 'wordcount', dataset: 'books', partitions: 2 }));
    const before = table(await client.list());
    assert.ok((await client.list()).some((j) => j.phase !== 'done'), 'some job still runs when the masters die');
    await Promise.all([kill(c.masters[0].proc), kill(c.masters[1].proc), restartViewService(c)]);
    await restartMasters(c);
    assert.deepEqual(table(await c.client().list()), before, 'the job table after the restart');
    await expectDone(c, ids);
    console.log('  ... Passed');
  });

  test('tandem up stopped and started again on the same Redis: every job is still there, done or finishing', async () => {
    console.log('Test: every process stopped, then started again on the same Redis ...');
    const c = await cluster('durability-up', 2);
    const client = c.client();
    const first = await client.submit({ type: 'wordcount', dataset: 'books', partitions: 2 });
    await expectDone(c, [first]);
    const ids = [first];
    for (let i = 0; i < 2; i++) ids.push(await client.submit({ type: 'wordcount', dataset: 'books', partitions: 3 }));
    const before = table(await client.list());
    // What `tandem down` (SIGINT to `tandem up`) does: every process stops gracefully.
    await Promise.all([...c.masters.map((m) => kill(m.proc, 'SIGTERM')), ...c.workers.map((w) => kill(w, 'SIGTERM'))]);
    await restartViewService(c, 'SIGTERM');
    await restartMasters(c);
    const workers = c.workers.length;
    for (let i = 0; i < workers; i++) c.startWorker();
    c.workers.splice(0, workers);
    await waitForWorkers(c);
    assert.deepEqual(table(await c.client().list()), before, 'the job table after the restart');
    assert.equal((await c.client().status(first)).phase, 'done', 'a finished job is still done');
    await expectDone(c, ids);
    console.log('  ... Passed');
  });

  test('a superseded primary (SIGSTOPped until the backup took over) appends nothing to the log and enqueues no task once resumed', async () => {
    console.log('Test: a partitioned old primary is fenced out of the durable log ...');
    // No workers: every task a master enqueues stays in its queue, where the test can see it.
    const c = await cluster('durability-fence', 0);
    const client = c.client();
    await client.submit({ type: 'wordcount', dataset: 'books', partitions: 2 });
    const { primary, viewnum: oldView } = await c.replicated();
    const old = c.masters[primary];
    old.proc.kill('SIGSTOP');
    let resumed = false;
    try {
      await waitFor(async () => (await c.primary()) !== primary, { what: 'the backup to take over' });
      const fence = Number(await c.redis.client().get(c.keys.masterFence()));
      assert.ok(fence > oldView, `the new primary claimed the log (fence ${fence}, old view ${oldView})`);
      // A submit sent to the stopped primary waits in its socket and is handled on SIGCONT, as are
      // its scheduler's and reconcile's timers.
      const stale = { clientId: 'partitioned-client', requestId: '1', type: 'wordcount', dataset: 'books' };
      const write = requestJson<{ code?: string }>(new URL('/jobs', old.url).href, { body: stale, timeoutMs: 30_000 });
      // Not synchronisation: the request must sit in the stopped process's socket for a moment.
      await sleep(200);
      old.proc.kill('SIGCONT');
      resumed = true;
      const w = await write;
      assert.deepEqual([w.status, w.body.code], [503, 'not_primary'], `the old primary answered the write: ${JSON.stringify(w.body)}`);
      await waitFor(async () => ((await (await fetch(new URL('/health', old.url))).json()) as { role: string }).role === 'backup', { what: 'the old primary to become backup' });
      await client.submit({ type: 'wordcount', dataset: 'books', partitions: 1 });

      const entries = await c.redis.client().xrange(c.keys.masterLog(), '-', '+');
      const views = entries.map(([, f]) => Number(f[f.indexOf('view') + 1]));
      const firstOfNew = views.findIndex((v) => v >= fence);
      assert.ok(firstOfNew >= 0, 'the new primary appended');
      assert.deepEqual(views.slice(firstOfNew).filter((v) => v < fence), [], 'no entry of an older view after the claim');
      const jobs = new Set((await client.list()).map((j) => j.id));
      assert.equal([...jobs].length, 2);
      for (const name of QUEUES) {
        const q = new Queue(name, { connection: c.redis.client(), prefix: c.keys.bullPrefix(name) });
        try {
          const strangers = (await q.getJobs(['waiting', 'delayed', 'active', 'prioritized'])).filter((t) => !jobs.has(t.data.jobId));
          assert.deepEqual(strangers.map((t) => t.id), [], `${name} tasks of no job in the table`);
        } finally {
          await q.close();
        }
      }
    } finally {
      if (!resumed) old.proc.kill('SIGCONT');
    }
    console.log('  ... Passed');
  });
});
