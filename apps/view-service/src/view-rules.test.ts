// MIT 6.824 (2015) viewservice/test_test.go, scenario by scenario, against the pure rules: time is
// a number the test moves, so every step is deterministic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { View } from '@tandem/shared';
import { bothLost, closeGap, durablePart, hear, heardSeq, initialState, isAlive, ping, resume, tick, type RulesConfig, type ViewState } from './view-rules.ts';

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
    /** The service itself is paused (SIGSTOP) for `ms`: nobody is heard, and no tick runs until it resumes. */
    pause(ms: number) {
      now += ms;
    },
    tick() {
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

/** View 2, acknowledged: s1 primary, s2 a backup that has pinged view 2. */
function pairSynced() {
  const vs = service();
  vs.interval({ s1: 0 });
  vs.intervals(DEAD, { s1: 'current', s2: 0 });
  vs.intervals(2, { s1: 'current', s2: 'current' });
  check(vs.view, 's1', 's2', 2);
  return vs;
}

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

  test('an uninitialized server (only ever pinged 0) is not promoted while a master with state lives; once both are lost it is', () => {
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0, s3: 0 });
    check(vs.view, 's1', 's2', 2);
    vs.intervals(DEAD, { s1: 'current', s2: 'current', s3: 0 });
    check(vs.view, 's1', 's2', 2);
    // Both lost: the only live server becomes primary and restores the job table from the durable log.
    vs.intervals(DEAD * 2, { s3: 0 });
    check(vs.view, 's3', '', 3);
  });

  test('a backup that restarts while the view is unacknowledged stays restarted after its next ping', () => {
    const vs = pairSynced();
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

describe('view service rules: its own pauses, its lost state, both masters lost', () => {
  test('a pause of the service itself is not evidence against the masters', (t) => {
    t.diagnostic('Test: view service paused for 3 s (SIGSTOP), masters alive: the view does not change ...');
    const vs = pairSynced();
    vs.pause(3000);
    vs.tick();
    check(vs.view, 's1', 's2', 2);
    assert.ok(isAlive(vs.state, 's1', 3000 + 12 * cfg.pingIntervalMs, cfg) && isAlive(vs.state, 's2', 3000 + 12 * cfg.pingIntervalMs, cfg), 'both count as just seen');
    // The masters' pings queued during the pause may be heard before the first tick: one master's
    // ping must not make the other look dead either.
    vs.pause(3000);
    vs.ping('s2', 2);
    check(vs.view, 's1', 's2', 2);
    vs.intervals(DEAD, { s1: 'current', s2: 'current' });
    check(vs.view, 's1', 's2', 2);
    // The grace is one detection window, not immunity: a primary silent after the pause still dies.
    vs.intervals(DEAD, { s2: 'current' });
    check(vs.view, 's2', '', 3);
  });

  test('ticks two ping intervals apart are no pause: a silent primary is still declared dead', (t) => {
    t.diagnostic('Test: slow ticks (2 intervals apart) do not hide a dead primary ...');
    const vs = pairSynced();
    for (let i = 0; i < DEAD; i++) {
      vs.ping('s2', vs.view.viewnum);
      vs.pause(2 * cfg.pingIntervalMs);
      vs.tick();
    }
    check(vs.view, 's2', '', 3);
  });

  test('a service that lost its state numbers its views past what the masters pinged', (t) => {
    t.diagnostic('Test: restarted view service without state, masters at view 7: the next view is 8, never lower ...');
    const vs = service();
    // s2 was the primary of view 7 (s1 its backup) before the service lost its state.
    vs.interval({ s2: 7, s1: 7 });
    check(vs.view, 's2', '', 8);
    vs.interval({ s2: 8, s1: 7 });
    check(vs.view, 's2', 's1', 9);
  });

  test('a service whose stored view is older than the masters\' starts over past theirs', (t) => {
    t.diagnostic('Test: view service at view 2, a master pings view 5: the next view is 6 ...');
    const vs = pairSynced();
    vs.interval({ s2: 5 });
    check(vs.view, 's2', '', 6);
    vs.intervals(2, { s2: 'current', s1: 'current' });
    check(vs.view, 's2', 's1', 7);
  });

  test('both masters restarted: one becomes primary of a new view, then the other its backup', (t) => {
    t.diagnostic('Test: primary and backup SIGKILLed and restarted (both ping 0): s1 primary of view 3, once it acknowledges s2 its backup ...');
    const vs = pairSynced();
    vs.interval({ s2: 0, s1: 0 });
    check(vs.view, 's1', '', 3);
    assert.equal(vs.state.servers.s1.restarted, true);
    vs.interval({ s1: 0, s2: 0 });
    check(vs.view, 's1', '', 3);
    // s1 learns it is primary of view 3, restores the job table from the durable log, acknowledges.
    vs.interval({ s1: 3, s2: 0 });
    check(vs.view, 's1', 's2', 4);
  });

  test('the backup promoted just before it is seen restarting acknowledges, and the idle master becomes backup', (t) => {
    t.diagnostic('Test: primary restarts while the backup is already dead (not yet detected); no "primary (restarted), backup (none)" for ever ...');
    const vs = pairSynced();
    // s2 was SIGKILLed a moment ago; s1 restarts and pings 0: the service promotes s2, still "alive".
    vs.interval({ s1: 0 });
    check(vs.view, 's2', '', 3);
    vs.intervals(2, { s1: 0, s2: 0 });
    assert.equal(vs.state.servers.s2.restarted, true);
    check(vs.view, 's2', '', 3);
    vs.interval({ s1: 0, s2: 3 });
    check(vs.view, 's2', 's1', 4);
  });

  test('a lone primary that restarts is named primary of a new view, and the view moves on', (t) => {
    t.diagnostic('Test: only master restarts: s1 primary of view 2 with no backup, then s2 joins as backup ...');
    const vs = service();
    vs.interval({ s1: 0 });
    vs.interval({ s1: 'current' });
    vs.interval({ s1: 0 });
    check(vs.view, 's1', '', 2);
    vs.interval({ s1: 'current' });
    vs.interval({ s1: 'current', s2: 0 });
    check(vs.view, 's1', 's2', 3);
  });

  test('primary and backup dead, a third server idle: it becomes primary with no backup', (t) => {
    t.diagnostic('Test: both masters dead, an idle third master: primary s3 of view 3 ...');
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 'current', s3: 0 });
    check(vs.view, 's1', 's2', 2);
    vs.intervals(DEAD, { s3: 0 });
    check(vs.view, 's3', '', 3);
  });

  test('primary dead and its backup never synced, an idle server alive: the idle one becomes primary', (t) => {
    t.diagnostic('Test: primary dead, backup never pinged its view, idle s3: primary s3 of view 3, s2 drops to idle ...');
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    check(vs.view, 's1', 's2', 2);
    vs.intervals(DEAD, { s2: 0, s3: 0 });
    check(vs.view, 's3', '', 3);
    vs.interval({ s3: 'current', s2: 0 });
    check(vs.view, 's3', 's2', 4);
  });

  test('both masters dead and nobody alive: the view stays until one pings', (t) => {
    t.diagnostic('Test: both masters dead, nobody pings: no new view ...');
    const vs = pairSynced();
    vs.intervals(DEAD * 2, {});
    check(vs.view, 's1', 's2', 2);
    vs.interval({ s2: 0 });
    check(vs.view, 's2', '', 3);
  });
});

