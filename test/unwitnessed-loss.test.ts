// Issue 17 (the chaos test's job jmxbx74gp7944d0): a job submitted and cancelled just before Redis
// crashed with both masters, under `appendfsync everysec`, whose batches the crash took before any
// ping had reported them to the view service. The witness is no newer than the log then, so no
// rollback shows; the primary that restores the log alone must still answer `lost` for the job's
// id, with the data-loss alert, never a silent not_found (docs/DESIGN.md §3.4). Simulated as the
// other crash tests do, but cut exactly: the AOF goes back to its size just before the submit.
// Pings are 2 s apart here, so the crash almost always falls between two of them (the case the
// witness misses); when one lands in between, the rollback is seen, and the answer is the same.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, truncateSync } from 'node:fs';
import { Readable } from 'node:stream';
import { putDataset, requestJson, TandemError, type MasterHealth, type ViewStatus } from '@tandem/shared';
import { kill, logHead, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { lastAofFile, startRedis } from './harness/redis.ts';
import { waitFor } from './harness/wait.ts';

let c: Cluster;
before(async () => {
  const redis = await startRedis({ appendfsync: 'everysec' });
  try {
    c = await startCluster({ name: 'unwitnessed', masters: 2, workers: 1, redis, env: { TANDEM_PING_INTERVAL_MS: '2000' } });
  } catch (err) {
    await redis.stop();
    throw err;
  }
  await c.replicated(60_000);
  const r = c.redis.client();
  const text = Array.from({ length: 200 }, (_, i) => `the quick brown fox ${i % 37} jumps over the lazy dog`).join('\n') + '\n';
  await putDataset(r, c.keys, Readable.from([Buffer.from(text)]), { name: 'words', format: 'text', splitBytes: 4 * 1024 });
  r.disconnect();
});
after(async () => {
  await c?.stop();
  await c?.redis.stop();
});

const look = async <T>(url: string, path: string) => requestJson<T>(new URL(path, url).href, { timeoutMs: 5000, secret: c.env.TANDEM_SECRET });

/** The view service's witness: the highest batch a master said it held (once it answers, as after Redis restarted). */
const witness = () => waitFor(async () => {
  const r = await look<ViewStatus>(c.viewUrl, '/status');
  return r.status === 200 ? r.body.logSeq ?? 0 : null;
}, { what: "the view service's witness", timeoutMs: 30_000 });

/** What an id answers: its phase, or the error code and message. */
async function answer(id: string): Promise<{ code: string; message: string }> {
  try {
    return { code: 'found', message: (await c.client().status(id)).phase };
  } catch (err) {
    assert.ok(err instanceof TandemError, String(err));
    return { code: err.code, message: err.message };
  }
}

test('a job acknowledged in the batches a crash of Redis and both masters took, before any ping reported them, answers lost with the data-loss alert, before and after a failover', { timeout: 240_000 }, async () => {
  const client = c.client();
  // The log holds a finished job: the restored state records times, the lost window starts after them.
  const first = await waitForJob(c, await client.submit({ type: 'wordcount', dataset: 'words', partitions: 1 }), 60_000);
  assert.equal(first.phase, 'done', first.error ?? '');

  // Quiet: the job's clean-up is in the log, and a ping has reported the log's last batch.
  await waitFor(async () => (await witness()) >= (await logHead(c)) && (await client.status(first.id)).cleaned, { what: 'the witness to reach the log\'s end', timeoutMs: 30_000 });
  const file = lastAofFile(c.redis.dir);
  const size = statSync(file).size;
  const id = await client.submit({ type: 'wordcount', dataset: 'words', partitions: 1 });
  await client.cancel(id);
  await Promise.all([c.redis.kill(), ...c.masters.map((m) => kill(m.proc))]);
  assert.equal(lastAofFile(c.redis.dir), file, 'the AOF went on in the same file');
  truncateSync(file, size);
  await c.redis.restart();
  const head = await logHead(c);
  const held = await witness();
  console.log(`log ends at batch ${head}, a master held batch ${held}: ${head < held ? 'a rollback the witness saw' : 'the unwitnessed case'}`);

  await Promise.all([c.startMaster(0), c.startMaster(1)]);
  await c.replicated(60_000);
  const lost = new RegExp(`^job ${id} is lost: Redis lost its record in a crash \\(detected at .*Z\\); resubmit it$`);
  const a = await answer(id);
  assert.notEqual(a.code, 'not_found', `acknowledged job ${id} answers a silent not_found: ${a.message}`);
  assert.equal(a.code, 'lost', a.message);
  assert.match(a.message, lost);
  // An id of the same shape from long before is simply unknown.
  assert.equal((await answer(`j${(Date.now() - 3_600_000).toString(36)}abcdef`)).code, 'not_found');

  const alerted = async (url: string) => {
    const alerts = (await look<MasterHealth>(url, '/health')).body.alerts ?? [];
    return alerts.some((x) => /Redis lost acknowledged writes in a crash/.test(x)) ? alerts : null;
  };
  const { primary, backup } = await c.replicated(60_000);
  await waitFor(() => alerted(c.masters[primary].url), { what: "the primary's data-loss alert", timeoutMs: 30_000 });

  // The loss is in the replicated state: the backup, promoted, still answers lost and still alerts.
  await kill(c.masters[primary].proc);
  await waitFor(async () => (await look<MasterHealth>(c.masters[backup].url, '/health')).body.role === 'primary', { what: 'the backup to take over', timeoutMs: 90_000 });
  await waitFor(() => alerted(c.masters[backup].url), { what: "the new primary's data-loss alert", timeoutMs: 30_000 });
  const b = await waitFor(async () => {
    const x = await answer(id);
    return x.code === 'lost' || x.code === 'not_found' ? x : null;
  }, { what: `job ${id} to answer`, timeoutMs: 30_000 });
  assert.equal(b.code, 'lost', b.message);
  assert.match(b.message, lost);

  // The cluster goes on.
  await c.startMaster(primary);
  await c.replicated(90_000);
  const next = await waitForJob(c, await client.submit({ type: 'wordcount', dataset: 'words', partitions: 1 }), 60_000);
  assert.equal(next.phase, 'done', next.error ?? '');
});
