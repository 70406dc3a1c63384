/**
 * Bounded resources (issue 17): PageRank of the Debian graph with many partitions. Samples Redis's
 * key count and memory and the workers' RSS while the job runs, the seconds per iteration, and
 * how long cancelling takes to delete the job's keys.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { putDataset, scanJobKeys, type JobStatus } from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { startCluster } from '../../test/harness/cluster.ts';
import { sleep } from '@tandem/shared';

const env = { TANDEM_LOG_LEVEL: 'warn', TANDEM_LOCK_MS: '30000', TANDEM_STALLED_MS: '10000', TANDEM_RECONCILE_MS: '1000' };

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

export interface BoundsResult {
  partitions: number;
  refused?: string;
  maxKeys: number;
  /** The job's own keys (SCAN), at most. */
  maxJobKeys: number;
  maxRedisMiB: number;
  maxWorkerRssMiB: number[];
  idleWorkerRssMiB: number[];
  secondsPerIteration: number;
  iterations: number;
  cancelCleanupS: number;
  cancelKeys: number;
}

export async function benchBounds(opts: { partitions: number; iterations: number; limitS: number }): Promise<BoundsResult> {
  const c = await startCluster({ name: 'bench-bounds', workers: 2, masters: 1, env });
  const redis = c.redis.client();
  try {
    await c.primary();
    await putDataset(redis, c.keys, createReadStream(resolve(repoRoot, 'datasets/debian-python3-deps.csv')), { name: 'debian', format: 'edges', splitBytes: 8 << 20 });
    const client = c.client();
    const base = await redis.dbsize();
    const res: BoundsResult = {
      partitions: opts.partitions, maxKeys: 0, maxJobKeys: 0, maxRedisMiB: 0, maxWorkerRssMiB: c.workers.map(() => 0), idleWorkerRssMiB: [],
      secondsPerIteration: 0, iterations: 0, cancelCleanupS: 0, cancelKeys: 0,
    };
    let id = '';
    const sample = async () => {
      res.maxJobKeys = Math.max(res.maxJobKeys, (await scanJobKeys(redis, c.keys)).get(id)?.length ?? 0);
      res.maxKeys = Math.max(res.maxKeys, (await redis.dbsize()) - base);
      const used = /used_memory:(\d+)/.exec(await redis.info('memory'))![1];
      res.maxRedisMiB = Math.max(res.maxRedisMiB, Number(used) / 2 ** 20);
      c.workers.forEach((w, i) => (res.maxWorkerRssMiB[i] = Math.max(res.maxWorkerRssMiB[i], rssMiB(w.pid!))));
    };
    try {
      id = await client.submit({ type: 'pagerank', dataset: 'debian', partitions: opts.partitions, params: { iterations: String(opts.iterations), tol: '0' } });
    } catch (err) {
      res.refused = (err as Error).message;
      console.log(`refused: ${res.refused}`);
      return res;
    }
    const t0 = Date.now();
    let s: JobStatus = await client.status(id);
    while (!['done', 'failed', 'cancelled'].includes(s.phase) && Date.now() - t0 < opts.limitS * 1000) {
      await sample();
      await sleep(1000);
      s = await client.status(id);
      console.log(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${s.phase} round ${s.round}, keys ${res.maxKeys} (job ${res.maxJobKeys}), redis ${res.maxRedisMiB.toFixed(0)} MiB, workers ${res.maxWorkerRssMiB.map((x) => x.toFixed(0)).join('/')} MiB`);
    }
    const it = s.rounds.filter((r) => r.round >= 2);
    if (it.length >= 2) {
      res.secondsPerIteration = (it[it.length - 1].finishedAt - it[0].finishedAt) / (it.length - 1) / 1000;
      res.iterations = it.length;
    }
    // Cancel it (or a new one, if it finished) mid-run and time the clean-up of its keys.
    if (['done', 'failed'].includes(s.phase)) {
      id = await client.submit({ type: 'pagerank', dataset: 'debian', partitions: opts.partitions, params: { iterations: String(opts.iterations), tol: '0' } });
      while ((await client.status(id)).round < 4) await sleep(200);
    }
    const jobKeys = async () => (await scanJobKeys(redis, c.keys)).get(id)?.length ?? 0;
    res.cancelKeys = await jobKeys();
    const tc = Date.now();
    await client.cancel(id);
    while ((await jobKeys()) > 0 && Date.now() - tc < 600_000) await sleep(100);
    res.cancelCleanupS = (Date.now() - tc) / 1000;
    // Idle: what the workers hold 30 s after the last task.
    await sleep(30_000);
    res.idleWorkerRssMiB = c.workers.map((w) => rssMiB(w.pid!));
    console.log(JSON.stringify(res));
    return res;
  } finally {
    redis.disconnect();
    await c.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [p = '256', it = '5', limit = '300'] = process.argv.slice(2);
  await benchBounds({ partitions: Number(p), iterations: Number(it), limitS: Number(limit) });
  process.exit(0);
}
