// The master client in front of a view service that does not answer (nothing listens on its port):
// one that never answered is a wrong address or nothing running, said at once; one known to have
// answered (a restart) is waited for, up to retryForMs, and the wait said once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { MasterClient, MasterUnreachableError } from './master-client.ts';

/** A port nothing listens on (bound, then closed). */
const closedPort = () => new Promise<number>((done) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const { port } = srv.address() as { port: number };
    srv.close(() => done(port));
  });
});

test('a view service never seen fails at once; one seen before is waited for, saying so once', async () => {
  const viewUrl = `http://127.0.0.1:${await closedPort()}`;
  const said: string[] = [];
  const fresh = new MasterClient({ viewUrl, retryForMs: 60_000, onViewWait: (m) => said.push(m) });
  await assert.rejects(fresh.list(), (err: Error) => err instanceof MasterUnreachableError && /^cannot reach the view service at /.test(err.message));
  assert.equal(said.length, 0, 'nothing to wait for');

  const seen = new MasterClient({ viewUrl, retryForMs: 400, viewSeen: true, onViewWait: (m) => said.push(m) });
  await assert.rejects(seen.list(), (err: Error) => err instanceof MasterUnreachableError && /^no primary master answered through the view service at .* \(last error: view service at .*ECONNREFUSED/.test(err.message));
  assert.ok(seen.viewLookups > 1, 'it asked again while waiting');
  assert.equal(said.length, 1, said.join('\n'));
  assert.match(said[0], new RegExp(`^view service at ${viewUrl} not answering; waiting up to 1 s \\(it answered before, so it may be restarting: .*ECONNREFUSED`));
});
