// Retention: BullMQ keeps only so many finished tasks, and a finished job's record, output and
// queue entries go once its retention runs out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import { putDataset, scanJobKeys, TandemError } from '@tandem/shared';
import { startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { waitFor } from './harness/wait.ts';

const RETENTION_S = 3;
const KEEP = 2;
let c: Cluster;
let dir: string;
before(async () => {
  c = await startCluster({
    name: 'retention', workers: 2,
    env: { TANDEM_JOB_RETENTION_S: String(RETENTION_S), TANDEM_KEEP_COMPLETED_TASKS: String(KEEP) },
  });
  dir = mkdtempSync(join(tmpdir(), 'tandem-retention-'));
  const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} of the retention test`).join('\n') + '\n';
  const r = c.redis.client();
  await putDataset(r, c.keys, Readable.from([Buffer.from(lines)]), { name: 'lines', format: 'text', splitBytes: 16 * 1024 });
  r.disconnect();
});
after(async () => {
  await c?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('completed tasks are kept by count, and a finished job expires after its retention: record, output and queue entries', { timeout: 60_000 }, async () => {
  console.log(`scenario: TANDEM_KEEP_COMPLETED_TASKS=${KEEP}, TANDEM_JOB_RETENTION_S=${RETENTION_S}; a job with several map tasks finishes, then expires`);
  const client = c.client();
  const s = await waitForJob(c, await client.submit({ type: 'timing', dataset: 'lines', partitions: 2, params: { dir, phase: 'map', sleepMs: '0' } }), 30_000);
  assert.equal(s.phase, 'done', s.error ?? '');
  assert.ok(s.maps.total > KEEP, `${s.maps.total} map tasks`);
  const map = new Queue('map', { connection: c.redis.client(), prefix: c.keys.bullPrefix('map') });
  try {
    assert.ok((await map.getCompletedCount()) <= KEEP, `completed map tasks kept: ${await map.getCompletedCount()}`);
    const r = c.redis.client();
    assert.ok((await scanJobKeys(r, c.keys)).has(s.id), 'the output is there before the retention runs out');
    await waitFor(async () => {
      try {
        await client.status(s.id);
        return false;
      } catch (err) {
        return err instanceof TandemError && err.code === 'not_found';
      }
    }, { what: 'the job to expire', timeoutMs: 30_000 });
    assert.ok(Date.now() - s.finishedAt! >= RETENTION_S * 1000, 'not before its retention ran out');
    assert.equal((await client.list()).some((j) => j.id === s.id), false);
    await waitFor(async () => !(await scanJobKeys(r, c.keys)).has(s.id), { what: "the expired job's keys to be deleted", timeoutMs: 10_000 });
    // The master removes the queue entries after the keys: wait for that too, not for a while.
    await waitFor(async () => (await map.getCompletedCount()) + (await map.getFailedCount()) + (await map.getWaitingCount()) === 0, { what: "the expired job's queue entries to be removed", timeoutMs: 10_000 });
  } finally {
    await map.close();
  }
});
