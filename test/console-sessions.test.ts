// Console login sessions (issue 12) over HTTP, against a real console and Redis: each login is its
// own random session, logout revokes it everywhere, sessions expire, form tokens belong to their
// session, and failed logins are rate-limited per client address.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startCluster, type Cluster } from './harness/cluster.ts';
import { call } from './harness/http.ts';
import { waitFor } from './harness/wait.ts';

const token = 'correct-horse-battery';
const csrfOf = (page: string) => /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1];
const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('console sessions over HTTP', { timeout: 120_000 }, () => {
  let c: Cluster;
  /** Sessions of an hour, the default rate limit. */
  let u: string;
  /** Sessions of 2 s, and 3 failed logins per 4 s. */
  let short: string;
  before(async () => {
    c = await startCluster({ name: 'console-sessions', workers: 0 });
    ({ url: u } = await c.startConsole({ TANDEM_CONSOLE_TOKEN: token, TANDEM_CONSOLE_SESSION_S: '3600' }));
    ({ url: short } = await c.startConsole({ TANDEM_CONSOLE_TOKEN: token, TANDEM_CONSOLE_SESSION_S: '2', TANDEM_CONSOLE_LOGIN_MAX_FAILURES: '3', TANDEM_CONSOLE_LOGIN_WINDOW_S: '4' }));
  });
  after(async () => c?.stop());

  const login = (url: string, given = token, headers: Record<string, string> = {}) =>
    call(`${url}/login`, { method: 'POST', headers: { ...form, origin: url, ...headers }, body: new URLSearchParams({ token: given, next: '/jobs' }).toString() });
  const session = async (url: string) => {
    const r = await login(url);
    assert.equal(r.status, 303, r.text);
    const cookie = r.headers.get('set-cookie')!;
    const pair = cookie.split(';')[0];
    const page = await call(`${url}/jobs`, { headers: { cookie: pair } });
    assert.equal(page.status, 200);
    return { cookie, pair, id: pair.split('=')[1], csrf: csrfOf(page.text) };
  };
  const gc = (url: string, cookie: string, csrf: string) =>
    call(`${url}/api/gc`, { method: 'POST', headers: { cookie, origin: url, 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ dryRun: true }) });

  test('two logins give two random sessions, each with its own form token; Redis keeps only their hashes', async () => {
    const a = await session(u);
    const b = await session(u);
    assert.notEqual(a.pair, b.pair, 'two logins, two cookies');
    assert.match(a.id, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.match(a.cookie, /; HttpOnly; SameSite=Strict; Path=\/; Max-Age=3600$/);
    assert.notEqual(a.csrf, b.csrf, 'a form token per session');
    assert.equal((await gc(u, b.pair, b.csrf)).status, 200, 'a session with its own form token');
    const crossed = await gc(u, b.pair, a.csrf);
    assert.equal(crossed.status, 403, "another session's form token is refused");
    assert.match(crossed.json.error, /missing or stale form token/);
    const r = c.redis.client();
    const stored = await r.keys(`${c.keys.prefix}:console:session:*`);
    assert.ok(stored.includes(c.keys.consoleSession(createHash('sha256').update(a.id).digest('hex'))), 'the session is in Redis under its hash');
    assert.ok(stored.every((k) => !k.includes(a.id) && !k.includes(b.id)), 'no key holds a session id');
    const ttl = await r.ttl(c.keys.consoleSession(createHash('sha256').update(a.id).digest('hex')));
    assert.ok(ttl > 3500 && ttl <= 3600, `expiry set at login (${ttl} s)`);
    assert.equal((await call(`${u}/api/jobs`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the bearer token needs no session');
    assert.equal((await call(`${u}/api/gc`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"dryRun":true}' })).status, 200, 'nor a form token');
  });

  test('logout revokes the session: the replayed cookie gets the login page and 401, the other session lives on', async () => {
    const a = await session(u);
    const b = await session(u);
    const stale = await call(`${u}/logout`, { method: 'POST', headers: { cookie: a.pair, ...form, origin: u }, body: `_csrf=${b.csrf}` });
    assert.equal(stale.status, 403, "logout needs the session's own form token");
    const out = await call(`${u}/logout`, { method: 'POST', headers: { cookie: a.pair, ...form, origin: u }, body: `_csrf=${a.csrf}` });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    const page = await call(`${u}/jobs`, { headers: { cookie: a.pair } });
    assert.equal(page.status, 303, 'a replayed cookie is not a session');
    assert.equal(page.headers.get('location'), '/login?next=%2Fjobs');
    const api = await call(`${u}/api/jobs`, { headers: { cookie: a.pair } });
    assert.equal(api.status, 401);
    assert.match(api.json.error, /log in at \/login/);
    assert.equal((await gc(u, a.pair, a.csrf)).status, 401, 'nor can it change anything');
    assert.equal((await call(`${u}/api/jobs`, { headers: { cookie: b.pair } })).status, 200, 'the other login is untouched');
    const forged = await call(`${u}/api/jobs`, { headers: { cookie: 'tandem_console=' + 'A'.repeat(43) } });
    assert.equal(forged.status, 401, 'a made-up id is no session');
  });

  test('over plain HTTP the cookie has no Secure flag, and X-Forwarded-Proto is not trusted to add it', async () => {
    const plain = await login(u);
    assert.doesNotMatch(plain.headers.get('set-cookie')!, /Secure/);
    const forwarded = await login(u, token, { 'x-forwarded-proto': 'https' });
    assert.equal(forwarded.status, 303);
    assert.doesNotMatch(forwarded.headers.get('set-cookie')!, /Secure/, 'Secure follows the socket, not a header');
  });

  test('a session ends at its expiry (TANDEM_CONSOLE_SESSION_S)', async () => {
    const s = await session(short);
    assert.match(s.cookie, /Max-Age=2$/);
    await waitFor(async () => (await call(`${short}/api/jobs`, { headers: { cookie: s.pair } })).status === 401, { what: 'the 2 s session to expire', timeoutMs: 10_000, intervalMs: 200 });
    const page = await call(`${short}/jobs`, { headers: { cookie: s.pair } });
    assert.equal(page.status, 303, 'pages send it to the login form');
    assert.equal(page.headers.get('location'), '/login?next=%2Fjobs');
    const out = await call(`${short}/logout`, { method: 'POST', headers: { cookie: s.pair, ...form, origin: short }, body: `_csrf=${s.csrf}` });
    assert.equal(out.status, 303, 'logging out of an ended session just drops the cookie');
    assert.equal(out.headers.get('location'), '/login');
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
  });

  test('failed logins are limited per address: 429 with Retry-After naming the wait, even for the right token; after the window a login works', async () => {
    for (let i = 0; i < 3; i++) {
      const wrong = await login(short, `guess-${i}`);
      assert.equal(wrong.status, 401, `failure ${i + 1}`);
      assert.match(wrong.text, /That is not the token/);
    }
    const limited = await login(short);
    assert.equal(limited.status, 429, 'the right token too, while limited: the limit is no oracle');
    assert.equal(limited.headers.get('set-cookie'), null);
    const wait = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 4, `Retry-After ${limited.headers.get('retry-after')}`);
    assert.match(limited.text, new RegExp(`Too many failed logins from [^ ]+ \\(3 in 4 s, TANDEM_CONSOLE_LOGIN_MAX_FAILURES\\): try again in ${wait} s\\.`));
    // The attempts are counted in Redis per address, for every console of the cluster; the other
    // console allows 5 per minute, so the same 3 failures leave it open.
    assert.equal((await login(u)).status, 303, 'the other console counts the same failures against its own limit');
    const ok = await waitFor(async () => {
      const r = await login(short);
      return r.status === 303 ? r : null;
    }, { what: 'the login window to pass', timeoutMs: 15_000, intervalMs: 250 });
    assert.match(ok.headers.get('set-cookie')!, /^tandem_console=[A-Za-z0-9_-]{43};/);
  });
});
