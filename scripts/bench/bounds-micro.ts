/**
 * Two measurements behind issue 17's bounded resources, each against its baseline in the same run:
 * - cache: a worker's `written` cache (64 MiB) filled with 16-byte blobs, as PageRank with many
 *   partitions fills it, charged by value bytes only (before) and with each entry's cost (now): RSS.
 * - cleanup: deleting a cancelled job's keys (256 partitions, 8 rounds: 530,000 keys) one DEL per
 *   partition and round awaited in turn (before) and by deleteJobData (now): seconds.
 *
 *   node --expose-gc --import tsx scripts/bench/bounds-micro.ts cache [entry-overhead]
 *   node --import tsx scripts/bench/bounds-micro.ts cleanup
 */
import { ContentCache, deleteJobData, keys } from '@tandem/shared';
import { startRedis } from '../../test/harness/redis.ts';

const mode = process.argv[2];
if (mode === 'cache') {
  const overhead = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  const c = new ContentCache(64 << 20, overhead);
  (globalThis as { gc?: () => void }).gc?.();
  const t0 = performance.now();
  const rss0 = process.memoryUsage.rss();
  for (let i = 0; i < 6_000_000; i++) {
    const f = new Float64Array(2);
    c.set(`tandem:job:{jmxb91ydsf214d0:${i % 1024}}:${i >> 20}:m${i}`, Buffer.from(f.buffer), 16);
  }
  (globalThis as { gc?: () => void }).gc?.();
  console.log(JSON.stringify({ entryOverhead: overhead ?? 'default', entries: c.size, budgetMiB: 64, rssGrowthMiB: Math.round((process.memoryUsage.rss() - rss0) / 2 ** 20), seconds: ((performance.now() - t0) / 1000).toFixed(1) }));
} else if (mode === 'cleanup') {
  const r = await startRedis({ aof: false });
  const redis = r.client();
  const k = keys('bench');
  const P = 256;
  const rounds = 8;
  const job = { id: 'j1', round: rounds - 1, partitions: P, sendersInRound: () => P };
  const fill = async () => {
    for (let round = 0; round < rounds; round++) {
      for (let part = 0; part < P; part++) {
        const p = redis.pipeline();
        for (let i = 0; i < P; i++) p.set(k.mapOutput('j1', part, round, i), 'x'.repeat(16));
        p.set(k.reduceOutput('j1', part, round), 'x'.repeat(64));
        await p.exec();
      }
    }
    return redis.dbsize();
  };
  const n1 = await fill();
  let t = performance.now();
  // Before: per round and partition, one DEL awaited in turn.
  for (let round = 0; round < rounds; round++) {
    for (let part = 0; part < P; part++) {
      const names = Array.from({ length: P }, (_, i) => k.mapOutput('j1', part, round, i));
      names.push(k.reduceOutput('j1', part, round));
      await redis.del(...names);
    }
  }
  const before = (performance.now() - t) / 1000;
  const n2 = await fill();
  t = performance.now();
  await deleteJobData(redis, k, job, true);
  const now = (performance.now() - t) / 1000;
  console.log(JSON.stringify({ keys: [n1, n2], beforeS: before.toFixed(2), nowS: now.toFixed(2), left: await redis.dbsize() }));
  redis.disconnect();
  await r.stop();
}
process.exit(0);
