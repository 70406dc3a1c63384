// Prometheus metrics (issue 20) on a live cluster with a cluster secret: the view service, both
// masters and the console answer GET /metrics in the text format with the secret as a bearer, and
// 401 without it; the primary alone exports jobs and tasks; a job whose tasks wait raises
// tandem_tasks_pending until workers take them; op commits are timed; the view service and the
// masters agree on the view and the primary, and after the primary is SIGKILLed the view change
// shows on both. A worker's own listener serves its task metrics the same way, and every metric
// shared/src/metrics.ts names is exported by some process. With TANDEM_METRICS=off, /metrics is a 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { METRICS, authHeader, putDataset } from '@tandem/shared';
import { kill, startCluster, waitForJob, type Cluster } from './harness/cluster.ts';
import { call } from './harness/http.ts';
import { parseProm, samplesOf, valueOf, type Scrape } from './harness/prom.ts';
import { freePort, waitFor } from './harness/wait.ts';

const SECRET = 'a-test-cluster-secret-0123456789';
const CONSOLE_TOKEN = 'a-console-token-not-the-secret';

describe('metrics', { timeout: 300_000 }, () => {
  let c: Cluster;
  let consoleUrl: string;
  let primary: string;
  let backup: string;
  let primaryIndex: number;

  before(async () => {
    // No workers yet: a job's tasks wait in their queue until the test starts one.
    c = await startCluster({ name: 'metrics', workers: 0, masters: 2, env: { TANDEM_SECRET: SECRET } });
    const r = await c.replicated();
    primaryIndex = r.primary;
    primary = c.masters[r.primary].url;
    backup = c.masters[r.backup].url;
    ({ url: consoleUrl } = await c.startConsole({ TANDEM_CONSOLE_TOKEN: CONSOLE_TOKEN }));
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from('the cat\nthe dog\nthe end\n')]), { name: 'words', format: 'text', splitBytes: 1 << 20 });
  });
  after(async () => c?.stop());

  const metricsOf = (base: string, headers: Record<string, string> = authHeader(SECRET)) => call(new URL('/metrics', base).href, { headers });
  async function scrape(base: string): Promise<Scrape> {
    const r = await metricsOf(base);
    assert.equal(r.status, 200, `${base}/metrics answered ${r.status}: ${r.text.slice(0, 200)}`);
    return parseProm(r.text);
  }

  test('each control-plane process answers /metrics only with the cluster secret as a bearer, in the text format', async () => {
    const processes: [string, string][] = [[c.viewUrl, 'view-service'], [primary, 'master'], [backup, 'master'], [consoleUrl, 'console']];
    for (const [base, kind] of processes) {
      const refused: Record<string, Record<string, string>> = { none: {}, wrong: { authorization: 'Bearer not-the-cluster-secret-at-all' } };
      for (const [how, headers] of Object.entries(refused)) {
        const r = await metricsOf(base, headers);
        assert.equal(r.status, 401, `${base}/metrics with ${how} bearer`);
        assert.equal(r.json.code, 'unauthorized');
        assert.doesNotMatch(r.text, /tandem_/, 'a refusal shows no metric');
      }
      const r = await metricsOf(base);
      assert.equal(r.status, 200, base);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const s = parseProm(r.text);
      assert.equal(s.types.get(METRICS.redisRtt.name), 'gauge');
      assert.ok(samplesOf(s, 'process_cpu_seconds_total').length > 0, `${base}: prom-client's default process metrics`);
      // A number of seconds; NaN only when a PING took over its 1 s limit, which a loaded machine may do once.
      await waitFor(async () => {
        const rtt = valueOf(await scrape(base), METRICS.redisRtt.name, { process: kind });
        return rtt !== undefined && Number.isFinite(rtt) && rtt >= 0;
      }, { what: `${base}: a Redis round trip in seconds` });
    }
    // The console's login token is not the key to its metrics: Prometheus holds the cluster secret.
    assert.equal((await metricsOf(consoleUrl, authHeader(CONSOLE_TOKEN))).status, 401);
  });

  test('the primary alone exports jobs and tasks; the view service and both masters agree on the view and the primary', async () => {
    const [vs, p, b] = [await scrape(c.viewUrl), await scrape(primary), await scrape(backup)];
    assert.equal(valueOf(p, METRICS.jobs.name, { phase: 'done' }), 0);
    assert.equal(valueOf(p, METRICS.tasksPending.name), 0);
    assert.equal(valueOf(p, METRICS.tasks.name, { queue: 'map', state: 'waiting' }), 0);
    for (const m of [METRICS.jobs, METRICS.tasks, METRICS.tasksPending]) assert.deepEqual(samplesOf(b, m.name), [], `the backup exports no ${m.name}`);
    const viewnum = valueOf(vs, METRICS.viewNumber.name)!;
    assert.ok(viewnum >= 1);
    assert.equal(valueOf(p, METRICS.viewNumber.name), viewnum);
    assert.equal(valueOf(b, METRICS.viewNumber.name), viewnum);
    assert.equal(valueOf(vs, METRICS.primary.name, { master: primary }), 1);
    assert.equal(valueOf(vs, METRICS.primary.name, { master: backup }), 0);
    assert.equal(valueOf(p, METRICS.primary.name, { master: primary }), 1);
    assert.equal(valueOf(b, METRICS.primary.name, { master: backup }), 0);
    assert.ok(valueOf(vs, METRICS.viewChanges.name)! >= 1, 'the view service decided at least the first view');
    assert.ok(samplesOf(p, METRICS.alerts.name).length > 0 && samplesOf(p, METRICS.alerts.name).every((a) => /^[a-z_]+$/.test(a.labels.kind)), 'alerts by bounded kind');
    assert.equal(valueOf(p, METRICS.alerts.name, { kind: 'data_loss' }), 0);
  });

  test('a job whose tasks wait raises tandem_tasks_pending; workers bring it back to 0, tandem_jobs counts the job done, op commits are timed', async () => {
    const commits = (s: Scrape) => valueOf(s, `${METRICS.opCommit.name}_count`) ?? 0;
    const before = commits(await scrape(primary));
    const jobId = await c.client().submit({ type: 'wordcount', dataset: 'words', partitions: 1 });
    await waitFor(async () => (valueOf(await scrape(primary), METRICS.tasksPending.name) ?? 0) > 0, { what: 'tandem_tasks_pending above 0 while no worker runs', timeoutMs: 60_000 });
    const running = await scrape(primary);
    assert.equal(valueOf(running, METRICS.jobs.name, { phase: 'map' }), 1);
    // A worker's own listener (TANDEM_METRICS_PORT), behind the same secret.
    const workerUrl = `http://127.0.0.1:${await freePort()}`;
    c.startWorker({ TANDEM_METRICS_PORT: new URL(workerUrl).port });
    await waitFor(async () => (await call(new URL('/health', workerUrl).href).catch(() => null))?.status === 200, { what: "the worker's /health" });
    assert.equal((await metricsOf(workerUrl, {})).status, 401, "a worker's /metrics without the bearer");
    const done = await waitForJob(c, jobId);
    assert.equal(done.phase, 'done');
    const after = await waitFor(async () => {
      const s = await scrape(primary);
      return valueOf(s, METRICS.tasksPending.name) === 0 && valueOf(s, METRICS.jobs.name, { phase: 'done' }) === 1 ? s : null;
    }, { what: 'tandem_tasks_pending back to 0 and the job counted done', timeoutMs: 60_000 });
    assert.ok(commits(after) > before, `op commits timed: ${before} before the job, ${commits(after)} after`);
    assert.equal(after.types.get(METRICS.opCommit.name), 'histogram');
    assert.equal(valueOf(after, `${METRICS.opCommit.name}_bucket`, { le: '+Inf' }), commits(after));
    // The worker counted the job's tasks: one map and one reduce attempt won, records and bytes moved.
    const w = await scrape(workerUrl);
    assert.equal(valueOf(w, METRICS.taskAttempts.name, { queue: 'map', outcome: 'won' }), 1);
    assert.equal(valueOf(w, METRICS.taskAttempts.name, { queue: 'reduce', outcome: 'won' }), 1);
    assert.equal(valueOf(w, `${METRICS.taskDuration.name}_count`, { queue: 'map', type: 'wordcount' }), 1);
    assert.equal(valueOf(w, METRICS.taskRecords.name, { direction: 'in' }), 3 + 4, 'three lines into the map task, four words into the reduce task');
    assert.ok(valueOf(w, METRICS.taskBytes.name, { direction: 'read' })! > 0 && valueOf(w, METRICS.taskBytes.name, { direction: 'written' })! > 0);
    // Every metric METRICS names (so every one the Grafana dashboard queries) exists on some live process.
    const scrapes = [await scrape(c.viewUrl), after, await scrape(backup), w, await scrape(consoleUrl)];
    for (const m of Object.values(METRICS)) assert.ok(scrapes.some((sc) => sc.types.get(m.name) === m.type), `${m.name} (${m.type}) is exported by a live process`);
  });

  test('after the primary is SIGKILLed the view service counts the view change and the other master reports itself primary', async () => {
    const changesBefore = valueOf(await scrape(c.viewUrl), METRICS.viewChanges.name)!;
    await kill(c.masters[primaryIndex].proc);
    const vs = await waitFor(async () => {
      const s = await scrape(c.viewUrl);
      return valueOf(s, METRICS.primary.name, { master: backup }) === 1 ? s : null;
    }, { what: 'the view service to name the backup primary', timeoutMs: 60_000 });
    assert.ok(valueOf(vs, METRICS.viewChanges.name)! > changesBefore, 'tandem_view_changes_total rose');
    const b = await waitFor(async () => {
      const s = await scrape(backup);
      return valueOf(s, METRICS.primary.name, { master: backup }) === 1 ? s : null;
    }, { what: 'the backup to report tandem_primary 1', timeoutMs: 60_000 });
    assert.ok(valueOf(b, METRICS.viewNumber.name)! >= valueOf(vs, METRICS.viewNumber.name)!, 'the new primary knows the view that made it primary');
    assert.ok(valueOf(b, METRICS.viewChanges.name)! >= 2, 'the master saw its first view and the one that made it primary');
    assert.equal(valueOf(b, METRICS.jobs.name, { phase: 'done' }), 1, 'the new primary exports the replicated jobs');
  });

  test('with TANDEM_METRICS=off, /metrics is a 404', async () => {
    const { url } = await c.startConsole({ TANDEM_METRICS: 'off' });
    const r = await metricsOf(url);
    assert.equal(r.status, 404);
    assert.match(r.json.error, /TANDEM_METRICS=off/);
  });
});
