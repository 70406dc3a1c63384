// Issue 12: the cluster on several hosts, with the network really cut. Every process runs in its
// own Linux network namespace (test/harness/netns.ts): redis, the view service, masters a and b,
// workers 1 and 2 and a client, joined by veth pairs to two bridges in a "switch" namespace, a data
// network (everyone: the way to Redis) and a control network (view service, masters, client: pings,
// the replica stream, clients' requests). The test process is the "observer" host, on both.
//
// Links are cut with `ip link set ... down` on the switch's end, and one direction of one path with
// a blackhole route (this kernel has no netem, prio or iptables); nothing is SIGSTOPped.
//
//  a) the primary's control link goes down: it still reaches Redis but not the view service or the
//     backup. The backup takes over; the old primary answers no write (nor read) as a success, and
//     after the new view it appends nothing to the durable op log, enqueues no task and records no
//     event (the log's view numbers, the task payloads' `enqueuedBy`, the event log's process names
//     say so); every acknowledged job is in the new primary's table once and finishes with the
//     reference's output; with the link back, the old primary rejoins as backup.
//  b) worker 1's data link goes down while it runs a task (its BullMQ lock owner): worker 2 reruns
//     the task once the lock lapses; back online, worker 1's late commit is discarded and the commit
//     record and the output are worker 2's.
//  c) the primary's replies to a client are lost (a blackhole route toward the client in the
//     primary's namespace) on a kept-alive connection: the submit arrives and is applied, the client
//     times out; with the route gone its retry with the same (clientId, requestId) gets the same job,
//     and exactly one job exists. (A link down would lose the request too, or let the reply through,
//     depending on timing; the route loses only the replies, every time.)
//
// Needs root and iproute2; without them it fails, saying so (.ci/run installs iproute2).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { QUEUES, putDataset, readCommit, readJobEvents, taskJobId, type ClusterEvent, type JobStatus, type TaskPayload } from '@tandem/shared';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { missingForNetns, removeLeftovers } from './harness/netns.ts';
import { startNetCluster, type NetCluster } from './harness/netns-cluster.ts';
import { referenceWordCount } from './harness/reference.ts';
import { waitFor } from './harness/wait.ts';

const books = readdirSync(join(repoRoot, 'datasets')).filter((f) => f.endsWith('.txt')).sort();
const text = books.map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('').slice(0, 200_000).replace(/[^\n]*$/, '');
const reference = referenceWordCount(text);
const missing = missingForNetns();

/** POSTs a submit straight to one master's address; never throws (a network error or time-out is an answer too). */
async function submitTo(url: string, secret: string, clientId: string, timeoutMs: number) {
  try {
    const r = await fetch(new URL('/jobs', url), {
      method: 'POST', signal: AbortSignal.timeout(timeoutMs),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ clientId, requestId: '1', type: 'wordcount', dataset: 'books', partitions: 1, params: {} }),
    });
    return { status: r.status, body: (await r.json()) as { jobId?: string; code?: string } };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const succeeded = (a: Awaited<ReturnType<typeof submitTo>>) => 'status' in a && a.status !== undefined && a.status < 300;

