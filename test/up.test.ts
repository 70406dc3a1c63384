// `tandem up` (what `npm start` runs): starts its own redis-server when none answers, runs a job end
// to end through the CLI, and stops every process it started on Ctrl-C (SIGINT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../apps/cli/src/processes.ts';
import { freePort, waitFor } from './harness/wait.ts';

const cli = join(repoRoot, 'apps/cli/src/main.ts');

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('tandem up starts redis-server, master and workers, runs a job, and stops them all on SIGINT', { timeout: 120_000 }, async () => {
  const [redisPort, masterPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-up-'));
  const env = {
    ...process.env,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    TANDEM_MASTER_PORT: String(masterPort),
    TANDEM_MASTER_URL: `http://127.0.0.1:${masterPort}`,
    TANDEM_DATA_DIR: dataDir,
  };
  const up = spawn(process.execPath, ['--import', 'tsx', cli, 'up', '--workers', '2'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout.on('data', (d) => (out += d));
  up.stderr.on('data', (d) => (out += d));
  try {
    await waitFor(() => out.includes('tandem: up:'), { what: 'tandem up to report ready', timeoutMs: 60_000 });
    assert.match(out, new RegExp(`started redis-server on port ${redisPort}`));
    assert.ok(existsSync(join(dataDir, 'redis')), 'Redis keeps its data under TANDEM_DATA_DIR');
    const children = execFileSync('pgrep', ['-P', String(up.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    assert.equal(children.length, 4, 'redis-server, master and two workers');

    const text = join(dataDir, 'in.txt');
    const file = join(dataDir, 'out.txt');
    execFileSync('sh', ['-c', `printf 'the cat\\nThe dog and the cat\\n' > ${text}`]);
    assert.equal((await run(['dataset', 'put', 'pets', text], env)).code, 0);
    const job = await run(['job', 'run', 'wordcount', '--dataset', 'pets', '--out', file], env);
    assert.equal(job.code, 0, job.stderr);
    assert.equal(readFileSync(file, 'utf8'), 'and\t1\ncat\t2\ndog\t1\nthe\t3\n');

    const exited = new Promise<number | null>((r) => up.once('exit', (code) => r(code)));
    up.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(out, /redis-server stopped/);
    for (const pid of children) assert.equal(alive(pid), false, `process ${pid} stopped`);
  } finally {
    up.kill('SIGKILL');
  }
});
