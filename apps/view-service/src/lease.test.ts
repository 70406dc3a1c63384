// The lease's scripts against a real Redis: one holder per prefix, a standby refused, the state
// written only by the holder, and a takeover once the holder stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TandemError, createLogger, keys } from '@tandem/shared';
import { redisForFile } from '../../../test/harness/redis.ts';
import { waitFor } from '../../../test/harness/wait.ts';
import { ViewLeaseKeeper, readLease } from './lease.ts';

const fx = redisForFile();
const log = createLogger('test', 'silent');

function keeper(prefix: string, url: string, loads: number[] = [], ttlMs = 400): ViewLeaseKeeper {
  return new ViewLeaseKeeper({
    redis: fx.redis, keys: keys(prefix), log, url, cfg: { ttlMs },
    load: async () => {
      loads.push(Date.now());
    },
  });
}

test('the first service holds the lease; a second one is a standby naming it, and cannot write the state', async () => {
  const loadsA: number[] = [];
  const a = keeper('l1', 'http://127.0.0.1:7001', loadsA, 1000);
  const b = keeper('l1', 'http://127.0.0.1:7002', [], 1000);
  void a.start();
  await waitFor(async () => a.authoritative(), { what: 'a to hold the lease', timeoutMs: 10_000 });
  assert.equal(loadsA.length, 1, 'the stored view is loaded once per tenure');
  void b.start();
  await waitFor(async () => /held by http:\/\/127\.0\.0\.1:7001/.test(b.standby().message), { what: 'b to see a as holder', timeoutMs: 10_000 });
  assert.equal(b.authoritative(), false);
  await a.saveState('{"from":"a"}');
  await assert.rejects(b.saveState('{"from":"b"}'), (err: unknown) => err instanceof TandemError && err.code === 'unavailable' && /held by http:\/\/127\.0\.0\.1:7001/.test(err.message));
  assert.equal(await fx.redis.get(keys('l1').viewService()), '{"from":"a"}');
  const stored = await readLease(fx.redis, keys('l1'));
  assert.equal(stored?.lease.url, 'http://127.0.0.1:7001');
  const epochA = a.lease!.epoch;

  // Renewals keep it while time passes (several TTLs).
  const until = Date.now() + 3000;
  await waitFor(async () => Date.now() > until, { what: 'three TTLs', timeoutMs: 10_000, intervalMs: 100 });
  assert.equal(a.authoritative(), true);
  assert.equal(b.authoritative(), false);
  assert.equal(loadsA.length, 1);

  // The holder stops (releasing): the standby takes over with a newer epoch, and the old holder cannot write.
  await a.stop();
  await waitFor(async () => b.authoritative(), { what: 'b to take over', timeoutMs: 10_000 });
  assert.ok(b.lease!.epoch > epochA, `epoch ${b.lease!.epoch} after ${epochA}`);
  await assert.rejects(a.saveState('{"from":"a"}'), /held by http:\/\/127\.0\.0\.1:7002/);
  await b.stop();
});

test('a holder whose renewals stop (as if paused) loses the lease to a standby after the TTL, and learns it before deciding anything', async () => {
  const a = keeper('l2', 'http://127.0.0.1:7001');
  await a.start();
  await waitFor(async () => a.authoritative(), { what: 'a to hold the lease', timeoutMs: 10_000 });
  // Stop a's renewals without releasing: its lease lapses in Redis as a SIGSTOPped holder's would.
  (a as unknown as { stopped: boolean }).stopped = true;
  const b = keeper('l2', 'http://127.0.0.1:7002');
  void b.start();
  await waitFor(async () => b.authoritative(), { what: 'b to take over after the TTL', timeoutMs: 10_000 });
  assert.equal(a.authoritative(), false, 'three quarters of a TTL after its last renewal it has given the lease up locally');
  await assert.rejects(a.saveState('{}'), /held by http:\/\/127\.0\.0\.1:7002/);
  await b.stop();
});
