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
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isFinishedPhase, type RoundPlan } from '@tandem/shared';
import { apply, currentTasks, emptyState, type JobRecord, type MasterState, type Op, type Reply, type TaskKind } from './state.ts';
import { testCommit, testSpec } from './test-support.ts';

const KINDS = {
  submit: 2, submitIterative: 2, enqueue: 3, start: 2, speculate: 1, commit: 10, lateCommit: 1,
  fail: 1, cancel: 1, remove: 1, clean: 2, eventsRead: 1, duplicate: 1, retry: 1,
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
  for (const { kind, a, b, c } of commands) {
    at++;
    const jobs = Object.values(state.jobs);
    const running = jobs.filter((j) => !isFinishedPhase(j.phase));
    const finished = jobs.filter((j) => isFinishedPhase(j.phase));
    const clientId = `c${c % 3}`;
    const commitOf = (job: JobRecord, kind: TaskKind) => {
      if (!job.spec.rounds) return testCommit({ ms: c % 50 });
      return testCommit({ ms: c % 50, stats: kind === 'map' ? { dangling: (c % 5) / 4 } : { delta: (c % 7) / 4 } });
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
        emit({ op: 'submit', at, clientId, requestId: `q${n}`, jobId: `j${n}`, spec: testSpec(1 + (a % 3), 1 + (b % 2), rounds) });
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
      case 'cancel':
      case 'remove': {
        n++;
        const job = kind === 'remove' ? (pick(finished, a) ?? pick(jobs, a)) : pick(jobs, a);
        emit({ op: kind, at, clientId, requestId: `q${n}`, jobId: job?.id ?? 'nope' });
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
      }
      if (op.op === 'submit' || op.op === 'cancel' || op.op === 'remove') {
        const seen = before.clients[op.clientId];
        if (seen?.requestId === op.requestId) {
          assert.equal(after, before, 'a retried request changes nothing');
          assert.deepStrictEqual(replies[i], seen.reply);
        }
      }
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
      }
    }
    for (const [i, op] of list.entries()) {
      if (op.op === 'remove' && states[i + 1] !== states[i]) seen.add('removed');
      if (op.op === 'cleaned' && states[i + 1] !== states[i]) seen.add('cleaned');
    }
  }), RUNS);
  for (const corner of ['map', 'reduce', 'done', 'failed', 'cancelled', 'iterative done', 'output round', 'chained round', 'removed', 'cleaned']) {
    assert.ok(seen.has(corner), `no generated sequence reached: ${corner} (reached: ${[...seen].join(", ")})`);
  }
});