describe('view service rules: the state that outlives a restart of the service', () => {
  test('a restarted service resumes its stored view, and its members get a full detection window', (t) => {
    t.diagnostic('Test: view service restarted at view 2 (s1, s2; s3 idle): view 2 again, s1 and s2 just seen, s3 forgotten ...');
    const vs = service();
    vs.interval({ s1: 0 });
    vs.intervals(DEAD, { s1: 'current', s2: 0 });
    vs.intervals(2, { s1: 'current', s2: 'current', s3: 0 });
    check(vs.view, 's1', 's2', 2);
    const stored = durablePart(vs.state);
    assert.deepEqual(stored, {
      view: { viewnum: 2, primary: 's1', backup: 's2' }, acked: true, backupSince: 2,
      members: { s1: { viewnum: 2, restarted: false }, s2: { viewnum: 2, restarted: false } }, logSeq: 0,
    });
    const later = 60_000;
    let s = resume(JSON.parse(JSON.stringify(stored)), later);
    assert.deepEqual(Object.keys(s.servers).sort(), ['s1', 's2'], 'an idle server is soft state: it pings again');
    s = tick(s, later + (cfg.deadPings - 1) * cfg.pingIntervalMs, cfg);
    check(s.view, 's1', 's2', 2);
    // The window is only a window: a primary silent after the restart is declared dead as ever.
    s = ping(s, 's1', 2, later + 100, cfg);
    for (let at = later + 200; at < later + 2000; at += cfg.pingIntervalMs) s = ping(s, 's2', 2, at, cfg);
    check(s.view, 's2', '', 3);
  });

  test('resumed with a primary that never pings again: an idle server is not made its backup (the view would wait for an ack that never comes), and becomes primary once the old one is dead', () => {
    // Stored: view 1, s1 primary (acknowledged), no backup. The service that resumes it never hears
    // s1 (it died, or pings another service); s2 pings from the start.
    const stored = { view: { viewnum: 1, primary: 's1', backup: '' }, acked: true, backupSince: 0, members: { s1: { viewnum: 1, restarted: false } }, logSeq: 0 };
    const t0 = 10_000;
    let s = resume(stored, t0);
    // The service's own stall of 300 ms (a loaded host) moves s1's last-seen time forward: s1 looks
    // alive well past the detection window after the resume.
    s = tick(s, t0 + 300, cfg);
    for (let at = t0 + 350; at < t0 + 800; at += cfg.pingIntervalMs) {
      s = ping(s, 's2', 0, at, cfg);
      check(s.view, 's1', '', 1);
    }
    // Once s1 is dead, s2 (which never held state, but nobody else did either) becomes primary.
    for (let at = t0 + 800; at < t0 + 1500; at += cfg.pingIntervalMs) s = ping(s, 's2', s.view.viewnum, at, cfg);
    check(s.view, 's2', '', 2);
  });

  test('resumed with a primary that pings again: it is heard first, then an idle server becomes its backup', () => {
    const stored = { view: { viewnum: 1, primary: 's1', backup: '' }, acked: true, backupSince: 0, members: { s1: { viewnum: 1, restarted: false } }, logSeq: 0 };
    let s = resume(stored, 0);
    s = ping(s, 's2', 0, 600, cfg);
    check(s.view, 's1', '', 1);
    s = ping(s, 's1', 1, 650, cfg);
    s = ping(s, 's2', 0, 700, cfg);
    check(s.view, 's1', 's2', 2);
  });

  test('a stored restart mark is kept', () => {
    const vs = pairSynced();
    vs.intervals(DEAD, { s1: 2, s3: 0 });
    vs.interval({ s1: 2, s3: 3 });
    vs.interval({ s1: 2, s3: 0 });
    assert.equal(vs.state.servers.s3.restarted, true);
    const s = resume(durablePart(vs.state), 10_000);
    assert.equal(s.servers.s3.restarted, true);
    check(ping(s, 's1', 3, 10_000, cfg).view, 's1', '', 4);
  });
});

