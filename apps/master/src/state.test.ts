import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CLIENTS, MAX_REPLIES_PER_CLIENT, apply, emptyState, type CommitRecord, type JobSpec, type MasterState, type Op } from './state.ts';

const spec = (maps: number, partitions: number): JobSpec => ({
  type: 'wordcount', params: {}, partitions,
  dataset: { name: 'books', version: 'v1', format: 'text', bytes: 100, firstRecords: Array.from({ length: maps }, (_, i) => 1 + i * 10), records: maps * 10 },
});
const commit = (ms = 10): CommitRecord => ({
  attempt: 'a', worker: 'w', startedAt: 0, ms, recordsIn: 10, recordsOut: 3, bytesIn: 100, bytesOut: 30, failedAttempts: 0, stalls: 0,
});

function run(ops: Op[], s: MasterState = emptyState()) {
  let reply;
  for (const op of ops) ({ state: s, reply } = apply(s, op));
  return { state: s, reply };
}

const submit = (jobId = 'j1', requestId = 'r1', maps = 2, partitions = 1): Op =>
  ({ op: 'submit', at: 1, clientId: 'c1', requestId, jobId, spec: spec(maps, partitions) });
const done = (kind: 'map' | 'reduce', index: number, jobId = 'j1', round = 0): Op =>
  ({ op: 'committed', at: 5, jobId, round, kind, index, commit: commit() });

test('submit creates a job in the map phase with one map task per split', () => {
  const { state, reply } = run([submit('j1', 'r1', 3, 2)]);
  assert.deepEqual(reply, { ok: true, jobId: 'j1', phase: 'map' });
  assert.equal(state.jobs.j1.maps.length, 3);
  assert.equal(state.jobs.j1.reduces.length, 2);
  assert.ok(state.jobs.j1.maps.every((t) => t.state === 'pending'));
});

test('a retried submit returns the first reply and creates no second job', () => {
  const first = run([submit('j1', 'r1')]);
  const again = apply(first.state, submit('j2', 'r1'));
  assert.equal(again.state, first.state);
  assert.deepEqual(again.reply, first.reply);
  assert.deepEqual(Object.keys(again.state.jobs), ['j1']);
});

test('apply never mutates the state it is given', () => {
  const s0 = run([submit()]).state;
  const frozen = JSON.stringify(s0);
  run([{ op: 'enqueued', at: 2, jobId: 'j1', round: 0, kind: 'map', indices: [0, 1] }, done('map', 0), done('map', 1)], s0);
  assert.equal(JSON.stringify(s0), frozen);
});

test('barrier: reduce starts only after every map task committed, then the job is done', () => {
  let { state } = run([submit('j1', 'r1', 2, 2), { op: 'enqueued', at: 2, jobId: 'j1', round: 0, kind: 'map', indices: [0, 1] }, done('map', 0)]);
  assert.equal(state.jobs.j1.phase, 'map');
  ({ state } = run([done('map', 1)], state));
  assert.equal(state.jobs.j1.phase, 'reduce');
  ({ state } = run([done('reduce', 0)], state));
  assert.equal(state.jobs.j1.phase, 'reduce');
  ({ state } = run([done('reduce', 1)], state));
  assert.equal(state.jobs.j1.phase, 'done');
  assert.equal(state.jobs.j1.finishedAt, 5);
  assert.equal(state.jobs.j1.counters.map.recordsIn, 20);
  assert.equal(state.jobs.j1.counters.reduce.attempts, 2);
});

test('a second commit of the same task changes nothing (first commit wins)', () => {
  const s1 = run([submit('j1', 'r1', 2), done('map', 0)]).state;
  const s2 = apply(s1, { ...done('map', 0), commit: commit(999) } as Op).state;
  assert.equal(s2, s1);
});

test('ops for another phase or iteration are stale and ignored', () => {
  const s1 = run([submit('j1', 'r1', 1), done('map', 0)]).state;
  assert.equal(s1.jobs.j1.phase, 'reduce');
  assert.equal(apply(s1, { op: 'started', at: 9, jobId: 'j1', round: 0, kind: 'map', index: 0 }).state, s1);
  assert.equal(apply(s1, done('reduce', 0, 'j1', 3)).state, s1);
  assert.equal(apply(s1, done('reduce', 0, 'nope')).state, s1);
});

test('a failed task fails the job with its reason; later commits do not revive it', () => {
  const s1 = run([submit(), { op: 'failed', at: 3, jobId: 'j1', round: 0, kind: 'map', index: 1, reason: 'map task 1 failed: boom' }]).state;
  assert.equal(s1.jobs.j1.phase, 'failed');
  assert.equal(s1.jobs.j1.error, 'map task 1 failed: boom');
  const s2 = run([done('map', 0), done('map', 1)], s1).state;
  assert.equal(s2.jobs.j1.phase, 'failed');
});

