import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  COMMIT_BYTES, ITERATIVE_PARTITIONS, KEY_BYTES, estimateJobBytes, iterativePartitionCap, iterativePartitionsProblem, memoryHeadroom, memoryProblem,
} from './job-limits.ts';
import { parseRedisMemory } from '@tandem/shared';

const DEBIAN_BYTES = 620_000;

test('an iterative job is capped at one partition per 64 KiB of input, at least the workers online and 8, at most 256', () => {
  assert.equal(iterativePartitionCap(DEBIAN_BYTES, 2), 10, 'the Debian graph on 2 workers');
  assert.equal(iterativePartitionCap(100, 2), ITERATIVE_PARTITIONS.floor, 'a tiny graph may still be split in 8');
  assert.equal(iterativePartitionCap(100, 20), 20, 'one per worker online');
  assert.equal(iterativePartitionCap(10 * 2 ** 30, 2), ITERATIVE_PARTITIONS.max, 'never above 256 (65,536 blobs a round)');
  assert.equal(iterativePartitionsProblem(10, DEBIAN_BYTES, 2, 'deps'), null);
  const p = iterativePartitionsProblem(1024, DEBIAN_BYTES, 2, 'deps');
  assert.match(p!, /^partitions 1024 is more than this iterative job may have: 10 for dataset "deps" \(620000 bytes\) with 2 workers online/);
  assert.match(p!, /partitions² blobs/);
  assert.match(p!, /ask for 10 or fewer$/);
});

test('the estimate of a one-round job: its map outputs and output, and a key cost per blob', () => {
  assert.equal(estimateJobBytes({ bytes: 1000, splits: 2, partitions: 3 }), 2000 + (6 + 3 + 1) * KEY_BYTES + 5 * COMMIT_BYTES);
  // Partitions cost keys, not bytes.
  const few = estimateJobBytes({ bytes: 100 << 20, splits: 13, partitions: 2 });
  const many = estimateJobBytes({ bytes: 100 << 20, splits: 13, partitions: 1024 });
  assert.equal(many - few, (13 * 1022 + 1022) * KEY_BYTES + 1022 * COMMIT_BYTES);
});

test('the estimate of an iterative job grows with partitions squared, and with its input', () => {
  const at = (partitions: number, bytes = DEBIAN_BYTES, rounds = 23) => estimateJobBytes({ bytes, splits: 1, partitions, setupRounds: 2, rounds });
  assert.equal(at(1), 11 * DEBIAN_BYTES + (1 + 2 + 2 + 2 + 23) * KEY_BYTES + (1 + 23) * COMMIT_BYTES);
  assert.equal(at(1024) - at(1), (1023 + 2 * 1023 + 2 * (1024 * 1024 - 1) + 2 * 1023) * KEY_BYTES + 23 * 1023 * COMMIT_BYTES);
  assert.ok(at(1024) > 300 << 20, 'the failure of issue 17: 1024 partitions of the Debian graph need hundreds of MiB');
  assert.ok(at(10) < 10 << 20, 'its cap needs a few MiB');
  assert.equal(at(10, 2 * DEBIAN_BYTES) - at(10), 11 * DEBIAN_BYTES);
  // Each round keeps its commit hash: 10,000 iterations of 256 partitions are over a GiB of records.
  assert.equal(at(10, DEBIAN_BYTES, 1023) - at(10), 1000 * (KEY_BYTES + 10 * COMMIT_BYTES));
  assert.ok(at(256, DEBIAN_BYTES, 10_003) > 2 ** 30);
});

const info = (fields: Record<string, number>) => `# Memory\r\n${Object.entries(fields).map(([k, v]) => `${k}:${v}\r\n`).join('')}used_memory_human:1M\r\n`;

test('INFO memory is parsed; the headroom is maxmemory less what is used, else the configured limit, else the machine', () => {
  const m = parseRedisMemory(info({ used_memory: 5_000_000, used_memory_peak: 9_000_000, maxmemory: 0, total_system_memory: 8_000_000_000 }));
  assert.deepEqual(m, { used: 5_000_000, peak: 9_000_000, maxmemory: 0, system: 8_000_000_000 });
  assert.deepEqual(memoryHeadroom({ ...m, maxmemory: 20_000_000 }, 0, 1), { limit: 20_000_000, source: "Redis's maxmemory", headroom: 15_000_000 });
  assert.equal(memoryHeadroom(m, 100_000_000, 1).source, 'TANDEM_REDIS_MEMORY_MB');
  assert.equal(memoryHeadroom(m, 0, 1).headroom, 8_000_000_000 - 5_000_000);
  assert.equal(memoryHeadroom({ ...m, system: 0 }, 0, 7_000_000).limit, 7_000_000);
  assert.equal(memoryHeadroom({ ...m, maxmemory: 1_000_000 }, 0, 1).headroom, 0, 'already over: no headroom, never negative');
});

test('a job that does not fit is refused naming the estimate, the headroom and the limit', () => {
  const h = { limit: 32 << 20, source: "Redis's maxmemory", headroom: 30 << 20 };
  assert.equal(memoryProblem(30 << 20, h), null);
  const p = memoryProblem(300 << 20, h)!;
  assert.match(p, /needs about 300\.0 MiB of Redis memory/);
  assert.match(p, /Redis has 30\.0 MiB of headroom \(32\.0 MiB by Redis's maxmemory, 2\.0 MiB in use\)/);
  assert.match(p, /use fewer partitions/);
});
