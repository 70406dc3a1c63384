// Redis with a password and over TLS: a whole cluster on rediss:// with a password (view service,
// two masters, workers with the bulk client) and the CLI run a word count to the exact output, as
// does `tandem up`'s cluster on its own Redis; a wrong or missing password, or
// an untrusted certificate, give a clear message naming Redis's address without the password; the
// password shows in no log line and no CLI output; `tandem up`'s own Redis requires a password that
// it keeps in its data folder (0600), where commands run on the same machine find it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BulkClient, clientRedis, probeRedis } from '@tandem/shared';
import { repoRoot, spawnApp } from '../apps/cli/src/processes.ts';
import { kill, startCluster, type Cluster } from './harness/cluster.ts';
import { startRedis, type TestRedis, type TestRedisTls } from './harness/redis.ts';
import { referenceWordCount } from './harness/reference.ts';
import { run, startUp, upEnv } from './harness/up.ts';
import { freePort, waitFor } from './harness/wait.ts';

/** About 1.8 MB of the sample books: splits of ~1.2 MB, so each split's second range goes through the bulk client. */
const text = ['austen-emma.txt', 'austen-mansfieldpark.txt'].map((f) => readFileSync(join(repoRoot, 'datasets', f), 'utf8')).join('');
const expected = referenceWordCount(text);

/** Every log file a cluster's processes wrote. */
const logsOf = (c: Cluster) => readdirSync(c.outDir).map((f) => readFileSync(join(c.outDir, f), 'utf8')).join('');

/**
 * Whether some connection without a name last ran GETRANGE: the bulk client's (every ioredis
 * connection of a service has a name; this test's own never reads ranges).
 */
async function bulkReadRanges(redis: TestRedis): Promise<boolean> {
  const r = redis.client();
  const list = (await r.call('CLIENT', 'LIST')) as string;
  r.disconnect();
  return list.split('\n').some((l) => / name= /.test(` ${l} `) && / cmd=getrange /.test(` ${l} `));
}

/** A word count of the books through the CLI (upload, run, output file); returns the output and everything the CLI printed. */
async function wordCountByCli(cli: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>, dir: string) {
  const file = join(dir, 'books.txt');
  writeFileSync(file, text);
  const put = await cli(['dataset', 'put', 'books', file, '--split-bytes', '1200000', '--replace']);
  assert.equal(put.code, 0, put.stderr);
  const out = join(dir, 'counts.txt');
  const job = await cli(['job', 'run', 'wordcount', '--dataset', 'books', '--partitions', '3', '--out', out]);
  assert.equal(job.code, 0, job.stderr);
  return { output: readFileSync(out, 'utf8'), printed: put.stdout + put.stderr + job.stdout + job.stderr };
}