async function finished(c: NetCluster, id: string, timeoutMs = 90_000): Promise<JobStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`job ${id} did not finish within ${timeoutMs} ms`)), timeoutMs)));
  try {
    return await Promise.race([c.client({ retryForMs: 60_000 }).waitUntilFinished(id), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function expectReference(c: NetCluster, id: string) {
  const s = await finished(c, id);
  assert.equal(s.phase, 'done', `job ${id}: ${s.error ?? ''}`);
  assert.equal(await c.output(s), reference, `job ${id}'s output equals the in-process reference`);
}

/** The durable op log's entries: seq, the view of the primary that appended each, the jobs its ops touch. */
async function logViews(c: NetCluster): Promise<{ seq: number; view: number; jobs: string[] }[]> {
  const entries = (await c.redis.xrange(c.keys.masterLog(), '-', '+')) as [string, string[]][];
  return entries.map(([id, f]) => ({
    seq: Number(id.split('-')[0]), view: Number(f[f.indexOf('view') + 1]),
    jobs: (JSON.parse(f[f.indexOf('ops') + 1]) as { jobId?: string }[]).flatMap((op) => (op.jobId ? [op.jobId] : [])),
  }));
}

async function allEvents(c: NetCluster): Promise<ClusterEvent[]> {
  const entries = (await c.redis.xrange(c.keys.events(), '-', '+')) as [string, string[]][];
  return entries.map(([, f]) => JSON.parse(f[1]) as ClusterEvent);
}

/** Every task entry in the queues (any state) with its payload and when it was added. */
async function allTasks(c: NetCluster): Promise<{ id: string; data: TaskPayload; timestamp: number }[]> {
  const out = [];
  for (const name of QUEUES) {
    const q = new Queue(name, { connection: c.redis, prefix: c.keys.bullPrefix(name) });
    try {
      for (const j of await q.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'])) {
        if (j) out.push({ id: j.id!, data: j.data as TaskPayload, timestamp: j.timestamp });
      }
    } finally {
      await q.close();
    }
  }
  return out;
}

/** The JSON lines a child prints, one at a time, each with a time limit. */
function lineReader(p: ChildProcess, what: string) {
  const it = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  return async (timeoutMs = 30_000): Promise<Record<string, string>> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} printed nothing within ${timeoutMs} ms (see test-output/multihost/)`)), timeoutMs)));
    try {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error(`${what} exited (code ${p.exitCode}) before printing its next line (see test-output/multihost/)`);
      return JSON.parse(r.value) as Record<string, string>;
    } finally {
      clearTimeout(timer);
    }
  };
}

describe('several hosts on network namespaces, links really cut', { timeout: 300_000 }, () => {
  let c: NetCluster | undefined;
  before(async () => {
    if (missing) return;
    removeLeftovers();
    c = await startNetCluster({
      name: 'multihost',
      // No backup attempts (a rerun must come from the lapsed lock), no compaction (the test reads the whole op log).
      env: { TANDEM_SPECULATE_MIN_MS: '600000', TANDEM_LOG_SNAPSHOT_EVERY: '100000' },
      workerEnv: { w1: { TANDEM_TEST_STRAGGLER: '1' } },
    });
    await putDataset(c.redis, c.keys, Readable.from([Buffer.from(text)]), { name: 'books', format: 'text', splitBytes: 16 * 1024 });
    await putDataset(c.redis, c.keys, Readable.from([Buffer.from('one line\n')]), { name: 'one', format: 'text', splitBytes: 16 * 1024 });
  });
  after(async () => c?.stop());

  const cluster = () => {
    if (missing) assert.fail(missing);
    assert.ok(c, 'the cluster started');
    return c;
  };

  test('this machine can run it: root, and iproute2\'s ip', () => {
    if (missing) assert.fail(missing);
  });

  test('the primary cut off from the view service and the backup, still reaching Redis: the backup takes over; the old primary answers no write and writes nothing; every acknowledged job finishes exactly once, correct', async () => {
    const c = cluster();
    const { primary, backup, viewnum: oldView } = await c.replicated();
    assert.deepEqual([primary, backup], ['ma', 'mb']);
    // A short time limit: this client's cached primary is about to go silent (a real client waits it out too).
    const client = c.client({ retryForMs: 60_000, timeoutMs: 3000 });
    const slow = await client.submit({ type: 'slowwordcount', dataset: 'books', partitions: 3, params: { mapMs: 400 } });
    const quick = await client.submit({ type: 'wordcount', dataset: 'books', partitions: 2 });
    const maps = (await client.status(slow)).maps.total;
    assert.ok(maps >= 10, `the slow job has ${maps} map tasks`);
    // Mid-job: some of its map tasks committed, not all.
    await waitFor(async () => {
      const n = (await c.redis.hlen(c.keys.commits(slow, 0)));
      return n >= 1 && n < maps - 3;
    }, { what: 'the slow job to be in the middle of its map phase', intervalMs: 20 });
    const oldProc = (await readJobEvents(c.redis, c.keys, slow)).find((e) => e.what === 'job submitted')?.proc;
    assert.match(oldProc ?? '', /^master:/, 'the old primary recorded the submit');

    c.net.link('ma', 'ctrl', 'down');
    let cut = true;
    try {
      // Sent over the data network, which still reaches the old primary, right after the cut.
      const early = submitTo(c.masterDataUrl.ma, c.secret, 'cut-off-early', 15_000);
      const newView = await waitFor(async () => {
        const s = await c.viewStatus();
        return s.view.primary === c.masterUrl.mb && s.view.viewnum > oldView && (await c.role('mb')) === 'primary' ? s.view.viewnum : 0;
      }, { what: 'the backup to become primary', timeoutMs: 30_000 });
      const takeoverAt = Date.now();
      const oldViewEntries = (await logViews(c)).filter((e) => e.view <= oldView).length;
      const oldTasks = (await allTasks(c)).filter((t) => t.data.enqueuedBy?.master === c.masterUrl.ma).map((t) => t.id).sort();

      // After the new view the old primary answers neither a write nor a read as a success.
      const late = await submitTo(c.masterDataUrl.ma, c.secret, 'cut-off-late', 5000);
      assert.ok(!succeeded(late), `the old primary acknowledged a submit after the new view: ${JSON.stringify(late)}`);
      const read = await fetch(new URL('/jobs', c.masterDataUrl.ma), { headers: { authorization: `Bearer ${c.secret}` }, signal: AbortSignal.timeout(5000) }).catch((err: Error) => err);
      assert.ok(read instanceof Error || read.status === 503, `the old primary answered a read with ${read instanceof Error ? read.message : read.status}`);
      const e = await early;
      assert.ok(!succeeded(e), `the old primary acknowledged a submit after it was cut off: ${JSON.stringify(e)}`);

      const afterId = await client.submit({ type: 'wordcount', dataset: 'books', partitions: 1 });
      const table = await client.list();
      for (const id of [slow, quick, afterId]) assert.equal(table.filter((j) => j.id === id).length, 1, `acknowledged job ${id} is in the new primary's table once`);
      assert.equal(table.filter((j) => j.submittedBy.clientId === 'cut-off-late').length, 0, 'the write refused after the new view was not applied');
      for (const id of [slow, quick, afterId]) await expectReference(c, id);

      // The evidence in Redis that the old primary did nothing once superseded.
      const log = await logViews(c);
      for (let i = 1; i < log.length; i++) assert.ok(log[i].view >= log[i - 1].view, `op log batch ${log[i].seq} (view ${log[i].view}) follows one of view ${log[i - 1].view}`);
      assert.equal(log.filter((x) => x.view <= oldView).length, oldViewEntries, 'no batch of the old view was appended after the new primary took over');
      assert.ok(log.some((x) => x.view === newView), 'the new primary appended in its view');
      const tasks = await allTasks(c);
      const byOld = tasks.filter((t) => t.data.enqueuedBy?.master === c.masterUrl.ma);
      assert.deepEqual(byOld.map((t) => t.id).sort(), oldTasks, 'the old primary added no task after the new view');
      for (const t of byOld) assert.ok(t.data.enqueuedBy!.viewnum <= oldView && t.timestamp <= takeoverAt, `task ${t.id} was added by the old primary in view ${t.data.enqueuedBy!.viewnum}`);
      const slowReduces = tasks.filter((t) => t.data.jobId === slow && t.data.kind === 'reduce');
      assert.equal(slowReduces.length, 3);
      for (const t of slowReduces) assert.deepEqual(t.data.enqueuedBy, { master: c.masterUrl.mb, viewnum: newView }, `reduce task ${t.id} was added by the new primary`);
      // The old primary may still apply a batch it had appended before the new primary claimed the log
      // (its state must stay the log's; the new primary applied it too): whatever it records after the
      // new view is about those batches' jobs only.
      const oldViewJobs = new Set(log.filter((x) => x.view <= oldView).flatMap((x) => x.jobs));
      for (const ev of (await allEvents(c)).filter((x) => x.proc === oldProc && x.at > takeoverAt)) {
        assert.ok(oldViewJobs.has(ev.job), `the old primary recorded "${ev.what}" for job ${ev.job}, which no batch of its view touched`);
      }

      // The link back: the old primary rejoins as backup, and the job table is as it was.
      const before = (await client.list()).map((j) => j.id).sort();
      c.net.link('ma', 'ctrl', 'up');
      cut = false;
      const r = await c.replicated();
      assert.deepEqual([r.primary, r.backup], ['mb', 'ma'], 'the old primary comes back as backup');
      const now = await client.list();
      assert.deepEqual(now.map((j) => j.id).sort(), before);
      for (const j of now.filter((x) => [slow, quick, afterId].includes(x.id))) assert.equal(j.phase, 'done');
    } finally {
      if (cut) c.net.link('ma', 'ctrl', 'up');
    }
  });

  test('a worker cut off mid-task: its task is rerun on the other worker once the lock lapses, and its late commit changes nothing', async () => {
    const c = cluster();
    const dir = mkdtempSync(join(tmpdir(), 'tandem-netns-straggler-'));
    // Worker 2 waits offline until worker 1 holds the task, so worker 1 is the one that takes it.
    await c.stopWorker('w2');
    const client = c.client({ retryForMs: 60_000 });
    const id = await client.submit({ type: 'straggler', dataset: 'one', partitions: 1, params: { dir, hangMs: 6000 } });
    await waitFor(() => existsSync(join(dir, 'straggler')) && /^start 0$/m.test(readFileSync(join(dir, 'straggler'), 'utf8')), { what: 'worker 1 to start the map task' });
    const task = taskJobId(id, 0, 'map', 0);
    const map = new Queue('map', { connection: c.redis, prefix: c.keys.bullPrefix('map') });
    try {
      const j = await map.getJob(task);
      assert.equal(await j!.getState(), 'active');
      assert.equal(j!.processedBy, c.workerName('w1'), 'worker 1 holds the task');
      c.net.link('w1', 'data', 'down');
      let cut = true;
      try {
        await c.startWorker('w2');
        const s = await finished(c, id, 60_000);
        assert.equal(s.phase, 'done', s.error ?? '');
        const commit = await readCommit(c.redis, c.keys, { jobId: id, round: 0, kind: 'map', index: 0 });
        assert.equal(commit?.worker, c.workerName('w2'), 'worker 2 committed the rerun');
        const stored = await c.redis.hget(c.keys.commits(id, 0), 'm0');
        const output = await c.output(s);
        assert.equal(output, 'split-0000\t1\n');
        // Back online, worker 1 finishes its attempt and tries to commit it.
        c.net.link('w1', 'data', 'up');
        cut = false;
        const w1 = `worker:${c.workerName('w1')}`;
        const lateCommit = await waitFor(async () => (await readJobEvents(c.redis, c.keys, id)).find((e) => e.proc === w1 && /^task (committed|output discarded)/.test(e.what)), { what: "worker 1's late commit", timeoutMs: 60_000 });
        assert.equal(lateCommit.what, 'task output discarded (another attempt committed first)');
        assert.match(readFileSync(join(dir, 'straggler'), 'utf8'), /^end 0$/m, 'worker 1 did finish its attempt');
        assert.equal(await c.redis.hget(c.keys.commits(id, 0), 'm0'), stored, "the commit record is still worker 2's");
        assert.equal(await c.output(await client.status(id)), output, 'the output is unchanged');
        const events = await readJobEvents(c.redis, c.keys, id);
        assert.equal(events.filter((e) => e.what === 'task committed' && e.task === 'map 0').length, 1, 'the map task committed once');
      } finally {
        if (cut) c.net.link('w1', 'data', 'up');
      }
    } finally {
      await map.close();
    }
  });

  test("a client whose replies from the primary are lost mid-submit: the request is applied once, and the retry with the same ids gets that job", async () => {
    const c = cluster();
    const { primary } = await c.replicated();
    const clientId = `netns-client-${process.pid}`;
    const p = c.spawnScript('client', 'test/fixtures/netns-client.ts', [clientId, '7', 'books'], 'client');
    const next = lineReader(p, 'the client');
    const connected = await next();
    assert.equal(connected.primary, c.masterUrl[primary]);
    const observer = c.client();
    c.net.blackhole(primary, c.net.addr('client', 'ctrl'), 'add');
    let routed = true;
    try {
      p.stdin!.write('submit\n');
      const applied = await waitFor(async () => {
        const mine = (await observer.list()).filter((j) => j.submittedBy.clientId === clientId);
        return mine.length > 0 ? mine : null;
      }, { what: "the client's submit to reach the primary" });
      assert.equal(applied.length, 1);
      const first = await next();
      assert.equal(first.event, 'failed', `the first attempt got its reply: ${JSON.stringify(first)}`);
      assert.match(first.error, /did not answer within 1500 ms/);
      c.net.blackhole(primary, c.net.addr('client', 'ctrl'), 'del');
      routed = false;
      p.stdin!.write('retry\n');
      const second = await next();
      assert.equal(second.event, 'answered', JSON.stringify(second));
      assert.equal(second.jobId, applied[0].id, 'the retry is answered with the job the first attempt made');
      const mine = (await observer.list()).filter((j) => j.submittedBy.clientId === clientId);
      assert.deepEqual(mine.map((j) => `${j.id} ${j.submittedBy.requestId}`), [`${second.jobId} 7`], 'exactly one job for the client');
      await expectReference(c, second.jobId);
    } finally {
      if (routed) c.net.blackhole(primary, c.net.addr('client', 'ctrl'), 'del');
      p.kill('SIGKILL');
    }
  });

  test('stopping the cluster removes every namespace and interface the run made', async () => {
    const c = cluster();
    const namespaces = [...c.net.namespaces];
    assert.equal(namespaces.length, 8, 'the switch and seven hosts');
    await c.stop();
    const listed = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]);
    assert.deepEqual(namespaces.filter((n) => listed.includes(n)), [], 'no namespace of this run is left');
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    assert.doesNotMatch(links, new RegExp(`: td[dc]${process.pid}[@:]`), 'the observer interfaces are gone');
  });
});
