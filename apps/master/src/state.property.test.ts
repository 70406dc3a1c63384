/**
 * Properties of `apply` over random op sequences, as primary-backup replication relies on them: the
 * same ops give the same state, a snapshot (JSON, as the backup receives it) plus the remaining ops
 * gives the state of a full replay, apply never changes the state it is given, and versions and
 * finished jobs never go backwards.
 *
 * Sequences are generated as abstract commands that are turned into ops against the state so far,
 * so most ops are valid (a commit names a task of the job's current round) and jobs get through
 * their rounds; the rest are what a real master also sees: late commits of earlier rounds,
 * duplicates, retried client requests, failures and cancels of finished jobs.
 *
 * Clients behave like MasterClient with many requests in flight: numeric request ids, each request
 * carrying the lowest id its client has not seen answered; requests arrive out of order (a client's
 * newer request is applied before an older one), are retried, and some retries come after the
 * client has moved past them, so the master has forgotten them and must refuse them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isFinishedPhase, type RoundPlan } from '@tandem/shared';
import { MAX_REPLIES_PER_CLIENT, MAX_RERUNS, apply, currentTasks, emptyState, type JobRecord, type MasterState, type Op, type Reply, type TaskKind } from './state.ts';
import { answered, requestNumber, type ClientRef } from './sessions.ts';
import { testCommit, testSpec } from './test-support.ts';

const KINDS = {
  submit: 2, submitIterative: 2, enqueue: 3, start: 2, speculate: 1, commit: 10, lateCommit: 1,
  fail: 1, cancel: 1, remove: 1, clean: 2, eventsRead: 1, duplicate: 1, retry: 2, answers: 1, rerun: 2,
} as const;
type Kind = keyof typeof KINDS;

interface Command {
  kind: Kind;
  a: number;
  b: number;
  c: number;
}

const command: fc.Arbitrary<Command> = fc.record({
  kind: fc.oneof(...Object.entries(KINDS).map(([k, weight]) => ({ arbitrary: fc.constant(k as Kind), weight }))),
  a: fc.nat(1000),
  b: fc.nat(1000),
  c: fc.nat(1000),
});

const pick = <T>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
const phaseKind = (job: JobRecord): TaskKind => (job.phase === 'map' ? 'map' : 'reduce');

/** Turns commands into ops, each against the state the ops before it leave. */
function opsFrom(commands: Command[]): Op[] {
  let state = emptyState();
  const ops: Op[] = [];
  let at = 0;
  let n = 0;
  const emit = (op: Op) => {
    ops.push(op);
    state = apply(state, op).state;
  };
  // Per client: the last request id it issued, and the ids it has not seen answered.
  const issued: Record<string, number> = {};
  const unanswered: Record<string, Set<number>> = {};
  // A request that is held back, to be applied after the client's next one (out of order).
  const heldBack: Op[] = [];
  const from = (clientId: string, seesAnswer: boolean): ClientRef => {
    const id = (issued[clientId] = (issued[clientId] ?? 0) + 1);
    const open = (unanswered[clientId] ??= new Set());
    open.add(id);
    const ref = { clientId, requestId: String(id), firstUnanswered: String(Math.min(...open)) };
    if (seesAnswer) open.delete(id);
    return ref;
  };
  const send = (op: Op, holdBack: boolean) => {
    if (holdBack) return void heldBack.push(op);
    emit(op);
    for (const late of heldBack.splice(0)) emit(late);
  };
  for (const { kind, a, b, c } of commands) {
    at++;
    const jobs = Object.values(state.jobs);
    const running = jobs.filter((j) => !isFinishedPhase(j.phase));
    const finished = jobs.filter((j) => isFinishedPhase(j.phase));
    const clientId = `c${c % 3}`;
    const commitOf = (job: JobRecord, kind: TaskKind) => {
      // Each attempt's record is its own (a rerun's lost record must never count again).
      if (!job.spec.rounds) return testCommit({ ms: c % 50, attempt: `a${at}` });
      return testCommit({ ms: c % 50, attempt: `a${at}`, stats: kind === 'map' ? { dangling: (c % 5) / 4 } : { delta: (c % 7) / 4 } });
    };
    switch (kind) {
      case 'submit':
      case 'submitIterative': {
        n++;
        let rounds: RoundPlan | undefined;
        if (kind === 'submitIterative') {
          const chain = (b >> 2) % 3;
          rounds = { setup: a % 3, iterations: 1 + (b % 3), tol: [0, 0.5, 2][c % 3] };
          if (chain > 0) rounds.chainFrom = chain === 1 ? rounds.setup : 0;
        }
        send({ op: 'submit', at, ...from(clientId, b % 4 !== 0), jobId: `j${n}`, spec: testSpec(1 + (a % 3), 1 + (b % 2), rounds) }, c % 5 === 0);
        break;
      }
      case 'enqueue': {
        const job = pick(running, a);
        if (!job) break;
        const tasks = currentTasks(job);
        const pending = tasks.filter((t) => t.state === 'pending').map((t) => t.index);
        const indices = pending.length ? pending.slice(0, 1 + (b % pending.length)) : [b % Math.max(1, tasks.length)];
        emit({ op: 'enqueued', at, jobId: job.id, round: job.round, kind: phaseKind(job), indices });
        break;
      }
      case 'start':
      case 'speculate': {
        const job = pick(running, a);
        const t = job && pick(currentTasks(job), b);
        if (job && t) emit({ op: kind === 'start' ? 'started' : 'speculated', at, jobId: job.id, round: job.round, kind: t.kind, index: t.index });
        break;
      }
      case 'commit': {
        const job = pick(running, a);
        if (!job) break;
        const tasks = currentTasks(job);
        const t = pick(tasks.filter((x) => x.state !== 'committed'), b) ?? pick(tasks, b);
        if (t) emit({ op: 'committed', at, jobId: job.id, round: job.round, kind: t.kind, index: t.index, commit: commitOf(job, t.kind) });
        break;
      }
      case 'lateCommit': {
        // A late or backup attempt of an earlier round, or of the other phase.
        const job = pick(jobs.filter((j) => j.round > 0), a) ?? pick(jobs, a);
        if (!job) break;
        const kind: TaskKind = b % 2 ? 'map' : 'reduce';
        emit({ op: 'committed', at, jobId: job.id, round: job.round > 0 ? b % job.round : 0, kind, index: c % 3, commit: commitOf(job, kind) });
        break;
      }
      case 'fail': {
        const job = pick(jobs, a);
        if (job) emit({ op: 'failed', at, jobId: job.id, round: job.round, kind: phaseKind(job), index: b % 3, reason: `task ${b % 3} failed: boom` });
        break;
      }
      case 'rerun': {
        // A reduce task found a map task's output lost: mostly of its current attempt, sometimes a stale report.
        const job = pick(running.filter((j) => j.maps.length > 0 && j.phase !== 'map'), a) ?? pick(running, a);
        if (!job) break;
        const r = job.reduces[b % Math.max(1, job.reduces.length)];
        const reduceRerun = c % 4 === 0 ? 0 : (r?.reruns ?? 0);
        emit({ op: 'rerun', at, jobId: job.id, round: c % 5 === 0 ? 0 : job.round, map: c % 7 === 0 ? null : a % Math.max(1, job.maps.length), reduce: b % Math.max(1, job.reduces.length), reduceRerun, reason: 'lost' });
        break;
      }
      case 'cancel':
      case 'remove': {
        n++;
        const job = kind === 'remove' ? (pick(finished, a) ?? pick(jobs, a)) : pick(jobs, a);
        send({ op: kind, at, ...from(clientId, b % 4 !== 0), jobId: job?.id ?? 'nope' }, c % 5 === 0);
        break;
      }
      case 'clean': {
        const job = pick(finished, a) ?? pick(jobs, a);
        if (job) emit({ op: 'cleaned', at, jobId: job.id });
        break;
      }
      case 'eventsRead':
        emit({ op: 'eventsRead', queue: a % 2 ? 'map' : 'reduce', id: `${at}-${b % 3}` });
        break;
      case 'duplicate': {
        const op = pick(ops, a);
        if (op) emit(op);
        break;
      }
      case 'retry': {
        // The client sends its request again; the master proposes it again with a fresh time (and job id).
        const op = pick(ops.filter((o) => o.op === 'submit' || o.op === 'cancel' || o.op === 'remove'), a);
        if (op?.op === 'submit') emit({ ...op, at, jobId: `j${++n}` });
        else if (op) emit({ ...op, at });
        break;
      }
      case 'answers':
        // The client sees the answers to everything it sent: its next request lets the master forget them.
        unanswered[clientId]?.clear();
        break;
    }
  }
  return ops;
}

