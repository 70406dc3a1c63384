// One control plane per Redis and prefix (docs/DESIGN.md §5.1, rule 12), with real processes: a
// second view service and master started on other ports against the same Redis and prefix (what a
// second `tandem up` with the first one's export line did) leave the running cluster alone. The
// second view service waits as a standby, naming the holder; SIGKILL the holder, and the standby
// takes over once the lease lapses, and its cluster serves the same job table.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MasterClient, putDataset, requestJson, type MasterHealth, type ViewStatus } from '@tandem/shared';
import { jobOutput, kill, startCluster, waitForJob, waitForWorkers, type Cluster } from './harness/cluster.ts';
import { referenceWordCount } from './harness/reference.ts';
import { run, startUp, upEnv } from './harness/up.ts';
import { freePort, waitFor } from './harness/wait.ts';
import { repoRoot, spawnApp } from '../apps/cli/src/processes.ts';

const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
const text = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('').slice(0, 100_000).replace(/[^\n]*$/, '');
const reference = referenceWordCount(text);

const clusters: Cluster[] = [];
const extra: ChildProcess[] = [];
const ups: { killAll(): void }[] = [];
after(async () => {
  await Promise.all(extra.map((p) => kill(p)));
  await Promise.all(clusters.map((c) => c.stop()));
  for (const u of ups) u.killAll();
});

interface Refusal { ok: false; code: string; error: string }

async function runWordCount(c: Cluster, client: MasterClient): Promise<string> {
  const id = await client.submit({ type: 'wordcount', dataset: 'books', partitions: 2 });
  // Through the given client: after the takeover, the first cluster's view service is gone.
  const s = await waitForJob({ ...c, client: () => client }, id, 90_000);
  assert.equal(s.phase, 'done', `job ${id}: ${s.error ?? ''}`);
  assert.equal(await jobOutput(c, s), reference, `job ${id}'s output`);
  return id;
}

