// A service that listens where other machines can reach it (0.0.0.0, a LAN address) refuses to
// start without TANDEM_SECRET, with EX_CONFIG (78) and a message naming the variable to set; with
// the secret it starts and answers /health; on loopback it needs none (what `tandem up` runs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawnApp, type AppName } from '../apps/cli/src/processes.ts';
import { EXIT_CONFIG, isLoopbackHost } from '../shared/src/process.ts';
import { startRedis, type TestRedis } from './harness/redis.ts';
import { freePort, waitFor } from './harness/wait.ts';

let redis: TestRedis | undefined;
const started: ChildProcess[] = [];
after(async () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await redis?.stop();
});

async function baseEnv(): Promise<NodeJS.ProcessEnv> {
  redis ??= await startRedis();
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url, TANDEM_PREFIX: `bind-${process.pid}`, TANDEM_LOG_LEVEL: 'info' };
  delete env.TANDEM_SECRET;
  return env;
}

function run(app: AppName, env: NodeJS.ProcessEnv) {
  const proc = spawnApp(app, env, ['ignore', 'ignore', 'pipe']);
  started.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return { proc, exited, stderr: () => stderr };
}

const hostVars: [AppName, string, string][] = [
  ['master', 'TANDEM_MASTER_HOST', 'TANDEM_MASTER_PORT'],
  ['view-service', 'TANDEM_VIEW_HOST', 'TANDEM_VIEW_PORT'],
  ['console', 'TANDEM_CONSOLE_HOST', 'TANDEM_CONSOLE_PORT'],
  // A worker's only listener: /metrics and /health.
  ['worker', 'TANDEM_METRICS_HOST', 'TANDEM_METRICS_PORT'],
];

for (const [app, hostVar, portVar] of hostVars) {
  test(`${app} with ${hostVar}=0.0.0.0 and no TANDEM_SECRET refuses to start, saying why`, async () => {
    console.log(`scenario: ${app} binds 0.0.0.0 without a secret (and with an empty one)`);
    for (const secret of [undefined, '']) {
      const env = { ...(await baseEnv()), [hostVar]: '0.0.0.0', [portVar]: String(await freePort()) };
      if (secret !== undefined) env.TANDEM_SECRET = secret;
      const r = run(app, env);
      assert.equal(await r.exited, EXIT_CONFIG, r.stderr());
      assert.match(r.stderr(), new RegExp(`${app}: cannot start: ${hostVar}=0\\.0\\.0\\.0 accepts connections from other machines, but TANDEM_SECRET is unset`));
      assert.match(r.stderr(), /set TANDEM_SECRET to the same random value on every host/);
    }
  });
}

test('the view service on 0.0.0.0 starts when TANDEM_SECRET is set', async () => {
  console.log('scenario: view service binds 0.0.0.0 with a secret, answers /health, stops on SIGTERM');
  const port = await freePort();
  const r = run('view-service', { ...(await baseEnv()), TANDEM_VIEW_HOST: '0.0.0.0', TANDEM_VIEW_PORT: String(port), TANDEM_SECRET: 'bind-test-secret-0123456789' });
  await waitFor(() => r.stderr().includes('view service listening'), { what: `the view service listening on 0.0.0.0:${port}; stderr:\n${r.stderr()}` });
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { ok: true });
  r.proc.kill('SIGTERM');
  assert.equal(await r.exited, 0);
});

test('isLoopbackHost: only addresses no other machine can reach', () => {
  for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', 'LOCALHOST', '::1', '[::1]']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'master-a', '', '127.0.0.1.example.com', '::ffff:10.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
});

test('the console answers /health without a login, for container healthchecks', async () => {
  console.log('scenario: console with a token: /health is 200 without a login, and a page is not');
  const port = await freePort();
  const r = run('console', { ...(await baseEnv()), TANDEM_CONSOLE_PORT: String(port), TANDEM_CONSOLE_TOKEN: 'console-token-0123456789' });
  await waitFor(() => r.stderr().includes('console ready'), { what: `the console ready; stderr:\n${r.stderr()}` });
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { ok: true });
  const jobs = await fetch(`http://127.0.0.1:${port}/api/jobs`);
  assert.equal(jobs.status, 401);
  r.proc.kill('SIGTERM');
  assert.equal(await r.exited, 0);
});
