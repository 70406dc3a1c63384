// MIT 6.824 (2015) viewservice/test_test.go, scenario by scenario, against the pure rules: time is
// a number the test moves, so every step is deterministic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { View } from '@tandem/shared';
import { initialState, ping, tick, type RulesConfig, type ViewState } from './view-rules.ts';

const cfg: RulesConfig = { pingIntervalMs: 100, deadPings: 5 };

/** A view service with a clock; each server pings the viewnum it is told to. */
function service() {
  let s: ViewState = initialState();
  let now = 0;
  return {
    get state() {
      return s;
    },
    get view(): View {
      return s.view;
    },
    ping(server: string, viewnum: number): View {
      s = ping(s, server, viewnum, now, cfg);
      return s.view;
    },
    /** One ping interval passes: the given servers ping (with the view they last saw), then a tick. */
    interval(pings: Record<string, number | 'current'>) {
      for (const [server, n] of Object.entries(pings)) this.ping(server, n === 'current' ? s.view.viewnum : n);
      now += cfg.pingIntervalMs;
      s = tick(s, now, cfg);
    },
    /** Enough intervals for a silent server to be declared dead. */
    intervals(n: number, pings: Record<string, number | 'current'>) {
      for (let i = 0; i < n; i++) this.interval(pings);
    },
  };
}

const check = (v: View, primary: string, backup: string, viewnum?: number) => {
  assert.equal(v.primary, primary, 'primary');
  assert.equal(v.backup, backup, 'backup');
  if (viewnum !== undefined) assert.equal(v.viewnum, viewnum, 'viewnum');
};

const DEAD = cfg.deadPings * 2;

describe('view service rules (MIT 6.824 viewservice tests)', () => {
  test('no primary before any ping', () => {
    const vs = service();
    check(vs.view, '', '', 0);
  });

  test('first primary', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    check(vs.view, 's1', '', 1);
  });

  test('first backup', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    check(vs.view, 's1', 's2', 2);
  });

  test('backup takes over if primary fails', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 'current' });
    vs.intervals(DEAD, { s2: 'current' });
    check(vs.view, 's2', '', 3);
  });

  test('restarted server becomes backup', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 'current' });
    vs.intervals(DEAD, { s2: 'current' });
    vs.intervals(DEAD, { s1: 0, s2: 'current' });
    check(vs.view, 's2', 's1', 4);
  });

  test('idle third server becomes backup if primary fails, in the same view change', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 'current', s3: 0 });
    check(vs.view, 's1', 's2', 2);
    const before = vs.view.viewnum;
    vs.intervals(DEAD, { s2: 'current', s3: 0 });
    check(vs.view, 's2', 's3', before + 1);
  });

  test('restarted primary is treated as dead', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 'current', s3: 0 });
    check(vs.view, 's1', 's2', 2);
    vs.interval({ s1: 0, s2: 'current', s3: 0 });
    check(vs.view, 's2', 's3', 3);
    assert.notEqual(vs.view.primary, 's1');
  });

  test('dead backup is removed from the view', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 'current' });
    check(vs.view, 's1', 's2', 2);
    vs.intervals(DEAD, { s1: 'current' });
    check(vs.view, 's1', '', 3);
  });

  test('a restarted backup is removed, then comes back as backup in a later view', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 'current' });
    vs.interval({ s1: 'current', s2: 0 });
    check(vs.view, 's1', '', 3);
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    check(vs.view, 's1', 's2', 4);
  });

  test('the view service waits for the primary to acknowledge the view (stuck if it never does)', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 'current' });
    check(vs.view, 's1', 's2', 2);
    // s1 keeps pinging the previous view: it has not acknowledged anything newer.
    vs.intervals(DEAD, { s1: 'current', s2: 'current', s3: 0 });
    vs.intervals(DEAD, { s1: 'current' });
    check(vs.view, 's1', '', 3);
    assert.equal(vs.state.acked, true);
    vs.intervals(DEAD, { s1: 2, s3: 0 });
    check(vs.view, 's1', 's3', 4);
    vs.intervals(DEAD, { s1: 3, s3: 'current' });
    check(vs.view, 's1', 's3', 4);
    assert.equal(vs.state.acked, false, 'view 4 is not acknowledged');
    // The primary dies before acknowledging view 4: the service cannot move on, by design.
    vs.intervals(DEAD, { s3: 'current' });
    check(vs.view, 's1', 's3', 4);
  });

  test('an uninitialized server (only ever pinged 0) never becomes primary', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0, s3: 0 });
    check(vs.view, 's1', 's2', 2);
    vs.intervals(DEAD, { s1: 'current', s2: 'current', s3: 0 });
    vs.intervals(DEAD * 2, { s3: 0 });
    assert.notEqual(vs.view.primary, 's3');
  });

  test('a backup that restarts while the view is unacknowledged stays restarted after its next ping', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(2, { s1: 'current', s2: 'current' });
    check(vs.view, 's1', 's2', 2);
    // s3 joins, s2 dies: view 3 has s1 and s3, and s1 does not acknowledge it yet.
    vs.intervals(DEAD, { s1: 2, s3: 0 });
    check(vs.view, 's1', 's3', 3);
    vs.interval({ s1: 2, s3: 3 });
    // s3 restarts (pings 0), then pings the view it learns: it holds nothing, whatever it pings.
    vs.interval({ s1: 2, s3: 0 });
    vs.interval({ s1: 2, s3: 3 });
    assert.equal(vs.state.servers.s3.restarted, true);
    // s1 acknowledges and dies: s3 must not be promoted; s3 is dropped instead.
    vs.interval({ s1: 3, s3: 3 });
    assert.notEqual(vs.view.primary, 's3');
    vs.intervals(DEAD, { s3: 'current' });
    assert.notEqual(vs.view.primary, 's3');
  });

  test('a backup that never pinged the view that made it backup is not promoted', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    check(vs.view, 's1', 's2', 2);
    assert.equal(vs.state.acked, true);
    // s2 never pings view 2; the primary dies.
    vs.intervals(DEAD, { s2: 0 });
    check(vs.view, 's1', 's2', 2);
  });
});

