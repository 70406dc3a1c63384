import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ViewLease } from '@tandem/shared';
import { answered, authoritative, expire, holds, initialLease, loaded, needsLoad, renewEveryMs, standbyReason, type LeaseState } from './lease-rules.ts';

const cfg = { ttlMs: 2000 };
const lease = (id: string, epoch: number, url = `http://127.0.0.1:${id === 'a' ? 7000 : 7100}`): ViewLease => ({ id, url, since: '2026-01-01T00:00:00.000Z', epoch });

/** One acquire-or-renew call sent at `sentAt` and answered at `now`. */
const step = (s: LeaseState, outcome: 'acquired' | 'renewed' | 'held', l: ViewLease, sentAt: number, now = sentAt) => answered(s, { outcome, lease: l }, sentAt, now, cfg);

test('a service takes a free lease, but decides nothing until it has loaded the stored view', () => {
  let s = initialLease('a');
  assert.equal(authoritative(s, 0, cfg), false);
  const r = step(s, 'acquired', lease('a', 1), 0);
  assert.equal(r.event, 'acquired');
  s = r.state;
  assert.equal(needsLoad(s, 10, cfg), true);
  assert.equal(authoritative(s, 10, cfg), false, 'not before the stored view is loaded');
  s = loaded(s, 1);
  assert.equal(authoritative(s, 10, cfg), true);
  assert.equal(needsLoad(s, 10, cfg), false);
});

test('renewals every quarter of the TTL keep it authoritative, tick by tick', () => {
  let s = loaded(step(initialLease('a'), 'acquired', lease('a', 1), 0).state, 1);
  for (let t = renewEveryMs(cfg); t <= 20_000; t += renewEveryMs(cfg)) {
    const r = step(s, 'renewed', lease('a', 1), t, t + 5);
    assert.equal(r.event, 'renewed', `at ${t}`);
    s = r.state;
    assert.equal(authoritative(s, t + 5, cfg), true, `at ${t}`);
    assert.equal(expire(s, t + renewEveryMs(cfg) - 1, cfg).event, 'none');
  }
});

test('a holder that cannot renew gives the lease up locally, three quarters of a TTL after its last renewal was sent', () => {
  let s = loaded(step(initialLease('a'), 'acquired', lease('a', 1), 0).state, 1);
  s = step(s, 'renewed', lease('a', 1), 500, 600).state;
  // Renewals at 1000, 1500 fail (Redis unreachable): nothing is answered, the state stays.
  assert.equal(holds(s, 1999, cfg), true);
  assert.equal(expire(s, 1999, cfg).event, 'none');
  const r = expire(s, 2000, cfg);
  assert.equal(r.event, 'lost', '500 + 1500: before Redis (at 500 + 2000 at the earliest) can give it to anyone else');
  assert.equal(authoritative(r.state, 2000, cfg), false);
  assert.equal(r.state.epoch, 0);
});

test('a holder paused past its lease learns on resuming, before answering, that it lost it; a late answer does not bring it back', () => {
  let s = loaded(step(initialLease('a'), 'acquired', lease('a', 1), 0).state, 1);
  // A renewal sent at 500, then SIGSTOP for 10 s; the answer is read at 10 500.
  assert.equal(authoritative(s, 10_500, cfg), false, 'checked against the time of its last renewal');
  const late = step(s, 'renewed', lease('a', 1), 500, 10_500);
  assert.equal(late.event, 'lost', 'an answer to a call sent 10 s ago proves nothing about now');
  assert.equal(authoritative(late.state, 10_500, cfg), false);
  // The next call, sent after the pause, finds the lease still its own (nobody took it): a new tenure, so it reloads.
  const again = step(late.state, 'renewed', lease('a', 1), 10_600);
  assert.equal(again.event, 'acquired');
  assert.equal(needsLoad(again.state, 10_600, cfg), true);
});

test('a holder that finds another holder is a standby at once', () => {
  let s = loaded(step(initialLease('a'), 'acquired', lease('a', 1), 0).state, 1);
  const r = step(s, 'held', lease('b', 2), 3000);
  assert.equal(r.event, 'lost');
  s = r.state;
  assert.equal(authoritative(s, 3000, cfg), false);
  assert.match(standbyReason(s, 3000, cfg, 'tandem'), /held by http:\/\/127\.0\.0\.1:7100 since 2026-01-01T00:00:00\.000Z; this one takes over if that one stops renewing it for 2000 ms/);
  assert.equal(step(s, 'held', lease('b', 2), 3500).event, 'none', 'the same holder is logged once');
});

test('a standby waits while the lease is held and takes over with a new epoch once it lapsed', () => {
  let s = initialLease('b');
  let r = step(s, 'held', lease('a', 1), 0);
  assert.equal(r.event, 'standby');
  s = r.state;
  for (let t = 500; t < 5000; t += 500) {
    r = step(s, 'held', lease('a', 1), t);
    assert.equal(r.event, 'none');
    s = r.state;
    assert.equal(authoritative(s, t, cfg), false);
  }
  r = step(s, 'acquired', lease('b', 2), 5000);
  assert.equal(r.event, 'acquired');
  assert.equal(r.state.epoch, 2);
  assert.equal(authoritative(r.state, 5000, cfg), false, 'loads the stored view first');
  assert.equal(authoritative(loaded(r.state, 2), 5001, cfg), true);
  assert.equal(authoritative(loaded(r.state, 1), 5001, cfg), false, 'a load for another epoch does not count');
});

test('a new holder after a standby is logged again', () => {
  const s = step(initialLease('c'), 'held', lease('a', 1), 0).state;
  assert.equal(step(s, 'held', lease('b', 2), 500).event, 'standby');
});

test('without any answer yet, the reason says no view service holds the lease', () => {
  assert.match(standbyReason(initialLease('a'), 0, cfg, 'tandem'), /no view service holds the view-service lease for prefix "tandem"/);
});

test('a holder whose own lease ran out says so, not that nobody holds it', () => {
  const mine: ViewLease = { id: 'a', url: 'http://a', since: '2026-01-01T00:00:00.000Z', epoch: 3 };
  const held = answered(initialLease('a'), { outcome: 'acquired', lease: mine }, 0, 0, cfg).state;
  const later = expire(held, 10 * cfg.ttlMs, cfg).state;
  assert.match(standbyReason(later, 10 * cfg.ttlMs, cfg, 'tandem'), /this view service's lease for prefix "tandem" lapsed .*it decides nothing until Redis says who holds the lease now/);
});