test("a failed task's attempts are counted in the job's counters (it never commits); one when the count is unknown", () => {
  const fail = (attempts?: number): Op => ({ op: 'failed', at: 3, jobId: 'j1', round: 0, kind: 'map', index: 1, reason: 'boom', attempts });
  const s1 = run([submit(), done('map', 0), fail(3)]).state;
  assert.deepEqual([s1.jobs.j1.counters.map.attempts, s1.jobs.j1.counters.map.failures], [4, 3]);
  assert.deepEqual(run([fail(3)], s1).state, s1, 'a second failure of a failed job changes nothing');
  assert.deepEqual([run([submit(), fail()]).state.jobs.j1.counters.map.attempts], [1]);
});

test('cancel stops a running job; cancelling a finished job is refused', () => {
  const s1 = run([submit(), { op: 'cancel', at: 3, clientId: 'c2', requestId: 'x', jobId: 'j1' }]);
  assert.equal(s1.state.jobs.j1.phase, 'cancelled');
  assert.deepEqual(s1.reply, { ok: true, jobId: 'j1', phase: 'cancelled' });
  const s2 = apply(s1.state, { op: 'cancel', at: 4, clientId: 'c2', requestId: 'y', jobId: 'j1' });
  assert.equal(s2.reply?.ok, false);
  assert.match((s2.reply as { error: string }).error, /already cancelled/);
});

test('remove needs a finished, cleaned job', () => {
  const s1 = run([submit('j1', 'r1', 1, 1), done('map', 0), done('reduce', 0)]).state;
  const refused = apply(s1, { op: 'remove', at: 6, clientId: 'c1', requestId: 'r2', jobId: 'j1' });
  assert.equal(refused.reply?.ok, false);
  const s2 = apply(s1, { op: 'cleaned', at: 7, jobId: 'j1' }).state;
  const removed = apply(s2, { op: 'remove', at: 8, clientId: 'c1', requestId: 'r3', jobId: 'j1' });
  assert.equal(removed.reply?.ok, true);
  assert.deepEqual(Object.keys(removed.state.jobs), []);
});

test('started and speculated track running tasks; events id is recorded', () => {
  const s = run([
    submit(), { op: 'enqueued', at: 2, jobId: 'j1', round: 0, kind: 'map', indices: [0] },
    { op: 'started', at: 3, jobId: 'j1', round: 0, kind: 'map', index: 0 },
    { op: 'speculated', at: 4, jobId: 'j1', round: 0, kind: 'map', index: 0 },
    { op: 'eventsRead', queue: 'map', id: '17-0' },
  ]).state;
  assert.equal(s.jobs.j1.maps[0].state, 'running');
  assert.equal(s.jobs.j1.maps[0].startedAt, 3);
  assert.equal(s.jobs.j1.maps[0].speculative, 1);
  assert.equal(s.jobs.j1.maps[1].state, 'pending');
  assert.equal(s.lastEventIds.map, '17-0');
});

test('replaying the same ops gives the same state (what a backup relies on)', () => {
  const ops: Op[] = [submit('j1', 'r1', 3, 2), { op: 'enqueued', at: 2, jobId: 'j1', round: 0, kind: 'map', indices: [0, 1, 2] },
    done('map', 2), done('map', 0), done('map', 1), done('reduce', 1)];
  assert.deepEqual(run(ops).state, run(ops).state);
});