const ops = fc.array(command, { minLength: 1, maxLength: 120, size: 'max' }).map(opsFrom);

function deepFreeze<T>(x: T): T {
  if (typeof x !== 'object' || x === null || Object.isFrozen(x)) return x;
  for (const v of Object.values(x)) deepFreeze(v);
  return Object.freeze(x);
}

interface Replay {
  /** states[k]: after the first k ops. */
  states: MasterState[];
  replies: (Reply | undefined)[];
}

function replay(list: Op[], freeze = false): Replay {
  const states = [emptyState()];
  const replies: (Reply | undefined)[] = [];
  for (const op of list) {
    const before = states[states.length - 1];
    // A frozen input makes any mutation inside apply throw (ES modules run in strict mode).
    const { state, reply } = apply(freeze ? deepFreeze(before) : before, freeze ? deepFreeze(op) : op);
    states.push(state);
    replies.push(reply);
  }
  return { states, replies };
}

const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const RUNS = { numRuns: 150 };

test('replaying the same ops gives a deeply equal state and the same replies; apply never mutates its input', () => {
  fc.assert(fc.property(ops, (list) => {
    const first = replay(list, true);
    const second = replay(list);
    assert.deepStrictEqual(second.states[list.length], first.states[list.length]);
    assert.deepStrictEqual(second.replies, first.replies);
  }), RUNS);
});