describe('one control plane per Redis and prefix', { timeout: 240_000 }, () => {
  test('a second view service and master on the same Redis and prefix wait as a standby; the first cluster keeps serving; the standby takes over once the holder is SIGKILLed', async () => {
    console.log('Test: a second control plane on the same Redis and prefix ...');
    const c = await startCluster({ name: 'control-plane', masters: 2, workers: 2 });
    clusters.push(c);
    await c.replicated();
    await waitForWorkers(c);
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(text)]), { name: 'books', format: 'text', splitBytes: 16 * 1024 });
    const client = c.client();
    const first = await runWordCount(c, client);
    const look = <T>(base: string, path: string) => requestJson<T>(new URL(path, base).href, { timeoutMs: 3000, secret: c.env.TANDEM_SECRET });
    const before = (await look<ViewStatus>(c.viewUrl, '/status')).body;
    assert.ok(before.lease, 'the first view service says which lease it holds');
    assert.equal(before.lease!.url, c.viewUrl);
    const fenceBefore = await c.redis.client().get(c.keys.masterFence());

    // The second control plane: a view service and a master on other ports, same Redis and prefix.
    const viewPort2 = await freePort();
    const viewUrl2 = `http://127.0.0.1:${viewPort2}`;
    const env2 = { ...c.env, TANDEM_VIEW_PORT: String(viewPort2), TANDEM_VIEW_URL: viewUrl2 };
    let vsLog = '';
    const vs2 = spawnApp('view-service', env2, ['ignore', 'ignore', 'pipe']);
    extra.push(vs2);
    vs2.stderr!.on('data', (d) => (vsLog += d));
    vs2.stderr!.pipe(createWriteStream(join(c.outDir, 'view-service-2.log')));
    const url1 = c.viewUrl.replace(/[.:/]/g, '\\$&');
    const holder = new RegExp(`standby view service: the view-service lease for prefix "${c.prefix}" is held by ${url1} since \\d{4}-\\d\\d-\\d\\dT`);
    // The log is JSON: its quotes are escaped.
    const holderLogged = new RegExp(`standby view service: the view-service lease for prefix \\\\"${c.prefix}\\\\" is held by ${url1} since \\d{4}-`);
    await waitFor(() => holderLogged.test(vsLog), { what: 'the second view service to log that it is a standby, naming the holder', timeoutMs: 30_000 });
    for (const path of ['/view', '/status']) {
      const r = await look<Refusal>(viewUrl2, path);
      assert.equal(r.status, 503, `the standby's ${path}`);
      assert.equal(r.body.code, 'unavailable');
      assert.match(r.body.error, holder, `the standby's ${path} names the holder`);
    }
    const masterPort2 = await freePort();
    const master2 = `http://127.0.0.1:${masterPort2}`;
    const m2 = spawnApp('master', { ...env2, TANDEM_MASTER_PORT: String(masterPort2), TANDEM_MASTER_ADVERTISE_URL: master2 }, ['ignore', 'ignore', 'pipe']);
    extra.push(m2);
    m2.stderr!.pipe(createWriteStream(join(c.outDir, 'master-2.log')));
    // The second master serves nothing, and says why in /health.
    const m2health = await waitFor(async () => {
      const h = (await look<MasterHealth>(master2, '/health')).body;
      return h.alerts?.some((a) => holder.test(a)) ? h : null;
    }, { what: "the second master's /health to say the view service is a standby", timeoutMs: 30_000 });
    assert.equal(m2health.role, 'idle');

    // The first cluster is untouched: its view service still decides (under the same lease), its
    // own masters are primary and backup (a failover between them under load is its business), no
    // view it did not make claimed the durable op log, and a job runs to the exact output.
    await runWordCount(c, client);
    const during = (await look<ViewStatus>(c.viewUrl, '/status')).body;
    assert.deepEqual(during.lease, before.lease);
    const own = c.masters.map((m) => m.url);
    assert.ok(own.includes(during.view.primary), `the primary ${during.view.primary} is one of the first cluster's masters`);
    assert.ok(!during.servers.some((x) => x.name === master2), 'the second master never reached the first view service');
    const fence = Number(await c.redis.client().get(c.keys.masterFence()));
    assert.ok(fence >= Number(fenceBefore) && fence <= during.view.viewnum, `the log's fence (${fence}) is a view of the first view service (at ${during.view.viewnum})`);
    assert.equal(vs2.exitCode, null, 'the standby keeps waiting');
    const jobsBefore = (await client.list()).map((j) => j.id).sort();
    assert.ok(jobsBefore.includes(first));

    // The holder dies: the standby takes over once the lease lapses, resumes the stored view, and,
    // since only its own master pings it, makes that master primary, which restores the job table.
    await kill(c.viewService);
    const killedAt = Date.now();
    const took = await waitFor(async () => {
      const r = await look<ViewStatus>(viewUrl2, '/status');
      return r.status === 200 ? r.body : null;
    }, { what: 'the standby to take the lease over', timeoutMs: 30_000 });
    // Measured, not asserted (the machine is shared): the lease's TTL is the bulk of it.
    console.log(`the standby answered as holder ${Date.now() - killedAt} ms after the holder's SIGKILL (TTL ${c.env.TANDEM_VIEW_LEASE_MS ?? 2000} ms)`);
    assert.equal(took.lease!.url, viewUrl2);
    assert.ok(took.lease!.epoch > before.lease!.epoch, `a new lease epoch (${took.lease!.epoch} after ${before.lease!.epoch})`);
    assert.ok(took.view.viewnum >= before.view.viewnum, 'it resumed the stored view rather than starting again at view 1');
    assert.match(vsLog, /took the view-service lease/);
    await waitFor(async () => (await look<MasterHealth>(master2, '/health')).body.role === 'primary', { what: 'the second master to become primary under the new holder', timeoutMs: 60_000 });
    console.log(`its master was primary ${Date.now() - killedAt} ms after the SIGKILL`);
    const client2 = new MasterClient({ viewUrl: viewUrl2, secret: c.env.TANDEM_SECRET });
    const jobsAfter = (await client2.list()).map((j) => j.id).sort();
    assert.deepEqual(jobsAfter, jobsBefore, 'the job table is intact');
    await runWordCount(c, client2);
    // The first cluster's masters lost their view service, and say so.
    const a = await waitFor(async () => {
      const h = (await look<MasterHealth>(c.masters[0].url, '/health')).body;
      return h.alerts?.some((x) => /gets no view from the view service/.test(x)) ? h : null;
    }, { what: "master a's /health to say it gets no view", timeoutMs: 30_000 });
    assert.notEqual(a.role, 'primary');
  });

  test('a holder SIGSTOPped past its lease answers nothing as authority once resumed: the standby took over, and the stored view is the new holder\'s', async () => {
    console.log('Test: the lease holder is paused past its lease ...');
    const c = await startCluster({ name: 'control-plane-pause', masters: 1, workers: 1 });
    clusters.push(c);
    await c.primary();
    const look = <T>(base: string, path: string, timeoutMs = 3000) => requestJson<T>(new URL(path, base).href, { timeoutMs, secret: c.env.TANDEM_SECRET });
    const viewPort2 = await freePort();
    const viewUrl2 = `http://127.0.0.1:${viewPort2}`;
    const env2 = { ...c.env, TANDEM_VIEW_PORT: String(viewPort2), TANDEM_VIEW_URL: viewUrl2 };
    const vs2 = spawnApp('view-service', env2, ['ignore', 'ignore', 'pipe']);
    extra.push(vs2);
    vs2.stderr!.pipe(createWriteStream(join(c.outDir, 'view-service-2.log')));
    await waitFor(async () => (await look<Refusal>(viewUrl2, '/view')).status === 503, { what: 'the second view service to answer as a standby', timeoutMs: 30_000 });
    const masterPort2 = await freePort();
    const master2 = `http://127.0.0.1:${masterPort2}`;
    const m2 = spawnApp('master', { ...env2, TANDEM_MASTER_PORT: String(masterPort2), TANDEM_MASTER_ADVERTISE_URL: master2 }, ['ignore', 'ignore', 'pipe']);
    extra.push(m2);
    m2.stderr!.pipe(createWriteStream(join(c.outDir, 'master-2.log')));
    await waitFor(async () => (await look(master2, '/health')).status === 200, { what: 'the second master to listen', timeoutMs: 30_000 });
    let vsLog = '';
    c.viewService.stderr!.on('data', (d) => (vsLog += d));

    c.viewService.kill('SIGSTOP');
    try {
      // Asked while it is stopped: answered only once it runs again. On a connection of its own: on a
      // kept-alive one the resumed server may first close it for idling through the pause (ECONNRESET).
      const pending = fetch(new URL('/view', c.viewUrl), {
        headers: c.env.TANDEM_SECRET ? { authorization: `Bearer ${c.env.TANDEM_SECRET}` } : {},
        signal: AbortSignal.timeout(120_000),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Refusal }));
      await waitFor(async () => (await look(viewUrl2, '/status')).status === 200, { what: 'the standby to take the lapsed lease', timeoutMs: 60_000 });
      await waitFor(async () => (await look<MasterHealth>(master2, '/health')).body.role === 'primary', { what: 'the second master to become primary', timeoutMs: 60_000 });
      c.viewService.kill('SIGCONT');
      const r = await pending;
      assert.equal(r.status, 503, 'the first answer after the pause is a refusal, not the old view');
      // Which refusal depends on whether its first call to Redis after the pause has answered yet.
      const heldBy2 = new RegExp(`held by ${viewUrl2.replace(/[.:/]/g, '\\$&')} since`);
      assert.match(r.body.error, new RegExp(`${heldBy2.source}|this view service's lease for prefix "${c.prefix}" lapsed`));
      await waitFor(async () => heldBy2.test((await look<Refusal>(c.viewUrl, '/view')).body.error), { what: 'the resumed view service to name the new holder' });
    } finally {
      c.viewService.kill('SIGCONT');
    }
    const st = await waitFor(async () => {
      const x = await look<Refusal>(c.viewUrl, '/status');
      return x.status === 503 && new RegExp(`held by ${viewUrl2.replace(/[.:/]/g, '\\$&')} since`).test(x.body.error) ? x : null;
    }, { what: 'the resumed view service to name the new holder' });
    assert.equal(st.status, 503);
    await waitFor(() => /lost the view-service lease/.test(vsLog), { what: 'the resumed view service to log that it lost the lease' });
    const stored = JSON.parse((await c.redis.client().get(c.keys.viewService()))!) as { view: { primary: string } };
    assert.equal(stored.view.primary, master2, 'the stored view is the new holder\'s: the resumed one wrote nothing');
    // The first cluster's master gets no view, and says why in /health.
    await waitFor(async () => (await look<MasterHealth>(c.masters[0].url, '/health')).body.alerts?.some((x) => /gets no view from the view service.*standby view service/.test(x)), { what: "master a's /health to name the standby state", timeoutMs: 30_000 });
  });

  test('a primary fenced out of the durable op log by a newer view steps down once, says so, and serves again once the view service moves past that view', async () => {
    console.log('Test: the primary finds the log claimed by a newer view ...');
    const c = await startCluster({ name: 'control-plane-fence', masters: 2, workers: 1 });
    clusters.push(c);
    await c.replicated();
    await waitForWorkers(c);
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(text)]), { name: 'books', format: 'text', splitBytes: 16 * 1024 });
    let masterLog = '';
    c.masters[0].proc.stderr!.on('data', (d) => (masterLog += d));
    const client = c.client();
    const look = <T>(base: string, path: string) => requestJson<T>(new URL(path, base).href, { timeoutMs: 3000, secret: c.env.TANDEM_SECRET });
    const before = (await look<ViewStatus>(c.viewUrl, '/status')).body;
    // What a primary under another view service would leave: the log claimed by a view far ahead.
    const fence = before.view.viewnum + 100;
    await c.redis.client().set(c.keys.masterFence(), String(fence));
    // The next append (this submit's) is refused: the primary steps down; the client's retries find the new primary.
    await runWordCount(c, client);
    const after = (await look<ViewStatus>(c.viewUrl, '/status')).body;
    assert.ok(after.view.viewnum > fence, `the view service numbered its views past the fence (view ${after.view.viewnum}, fence ${fence})`);
    const fencedLines = masterLog.split('\n').filter((l) => l.includes(`view ${fence} claimed the durable op log`));
    assert.equal(fencedLines.length, 1, `master a says once that it was fenced:\n${fencedLines.join('\n')}`);
    assert.doesNotMatch(masterLog, /could not bring the state up to the durable log/, 'no retry loop');
    assert.ok(Number(await c.redis.client().get(c.keys.masterFence())) > fence, 'the new primary claimed the log past the fence');
  });

  test('a second tandem up on the same Redis and prefix refuses to start, naming the cluster that runs there', { timeout: 180_000 }, async () => {
    const redisPort = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'tandem-control-plane-'));
    const one = await upEnv(redisPort, dataDir);
    const started = startUp(one.env, 1);
    ups.push(started);
    await waitFor(() => started.out().includes('tandem: Ctrl-C stops everything'), { what: 'the first tandem up to be up', timeoutMs: 90_000 });
    // As a user would: the first one's export line set (same Redis, prefix and data folder), other ports.
    const two = await upEnv(redisPort, dataDir);
    const second = await run(['up', '--workers', '1'], two.env);
    assert.notEqual(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`another Tandem cluster runs on this Redis \\(redis://127\\.0\\.0\\.1:${redisPort}\\) with prefix "tandem": its view service at http://127\\.0\\.0\\.1:${one.viewPort} has held the view-service lease since \\d{4}-`));
    assert.match(second.stderr, /nothing was started/);
    assert.doesNotMatch(second.stdout, /tandem: up:/);
    // The first cluster still serves.
    const view = await run(['view'], one.env);
    assert.equal(view.code, 0, view.stderr);
    assert.match(view.stdout, /acknowledged by the primary/);
    const stopped = new Promise<number | null>((r) => started.proc.once('exit', (code) => r(code)));
    started.proc.kill('SIGINT');
    assert.equal(await stopped, 0);
  });
});
