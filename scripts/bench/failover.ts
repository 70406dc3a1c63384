/**
 * Replicated-master benchmark (issue 3), in one run on one machine, with the default failure
 * detection (100 ms pings, 5 missed = dead):
 *  (1) failover time: SIGKILL of the primary → first client operation answered by the new primary;
 *  (2) cost of replication: submit and status latency (p50/p99) and submits per second, with a
 *      backup vs without one (fresh clusters, measured alternately);
 *  (3) a 100 MB word count with and without a primary failover in the middle.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { putDataset, sleep } from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { kill, startCluster, type Cluster } from '../../test/harness/cluster.ts';
import { buildCorpus } from './corpus.ts';
import { writeSection } from './report.ts';

export const env = { TANDEM_LOG_LEVEL: 'warn', TANDEM_PING_INTERVAL_MS: '100', TANDEM_DEAD_PINGS: '5', TANDEM_LOCK_MS: '4000', TANDEM_STALLED_MS: '2000', TANDEM_RECONCILE_MS: '1000' };

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
export const median = (xs: number[]) => pct(xs, 50);
const f1 = (x: number) => x.toFixed(1);
export const f2 = (x: number) => x.toFixed(2);

export async function tinyDataset(c: Cluster) {
  await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from('the cat\nthe dog\n')]), { name: 'tiny', format: 'text', splitBytes: 1 << 20 });
}

async function failoverTimes(trials: number, log: (s: string) => void): Promise<number[]> {
  const c = await startCluster({ name: 'bench-failover', masters: 2, workers: 0, env });
  const out: number[] = [];
  try {
    await tinyDataset(c);
    for (let t = 0; t < trials; t++) {
      const { primary } = await c.replicated();
      const client = c.client({ retryForMs: 30_000 });
      const id = await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
      await client.status(id);
      const t0 = performance.now();
      c.masters[primary].proc.kill('SIGKILL');
      await client.status(id);
      const ms = performance.now() - t0;
      out.push(ms);
      log(`failover ${t + 1}: ${ms.toFixed(0)} ms (${client.viewLookups} view lookups)`);
      await kill(c.masters[primary].proc);
      await c.startMaster(primary);
    }
  } finally {
    await c.stop();
  }
  return out;
}

interface Load {
  submit: number[];
  status: number[];
  perSecond: number;
}

async function load(withBackup: boolean, n: number): Promise<Load> {
  const c = await startCluster({ name: `bench-replication-${withBackup ? 'backup' : 'alone'}`, masters: withBackup ? 2 : 1, workers: 0, env });
  try {
    await tinyDataset(c);
    if (withBackup) await c.replicated();
    const client = c.client();
    // Warm up connections and the JIT.
    for (let i = 0; i < 50; i++) await client.status(await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 }));
    const submit: number[] = [];
    const status: number[] = [];
    let last = '';
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      last = await client.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
      submit.push(performance.now() - t0);
      t0 = performance.now();
      await client.status(last);
      status.push(performance.now() - t0);
    }
    // Throughput: 8 clients submitting at once.
    const clients = Array.from({ length: 8 }, () => c.client());
    const t0 = performance.now();
    await Promise.all(clients.map(async (cl) => {
      for (let i = 0; i < n / 8; i++) await cl.submit({ type: 'wordcount', dataset: 'tiny', partitions: 1 });
    }));
    const perSecond = n / ((performance.now() - t0) / 1000);
    return { submit, status, perSecond };
  } finally {
    await c.stop();
  }
}

async function wordcountWithFailover(mb: number, log: (s: string) => void): Promise<{ plain: number[]; failover: number[]; killedAt: number[] }> {
  const corpus = resolve(repoRoot, `.tandem/bench/corpus-${mb}mb.txt`);
  await buildCorpus(corpus, mb * 1_000_000);
  const c = await startCluster({ name: 'bench-failover-wordcount', masters: 2, workers: 2, env });
  const plain: number[] = [];
  const failover: number[] = [];
  const killedAt: number[] = [];
  try {
    await putDataset(c.redis.client(), c.keys, createReadStream(corpus, { highWaterMark: 1 << 20 }), { name: 'corpus', format: 'text', splitBytes: 8 << 20 });
    const restartMaster = async (i: number) => {
      await kill(c.masters[i].proc);
      await c.startMaster(i);
    };
    const run = async (failover: boolean) => {
      const { primary } = await c.replicated();
      const client = c.client();
      const t0 = performance.now();
      const id = await client.submit({ type: 'wordcount', dataset: 'corpus' });
      let killed = 0;
      if (failover) {
        // Half-way through the map phase, by committed map tasks.
        for (;;) {
          const s = await client.status(id);
          if (s.maps.committed >= s.maps.total / 2 || s.phase !== 'map') break;
          await sleep(20);
        }
        killed = performance.now() - t0;
        c.masters[primary].proc.kill('SIGKILL');
      }
      const s = await client.waitUntilFinished(id);
      const ms = performance.now() - t0;
      if (s.phase !== 'done') throw new Error(`job ${id} ${s.phase}: ${s.error}`);
      if (failover) {
        await restartMaster(primary);
        killedAt.push(killed);
      }
      return ms;
    };
    await run(false); // warm-up
    for (let i = 0; i < 3; i++) {
      plain.push(await run(false));
      failover.push(await run(true));
      log(`word count ${mb} MB: ${plain[i].toFixed(0)} ms plain, ${failover[i].toFixed(0)} ms with the primary killed at ${killedAt[i].toFixed(0)} ms`);
    }
  } finally {
    await c.stop();
  }
  return { plain, failover, killedAt };
}

export async function benchFailover(opts: { trials: number; ops: number; mb: number }): Promise<void> {
  const log = (s: string) => console.log(s);
  const fo = await failoverTimes(opts.trials, log);

  const alone: Load[] = [];
  const backed: Load[] = [];
  for (let r = 0; r < 2; r++) {
    alone.push(await load(false, opts.ops));
    backed.push(await load(true, opts.ops));
    log(`round ${r + 1}: submit p50 ${f2(median(alone[r].submit))} ms alone vs ${f2(median(backed[r].submit))} ms with a backup`);
  }
  const all = (ls: Load[], k: 'submit' | 'status') => ls.flatMap((l) => l[k]);
  const row = (name: string, k: 'submit' | 'status') => {
    const a = all(alone, k);
    const b = all(backed, k);
    return `| ${name} p50 / p99 (ms) | ${f2(median(a))} / ${f2(pct(a, 99))} | ${f2(median(b))} / ${f2(pct(b, 99))} | +${f2(median(b) - median(a))} / +${f2(pct(b, 99) - pct(a, 99))} |`;
  };
  const tA = median(alone.map((l) => l.perSecond));
  const tB = median(backed.map((l) => l.perSecond));

  const wc = await wordcountWithFailover(opts.mb, log);
  const slow = wc.failover.map((x, i) => x - wc.plain[i]);

  const md = `
## Replicated master (issue 3)

\`npm run bench -- failover --trials ${opts.trials} --ops ${opts.ops} --mb ${opts.mb}\`, ${new Date().toISOString().slice(0, 10)}, 2 cores, loopback,
default failure detection (pings every 100 ms, 5 missed pings = dead, so 500 ms).

**Failover time** (SIGKILL of the primary → the same client's next operation answered by the new
primary; ${fo.length} trials): median **${fo.length ? median(fo).toFixed(0) : '-'} ms**, min ${Math.min(...fo).toFixed(0)} ms, max ${Math.max(...fo).toFixed(0)} ms
(goal ≤ 1500 ms). Every trial: ${fo.map((x) => x.toFixed(0)).join(', ')} ms.

**Cost of replication** (one client, ${opts.ops} submits each followed by a status read, per
cluster; fresh clusters measured alternately, 2 of each; throughput with 8 clients at once):

| | one master, no backup | primary + backup | added by the backup |
|---|---|---|---|
${row('submit', 'submit')}
${row('status (read confirmed by the backup)', 'status')}
| submits per second (8 clients) | ${tA.toFixed(0)} | ${tB.toFixed(0)} | ×${(tB / tA).toFixed(2)} |

**A ${opts.mb} MB word count with a primary failover half-way through the map phase** (2 workers; plain and
failover runs alternate, 3 of each): plain ${wc.plain.map((x) => x.toFixed(0)).join(', ')} ms; with the failover
${wc.failover.map((x) => x.toFixed(0)).join(', ')} ms. Slowdown per pair: ${slow.map((x) => `${x >= 0 ? '+' : ''}${x.toFixed(0)}`).join(', ')} ms,
median **${f1(median(slow))} ms** against a detection time of 500 ms.
`;
  const path = writeSection('failover', md);
  log(md);
  log(`written to ${path}`);
}
