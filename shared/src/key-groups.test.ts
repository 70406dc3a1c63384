// Every group of keys that one script, MULTI, MGET or pipeline touches together lies in one hash
// slot (a Redis Cluster refuses anything else), computed from keys.ts for sample names; and what is
// meant to spread does: a dataset's splits, a job's partitions, the two queues. runScript also
// refuses keys of different slots at every call, on every topology (scripts.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EPOCH_SHARDS, keys } from './keys.ts';
import { keySlot } from './key-slot.ts';

const k = keys('tandem');
const oneSlot = (what: string, group: string[]) => {
  const slots = new Set(group.map(keySlot));
  assert.equal(slots.size, 1, `${what}: ${group.map((x) => `${x} → ${keySlot(x)}`).join(', ')}`);
};

test('the keys each script, MULTI or MGET takes together share one slot', () => {
  // apps/master/src/durable-log.ts: append-ops-3, save-snapshot-3, claim-log-1, and its MULTI reads.
  oneSlot('the op log', [k.masterFence(), k.masterSnapshot(), k.masterLog()]);
  // apps/view-service/src/lease.ts: view-lease-2, save-view-state-2, release-view-lease-1.
  oneSlot('the view service', [k.viewLease(), k.viewLeaseEpoch(), k.viewService()]);
  // shared/src/dataset-store: publish-dataset-2, remove-dataset-2, listing's pipeline.
  oneSlot('dataset metadata and index', [k.datasetMeta('books'), k.datasetMeta('other'), k.datasetIndex()]);
  // jobs/src/report.ts: a report with its index entry (MULTI), the primary's MGET of every report.
  oneSlot('job-type reports', [k.jobTypesReport('master', 'http://a:1'), k.jobTypesReport('worker', 'h:2'), k.jobTypesIndex()]);
  // A reducer's MGET of every blob sent to its partition, with its output and a verified run's copies.
  for (const r of [0, 1, 7]) {
    oneSlot(`partition ${r}'s blobs`, [
      ...Array.from({ length: 20 }, (_, i) => k.mapOutput('job1', r, 2, i)), k.reduceOutput('job1', r, 2), k.verifyCopy('job1', r, 2), k.verifyCopy('job1', r, 2, 3),
    ]);
  }
  // A round's commit hash and its verified runs' records.
  oneSlot("a round's commits and verify runs", [k.commits('job1', 3), k.verifyRuns('job1', 3)]);
  // Each BullMQ queue: its scripts take many of its keys.
  for (const q of ['map', 'reduce'] as const) oneSlot(`the ${q} queue`, ['wait', 'active', 'meta', 'events', 'id', 'job-1'].map((s) => `${k.bullPrefix(q)}:${q}:${s}`));
});

test('what should spread does: splits, partitions, the two queues, the epoch keys', () => {
  const spread = (what: string, group: string[], atLeast: number) => assert.ok(new Set(group.map(keySlot)).size >= atLeast, what);
  spread("a dataset's 64 splits", Array.from({ length: 64 }, (_, s) => k.split('books', 'v1', s)), 60);
  spread("a job's 16 partitions", Array.from({ length: 16 }, (_, r) => k.reduceOutput('job1', r, 0)), 15);
  spread('the map and reduce queues', [`${k.bullPrefix('map')}:map:wait`, `${k.bullPrefix('reduce')}:reduce:wait`], 2);
  spread('the epoch keys', Array.from({ length: EPOCH_SHARDS }, (_, i) => k.epoch(i)), EPOCH_SHARDS);
});