describe('view service rules: invariants over random ping/tick histories', () => {
  test('view numbers strictly increase past every pinged one, change only after an ack, and the new primary held state unless both were lost', () => {
    const servers = ['a', 'b', 'c'];
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('ping' as const), server: fc.constantFrom(...servers), mode: fc.constantFrom('current', 'zero', 'stale') }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('ping' as const), server: fc.constantFrom(...servers), mode: fc.constant('ahead' as const) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 2 * cfg.pingIntervalMs }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 2 * cfg.pingIntervalMs + 1, max: 3000 }) }) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        let s = initialState();
        let now = 0;
        let highestPinged = 0;
        for (const st of steps) {
          const before = s;
          let heard: ViewState;
          let n = 0;
          if (st.kind === 'ping') {
            n = { current: s.view.viewnum, zero: 0, stale: Math.max(0, s.view.viewnum - 1), ahead: s.view.viewnum + 3 }[st.mode];
            highestPinged = Math.max(highestPinged, n);
            heard = hear(s, st.server, n, now, cfg);
            s = ping(s, st.server, n, now, cfg);
          } else {
            now += st.ms;
            heard = closeGap(before, now, cfg);
            s = tick(s, now, cfg);
          }
          const v0 = before.view;
          const v1 = s.view;
          if (v1.viewnum === v0.viewnum) continue;
          assert.ok(v1.viewnum > v0.viewnum, 'view numbers strictly increase');
          assert.ok(v1.viewnum > highestPinged, 'no view number at or below one a master pinged');
          assert.ok(v1.primary !== v1.backup, 'primary and backup differ');
          // A master ahead of the service (lost state) resets it: nothing of its old view counts.
          if (v0.viewnum === 0 || (st.kind === 'ping' && n > v0.viewnum)) continue;
          assert.ok(before.acked || (st.kind === 'ping' && st.server === v0.primary && st.mode === 'current'), 'moved only after the primary acknowledged');
          if (v1.primary === v0.primary || v1.primary === v0.backup) {
            if (v1.primary !== v0.primary) assert.ok(!bothLost(heard, now, cfg), 'a backup took over only if it held state');
            continue;
          }
          // Only when both were lost may another server become primary, and then with no backup.
          if (st.kind === 'ping') assert.ok(bothLost(heard, now, cfg), 'both were lost');
          assert.equal(v1.backup, '', 'a restoring primary starts without a backup');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("the log's high mark (docs/DESIGN.md §3.4)", () => {
  test('the highest batch any master said it held, tick by tick: never lowered by a lower or missing seq, kept through a restart of the service', () => {
    let s = initialState();
    let now = 0;
    const step = (server: string, viewnum: number, seq?: number) => {
      s = heardSeq(ping(s, server, viewnum, now, cfg), seq);
      now += cfg.pingIntervalMs;
      s = tick(s, now, cfg);
    };
    step('a', 0, 0);
    assert.equal(s.logSeq, 0);
    step('a', 1, 5);
    step('b', 0, 0);
    assert.equal(s.logSeq, 5, 'a restarted backup with seq 0 does not lower it');
    step('a', 1, 41);
    step('a', 1);
    assert.equal(s.logSeq, 41, 'a ping without a seq (an older master) changes nothing');
    // Redis rolled the log back; both masters restart and the new primary finds only batch 23.
    step('b', 1, 23);
    assert.equal(s.logSeq, 41, 'a master that restored a shorter log does not lower it');
    const stored = JSON.parse(JSON.stringify(durablePart(s)));
    assert.equal(stored.logSeq, 41);
    assert.equal(resume(stored, now).logSeq, 41, 'a restarted service resumes it');
    const { logSeq: _, ...older } = stored;
    assert.equal(resume(older, now).logSeq, 0, 'a state stored before the field existed resumes at 0');
  });
});
