// The view service's own failures, with real processes: SIGKILL and restart it, SIGSTOP it, and
// lose both masters while it lives. It keeps its state in Redis and resumes it, counts its own pause
// as no evidence against the masters, and makes a new primary when both masters are lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { putDataset } from '@tandem/shared';
import { spawnApp } from '../apps/cli/src/processes.ts';
import { kill, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { sleep, waitFor } from './harness/wait.ts';

interface Status {
  view: { viewnum: number; primary: string; backup: string };
  acked: boolean;
  servers: { name: string; role: string; alive: boolean; lastPingAgoMs: number; viewnum: number }[];
}

// The harness's defaults: masters ping every 100 ms and are dead after 5 missed pings.
const detectionMs = 500;
const text = Array.from({ length: 2000 }, (_, i) => `line ${i} of the recovery test, word${i % 37}\n`).join('');

describe('view service recovery', { timeout: 300_000 }, () => {
  let c: Cluster;
  let viewService: ChildProcess;
  const started: ChildProcess[] = [];
  let launches = 0;

  const status = async () => (await (await fetch(new URL('/status', c.viewUrl), { signal: AbortSignal.timeout(2000) })).json()) as Status;
  const roleOf = async (url: string) => ((await (await fetch(new URL('/health', url), { signal: AbortSignal.timeout(2000) })).json()) as { role: string }).role;
  const roles = async () => Promise.all(c.masters.map((m) => roleOf(m.url)));

  /** Both masters heard within the last ping or two, and the view acknowledged. */
  const settled = async (since: number) => {
    const s = await status();
    const heard = c.masters.every((m) => s.servers.some((x) => x.name === m.url && x.alive && x.lastPingAgoMs < 300));
    // A full detection window after `since`: had anything counted against a master, it would have shown.
    return heard && s.acked && Date.now() - since > 2 * detectionMs ? s : null;
  };

  async function startViewService(): Promise<void> {
    viewService = spawnApp('view-service', c.env, ['ignore', 'ignore', 'pipe']);
    viewService.stderr!.pipe(createWriteStream(join(c.outDir, `view-service-restarted-${++launches}.log`)));
    started.push(viewService);
    await waitFor(async () => (await fetch(new URL('/view', c.viewUrl))).ok, { what: 'the restarted view service', timeoutMs: 30_000 });
  }

  before(async () => {
    c = await startCluster({ name: 'view-service-recovery', masters: 2, workers: 1 });
    viewService = c.viewService;
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(text)]), { name: 'lines', format: 'text', splitBytes: 16 * 1024 });
  });
  after(async () => {
    for (const p of started) await kill(p);
    await c?.stop();
  });

  test('view service SIGKILLed and restarted: same view, both masters keep their roles, jobs go on', async (t) => {
    t.diagnostic('Test: view service SIGKILLed and restarted: same view number, same primary and backup, `job ls` works, a new job finishes ...');
    const before = await c.replicated();
    const first = await c.client().submit({ type: 'wordcount', dataset: 'lines', partitions: 2 });
    assert.equal((await waitForJob(c, first)).phase, 'done');
    const viewBefore = (await status()).view;
    await kill(viewService);
    await startViewService();
    const restartedAt = Date.now();
    assert.deepEqual((await (await fetch(new URL('/view', c.viewUrl))).json() as { view: unknown }).view, viewBefore, 'the restarted service resumes the stored view');
    const s = await waitFor(() => settled(restartedAt), { what: 'both masters to ping the restarted view service' });
    assert.deepEqual(s.view, viewBefore, 'no new view after the restart');
    assert.deepEqual(await roles(), before.primary === 0 ? ['primary', 'backup'] : ['backup', 'primary']);
    const ls = await c.cli(['job', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`^${first}\\s+wordcount\\s+lines\\s+done`, 'm'));
    const second = await c.client().submit({ type: 'wordcount', dataset: 'lines', partitions: 2 });
    assert.equal((await waitForJob(c, second)).phase, 'done');
  });

  test('view service SIGSTOPped for 3 s and continued: the view does not change', async (t) => {
    t.diagnostic('Test: view service paused (SIGSTOP) for 3 s, then SIGCONT: same view, same roles ...');
    await c.replicated();
    const viewBefore = (await status()).view;
    const rolesBefore = await roles();
    viewService.kill('SIGSTOP');
    // The length of the pause is the scenario, not a wait for something to happen.
    await sleep(3000);
    viewService.kill('SIGCONT');
    const continuedAt = Date.now();
    const s = await waitFor(() => settled(continuedAt), { what: 'both masters to ping the continued view service' });
    assert.deepEqual(s.view, viewBefore, 'the pause moved no role');
    await waitFor(async () => (await roles()).join() === rolesBefore.join(), { what: `the masters to take their roles again (${rolesBefore.join(', ')})` });
    const id = await c.client().submit({ type: 'wordcount', dataset: 'lines', partitions: 1 });
    assert.equal((await waitForJob(c, id)).phase, 'done');
  });

  test('both masters SIGKILLed and restarted, view service alive: one becomes primary of a new view, the other its backup, and the job table comes back whole', async (t) => {
    t.diagnostic('Test: backup SIGKILLed, then the primary; both restarted: a new view with one primary and the other backup, every job still there ...');
    const before = await c.replicated();
    const client = c.client();
    const running = await client.submit({ type: 'wordcount', dataset: 'lines', partitions: 2 });
    const table = (await client.list()).map((j) => j.id).sort();
    await kill(c.masters[before.backup].proc);
    await kill(c.masters[before.primary].proc);
    await Promise.all([c.startMaster(0), c.startMaster(1)]);
    const after = await c.replicated(60_000);
    assert.ok(after.viewnum > before.viewnum, `view ${after.viewnum} follows view ${before.viewnum}`);
    assert.deepEqual([after.primary, after.backup].sort(), [0, 1]);
    assert.deepEqual(await roles(), after.primary === 0 ? ['primary', 'backup'] : ['backup', 'primary']);
    assert.deepEqual((await client.list()).map((j) => j.id).sort(), table, 'the new primary restored every job from the durable log');
    assert.equal((await waitForJob(c, running)).phase, 'done', 'the job that ran when both died finishes');
  });
});