test('for every cut point, a snapshot (JSON) after the first k ops plus the remaining ops (JSON) equals the full replay', () => {
  fc.assert(fc.property(ops, (list) => {
    const { states } = replay(list);
    const full = states[list.length];
    const forwarded = list.map(wire);
    for (let k = 0; k <= list.length; k++) {
      // The backup held something else before: an empty state, or a stale one.
      let s = apply(k % 2 ? emptyState() : full, { op: 'install', state: wire(states[k]) }).state;
      for (const op of forwarded.slice(k)) s = apply(s, op).state;
      assert.deepStrictEqual(s, full, `cut after ${k} of ${list.length} ops`);
    }
  }), RUNS);
});

test('versions never go backwards, a finished job never changes phase, jobs vanish only when removed, retried requests get the first reply', () => {
  fc.assert(fc.property(ops, (list) => {
    const { states, replies } = replay(list);
    list.forEach((op, i) => {
      const before = states[i];
      const after = states[i + 1];
      for (const [id, was] of Object.entries(before.jobs)) {
        const now = after.jobs[id];
        if (!now) {
          assert.ok(op.op === 'remove' && op.jobId === id, `job ${id} vanished on a ${op.op}`);
          continue;
        }
        assert.ok(now.version >= was.version, `job ${id}: version ${was.version} -> ${now.version} on ${op.op}`);
        if (now !== was) assert.ok(now.version > was.version, `job ${id} changed on ${op.op} without a new version`);
        if (isFinishedPhase(was.phase)) assert.equal(now.phase, was.phase, `finished job ${id} became ${now.phase} on ${op.op}`);
        assert.ok((now.reruns?.length ?? 0) <= MAX_RERUNS, `job ${id} reran more than MAX_RERUNS map tasks`);
        for (const t of [...now.maps, ...now.reduces]) {
          assert.ok(!t.commit || !t.discarded?.includes(t.commit.attempt), `job ${id}: ${t.kind} ${t.index} counts a commit it discarded`);
          if (now.phase === 'reduce' && now.round === was.round) assert.ok(t.kind === 'reduce' || t.state === 'committed', `job ${id} reduces with ${t.kind} ${t.index} uncommitted`);
        }
      }
      if (op.op === 'submit' || op.op === 'cancel' || op.op === 'remove') {
        const seen = answered(before.clients, op);
        if (seen) {
          assert.equal(after, before, 'a retried or forgotten request changes nothing');
          assert.deepStrictEqual(replies[i], seen);
        }
      }
    });
  }), RUNS);
});

