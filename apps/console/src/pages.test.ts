// The job page's live part rendered from statuses as the master sends them (pure: no cluster). It
// names iterations and stages, never round indices; it shows the counters the status holds; its
// events list starts closed; everything that came from a user is escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { causalTimeline, jobStatusSchema, roundName, type ClusterEvent, type JobStatus } from '@tandem/shared';
import { jobLive } from './pages/jobs.ts';

const tasks = (total: number, committed: number, running: number) => ({ total, pending: total - committed - running, queued: 0, running, committed });
const counters = (attempts: number, failures = 0) => ({ recordsIn: 10, recordsOut: 5, bytesIn: 100, bytesOut: 50, attempts, failures, speculative: 0 });

function status(over: Partial<JobStatus>): JobStatus {
  return jobStatusSchema.parse({
    id: 'jtest', type: 'pagerank', dataset: 'deps', datasetVersion: 'v1', params: {}, phase: 'reduce', round: 0,
    maps: tasks(0, 0, 0), reduces: tasks(2, 1, 1), partitions: 2, counters: { map: counters(2), reduce: counters(3) },
    submittedAt: 1_000, finishedAt: null, error: null, cleaned: false, running: [1], alerts: [], version: 7,
    submittedBy: { clientId: 'c', requestId: 'r' }, plan: { setup: 2, iterations: 20, tol: 1e-8, chainFrom: 1 }, rounds: [], outputRound: false, outputLost: null,
    ...over,
  });
}

const rounds = (n: number, delta = 0.5) => Array.from({ length: n }, (_, round) => ({ round, stats: (round < 2 ? { nodes: 9 } : { nodes: 9, delta: delta / 10 ** round }) as Record<string, number>, finishedAt: 2_000 + round }));
const stages = { setup: 'building the graph', output: 'writing ranks' };
const live = (s: JobStatus, events: ClusterEvent[] = []) => jobLive('csrf', s, causalTimeline(events), null, 5_000, stages).value;
/** The part above the events list: what the job's page says about where the job is. */
const aboveEvents = (page: string) => page.slice(0, page.indexOf('<h2>Events</h2>'));

test('an iterative job is shown by stage and iteration, never by round index', () => {
  const building = live(status({ round: 1, rounds: rounds(1) }));
  assert.match(building, /0 of at most 20 iterations \(building the graph, step 2 of 2\)/);
  assert.match(building, /building the graph, step 2 of 2: reduce 1\/2 tasks/);
  const iterating = live(status({ round: 6, rounds: rounds(6) }));
  assert.match(iterating, /4 of at most 20 iterations \(iteration 5\)/);
  assert.match(iterating, /iteration 5: reduce 1\/2 tasks/);
  const writing = live(status({ round: 8, rounds: rounds(8), outputRound: true }));
  assert.match(writing, /6 of at most 20 iterations \(writing ranks\)/);
  const done = live(status({ round: 8, rounds: rounds(8), outputRound: true, phase: 'done', finishedAt: 4_000, reduces: tasks(2, 2, 0), running: [] }));
  assert.match(done, /6 of at most 20 iterations \(done\)/);
  for (const page of [building, iterating, writing, done]) assert.doesNotMatch(aboveEvents(page), /round \d/i);
  assert.equal(roundName(status({ round: 6, rounds: rounds(6) }), 3), 'iteration 2', 'round 3 is the second iteration');
  assert.equal(roundName(status({ round: 0 }), 0), 'set-up, step 1 of 2', 'without the type\'s names, generic ones');
  assert.equal(roundName(status({ plan: null }), 0), '', 'a one-round job names no round');
});

