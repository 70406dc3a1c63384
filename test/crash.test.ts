// MIT 6.824's crash test: workers that die (SIGKILL) on a third of their calls and stall on another
// third, restarted in a loop; the output must still equal the sequential reference.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { putDataset, writeOutput } from '@tandem/shared';
import { startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { referenceWordCount } from './harness/reference.ts';
import { repoRoot } from '../apps/cli/src/processes.ts';

const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
const text = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('').slice(0, 200_000).replace(/[^\n]*$/, '');

let c: Cluster;
let restarting = true;
before(async () => {
  c = await startCluster({ name: 'crash', workers: 0 });
  await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(text)]), { name: 'books', format: 'text', splitBytes: 10_000 });
});
after(async () => {
  restarting = false;
  await c?.stop();
});

test('crash: with workers dying and stalling at random, the output equals the reference', { timeout: 300_000 }, async () => {
  let deaths = 0;
  const keepAlive = () => {
    const w = c.startWorker();
    w.on('exit', () => {
      if (!restarting) return;
      deaths++;
      keepAlive();
    });
  };
  for (let i = 0; i < 3; i++) keepAlive();

  const id = await c.client().submit({ type: 'crash', dataset: 'books', partitions: 5, params: { maxSleepMs: '3000' } });
  const s = await waitForJob(c, id, 280_000);
  assert.equal(s.phase, 'done', s.error ?? '');
  assert.ok(deaths > 0, 'some workers crashed');
  const chunks: Buffer[] = [];
  await writeOutput(c.redis.client(), c.keys, { jobId: id, round: s.round, partitions: s.partitions }, new Writable({
    write(chunk, _e, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  }));
  assert.equal(Buffer.concat(chunks).toString('utf8'), referenceWordCount(text));
  assert.ok(s.counters.map.failures + s.counters.reduce.failures > 0, 'crashed attempts are counted as failures');
  console.log(`crash test: ${deaths} worker deaths, ${s.counters.map.attempts + s.counters.reduce.attempts} attempts for ${s.maps.total + s.reduces.total} tasks, ${s.counters.map.speculative + s.counters.reduce.speculative} backup attempts, ${(s.finishedAt! - s.submittedAt) / 1000} s`);
});