test('at most once: a request makes at most one job; a retry gets the first reply, or a refusal once its client moved past it', () => {
  fc.assert(fc.property(ops, (list) => {
    const { states, replies } = replay(list);
    const creator = new Set<string>();
    const first = new Map<string, Reply | undefined>();
    // Per client: the highest firstUnanswered it has sent, and the ids it has sent.
    const movedPast = new Map<string, number>();
    const sent = new Map<string, Set<string>>();
    list.forEach((op, i) => {
      for (const job of Object.values(states[i + 1].jobs)) {
        if (states[i].jobs[job.id]) continue;
        const by = `${job.submittedBy.clientId}/${job.submittedBy.requestId}`;
        assert.ok(!creator.has(by), `request ${by} created a second job, ${job.id}`);
        creator.add(by);
      }
      if (op.op !== 'submit' && op.op !== 'cancel' && op.op !== 'remove') return;
      const key = `${op.clientId}/${op.requestId}`;
      const ids = sent.get(op.clientId) ?? new Set();
      sent.set(op.clientId, ids.add(op.requestId));
      if (first.has(key)) {
        const still = requestNumber(op.requestId) >= (movedPast.get(op.clientId) ?? 0) && ids.size <= MAX_REPLIES_PER_CLIENT;
        const reply = replies[i];
        if (still || reply?.ok !== false || !/older than its window/.test(reply.error)) {
          assert.deepStrictEqual(reply, first.get(key), `retry of ${key}`);
        }
      } else if (replies[i]?.ok !== false || !/older than its window/.test((replies[i] as { error: string }).error)) {
        first.set(key, replies[i]);
      }
      movedPast.set(op.clientId, Math.max(movedPast.get(op.clientId) ?? 0, requestNumber(op.firstUnanswered)));
    });
  }), RUNS);
});

test('the generated sequences reach every corner: iterative jobs finish, jobs fail, get cancelled, cleaned and removed', () => {
  const seen = new Set<string>();
  fc.assert(fc.property(ops, (list) => {
    const { states } = replay(list);
    for (const s of states) {
      for (const job of Object.values(s.jobs)) {
        seen.add(job.phase);
        if (job.spec.rounds && job.phase === 'done') seen.add('iterative done');
        if (job.outputRound) seen.add('output round');
        if (job.spec.rounds?.chainFrom !== undefined && job.round > 0 && job.maps.length === 0 && !job.outputRound) seen.add('chained round');
        if (job.reruns?.length) seen.add('rerun');
        if (job.reruns?.length && job.phase === 'done') seen.add('done after a rerun');
      }
    }
    const { replies } = replay(list);
    const applied = new Set<string>();
    for (const [i, op] of list.entries()) {
      if (op.op === 'submit' || op.op === 'cancel' || op.op === 'remove') {
        const key = `${op.clientId}/${op.requestId}`;
        const reply = replies[i];
        if (reply?.ok === false && /older than its window/.test(reply.error)) seen.add('forgotten retry refused');
        else if (applied.has(key)) seen.add('retry answered');
        if ([...applied].some((k) => k.startsWith(`${op.clientId}/`) && requestNumber(k.split('/')[1]) > requestNumber(op.requestId))) seen.add('out of order');
        applied.add(key);
      }
      if (op.op === 'remove' && states[i + 1] !== states[i]) seen.add('removed');
      if (op.op === 'cleaned' && states[i + 1] !== states[i]) seen.add('cleaned');
    }
  }), RUNS);
  for (const corner of ['map', 'reduce', 'done', 'failed', 'cancelled', 'iterative done', 'output round', 'chained round', 'removed', 'cleaned', 'retry answered', 'forgotten retry refused', 'out of order', 'rerun', 'done after a rerun']) {
    assert.ok(seen.has(corner), `no generated sequence reached: ${corner} (reached: ${[...seen].join(", ")})`);
  }
});
