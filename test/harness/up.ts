/** Running the tandem CLI and `tandem up` as child processes, for the tests of `tandem up`. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { freePort } from './wait.ts';

const cli = join(repoRoot, 'apps/cli/src/main.ts');

/** Runs one CLI command to its end. */
export function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs `tandem up`; out() is everything it has printed so far. */
export function startUp(env: NodeJS.ProcessEnv, workers: number) {
  const proc = spawn(process.execPath, ['--import', 'tsx', cli, 'up', '--workers', String(workers)], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  return { proc, out: () => out };
}

/** A free port whose successor is free too (tandem up puts the second master on the next port). */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    const srv = createServer();
    const ok = await new Promise<boolean>((r) => {
      srv.once('error', () => r(false));
      srv.listen(p + 1, '127.0.0.1', () => srv.close(() => r(true)));
    });
    if (ok) return p;
  }
}