describe('view service rules: invariants over random ping/tick histories', () => {
  test('views advance one at a time, only after an ack, and the new primary always held state', () => {
    const servers = ['a', 'b', 'c'];
    const step = fc.oneof(
      fc.record({ kind: fc.constant('ping' as const), server: fc.constantFrom(...servers), mode: fc.constantFrom('current', 'zero', 'stale') }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 700 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        let s = initialState();
        let now = 0;
        const pingedNonZero = new Set<string>();
        for (const st of steps) {
          const before = s;
          if (st.kind === 'wait') {
            now += st.ms;
            s = tick(s, now, cfg);
          } else {
            const n = st.mode === 'current' ? s.view.viewnum : st.mode === 'zero' ? 0 : Math.max(0, s.view.viewnum - 1);
            if (n > 0) pingedNonZero.add(st.server);
            s = ping(s, st.server, n, now, cfg);
          }
          const v0 = before.view;
          const v1 = s.view;
          if (v1.viewnum === v0.viewnum) continue;
          assert.equal(v1.viewnum, v0.viewnum + 1, 'one view at a time');
          if (v0.viewnum === 0) continue;
          assert.ok(before.acked || (st.kind === 'ping' && st.server === v0.primary && st.mode === 'current'), 'moved only after the primary acknowledged');
          assert.ok(v1.primary === v0.primary || v1.primary === v0.backup, 'new primary was primary or backup');
          if (v1.primary !== v0.primary) assert.ok(pingedNonZero.has(v1.primary), 'a promoted backup had pinged a real view');
          assert.ok(v1.primary !== v1.backup, 'primary and backup differ');
        }
      }),
      { numRuns: 300 },
    );
  });
});