describe('Redis with a password', { timeout: 60_000 }, () => {
  const password = randomBytes(16).toString('hex');
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis({ password });
  });
  after(async () => redis?.stop());

  test('the password is asked for and not on the command line', async () => {
    const bare = await probeRedis(`redis://127.0.0.1:${redis.port}`);
    assert.equal(bare.ok, false);
    assert.equal(!bare.ok && bare.problem, 'noauth');
    assert.equal((await probeRedis(redis.url)).ok, true);
    const ps = execFileSync('ps', ['-o', 'args=', '-p', String(redis.proc.pid)], { encoding: 'utf8' });
    assert.ok(!ps.includes(password), `redis-server's command line shows no password: ${ps}`);
  });

  test('a wrong or a missing password: the CLI says so at once, naming the address without it', async () => {
    const cli = (url: string) => run(['dataset', 'ls'], { ...process.env, REDIS_URL: url });
    const [wrong, missing, user] = await Promise.all([
      cli(`redis://:not-${password}@127.0.0.1:${redis.port}`),
      cli(`redis://127.0.0.1:${redis.port}`),
      cli(`redis://nobody:${password}@127.0.0.1:${redis.port}`),
    ]);
    assert.notEqual(wrong.code, 0);
    assert.equal(wrong.stderr, `tandem: Redis at redis://127.0.0.1:${redis.port} refused the password (WRONGPASS); check the password in REDIS_URL\n`);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr, `tandem: Redis at redis://127.0.0.1:${redis.port} needs a password (NOAUTH): put it in REDIS_URL as redis://:PASSWORD@host:port\n`);
    assert.notEqual(user.code, 0);
    assert.match(user.stderr, new RegExp(`Redis at redis://nobody@127\\.0\\.0\\.1:${redis.port} refused the password \\(WRONGPASS\\)`));
    for (const r of [wrong, missing, user]) assert.ok(!(r.stdout + r.stderr).includes(password));
  });

  test('every service with a wrong password logs why, once per connection, and keeps retrying; a master alerts; no log shows the password', async () => {
    const wrong = `redis://:wrong-${password}@127.0.0.1:${redis.port}`;
    const [viewPort, masterPort, consolePort] = [await freePort(), await freePort(), await freePort()];
    const env = { ...process.env, REDIS_URL: wrong, TANDEM_PREFIX: 'wrongpass', TANDEM_LOG_LEVEL: 'info', TANDEM_VIEW_PORT: String(viewPort), TANDEM_VIEW_URL: `http://127.0.0.1:${viewPort}`, TANDEM_MASTER_PORT: String(masterPort), TANDEM_CONSOLE_PORT: String(consolePort) };
    const apps = (['view-service', 'master', 'worker', 'console'] as const).map((app) => {
      const proc = spawnApp(app, env, ['ignore', 'pipe', 'pipe']);
      const p = { app, proc, logs: '' };
      proc.stdout!.on('data', (d) => (p.logs += d));
      proc.stderr!.on('data', (d) => (p.logs += d));
      return p;
    });
    // Redis counts refused AUTHs in its ACL log.
    const denied = async () => {
      const r = redis.client();
      const log = (await r.call('ACL', 'LOG')) as unknown[][];
      r.disconnect();
      return log.map((e) => Object.fromEntries(Array.from({ length: e.length / 2 }, (_, i) => [e[2 * i], e[2 * i + 1]]))).filter((e) => e.reason === 'auth').reduce((n, e) => n + Number(e.count), 0);
    };
    try {
      const health = await waitFor(async () => {
        const h = (await (await fetch(`http://127.0.0.1:${masterPort}/health`)).json()) as { alerts: string[] };
        return h.alerts.length > 0 ? h : null;
      }, { what: 'the master to raise an alert' });
      assert.match(health.alerts.join('\n'), new RegExp(`the master cannot reach Redis at redis://127\\.0\\.0\\.1:${redis.port} \\(for \\d+ s\\): Redis at redis://127\\.0\\.0\\.1:${redis.port} refused the password \\(WRONGPASS\\)`));
      assert.ok(!JSON.stringify(health).includes(password));
      // Several rounds of retries from each connection.
      await waitFor(async () => (await denied()) >= 80, { what: 'the services to retry their password several times', timeoutMs: 30_000 });
    } finally {
      await Promise.all(apps.map((p) => kill(p.proc)));
    }
    for (const { app, logs } of apps) {
      const lines = logs.split('\n').filter((l) => l.includes('WRONGPASS'));
      assert.match(lines[0] ?? '', new RegExp(`Redis at redis://127\\.0\\.0\\.1:${redis.port} refused the password \\(WRONGPASS\\); check the password in REDIS_URL; retrying`), `${app}: ${logs}`);
      assert.ok(lines.length <= 10, `${app}: logged once per connection, not once per attempt (${lines.length} lines):\n${lines.join('\n')}`);
      assert.ok(!logs.includes(password), `${app}: no log line shows the password, right or wrong:\n${logs}`);
    }
  });
});

/** A CA and a certificate it signed for 127.0.0.1, made with openssl in `dir`. */
function makeCerts(dir: string): TestRedisTls {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Tandem test CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
  return { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), caFile: join(dir, 'ca.crt') };
}