describe('iterative jobs', () => {
  const iterative = (setup: number, iterations: number, tol: number, maps = 3): Op =>
    ({ op: 'submit', at: 1, clientId: 'c1', requestId: 'r1', jobId: 'j1', spec: { ...spec(maps, 2), rounds: { setup, iterations, tol } } });
  const committed = (kind: 'map' | 'reduce', index: number, round: number, stats?: Record<string, number>): Op =>
    ({ op: 'committed', at: 7 + round, jobId: 'j1', round, kind, index, commit: { ...commit(), stats } });
  /** A whole round: every map task reports dangling mass, every reduce task its part of the delta. */
  const round = (round: number, maps: number, deltas: [number, number]): Op[] => [
    ...Array.from({ length: maps }, (_, i) => committed('map', i, round, { dangling: 0.25 })),
    committed('reduce', 0, round, { delta: deltas[0] }), committed('reduce', 1, round, { delta: deltas[1] }),
  ];
  const output = (round: number): Op[] => [committed('reduce', 0, round), committed('reduce', 1, round)];

  test('round 0 maps the splits, later rounds map the R partitions, each round keeps its summed statistics', () => {
    let { state } = run([iterative(0, 3, 1e-9, 3), ...round(0, 3, [0.3, 0.2])]);
    let job = state.jobs.j1;
    assert.equal(job.round, 1);
    assert.equal(job.phase, 'map');
    assert.equal(job.maps.length, 2, 'one map task per partition of round 0');
    assert.ok(job.maps.every((t) => t.state === 'pending') && job.reduces.every((t) => t.state === 'pending'));
    assert.deepEqual(job.rounds, [{ round: 0, stats: { dangling: 0.75, delta: 0.5 }, finishedAt: 7 }]);
    ({ state } = run([...round(1, 2, [0.1, 0.1]), ...round(2, 2, [0.01, 0.01])], state));
    job = state.jobs.j1;
    assert.deepEqual(job.rounds.map((r) => r.stats.delta), [0.5, 0.2, 0.02]);
    assert.equal(job.phase, 'reduce', 'the iteration limit leads to the output round');
    assert.equal(job.outputRound, true);
    assert.equal(job.round, 3);
    assert.equal(job.maps.length, 0, 'the output round has reduce tasks only');
    ({ state } = run(output(3), state));
    assert.equal(state.jobs.j1.phase, 'done');
    assert.equal(state.jobs.j1.rounds.length, 3, 'the output round is not an iteration');
  });

  test('stops iterating once a round\'s delta falls below the tolerance', () => {
    const { state } = run([iterative(0, 20, 0.1), ...round(0, 3, [0.3, 0.2]), ...round(1, 2, [0.04, 0.05])]);
    assert.equal(state.jobs.j1.outputRound, true);
    assert.equal(state.jobs.j1.rounds.length, 2);
  });

  test('setup rounds never count as converged and do not use up iterations', () => {
    // Setup rounds report no delta (or any delta): they run regardless, then `iterations` rounds follow.
    let { state } = run([iterative(2, 1, 10), ...round(0, 3, [0, 0]), ...round(1, 2, [0, 0])]);
    assert.equal(state.jobs.j1.outputRound, false);
    assert.equal(state.jobs.j1.round, 2);
    ({ state } = run(round(2, 2, [50, 50]), state));
    assert.equal(state.jobs.j1.outputRound, true, 'one iteration, then the output round');
  });

  test('rounds after a chained one have no map phase: their reduce tasks start at once', () => {
    const chained: Op = { op: 'submit', at: 1, clientId: 'c1', requestId: 'r1', jobId: 'j1', spec: { ...spec(3, 2), rounds: { setup: 1, iterations: 5, tol: 0, chainFrom: 1 } } };
    let { state } = run([chained, ...round(0, 3, [0, 0])]);
    assert.equal(state.jobs.j1.phase, 'map', 'round 1 maps round 0\'s partitions');
    ({ state } = run(round(1, 2, [0, 0]), state));
    let job = state.jobs.j1;
    assert.deepEqual([job.round, job.phase, job.maps.length, job.reduces.length], [2, 'reduce', 0, 2], 'round 1 chained into round 2');
    ({ state } = run([committed('reduce', 0, 2, { delta: 0.2 }), committed('reduce', 1, 2, { delta: 0.1 })], state));
    job = state.jobs.j1;
    assert.deepEqual([job.round, job.phase, job.maps.length], [3, 'reduce', 0]);
    assert.ok(Math.abs(job.rounds[2].stats.delta - 0.3) < 1e-15);
  });

  test('a commit from an earlier round (a late or speculative attempt) changes nothing', () => {
    const { state } = run([iterative(0, 5, 0), ...round(0, 3, [0.3, 0.2])]);
    const late = apply(state, committed('reduce', 0, 0, { delta: 99 }));
    assert.equal(late.state, state);
  });

  test('a job without rounds is done after one round, as before', () => {
    const { state } = run([submit('j1', 'r1', 1, 1), done('map', 0), done('reduce', 0)]);
    assert.equal(state.jobs.j1.phase, 'done');
    assert.deepEqual(state.jobs.j1.rounds, []);
    assert.equal(state.jobs.j1.outputRound, false);
  });
});

test('the dedupe table keeps the most recent clients only, so it stays bounded', () => {
  let s = emptyState();
  for (let i = 0; i <= MAX_CLIENTS; i++) {
    s = apply(s, { op: 'cancel', at: i, clientId: `c${i}`, requestId: '1', jobId: 'nope' }).state;
  }
  assert.equal(Object.keys(s.clients).length, MAX_CLIENTS);
  assert.equal(s.clients.c0, undefined, 'the oldest client is forgotten');
  assert.ok(s.clients[`c${MAX_CLIENTS}`]);
  // A client that asks again is recent again: c1 survives the next newcomer, c2 does not.
  s = apply(s, { op: 'cancel', at: MAX_CLIENTS + 1, clientId: 'c1', requestId: '2', jobId: 'nope' }).state;
  s = apply(s, { op: 'cancel', at: MAX_CLIENTS + 2, clientId: 'new', requestId: '1', jobId: 'nope' }).state;
  assert.ok(s.clients.c1);
  assert.equal(s.clients.c2, undefined);
  const copy = JSON.parse(JSON.stringify(s)) as typeof s;
  assert.deepEqual(Object.keys(copy.clients), Object.keys(s.clients), 'a snapshot keeps the order');
});

