import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDIS_PASSWORD_FILE, explainRedisError, redactUrl, redisProblem, redisTlsOptions, withDataDirRedisPassword, withRedisPassword } from './redis.ts';
import { loadConfig } from './config.ts';

test('redactUrl takes the password out and keeps the rest', () => {
  assert.equal(redactUrl('redis://:s3cret@127.0.0.1:6390'), 'redis://127.0.0.1:6390');
  assert.equal(redactUrl('redis://alice:s3cret@redis.example:6379/2'), 'redis://alice@redis.example:6379/2');
  assert.equal(redactUrl('rediss://:p%40ss@[::1]:6380'), 'rediss://[::1]:6380');
  assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  assert.equal(redactUrl('not a url //user:pw@host'), 'not a url //host');
  // The export line's form: where the password goes, not what it is.
  assert.equal(redactUrl('redis://:s3cret@127.0.0.1:6390', '<password>'), 'redis://:<password>@127.0.0.1:6390');
  assert.equal(redactUrl('redis://alice:s3cret@h:1/2', '<password>'), 'redis://alice:<password>@h:1/2');
});

test('explainRedisError names the address without the password, and what to change', () => {
  const url = 'redis://:hunter2hunter2@127.0.0.1:6390';
  const wrong = explainRedisError(new Error('WRONGPASS invalid username-password pair or user is disabled.'), url);
  assert.equal(wrong, 'Redis at redis://127.0.0.1:6390 refused the password (WRONGPASS); check the password in REDIS_URL');
  const none = explainRedisError(new Error('NOAUTH Authentication required.'), 'redis://127.0.0.1:6390');
  assert.equal(none, 'Redis at redis://127.0.0.1:6390 needs a password (NOAUTH): put it in REDIS_URL as redis://:PASSWORD@host:port');
  const cert = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  assert.equal(redisProblem(cert), 'untrusted');
  assert.match(explainRedisError(cert, 'rediss://:x@127.0.0.1:6380'), /^Redis at rediss:\/\/127\.0\.0\.1:6380 presented a TLS certificate this process does not trust .*set TANDEM_REDIS_CA/);
  const host = Object.assign(new Error("Hostname/IP does not match certificate's altnames: Host: localhost. is not cert's CN: x"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  assert.match(explainRedisError(host, 'rediss://localhost:6380'), /^Redis at rediss:\/\/localhost:6380 presented a TLS certificate for another host name .*: put a name the certificate lists in REDIS_URL$/);
  assert.match(explainRedisError(new Error('connect ETIMEDOUT'), 'rediss://127.0.0.1:6379'), /if that port speaks Redis without TLS, use redis:\/\/$/);
  assert.equal(explainRedisError(new Error('connect ETIMEDOUT'), 'redis://127.0.0.1:6379'), 'cannot reach Redis at redis://127.0.0.1:6379 (connect ETIMEDOUT)');
  const down = explainRedisError(new Error('connect ECONNREFUSED 127.0.0.1:6390 (hunter2hunter2)'), url);
  assert.equal(down, 'cannot reach Redis at redis://127.0.0.1:6390 (connect ECONNREFUSED 127.0.0.1:6390 (***))', 'a password repeated by a library is taken out');
});

test('a local URL without a password takes the one tandem up keeps in the data folder; others stay as given', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-redis-pw-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(withDataDirRedisPassword('redis://127.0.0.1:6379', dir), 'redis://127.0.0.1:6379', 'no file: unchanged');
  writeFileSync(join(dir, REDIS_PASSWORD_FILE), 'abc123\n');
  assert.equal(withDataDirRedisPassword('redis://127.0.0.1:6379', dir), 'redis://:abc123@127.0.0.1:6379');
  assert.equal(withDataDirRedisPassword('redis://localhost:7000/1', dir), 'redis://:abc123@localhost:7000/1');
  assert.equal(withDataDirRedisPassword('redis://:given@127.0.0.1:6379', dir), 'redis://:given@127.0.0.1:6379', 'a password in the URL wins');
  assert.equal(withDataDirRedisPassword('redis://redis.example:6379', dir), 'redis://redis.example:6379', 'not this machine');
  assert.equal(withDataDirRedisPassword('rediss://127.0.0.1:6379', dir), 'rediss://127.0.0.1:6379', 'tandem up starts no TLS Redis');
  assert.equal(withRedisPassword('redis://u:old@127.0.0.1:1', 'p@ss'), 'redis://:p%40ss@127.0.0.1:1');
  // tandem up --redis-cluster's seed list: every node local, so every node shares the password.
  assert.equal(withDataDirRedisPassword('redis://127.0.0.1:7000,127.0.0.1:7001', dir), 'redis://:abc123@127.0.0.1:7000,127.0.0.1:7001');
  assert.equal(withDataDirRedisPassword('redis://127.0.0.1:7000,10.0.0.2:7001', dir), 'redis://127.0.0.1:7000,10.0.0.2:7001', 'a seed elsewhere: unchanged');
});

test('TLS: rediss:// only, with TANDEM_REDIS_CA added to the trusted roots; a bad CA file is a configuration error', (t) => {
  assert.equal(redisTlsOptions('redis://127.0.0.1:6379'), undefined);
  assert.deepEqual(redisTlsOptions('rediss://127.0.0.1:6379'), {});
  const dir = mkdtempSync(join(tmpdir(), 'tandem-redis-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  writeFileSync(join(dir, 'ca.pem'), pem);
  const ca = redisTlsOptions({ REDIS_URL: 'rediss://127.0.0.1:6379', TANDEM_REDIS_CA: join(dir, 'ca.pem') })!.ca as string[];
  assert.equal(ca.at(-1), pem);
  assert.ok(ca.length > 1, "Node's own roots stay trusted");
  assert.throws(() => loadConfig({ TANDEM_REDIS_CA: join(dir, 'missing.pem') }), /TANDEM_REDIS_CA=.*cannot read .*missing\.pem \(ENOENT\)/);
  writeFileSync(join(dir, 'junk.pem'), 'junk');
  assert.throws(() => loadConfig({ TANDEM_REDIS_CA: join(dir, 'junk.pem') }), /holds no PEM certificate/);
  assert.throws(() => loadConfig({ REDIS_URL: 'http://:pw1234@127.0.0.1:6379' }), (err: Error) => {
    assert.match(err.message, /REDIS_URL="http:\/\/127\.0\.0\.1:6379".*use redis:\/\/HOST:PORT/);
    assert.ok(!err.message.includes('pw1234'), 'a configuration error shows no password');
    return true;
  });
});
