// Redis loses what a map task committed (as a Redis Cluster failover can drop a primary's last
// writes; here the shuffle blob is deleted) while its job still maps: the reduce task that needs it
// fails naming the loss, the master reruns that map task, its split being still there, and the job
// ends done with the exact output and the rerun counted. With the split gone too, the job fails
// naming the loss (docs/DESIGN.md §3.4).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { dropJobValues, jobDataIO, putDataset, readCommits, shuffleBlob, splitKey, type DatasetMeta } from '@tandem/shared';
import { jobOutput, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { referenceWordCount } from './harness/reference.ts';
import { waitFor } from './harness/wait.ts';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const text = Array.from({ length: 1500 }, (_, i) => `${WORDS[i % 8]} ${WORDS[(i * 3) % 8]} line${i % 50}`).join('\n') + '\n';
/** Each map call sleeps this long, so map 0 has committed while the others still run. */
const MAP_MS = 1200;

let c: Cluster;
const meta: Record<string, DatasetMeta> = {};
before(async () => {
  // One worker, one task at a time: the map tasks run one after another.
  c = await startCluster({ name: 'task-rerun', workers: 1 });
  const r = c.redis.client();
  for (const name of ['kept', 'gone']) {
    meta[name] = await putDataset(r, c.keys, Readable.from([Buffer.from(text)]), { name, format: 'text', splitBytes: 8 * 1024 });
    assert.ok(meta[name].splits >= 3, `dataset ${name} has ${meta[name].splits} splits; the test needs 3`);
  }
  r.disconnect();
});
after(async () => {
  await c?.stop();
  await c?.redis.stop();
});

/** Waits for map task 0 of the job to commit, then deletes its shuffle blob for partition 0 while the job still maps. */
async function loseMapOutput(id: string): Promise<void> {
  const r = c.redis.client();
  try {
    await waitFor(async () => (await readCommits(r, c.keys, id, 0)).has('m0'), { what: 'map task 0 committed', timeoutMs: 15_000 });
    assert.equal((await c.client().status(id)).phase, 'map', 'the job still maps when the output goes');
    await dropJobValues(jobDataIO(r, c.keys), id, [shuffleBlob(0, 0, 0)]);
  } finally {
    r.disconnect();
  }
}

test("a committed map task's lost output is rerun from its split: the job ends done with the exact output and one rerun", { timeout: 30_000 }, async () => {
  console.log("scenario: map task 0's shuffle blob for partition 0 deleted after it committed; expect reduce 0 to fail on it, map 0 and reduce 0 to run again, the job done and exact");
  const id = await c.client().submit({ type: 'slowwordcount', dataset: 'kept', partitions: 2, params: { mapMs: MAP_MS } });
  await loseMapOutput(id);
  const s = await waitForJob(c, id, 25_000);
  assert.equal(s.phase, 'done', s.error ?? '');
  assert.equal(await jobOutput(c, s), referenceWordCount(text));
  assert.equal(s.reruns.length, 1);
  assert.deepEqual([s.reruns[0].round, s.reruns[0].map], [0, 0]);
  assert.match(s.reruns[0].reason, /reduce task 0 failed: .*the output of map task 0 is missing from Redis/);
  assert.equal(s.counters.map.recordsIn, 1500, 'records of the lost commit are not counted twice');
});

test("a committed map task's lost output whose split is gone too fails the job naming both", { timeout: 30_000 }, async () => {
  console.log("scenario: map task 0's shuffle blob and its split deleted after it committed; expect the job to fail naming the lost output and the gone split");
  const id = await c.client().submit({ type: 'slowwordcount', dataset: 'gone', partitions: 2, params: { mapMs: MAP_MS } });
  await loseMapOutput(id);
  const r = c.redis.client();
  await r.del(splitKey(c.keys, { name: 'gone', version: meta.gone.version }, 0));
  r.disconnect();
  const s = await waitForJob(c, id, 25_000);
  assert.equal(s.phase, 'failed');
  assert.match(s.error ?? '', /reduce task 0 failed: .*the output of map task 0 is missing from Redis/);
  assert.match(s.error ?? '', /not rerun: its input, split 0 of dataset gone version \S+, is gone too/);
  assert.equal(s.reruns.length, 0);
});
