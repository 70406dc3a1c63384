// TLS (issue 12): with TANDEM_TLS_CERT and TANDEM_TLS_KEY every listener serves HTTPS, and every
// client verifies it against TANDEM_TLS_CA. A CA and a server certificate (for 127.0.0.1 and
// localhost) made here with openssl; a cluster of the view service, two masters (the replica
// channel inside TLS) and workers runs a word count to the exact output, fails over, and serves the
// CLI and the console (whose cookie is Secure). Clients that do not trust the certificate, or speak
// plain HTTP to it, are refused with a message saying what to set; bad files stop a service with 78.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EXIT_CONFIG, putDataset } from '@tandem/shared';
import { repoRoot, spawnApp } from '../apps/cli/src/processes.ts';
import { kill, jobOutput, startCluster, testTimings, waitForJob, type Cluster } from './harness/cluster.ts';
import { referenceWordCount } from './harness/reference.ts';
import { freePort, waitFor } from './harness/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'tandem-tls-'));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

/** A CA, a server certificate it signs for IP:127.0.0.1 and DNS:localhost, and a second CA that signs nothing here. */
function makeCertificates(): void {
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=Tandem test ${ca}`);
  }
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.cnf');
  writeFileSync(file('not-pem.txt'), 'this is not a certificate\n');
}

const SECRET = 'a-tls-test-cluster-secret-0123456789';
const token = 'correct-horse-battery';
const text = 'the quick brown fox\njumps over the lazy dog\nthe dog sleeps\nand the fox runs\n'.repeat(200);

/** One request over https trusting only the test CA (or `ca`), redirects not followed. */
function httpsCall(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = https.request(url, { method: o.method ?? 'GET', headers: o.headers, ca: o.ca ?? readFileSync(file('ca.pem'), 'utf8'), agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('TLS', { timeout: 120_000 }, () => {
  let c: Cluster;
  let jobId: string;
  before(async () => {
    makeCertificates();
    // The test's own clients (the harness's looks, c.client()) trust the test CA like any Tandem client.
    process.env.TANDEM_TLS_CA = file('ca.pem');
    c = await startCluster({
      name: 'tls', masters: 2, workers: 2, env: { TANDEM_SECRET: SECRET },
      tls: { cert: file('server.pem'), key: file('server.key'), ca: file('ca.pem') },
    });
  });
  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every listener serves HTTPS: a word count to the exact output, the backup in sync over the TLS replica channel, a failover', async () => {
    assert.match(c.viewUrl, /^https:/);
    assert.ok(c.masters.every((m) => m.url.startsWith('https://')));
    const before = await c.replicated();
    await putDataset(c.redis.client(), c.keys, Readable.from([Buffer.from(text)]), { name: 'words', format: 'text', splitBytes: 2048 });
    const client = c.client();
    jobId = await client.submit({ type: 'wordcount', dataset: 'words', partitions: 3 });
    const done = await waitForJob(c, jobId);
    assert.equal(done.phase, 'done');
    assert.equal(await jobOutput(c, done), referenceWordCount(text));

    // The backup learnt the job over the replica channel: once promoted, it has it, done.
    await kill(c.masters[before.primary].proc);
    assert.equal(await c.primary(), before.backup, 'the backup took over');
    assert.equal((await client.status(jobId)).phase, 'done');
    const second = await client.submit({ type: 'wordcount', dataset: 'words', partitions: 2 });
    const s = await waitForJob(c, second);
    assert.equal(s.phase, 'done');
    assert.equal(await jobOutput(c, s), referenceWordCount(text));
  });

  test('the CLI works against the TLS cluster with TANDEM_TLS_CA', async () => {
    const ls = await c.cli(['job', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(ls.stdout.includes(jobId), ls.stdout);
    const view = await c.cli(['view']);
    assert.equal(view.code, 0, view.stderr);
    assert.match(view.stdout, /https:\/\/127\.0\.0\.1:\d+/);
  });

  test("a worker's own listener (/health, /metrics) serves HTTPS too", async () => {
    const port = await freePort();
    const w = c.startWorker({ TANDEM_METRICS_PORT: String(port) });
    try {
      const url = `https://127.0.0.1:${port}`;
      await waitFor(async () => (await httpsCall(`${url}/health`)).status === 200, { what: `worker ${url}/health`, timeoutMs: 90_000 });
      const m = await httpsCall(`${url}/metrics`, { headers: { authorization: `Bearer ${SECRET}` } });
      assert.equal(m.status, 200);
      assert.match(m.text, /^tandem_redis_rtt_seconds\{process="worker"\} \d/m, 'the PING to Redis, taken at the scrape');
      assert.equal((await httpsCall(`${url}/metrics`)).status, 401);
    } finally {
      await kill(w);
    }
  });

  test('a client that does not trust the certificate is refused, saying to set TANDEM_TLS_CA; an unreadable TANDEM_TLS_CA is named', async () => {
    // No CA (Node's public roots only), and a CA that did not sign the certificate.
    for (const [ca, args] of [['', ['job', 'ls']], [file('other-ca.pem'), ['view']]] as const) {
      {
        const r = await c.cli([...args], { env: { TANDEM_TLS_CA: ca } });
        assert.equal(r.code, 1, `${args.join(' ')} with TANDEM_TLS_CA=${ca}: ${r.stdout}`);
        assert.match(r.stderr, /https:\/\/127\.0\.0\.1:\d+: certificate not trusted \(unable to verify the first certificate\); set TANDEM_TLS_CA to the CA that signed it/);
        assert.doesNotMatch(r.stderr, /^\s+at /m, 'a message, not a stack trace');
      }
    }
    await assert.rejects(httpsCall(`${c.viewUrl}/view`, { ca: readFileSync(file('other-ca.pem'), 'utf8') }), /unable to verify the first certificate/);
    const missing = await c.cli(['job', 'ls'], { env: { TANDEM_TLS_CA: file('missing-ca.pem') } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /TANDEM_TLS_CA=\S+missing-ca\.pem: cannot read the file \(ENOENT\)/);
  });

  test('plain HTTP to a TLS port, and TLS to a plain port, fail with a message that says so', async () => {
    const plainUrl = c.viewUrl.replace(/^https:/, 'http:');
    const r = await c.cli(['view'], { env: { TANDEM_VIEW_URL: plainUrl } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the connection was closed without an answer .*; if that server has TLS on, use an https:\/\/ URL/);
    const plain = http.createServer((_req, res) => res.end('{}'));
    const port = await freePort();
    await new Promise<void>((resolve) => plain.listen(port, '127.0.0.1', resolve));
    try {
      const t = await c.cli(['view'], { env: { TANDEM_VIEW_URL: `https://127.0.0.1:${port}` } });
      assert.equal(t.code, 1);
      assert.match(t.stderr, new RegExp(`https://127\\.0\\.0\\.1:${port}: the server does not speak TLS \\(wrong version number\\); use an http:// URL`));
      assert.doesNotMatch(t.stderr, /^\s+at /m);
    } finally {
      plain.close();
    }
  });

  test("the containers' healthcheck (scripts/healthcheck.mjs) speaks TLS when TANDEM_TLS_CERT is set, and fails where nothing answers", async () => {
    // Asynchronous: the plain listener below answers from this process.
    const probe = (port: string, env: NodeJS.ProcessEnv) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['scripts/healthcheck.mjs', port], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 10_000 }, (err, _out, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
    });
    const tlsPort = new URL(c.viewUrl).port;
    const tlsEnv = { TANDEM_TLS_CERT: file('server.pem'), TANDEM_TLS_CA: file('ca.pem') };
    assert.equal((await probe(tlsPort, tlsEnv)).status, 0, 'healthy over TLS, with the CA');
    const plainSpeaker = await probe(tlsPort, {});
    assert.equal(plainSpeaker.status, 1, 'plain HTTP to a TLS listener is not healthy');
    const other = await probe(tlsPort, { TANDEM_TLS_CERT: file('server.pem'), TANDEM_TLS_CA: file('other-ca.pem') });
    assert.equal(other.status, 1, 'a certificate from another CA is not trusted');
    assert.match(other.stderr, /healthcheck: 127\.0\.0\.1:\d+: /);
    const plain = http.createServer((req, res) => { res.statusCode = req.url === '/health' ? 200 : 404; res.end('{}'); });
    const port = await freePort();
    await new Promise<void>((resolve) => plain.listen(port, '127.0.0.1', resolve));
    try {
      assert.equal((await probe(String(port), {})).status, 0, 'healthy over plain HTTP');
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
    assert.equal((await probe(String(port), {})).status, 1, 'nothing listens any more');
    assert.equal((await probe('nope', {})).status, 2, 'a bad port is a usage error');
  });

  test('the console over TLS: login sets a Secure, HttpOnly, SameSite cookie, and the session works over https', async () => {
    const { url } = await c.startConsole({ TANDEM_CONSOLE_TOKEN: token });
    assert.match(url, /^https:/);
    const login = await httpsCall(`${url}/login`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
      body: new URLSearchParams({ token, next: '/jobs' }).toString(),
    });
    assert.equal(login.status, 303, login.text);
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /^tandem_console=[^;]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/);
    const pair = cookie.split(';')[0];
    const page = await httpsCall(`${url}/jobs`, { headers: { cookie: pair } });
    assert.equal(page.status, 200);
    // The console reads the job table from the primary master over https.
    const api = await httpsCall(`${url}/api/jobs`, { headers: { cookie: pair } });
    assert.equal(api.status, 200, api.text);
    assert.ok(api.text.includes(jobId), api.text);
    assert.equal((await httpsCall(`${url}/api/jobs`)).status, 401, 'no cookie, no session');
  });

  test('tandem up with TANDEM_TLS_CERT and TANDEM_TLS_KEY runs the whole cluster over TLS', async () => {
    const [viewPort, masterPort, consolePort] = [await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env, ...testTimings, REDIS_URL: c.redis.url, TANDEM_PREFIX: `${c.prefix}up`, TANDEM_DATA_DIR: file('up-data'),
      TANDEM_TLS_CERT: file('server.pem'), TANDEM_TLS_KEY: file('server.key'), TANDEM_TLS_CA: file('ca.pem'),
    };
    // Found from the ports and TLS alone: https:// URLs built by tandem up.
    delete env.TANDEM_VIEW_URL;
    const up = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps/cli/src/main.ts'), 'up', '--workers', '1',
      '--view-port', String(viewPort), '--master-port', String(masterPort), '--console-port', String(consolePort)], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout.on('data', (d) => (out += d));
    up.stderr.on('data', (d) => (out += d));
    try {
      await waitFor(() => out.includes('tandem: console:'), { what: 'tandem up to report the console', timeoutMs: 60_000 });
      assert.match(out, new RegExp(`up: view service https://127\\.0\\.0\\.1:${viewPort}, masters https://127\\.0\\.0\\.1:${masterPort} \\(primary\\) and https://127\\.0\\.0\\.1:${masterPort + 1} \\(backup\\)`));
      assert.match(out, /every listener serves HTTPS with /);
      assert.match(out, new RegExp(`console: open https://127\\.0\\.0\\.1:${consolePort}/`));
      const view = await c.cli(['view', '--view-url', `https://127.0.0.1:${viewPort}`], { env: { TANDEM_SECRET: '', TANDEM_DATA_DIR: file('up-data') } });
      assert.equal(view.code, 0, view.stderr);
      assert.match(view.stdout, /acknowledged by the primary/);
      const stopped = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
      up.kill('SIGINT');
      assert.equal(await stopped, 0, out);
    } finally {
      up.kill('SIGKILL');
    }
  });

  test('a bad TLS file, or a key that is not the certificate\'s, stops a service with 78 and a line naming the variable', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ TANDEM_TLS_KEY: file('missing.key') }, /^view-service: cannot start: TANDEM_TLS_KEY=\S+missing\.key: cannot read the file \(ENOENT\)$/m],
      [{ TANDEM_TLS_KEY: file('other-ca.key') }, /^view-service: cannot start: TANDEM_TLS_KEY=\S+other-ca\.key is not the private key of the certificate TANDEM_TLS_CERT=\S+server\.pem$/m],
      [{ TANDEM_TLS_CERT: file('not-pem.txt') }, /^view-service: cannot start: TANDEM_TLS_CERT=\S+not-pem\.txt: not a PEM certificate/m],
      [{ TANDEM_TLS_CA: file('not-pem.txt') }, /^view-service: cannot start: TANDEM_TLS_CA=\S+not-pem\.txt: not a PEM certificate/m],
      [{ TANDEM_TLS_KEY: '' }, /TANDEM_TLS_CERT and TANDEM_TLS_KEY go together: TANDEM_TLS_CERT is set but TANDEM_TLS_KEY is not/],
    ];
    await Promise.all(cases.map(async ([extra, message]) => {
      const env = { ...c.env, TANDEM_VIEW_PORT: String(await freePort()), ...extra };
      const p = spawnApp('view-service', env, ['ignore', 'ignore', 'pipe']);
      let stderr = '';
      p.stderr!.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
      assert.equal(code, EXIT_CONFIG, `${JSON.stringify(extra)}: ${stderr}`);
      assert.match(stderr, message);
      assert.equal(stderr.trim().split('\n').length, 1 + (stderr.includes('invalid configuration') ? 1 : 0), `one line: ${stderr}`);
    }));
  });
});
