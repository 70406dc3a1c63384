// `tandem up` (what `npm start` runs): starts its own redis-server when none answers, the view
// service, two masters and workers; runs a job end to end through the CLI, also while its primary
// master is SIGKILLed mid-job; stops every process it started on Ctrl-C (SIGINT); and, started
// again on the same data folder, still has every job. It makes a cluster secret in its data folder
// (mode 0600, never printed), which every command run there finds, and uses it again on a restart;
// the same for its Redis's password (test/redis-auth.test.ts checks that Redis requires it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { authHeader } from '@tandem/shared';
import { alive, listening, run, startUp, upEnv } from './harness/up.ts';
import { freePort, freePortPair, waitFor } from './harness/wait.ts';

test('tandem up starts redis-server, the view service, two masters, workers and the console; a job survives a primary SIGKILL; SIGINT stops all', { timeout: 180_000 }, async () => {
  const redisPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-up-'));
  const { env, masterPort, viewPort, consolePort } = await upEnv(redisPort, dataDir);
  // Worker i serves /metrics and /health on this + i - 1.
  const metricsPort = await freePortPair();
  const started = startUp(env, 2, ['--metrics-port', String(metricsPort)]);
  const up = started.proc;
  try {
    await waitFor(() => started.out().includes('tandem: up:'), { what: 'tandem up to report ready', timeoutMs: 60_000 });
    assert.match(started.out(), new RegExp(`started redis-server on port ${redisPort}`));
    assert.ok(existsSync(join(dataDir, 'redis')), 'Redis keeps its data under TANDEM_DATA_DIR');
    const secretFile = join(dataDir, 'secret');
    assert.equal(statSync(secretFile).mode & 0o777, 0o600, 'the cluster secret is readable by its owner only');
    const secret = readFileSync(secretFile, 'utf8').trim();
    assert.ok(secret.length >= 32);
    assert.ok(!started.out().includes(secret), 'tandem up prints no secret');
    const redisPassword = readFileSync(join(dataDir, 'redis-password'), 'utf8');
    assert.ok(!started.out().includes(redisPassword.trim()), "tandem up prints no Redis password");
    const auth = { headers: authHeader(secret) };
    assert.equal((await fetch(`http://127.0.0.1:${masterPort}/jobs`)).status, 401, 'the masters refuse a request without the secret');
    // The platform's processes (tsx may also run an esbuild helper, which is not ours to count).
    const listed = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(up.pid)], { encoding: 'utf8' }).trim().split('\n').filter((l) => !l.includes('esbuild'));
    const children = listed.map((l) => Number(l.trim().split(' ')[0]));
    assert.equal(children.length, 7, `redis-server, the view service, two masters, two workers and the console; found:\n${listed.join('\n')}`);
    await waitFor(() => started.out().includes(`tandem: console: open http://127.0.0.1:${consolePort}/`), { what: 'tandem up to print the console URL', timeoutMs: 30_000 });
    // The banner's last line: the export line comes after the console's, in a write of its own.
    await waitFor(() => started.out().includes('tandem: Ctrl-C stops everything'), { what: 'tandem up to finish its banner', timeoutMs: 10_000 });
    // The line to paste into another terminal: where Redis, the keys and the view service are, and (not the default) the data folder with the secret file.
    assert.ok(started.out().includes(`tandem: in another terminal, first: export REDIS_URL=redis://127.0.0.1:${redisPort} TANDEM_PREFIX=tandem TANDEM_VIEW_URL=http://127.0.0.1:${viewPort} TANDEM_DATA_DIR=${dataDir} `), started.out());
    assert.ok(!started.out().includes(secret), 'tandem up prints no secret');
    // Every process's /metrics, the workers' on the ports --metrics-port gave them.
    assert.ok(started.out().includes(
      `tandem: metrics (Prometheus, with Authorization: Bearer <the cluster secret>): view http://127.0.0.1:${viewPort}/metrics, master-a http://127.0.0.1:${masterPort}/metrics, `
      + `master-b http://127.0.0.1:${masterPort + 1}/metrics, console http://127.0.0.1:${consolePort}/metrics, worker-1 http://127.0.0.1:${metricsPort}/metrics, worker-2 http://127.0.0.1:${metricsPort + 1}/metrics\n`,
    ), started.out());
    for (const port of [metricsPort, metricsPort + 1]) {
      const h = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(h.status, 200, 'a worker answers /health without the secret');
      const body = (await h.json()) as Record<string, unknown>;
      assert.deepEqual([body.ok, body.role, body.stopping, typeof body.running], [true, 'worker', false, 'number']);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401, "a worker's /metrics needs the secret");
    }

    // A second tandem up on the same ports stops at once with the reason, and joins nothing.
    const second = await run(['up', '--workers', '1'], env);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, new RegExp(`the view service's port ${viewPort} on 127.0.0.1 is already in use; choose another with --view-port or TANDEM_VIEW_PORT`));
    assert.match(second.stderr, new RegExp(`the first master's port ${masterPort} on 127.0.0.1 is already in use; choose another with --master-port or TANDEM_MASTER_PORT`));
    assert.doesNotMatch(second.stdout + second.stderr, /worker-1|tandem: up:|started redis-server|using the Redis/, 'nothing was started');
    const after = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(up.pid)], { encoding: 'utf8' }).trim().split('\n').filter((l) => !l.includes('esbuild'));
    assert.equal(after.length, 7, 'the running cluster is as it was');
    const home = await fetch(`http://127.0.0.1:${consolePort}/`);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /<title>Overview · Tandem<\/title>/);
    const view = await run(['view'], env);
    assert.equal(view.code, 0, view.stderr);
    assert.match(view.stdout, new RegExp(`primary http://127.0.0.1:${masterPort}, backup http://127.0.0.1:${masterPort + 1}`));
    assert.match(view.stdout, /acknowledged by the primary/);
    // Its Redis fsyncs every write before answering: an acknowledged op outlives a crash of this host (docs/DESIGN.md §3.7).
    const r = new Redis(`redis://:${encodeURIComponent(redisPassword.trim())}@127.0.0.1:${redisPort}`);
    try {
      assert.deepEqual(await r.call('CONFIG', 'GET', 'appendfsync'), ['appendfsync', 'always']);
      assert.deepEqual(await r.call('CONFIG', 'GET', 'appendonly'), ['appendonly', 'yes']);
    } finally {
      r.disconnect();
    }
    assert.doesNotMatch(view.stdout, /appendfsync|appendonly/, 'no durability alert');

    const text = join(dataDir, 'in.txt');
    const file = join(dataDir, 'out.txt');
    execFileSync('sh', ['-c', `printf 'the cat\\nThe dog and the cat\\n' > ${text}`]);
    assert.equal((await run(['dataset', 'put', 'pets', text], env)).code, 0);
    const job = await run(['job', 'run', 'wordcount', '--dataset', 'pets', '--out', file], env);
    assert.equal(job.code, 0, job.stderr);
    assert.equal(readFileSync(file, 'utf8'), 'and\t1\ncat\t2\ndog\t1\nthe\t3\n');
    // The job's task attempts, on the workers' /metrics: each took at least one and every one counts.
    const scraped = await Promise.all([metricsPort, metricsPort + 1].map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`, auth)).text()));
    const won = scraped.map((text) => [...text.matchAll(/^tandem_task_attempts_total\{queue="(?:map|reduce)",outcome="won",process="worker"\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0));
    assert.ok(won[0] + won[1] >= 2, `the workers won the job's map and reduce tasks between them; /metrics said:\n${scraped.join('\n')}`);
    assert.match(scraped.join('\n'), /^tandem_task_duration_seconds_count\{process="worker",queue="reduce",type="wordcount"\} [1-9]/m);

    // A slower job (maps sleep up to a second; about 10 splits), and the primary SIGKILLed once it runs.
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const lines = Array.from({ length: 1500 }, (_, i) => `${words[i % 5]} ${words[(i * 3) % 5]}`);
    const expected = new Map<string, number>();
    for (const w of lines.join(' ').split(' ')) expected.set(w, (expected.get(w) ?? 0) + 1);
    execFileSync('sh', ['-c', `cat > ${join(dataDir, 'big.txt')}`], { input: lines.join('\n') + '\n' });
    assert.equal((await run(['dataset', 'put', 'big', join(dataDir, 'big.txt')], env)).code, 0);
    const bigOut = join(dataDir, 'big-out.txt');
    const running = run(['job', 'run', 'crash', '--dataset', 'big', '--partitions', '2', '--param', 'crashRate=0', '--param', 'maxSleepMs=1000', '--out', bigOut], env);
    const health = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/health`, auth)).json()) as { pid: number; role: string; jobs: number };
    await waitFor(async () => (await health(masterPort)).jobs >= 2, { what: 'the second job to be submitted' });
    const primary = await health(masterPort);
    assert.equal(primary.role, 'primary');
    const { jobs } = (await (await fetch(`http://127.0.0.1:${masterPort}/jobs`, auth)).json()) as { jobs: { phase: string }[] };
    assert.equal(jobs[0].phase, 'map', 'the primary dies mid-job');
    process.kill(primary.pid, 'SIGKILL');
    const big = await running;
    assert.equal(big.code, 0, big.stderr);
    assert.equal(readFileSync(bigOut, 'utf8'), [...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([w, n]) => `${w}\t${n}\n`).join(''));
    assert.match(started.out(), /master-a exited \(SIGKILL\) after running [\d.]+ s; restarting in 500 ms\n/);
    await waitFor(async () => (await health(masterPort + 1)).role === 'primary' && (await health(masterPort)).role === 'backup', { what: 'the restarted master to come back as backup' });

    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    up.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(started.out(), /redis-server stopped/);
    for (const pid of children) assert.equal(alive(pid), false, `process ${pid} stopped`);

    // Started again on the same data folder: the job table comes back from the durable log.
    const restarted = startUp(env, 1);
    const again = restarted.proc;
    try {
      await waitFor(() => restarted.out().includes('tandem: up:'), { what: 'tandem up to start again', timeoutMs: 60_000 }).catch((err) => {
        throw new Error(`${err.message}; it printed:\n${restarted.out()}`);
      });
      const ls = await run(['job', 'ls', '--json'], env);
      assert.equal(ls.code, 0, ls.stderr);
      const table = (JSON.parse(ls.stdout) as { type: string; phase: string }[]).map((j) => `${j.type} ${j.phase}`).sort();
      assert.deepEqual(table, ['crash done', 'wordcount done'], 'both jobs are still in the table after a stop and a start');
      assert.equal(readFileSync(secretFile, 'utf8').trim(), secret, 'a second tandem up keeps the secret it made');
      assert.equal(readFileSync(join(dataDir, 'redis-password'), 'utf8'), redisPassword, "and its Redis's password, so the data stays readable");
      assert.match(restarted.out(), /started redis-server on port \d+ .*, with the password kept in /);
      assert.doesNotMatch(restarted.out(), /made a cluster secret/);
      assert.ok(!restarted.out().includes(secret));
      const stopped = new Promise<number | null>((r) => again.once('exit', (code) => r(code)));
      again.kill('SIGINT');
      assert.equal(await stopped, 0);
    } finally {
      restarted.killAll();
    }

    // Ctrl-C while it is still starting stops what had started: nothing is left listening.
    const early = startUp(env, 1);
    try {
      await waitFor(() => /tandem: (started redis-server|using the Redis)/.test(early.out()), { what: 'the third tandem up to start Redis', timeoutMs: 60_000 });
      const stopped = new Promise<number | null>((r) => early.proc.once('exit', (code) => r(code)));
      early.proc.kill('SIGINT');
      assert.equal(await stopped, 1);
      assert.match(early.out(), /tandem: SIGINT while starting; stopped what had started/);
      for (const port of [redisPort, viewPort, masterPort, masterPort + 1]) {
        await waitFor(async () => !(await listening(port)), { what: `nothing to listen on ${port} after the interrupted start`, timeoutMs: 15_000 });
      }
    } finally {
      early.killAll();
    }
  } finally {
    started.killAll();
  }
});

test('tandem up --help documents --metrics-port, its variable and its default', async () => {
  const help = (await run(['up', '--help'], process.env)).stdout.replace(/\s+/g, ' ');
  assert.match(help, /--metrics-port <port> worker i serves \/metrics and \/health on this port \+ i - 1 \(0: each on a free port, which it logs\)/);
  assert.match(help, /\(default: 7400, env: TANDEM_METRICS_PORT\)/);
});
