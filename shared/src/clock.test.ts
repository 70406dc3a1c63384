// Property tests of the clock rules over random message histories between a few processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LamportClock, vcCompare, vcMerge, vcTick, type VectorClock } from './clock.ts';

interface Event {
  proc: number;
  lamport: number;
  vc: VectorClock;
  /** Indices of events this one directly follows (same process, or the send it received). */
  after: number[];
}

const PROCS = ['a', 'b', 'c', 'd'];

/** Simulates processes that do local events, send, and receive (in any order the history says). */
function simulate(steps: { proc: number; action: 'local' | 'send' | 'recv'; pick: number }[]): Event[] {
  const lamport = PROCS.map(() => new LamportClock());
  const vcs: VectorClock[] = PROCS.map(() => ({}));
  const last: (number | undefined)[] = PROCS.map(() => undefined);
  const inFlight: { to: number; lamport: number; vc: VectorClock; from: number }[] = [];
  const events: Event[] = [];
  for (const st of steps) {
    const p = st.proc;
    const after = last[p] === undefined ? [] : [last[p]!];
    let l: number;
    if (st.action === 'recv') {
      const mine = inFlight.filter((m) => m.to === p);
      if (mine.length === 0) continue;
      const m = mine[st.pick % mine.length];
      inFlight.splice(inFlight.indexOf(m), 1);
      l = lamport[p].receive(m.lamport);
      vcs[p] = vcTick(vcMerge(vcs[p], m.vc), PROCS[p]);
      after.push(m.from);
    } else {
      l = lamport[p].tick();
      vcs[p] = vcTick(vcs[p], PROCS[p]);
    }
    events.push({ proc: p, lamport: l, vc: vcs[p], after });
    last[p] = events.length - 1;
    if (st.action === 'send') inFlight.push({ to: (p + 1 + (st.pick % (PROCS.length - 1))) % PROCS.length, lamport: l, vc: vcs[p], from: events.length - 1 });
  }
  return events;
}

const history = fc.array(
  fc.record({ proc: fc.integer({ min: 0, max: PROCS.length - 1 }), action: fc.constantFrom('local' as const, 'send' as const, 'recv' as const), pick: fc.nat(10) }),
  { maxLength: 120 },
);

/** happensBefore[i][j]: a chain of direct "after" links leads from event i to event j. */
function happensBefore(events: Event[]): boolean[][] {
  const hb = events.map(() => events.map(() => false));
  events.forEach((e, j) => {
    for (const i of e.after) {
      hb[i][j] = true;
      for (let k = 0; k < events.length; k++) if (hb[k][i]) hb[k][j] = true;
    }
  });
  return hb;
}

test('Lamport: if a happened before b then L(a) < L(b)', () => {
  fc.assert(fc.property(history, (steps) => {
    const ev = simulate(steps);
    const hb = happensBefore(ev);
    for (let i = 0; i < ev.length; i++) for (let j = 0; j < ev.length; j++) if (hb[i][j]) assert.ok(ev[i].lamport < ev[j].lamport);
  }), { numRuns: 200 });
});

test('vector clocks: a happened before b exactly when VC(a) < VC(b); otherwise concurrent', () => {
  fc.assert(fc.property(history, (steps) => {
    const ev = simulate(steps);
    const hb = happensBefore(ev);
    for (let i = 0; i < ev.length; i++) {
      for (let j = 0; j < ev.length; j++) {
        if (i === j) continue;
        const order = vcCompare(ev[i].vc, ev[j].vc);
        if (hb[i][j]) assert.equal(order, 'before');
        else if (hb[j][i]) assert.equal(order, 'after');
        else assert.equal(order, 'concurrent');
      }
    }
  }), { numRuns: 200 });
});

test('vcMerge is commutative, associative and idempotent; vcCompare is antisymmetric', () => {
  const vc = fc.dictionary(fc.constantFrom(...PROCS), fc.nat(20)) as fc.Arbitrary<VectorClock>;
  fc.assert(fc.property(vc, vc, vc, (a, b, c) => {
    assert.deepEqual(vcCompare(vcMerge(a, b), vcMerge(b, a)), 'equal');
    assert.equal(vcCompare(vcMerge(vcMerge(a, b), c), vcMerge(a, vcMerge(b, c))), 'equal');
    assert.equal(vcCompare(vcMerge(a, a), a), 'equal');
    const ab = vcCompare(a, b);
    const ba = vcCompare(b, a);
    const flip = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;
    assert.equal(ba, flip[ab]);
  }));
});

test('a Lamport receive moves past the message time, and a garbage time is ignored', () => {
  const c = new LamportClock(5);
  assert.equal(c.receive(3), 6);
  assert.equal(c.receive(10), 11);
  assert.equal(c.tick(), 12);
  assert.equal(c.receive(Number.NaN), 13);
});
