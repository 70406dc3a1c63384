// The session cookie's attributes: the Secure flag follows the socket's TLS (req.secure), which the
// HTTP tests cannot reach until the console serves TLS itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearedCookie, sessionCookie } from './security.ts';

test('the session cookie is HttpOnly, SameSite=Strict, lasts as long as the session, and is Secure only over TLS', () => {
  const id = 'A'.repeat(43);
  assert.equal(sessionCookie(id, 3600, false), `tandem_console=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600`);
  assert.equal(sessionCookie(id, 60, true), `tandem_console=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure`);
  assert.match(clearedCookie, /^tandem_console=; .*Max-Age=0$/);
});