describe('Redis over TLS (rediss://, with a password)', { timeout: 120_000 }, () => {
  const password = randomBytes(16).toString('hex');
  let redis: TestRedis;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-redis-tls-'));
    redis = await startRedis({ password, tls: makeCerts(dir) });
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the bulk client writes and reads over TLS with TANDEM_REDIS_CA', async () => {
    assert.match(redis.url, /^rediss:/);
    const bulk = BulkClient.forUrl(redis.target, 3);
    const big = randomBytes(3 * 1024 * 1024 + 7);
    await bulk.setMany([{ key: 'tls-a', value: big }, { key: 'tls-b', value: Buffer.from('small') }]);
    assert.deepEqual((await bulk.getMany(['tls-b', 'tls-none'])).map((b) => b?.toString() ?? null), ['small', null]);
    const out = Buffer.alloc(big.length);
    assert.equal(await bulk.readInto('tls-a', out, 0, big.length, 1 << 20), true);
    assert.ok(out.equals(big));
    bulk.close();
  });

  test('without the CA: the bulk client, ioredis and the CLI fail with a clear message', async () => {
    const untrusted = /^Redis at rediss:\/\/127\.0\.0\.1:\d+ presented a TLS certificate this process does not trust \(.+\): set TANDEM_REDIS_CA to the PEM file of the CA that signed it/;
    const bulk = BulkClient.forUrl(redis.url, 1);
    await assert.rejects(bulk.getMany(['tls-b']), (err: Error) => {
      assert.match(err.message, untrusted);
      assert.ok(!err.message.includes(password));
      return true;
    });
    bulk.close();
    await assert.rejects(clientRedis(redis.url), (err: Error) => {
      assert.match(err.message, untrusted);
      return true;
    });
    const cli = await run(['dataset', 'ls'], { ...process.env, REDIS_URL: redis.url, TANDEM_REDIS_CA: '' });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /^tandem: Redis at rediss:\/\/127\.0\.0\.1:\d+ presented a TLS certificate this process does not trust/);
    assert.ok(!(cli.stdout + cli.stderr).includes(password));
  });

  test('a whole cluster (view service, two masters, workers) and the CLI run a word count over TLS with the password, range reads through the bulk client', async () => {
    const c = await startCluster({ name: 'redis-tls', workers: 2, masters: 2, redis, env: { TANDEM_READ_CONNECTIONS: '3', TANDEM_DATA_DIR: dir } });
    try {
      await c.replicated();
      const { output, printed } = await wordCountByCli((args) => c.cli(args), dir);
      assert.equal(output, expected);
      assert.ok(await bulkReadRanges(redis), 'the workers read ranges through the bulk client');
      assert.ok(!printed.includes(password) && !logsOf(c).includes(password), 'no output or log line shows the password');
    } finally {
      await c.stop();
    }
  });
});

describe('tandem up and its Redis password', { timeout: 120_000 }, () => {
  let dataDir: string;
  const env = async (redisPort: number) => (await upEnv(redisPort, dataDir)).env;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tandem-up-redis-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('a Redis that answers at REDIS_URL but needs a password: tandem up says so and starts nothing', async () => {
    const other = await startRedis({ password: 'someone-elses-password' });
    try {
      const up = startUp(await env(other.port), 1);
      const code = await new Promise<number | null>((r) => up.proc.once('exit', r));
      assert.equal(code, 1);
      assert.match(up.out(), new RegExp(`tandem: Redis at redis://127\\.0\\.0\\.1:${other.port} needs a password \\(NOAUTH\\): put it in REDIS_URL as redis://:PASSWORD@host:port\\. tandem up starts a Redis only where none answers`));
    } finally {
      await other.stop();
    }
  });

  test('the Redis tandem up starts requires the password it keeps (0600) in the data folder; commands run there find it', async () => {
    const redisPort = await freePort();
    const e = await env(redisPort);
    const started = startUp(e, 1);
    try {
      await waitFor(() => started.out().includes('tandem: up:'), { what: 'tandem up to report ready', timeoutMs: 60_000 });
      const file = join(dataDir, 'redis-password');
      assert.match(started.out(), new RegExp(`started redis-server on port ${redisPort} .*, with a password made in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(readable by you only`));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const password = readFileSync(file, 'utf8').trim();
      assert.match(password, /^[0-9a-f]{64}$/);
      const bare = await probeRedis(`redis://127.0.0.1:${redisPort}`);
      assert.equal(!bare.ok && bare.problem, 'noauth', 'Redis refuses a client without the password');
      assert.equal((await probeRedis(`redis://:${password}@127.0.0.1:${redisPort}`)).ok, true);
      const ps = execFileSync('ps', ['-o', 'args=', '--ppid', String(started.proc.pid)], { encoding: 'utf8' });
      assert.match(ps, /redis-server/);
      assert.ok(!ps.includes(password), `no command line shows the password:\n${ps}`);

      // Commands from the same data folder, with REDIS_URL as given (no password in it). The
      // cluster over TLS above runs the larger word count through the bulk client.
      const input = join(dataDir, 'pets.txt');
      writeFileSync(input, 'the cat\nThe dog and the cat\n');
      const put = await run(['dataset', 'put', 'pets', input], e);
      assert.equal(put.code, 0, put.stderr);
      const out = join(dataDir, 'pets-out.txt');
      const job = await run(['job', 'run', 'wordcount', '--dataset', 'pets', '--out', out], e);
      assert.equal(job.code, 0, job.stderr);
      assert.equal(readFileSync(out, 'utf8'), 'and\t1\ncat\t2\ndog\t1\nthe\t3\n');
      for (const printed of [started.out(), put.stdout, put.stderr, job.stdout, job.stderr]) assert.ok(!printed.includes(password), 'nothing printed shows the password');
      const exited = new Promise<number | null>((r) => started.proc.once('exit', r));
      started.proc.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      started.killAll();
    }
  });
});
