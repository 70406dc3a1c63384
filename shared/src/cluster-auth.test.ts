import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSecretFile, isAuthorized, readSecretFile, secretFromDataDir, SECRET_FILE } from './cluster-auth.ts';
import { ConfigError, loadConfig } from './config.ts';

const SECRET = 'sixteen-or-more-characters';
const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } });

test('isAuthorized: only the exact bearer secret passes; without a secret everything does', () => {
  assert.equal(isAuthorized(req(`Bearer ${SECRET}`), SECRET), true);
  for (const bad of [undefined, '', 'Bearer', `Bearer ${SECRET}x`, `Bearer ${SECRET.slice(1)}`, `Basic ${SECRET}`, SECRET]) {
    assert.equal(isAuthorized(req(bad), SECRET), false, String(bad));
  }
  assert.equal(isAuthorized(req(), undefined), true);
});

test('ensureSecretFile makes a random secret with mode 0600 once, then reuses it; the environment wins', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-secret-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  assert.equal(readSecretFile(data), undefined);
  const made = ensureSecretFile(data);
  assert.ok(made.length >= 32);
  assert.equal(statSync(join(data, SECRET_FILE)).mode & 0o777, 0o600);
  assert.equal(ensureSecretFile(data), made);
  assert.notEqual(ensureSecretFile(join(dir, 'other')), made);

  const env: NodeJS.ProcessEnv = {};
  secretFromDataDir(env, data);
  assert.equal(env.TANDEM_SECRET, made);
  const given: NodeJS.ProcessEnv = { TANDEM_SECRET: SECRET };
  secretFromDataDir(given, data);
  assert.equal(given.TANDEM_SECRET, SECRET);
});

test('config: a short TANDEM_SECRET is refused with its name and without its value; empty means unset', () => {
  assert.throws(() => loadConfig({ TANDEM_SECRET: 'short-secret' }), (e: unknown) =>
    e instanceof ConfigError && /TANDEM_SECRET/.test(e.message) && /at least 16 characters/.test(e.message) && !e.message.includes('short-secret'));
  assert.equal(loadConfig({ TANDEM_SECRET: '' }).TANDEM_SECRET, undefined);
  assert.equal(loadConfig({ TANDEM_SECRET: SECRET }).TANDEM_SECRET, SECRET);
});
