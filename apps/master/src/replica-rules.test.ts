import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { View } from '@tandem/shared';
import { checkMessage, initialReplica, installed, learnView, pingViewnum, suspend, synced, type ReplicaState } from './replica-rules.ts';

const view = (viewnum: number, primary: string, backup = ''): View => ({ viewnum, primary, backup });
const learn = (s: ReplicaState, v: View) => learnView(s, v);

describe('replica rules', () => {
  test('a fresh master pings 0, becomes primary of view 1 with the empty state and acknowledges it at once', () => {
    let s = initialReplica('a');
    assert.equal(pingViewnum(s), 0);
    const r = learn(s, view(1, 'a'));
    assert.deepEqual(r.actions, [{ type: 'becomePrimary', withState: true }]);
    s = r.state;
    assert.equal(s.role, 'primary');
    assert.equal(pingViewnum(s), 1);
  });

  test('the primary acknowledges a view with a backup only after the snapshot is sent', () => {
    let s = learn(initialReplica('a'), view(1, 'a')).state;
    const r = learn(s, view(2, 'a', 'b'));
    assert.deepEqual(r.actions, [{ type: 'sync', backup: 'b', viewnum: 2 }]);
    s = r.state;
    assert.equal(pingViewnum(s), 1, 'still acknowledges only view 1');
    // Learning the same view again asks for the sync again (the first attempt may have failed).
    assert.deepEqual(learn(s, view(2, 'a', 'b')).actions, [{ type: 'sync', backup: 'b', viewnum: 2 }]);
    s = synced(s, 2);
    assert.equal(pingViewnum(s), 2);
    assert.deepEqual(learn(s, view(2, 'a', 'b')).actions, []);
  });

  test('a snapshot finished for a view that has since changed acknowledges nothing', () => {
    let s = learn(initialReplica('a'), view(1, 'a')).state;
    s = learn(s, view(2, 'a', 'b')).state;
    s = learn(s, view(3, 'a', 'c')).state;
    s = synced(s, 2);
    assert.equal(pingViewnum(s), 1);
  });

  test('a backup with the snapshot is promoted with state; a new backup of it needs a snapshot', () => {
    let s = learn(initialReplica('b'), view(2, 'a', 'b')).state;
    assert.equal(s.role, 'backup');
    assert.equal(s.hasState, false);
    assert.equal(pingViewnum(s), 2, 'a backup pings the view it knows');
    s = installed(s, 2);
    assert.equal(s.hasState, true);
    const r = learn(s, view(3, 'b', 'c'));
    assert.deepEqual(r.actions, [{ type: 'becomePrimary', withState: true }, { type: 'sync', backup: 'c', viewnum: 3 }]);
    assert.equal(pingViewnum(r.state), 2, 'acknowledges view 3 only after the sync');
  });

  test('a server named primary without ever holding state says so (view service restarted)', () => {
    const r = learn(initialReplica('c'), view(4, 'c'));
    assert.deepEqual(r.actions, [{ type: 'becomePrimary', withState: false }]);
  });

  test('a deposed primary steps down and drops its state; it comes back as backup needing a snapshot', () => {
    let s = learn(initialReplica('a'), view(1, 'a')).state;
    s = synced(learn(s, view(2, 'a', 'b')).state, 2);
    let r = learn(s, view(3, 'b'));
    assert.deepEqual(r.actions, [{ type: 'stepDown' }, { type: 'dropState' }]);
    assert.equal(r.state.role, 'idle');
    r = learn(r.state, view(4, 'b', 'a'));
    assert.deepEqual(r.actions, []);
    assert.equal(r.state.role, 'backup');
    assert.equal(r.state.hasState, false);
    // Straight from primary to backup in one step: it must not keep the old state either.
    r = learn(s, view(3, 'b', 'a'));
    assert.deepEqual(r.actions, [{ type: 'stepDown' }, { type: 'dropState' }]);
    assert.equal(r.state.hasState, false);
  });

  test('a suspended primary serves again only after a fresh snapshot to its backup', () => {
    let s = learn(initialReplica('a'), view(1, 'a')).state;
    s = synced(learn(s, view(2, 'a', 'b')).state, 2);
    s = suspend(s);
    assert.equal(s.role, 'idle');
    assert.equal(pingViewnum(s), 2);
    const r = learn(s, view(2, 'a', 'b'));
    assert.deepEqual(r.actions, [{ type: 'becomePrimary', withState: true }, { type: 'sync', backup: 'b', viewnum: 2 }]);
    // Named primary again but not yet re-synced: it pings the view it acknowledged before, never 0,
    // which the view service would read as a restart without state (and move the view).
    assert.equal(r.state.synced, 0);
    assert.equal(pingViewnum(r.state), 2);
    assert.equal(pingViewnum(synced(r.state, 2)), 2);
  });

  test('older views are ignored', () => {
    const s = learn(learn(initialReplica('a'), view(1, 'a')).state, view(2, 'a')).state;
    const r = learn(s, view(1, 'a'));
    assert.equal(r.state, s);
    assert.deepEqual(r.actions, []);
  });

  test('the backup takes messages only from the primary of its current view', () => {
    let s = learn(initialReplica('b'), view(2, 'a', 'b')).state;
    assert.deepEqual(checkMessage(s, { kind: 'ops', viewnum: 2, from: 'a' }).type, 'refuse', 'no ops before the snapshot');
    assert.deepEqual(checkMessage(s, { kind: 'snapshot', viewnum: 2, from: 'a' }), { type: 'accept' });
    s = installed(s, 2);
    assert.deepEqual(checkMessage(s, { kind: 'ops', viewnum: 2, from: 'a' }), { type: 'accept' });
    const stale = checkMessage(s, { kind: 'ops', viewnum: 1, from: 'a' });
    assert.equal(stale.type, 'refuse');
    assert.match((stale as { reason: string }).reason, /view 1 is stale/);
    const wrong = checkMessage(s, { kind: 'ops', viewnum: 2, from: 'c' });
    assert.match((wrong as { reason: string }).reason, /c is not the primary of view 2/);
    assert.deepEqual(checkMessage(s, { kind: 'ops', viewnum: 3, from: 'a' }), { type: 'refresh' });
    assert.equal(checkMessage(s, { kind: 'ops', viewnum: 3, from: 'a' }, true).type, 'refuse');
  });

  test('a new primary refuses an old primary (it is no longer anybody\'s backup)', () => {
    let s = installed(learn(initialReplica('b'), view(2, 'a', 'b')).state, 2);
    s = learn(s, view(3, 'b')).state;
    const r = checkMessage(s, { kind: 'ops', viewnum: 2, from: 'a' });
    assert.equal(r.type, 'refuse');
    const idle = learn(initialReplica('c'), view(3, 'b')).state;
    assert.match((checkMessage(idle, { kind: 'snapshot', viewnum: 3, from: 'b' }) as { reason: string }).reason, /not the backup/);
  });
});
