// The control plane's chaos test (issue 11): client threads submit word counts and PageRanks and
// follow them while a nemesis SIGKILLs and SIGSTOPs workers, the primary, the backup, the view
// service and both masters at once, restarting what it killed. A history checker then asserts that
// every acknowledged submit exists exactly once, that no status read went backwards, that every job
// ended (done, or failed with a reason), and that every done job's output equals a fault-free run's.
// TANDEM_CHAOS_SECONDS sets the length of the faulty period (default 45 s; `npm test` uses that).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { putDataset, type JobStatus, type MasterClient } from '@tandem/shared';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { jobOutput, kill, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { checkHistory, History } from './harness/history.ts';
import { sleep } from './harness/wait.ts';

const SECONDS = Number(process.env.TANDEM_CHAOS_SECONDS ?? 45);
const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
const text = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('').slice(0, 300_000).replace(/[^\n]*$/, '');
const graph = readFileSync(join(repoRoot, 'datasets', 'debian-python3-deps.csv'));

type Kind = 'wordcount' | 'pagerank';
const specs: Record<Kind, { type: string; dataset: string; partitions: number; params: Record<string, string | number> }> = {
  wordcount: { type: 'wordcount', dataset: 'books', partitions: 3, params: {} },
  pagerank: { type: 'pagerank', dataset: 'deps', partitions: 2, params: { iterations: 8, tol: 0 } },
};

const alive = (p: ChildProcess | undefined) => !!p && p.exitCode === null && p.signalCode === null;

describe('chaos: every fault at once, with a checked history', { timeout: 600_000 }, () => {
  let c: Cluster;
  const reference: Partial<Record<Kind, string>> = {};

  before(async () => {
    c = await startCluster({ name: 'chaos', masters: 2, workers: 3, env: { TANDEM_SPECULATE_MIN_MS: '60000' } });
    const redis = c.redis.client();
    await putDataset(redis, c.keys, Readable.from([Buffer.from(text)]), { name: 'books', format: 'text', splitBytes: 32 * 1024 });
    await putDataset(redis, c.keys, Readable.from([graph]), { name: 'deps', format: 'edges', splitBytes: 64 * 1024 });
    await c.replicated();
    // The fault-free run every later output must equal, byte for byte.
    for (const kind of Object.keys(specs) as Kind[]) {
      const s = await waitForJob(c, await c.client().submit(specs[kind]), 120_000);
      assert.equal(s.phase, 'done', s.error ?? '');
      reference[kind] = await jobOutput(c, s);
    }
  });
  after(async () => c?.stop());

  test(`for ${SECONDS} s: 3 clients submit and follow jobs; a nemesis kills and stops workers, masters (one or both) and the view service`, async (t) => {
    const history = new History();
    let faulty = true;
    const kinds: Kind[] = ['wordcount', 'pagerank'];
    const clientLoop = async (k: number) => {
      const client: MasterClient = c.client({ retryForMs: 120_000 });
      const mine: { id: string; kind: Kind }[] = [];
      for (let n = 0; faulty; n++) {
        const kind = kinds[(k + n) % 2];
        const call = history.call(client.clientId, 'submit');
        try {
          const id = await client.submit(specs[kind]);
          history.returned(call, { jobId: id });
          mine.push({ id, kind });
        } catch (err) {
          history.returned(call, { error: (err as Error).message });
          continue;
        }
        // Follow it with plain reads, each recorded, until it ends or the faulty period is over.
        for (let s: JobStatus | undefined; faulty && (!s || !['done', 'failed', 'cancelled'].includes(s.phase));) {
          const read = history.call(client.clientId, 'status', mine[mine.length - 1].id);
          try {
            s = await client.status(mine[mine.length - 1].id);
            history.returned(read, { jobId: s.id, version: s.version, phase: s.phase });
          } catch (err) {
            history.returned(read, { error: (err as Error).message });
          }
          await sleep(200); // a client's pace between reads, not a wait for anything
        }
      }
      return mine;
    };
    const clients = [0, 1, 2].map(clientLoop);

    const faults: Record<string, number> = {};
    const nemesis = async () => {
      const actions: [string, () => Promise<void>][] = [
        ['worker killed', async () => {
          const i = Math.floor(Math.random() * c.workers.length);
          await kill(c.workers[i]);
          c.workers[i] = c.startWorker();
        }],
        ['worker stopped 2 s', async () => {
          const w = c.workers[Math.floor(Math.random() * c.workers.length)];
          w.kill('SIGSTOP');
          await sleep(2000);
          w.kill('SIGCONT');
        }],
        ['primary killed', async () => {
          const { primary } = await c.replicated(90_000);
          await kill(c.masters[primary].proc);
          await c.startMaster(primary);
        }],
        ['backup killed', async () => {
          const { backup } = await c.replicated(90_000);
          await kill(c.masters[backup].proc);
          await c.startMaster(backup);
        }],
        ['primary stopped 2 s', async () => {
          const { primary } = await c.replicated(90_000);
          c.masters[primary].proc.kill('SIGSTOP');
          await sleep(2000);
          c.masters[primary].proc.kill('SIGCONT');
        }],
        ['backup stopped 2 s', async () => {
          const { backup } = await c.replicated(90_000);
          c.masters[backup].proc.kill('SIGSTOP');
          await sleep(2000);
          c.masters[backup].proc.kill('SIGCONT');
        }],
        ['view service killed', async () => {
          await c.restartViewService();
        }],
        ['view service stopped 3 s', async () => {
          c.viewService.kill('SIGSTOP');
          await sleep(3000);
          c.viewService.kill('SIGCONT');
        }],
        ['both masters killed', async () => {
          await Promise.all(c.masters.map((m) => kill(m.proc)));
          await c.startMaster(0);
          await c.startMaster(1);
        }],
      ];
      const start = Date.now();
      while (Date.now() - start < SECONDS * 1000) {
        const [name, act] = actions[Math.floor(Math.random() * actions.length)];
        await act();
        faults[name] = (faults[name] ?? 0) + 1;
        await sleep(1000 + Math.random() * 2000); // the nemesis's rhythm
      }
    };
    await nemesis();
    faulty = false;
    const acked = (await Promise.all(clients)).flat();

    // Heal: everything running, a primary with a backup.
    for (let i = 0; i < c.workers.length; i++) if (!alive(c.workers[i])) c.workers[i] = c.startWorker();
    await c.replicated(120_000);
    const final = await c.client().list();
    checkHistory(history, final);
    let done = 0;
    for (const { id, kind } of acked) {
      const s = await waitForJob(c, id, 300_000);
      if (s.phase === 'done') {
        done++;
        assert.equal(await jobOutput(c, s), reference[kind], `job ${id} (${kind}) ends with the fault-free output`);
      } else {
        assert.ok(s.error, `job ${id} ended ${s.phase} with a reason`);
      }
    }
    assert.ok(acked.length >= 5, `only ${acked.length} acknowledged submits`);
    const reads = history.entries.filter((e) => e.kind === 'status');
    t.diagnostic(`faults: ${Object.entries(faults).map(([k, v]) => `${v} × ${k}`).join(', ')}`);
    t.diagnostic(`${acked.length} acknowledged submits (${done} done with the reference output); ${reads.length} reads`);
  });
});
