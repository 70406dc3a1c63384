// Redis lost mid-job: every process reconnects on its own and the job finishes with the right output.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { headOutput, putDataset } from '@tandem/shared';
import { startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { waitFor } from './harness/wait.ts';

let c: Cluster;
before(async () => {
  c = await startCluster({ name: 'redis-outage', workers: 2 });
  const lines = Array.from({ length: 4000 }, (_, i) => `line ${i} of the outage test`).join('\n') + '\n';
  const redis = c.redis.client();
  await putDataset(redis, c.keys, Readable.from([Buffer.from(lines)]), { name: 'lines', format: 'text', splitBytes: 16 * 1024 });
  redis.disconnect();
});
after(async () => c?.stop());

test('Redis killed and restarted mid-job: the job still finishes with the exact output', { timeout: 180_000 }, async () => {
  const client = c.client();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-outage-'));
  const id = await client.submit({ type: 'timing', dataset: 'lines', partitions: 2, params: { dir, phase: 'map', sleepMs: '1000' } });
  await waitFor(async () => (await client.status(id)).maps.committed >= 1, { what: 'first map commit' });
  await c.redis.kill();
  // The master notices within its Redis health check; wait for the alert rather than for a while.
  const alert = /the master cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(for \d+ s\); jobs wait until it is back/;
  let during = await client.status(id);
  await waitFor(async () => alert.test((during = await client.status(id)).alerts.join('\n')), { what: 'the Redis alert on the job', timeoutMs: 30_000 });
  assert.notEqual(during.phase, 'done', 'the job cannot finish while Redis is down');
  await c.redis.restart();
  const s = await waitForJob(c, id, 150_000);
  assert.equal(s.phase, 'done', s.error ?? '');
  assert.deepEqual(s.alerts, []);
  const redis = c.redis.client();
  const out = await headOutput(redis, c.keys, { jobId: id, round: s.round, partitions: s.partitions }, 1000);
  const expected = Array.from({ length: s.maps.total }, (_, i) => [`other-${i}\t1`, `split-${i}\t1`]).flat().sort();
  assert.deepEqual(out, expected);
});