test('before the first iteration the chart says so, and the caption mentions a tolerance line only when one is drawn', () => {
  const chart = (page: string) => /<h2>Convergence<\/h2>([\s\S]*?)<\/figure>/.exec(page)![1];
  const first = live(status({ round: 0 }));
  assert.match(chart(first), /no iterations yet/);
  assert.doesNotMatch(chart(first), /iteration \(1 to 0\)|1e-1[56]|dashed/);
  const later = live(status({ round: 4, rounds: rounds(4) }));
  assert.match(chart(later), /class="tol"[\s\S]*<figcaption>[^<]*the dashed line is the tolerance \(1e-8\)/);
  const tol0 = live(status({ round: 4, rounds: rounds(4), plan: { setup: 2, iterations: 20, tol: 0, chainFrom: 1 } }));
  assert.doesNotMatch(chart(tol0), /dashed|class="tol"/);
  assert.doesNotMatch(tol0, /stops below 0/);
  assert.match(tol0, /tol 0: runs every iteration/);
});

test('the counters and running tasks are what the status says, for a failed job too', () => {
  const failed = live(status({
    type: 'wordcount', plan: null, phase: 'failed', finishedAt: 4_000, error: 'map 0 failed 3 times', round: 0,
    maps: tasks(1, 0, 0), reduces: tasks(1, 0, 0), running: [], counters: { map: counters(3, 3), reduce: counters(0) },
  }));
  assert.match(failed, /<tr><th>Attempts<\/th><td>3<\/td><td>0<\/td><\/tr>/);
  assert.match(failed, /<tr><th>Failed attempts<\/th><td>3<\/td><td>0<\/td><\/tr>/);
  assert.match(failed, /map: 0\/1 tasks \(0 running\)/);
  assert.doesNotMatch(failed, /Cancel the job/);
});

test('the events list starts closed, counts its events and shows the latest few', () => {
  const events: ClusterEvent[] = Array.from({ length: 60 }, (_, i) => ({ job: 'jtest', proc: 'master:m:1', what: `step ${i + 1}`, at: i, lamport: i + 1, vc: { m: i + 1 } }));
  const page = live(status({ round: 0 }), events);
  assert.match(page, /<details id="events">\s*<summary>All 60 events from the master and the workers/);
  assert.doesNotMatch(page, /<details[^>]*\bopen/);
  const latest = /<table class="events latest">([\s\S]*?)<\/table>/.exec(page)![1];
  assert.deepEqual([...latest.matchAll(/<td>(step \d+)<\/td>/g)].map((m) => m[1]), ['step 56', 'step 57', 'step 58', 'step 59', 'step 60']);
  assert.match(live(status({ round: 0 })), /No events yet/);
});

test('user-supplied strings on the job page are escaped', () => {
  const evil = `<img src=x onerror="alert(1)">`;
  const page = live(status({ dataset: evil, error: evil, params: { [evil]: evil }, alerts: [evil] }), [
    { job: 'jtest', proc: `worker:${evil}`, what: 'task attempt failed', detail: `jtest.2.r.0: ${evil}`, at: 1, lamport: 1, vc: {} },
  ]);
  assert.doesNotMatch(page, /<img/);
  assert.match(page, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;/);
  // A plugin job type's stage names are the type author's strings: escaped in the bars and the timeline's titles.
  const attempt: ClusterEvent[] = [{ job: 'jtest', proc: 'worker:w:1', what: 'task started', detail: 'jtest.0.m.0', at: 1, lamport: 1, vc: {} }];
  const named = jobLive('csrf', status({ round: 0 }), causalTimeline(attempt), null, 5_000, { setup: evil, output: evil }).value;
  assert.doesNotMatch(named, /<img/);
  assert.match(named, /<title>map 0 \(&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;, step 1 of 2\): running/);
});

test("a verified job's page says how far verification went; a job without --verify says nothing of it", () => {
  const one = { type: 'wordcount', plan: null, maps: tasks(3, 3, 0), reduces: tasks(2, 2, 0), running: [] };
  assert.match(live(status({ ...one, phase: 'done', finishedAt: 4_000, verify: { tasks: 5, sameWorker: 0 } })), /<p class="verify">verified: every task ran twice, outputs identical, each time on two different workers<\/p>/);
  assert.match(live(status({ ...one, phase: 'reduce', verify: { tasks: 3, sameWorker: 3 } })), /<p class="verify">verify: every task runs twice and must write identical outputs; 3 tasks verified so far<\/p>/);
  assert.doesNotMatch(live(status({ ...one, phase: 'done', finishedAt: 4_000 })), /class="verify"|verified/);
});