describe('client sessions: many requests in flight per client', () => {
  const sub = (clientId: string, requestId: number, jobId: string, firstUnanswered?: number): Op => ({
    op: 'submit', at: requestId, clientId, requestId: String(requestId), jobId, spec: spec(1, 1),
    ...(firstUnanswered === undefined ? {} : { firstUnanswered: String(firstUnanswered) }),
  });

  test('(c,1), (c,2), then a retry of (c,1): two jobs, and the retry gets the first reply', () => {
    const { state, reply } = run([sub('c', 1, 'j1', 1), sub('c', 2, 'j2', 1), sub('c', 1, 'j3', 1)]);
    assert.deepEqual(Object.keys(state.jobs).sort(), ['j1', 'j2']);
    assert.deepEqual(reply, { ok: true, jobId: 'j1', phase: 'map' });
  });

  test('requests that arrive out of order, interleaved across clients, each make one job', () => {
    const ops = [sub('a', 2, 'ja2', 1), sub('b', 1, 'jb1', 1), sub('a', 1, 'ja1', 1), sub('b', 3, 'jb3', 1), sub('b', 2, 'jb2', 1)];
    const { state } = run([...ops, ...ops.map((op) => ({ ...op, jobId: `again-${(op as { jobId: string }).jobId}` }))]);
    assert.deepEqual(Object.keys(state.jobs).sort(), ['ja1', 'ja2', 'jb1', 'jb2', 'jb3']);
    assert.deepEqual(state.clients.a.replies.map(([id]) => id), ['1', '2'], 'kept in request order');
  });

  test('firstUnanswered forgets older replies; a retry of a forgotten one is refused, naming the client and request', () => {
    const s1 = run([sub('c', 1, 'j1', 1), sub('c', 2, 'j2', 1), sub('c', 3, 'j3', 3)]).state;
    assert.deepEqual(s1.clients.c.replies.map(([id]) => id), ['3']);
    const retry = apply(s1, sub('c', 1, 'j4', 1));
    assert.equal(retry.state, s1, 'not applied');
    assert.equal(retry.reply?.ok, false);
    assert.match((retry.reply as { error: string }).error, /^request 1 of client c is older than its window/);
    assert.equal((retry.reply as { code: string }).code, 'conflict');
    // A client's firstUnanswered never makes the master forget the request it comes with.
    const odd = run([sub('d', 5, 'jd5', 9), sub('d', 5, 'jd5b', 9)]);
    assert.deepEqual(Object.keys(odd.state.jobs), ['jd5']);
  });

  test('the per-client window: past MAX_REPLIES_PER_CLIENT the lowest ids are forgotten and refused, never applied again', () => {
    let s = emptyState();
    for (let i = 1; i <= MAX_REPLIES_PER_CLIENT + 5; i++) s = apply(s, sub('c', i, `j${i}`)).state;
    assert.equal(s.clients.c.replies.length, MAX_REPLIES_PER_CLIENT);
    assert.equal(s.clients.c.floor, 6);
    const jobs = Object.keys(s.jobs).length;
    for (let i = 1; i <= 5; i++) assert.match((apply(s, sub('c', i, `x${i}`)).reply as { error: string }).error, /older than its window/);
    assert.deepEqual(apply(s, sub('c', 6, 'x6')).reply, { ok: true, jobId: 'j6', phase: 'map' });
    assert.equal(Object.keys(apply(s, sub('c', 1, 'x1')).state.jobs).length, jobs);
  });

  test('cancel and remove share the session with submit', () => {
    const { state, reply } = run([
      sub('c', 1, 'j1', 1),
      { op: 'cancel', at: 2, clientId: 'c', requestId: '2', firstUnanswered: '1', jobId: 'j1' },
      { op: 'cancel', at: 3, clientId: 'c', requestId: '2', firstUnanswered: '1', jobId: 'j1' },
    ]);
    assert.equal(state.jobs.j1.phase, 'cancelled');
    assert.deepEqual(reply, { ok: true, jobId: 'j1', phase: 'cancelled' }, 'a double cancel gets the first answer, not "already cancelled"');
  });
});
