/** Running the tandem CLI and `tandem up` as child processes, for the tests of `tandem up`. */
import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { fixtureJobsDir } from './cluster.ts';
import { freePort, freePortPair } from './wait.ts';

const cli = join(repoRoot, 'apps/cli/src/main.ts');

/**
 * Starts one CLI command (in `cwd`, the checkout by default); err() is its standard error so far,
 * done its end.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv, cwd = repoRoot) {
  // tsx by its full address, so a command started in another folder finds it too.
  const p = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), cli, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { proc: p, err: () => stderr, done };
}

/** Runs one CLI command to its end. */
export function run(args: string[], env: NodeJS.ProcessEnv, cwd = repoRoot): Promise<{ code: number; stdout: string; stderr: string }> {
  return startCli(args, env, cwd).done;
}

/**
 * Runs `tandem up` (with `args` after --workers) in a process group of its own; out() is
 * everything it has printed so far. killAll() SIGKILLs the group: tandem up and everything it
 * started, so a failed test leaves no cluster behind (a SIGKILL of tandem up alone would orphan
 * its children).
 */
export function startUp(env: NodeJS.ProcessEnv, workers: number, args: string[] = []) {
  const proc = spawn(process.execPath, ['--import', 'tsx', cli, 'up', '--workers', String(workers), ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const killAll = () => {
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  };
  return { proc, out: () => out, killAll };
}

/** The environment of a `tandem up` on free ports, with its Redis at `redisPort` and its data in `dataDir`. */
export async function upEnv(redisPort: number, dataDir: string) {
  const [masterPort, viewPort, consolePort] = [await freePortPair(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    TANDEM_MASTER_PORT: String(masterPort),
    TANDEM_VIEW_PORT: String(viewPort),
    TANDEM_VIEW_URL: `http://127.0.0.1:${viewPort}`,
    TANDEM_CONSOLE_PORT: String(consolePort),
    // The workers' listeners on free ports: tandem up's default, 7400 and up, is one for the whole machine.
    TANDEM_METRICS_PORT: '0',
    TANDEM_DATA_DIR: dataDir,
    TANDEM_JOBS_DIR: fixtureJobsDir,
    TANDEM_SPLIT_BYTES: '1024',
  };
  return { env, masterPort, viewPort, consolePort };
}

/** The environment a user has in another terminal after pasting the banner's export line (no TANDEM_* of the test's). */
export function envFromExportLine(line: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TANDEM_') && k !== 'REDIS_URL') env[k] = v;
  for (const m of line.matchAll(/(\w+)=('[^']*'|\S+)/g)) env[m[1]] = m[2].replace(/^'|'$/g, '');
  return env;
}

/** True when something accepts a TCP connection on 127.0.0.1:port. */
export const listening = (port: number) => new Promise<boolean>((resolve) => {
  const sock = connect(port, '127.0.0.1');
  sock.once('connect', () => { sock.destroy(); resolve(true); });
  sock.once('error', () => resolve(false));
});

/** True while process `pid` exists. */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The processes `tandem up` (pid `up`) runs now, as [pid, args]. */
export const childrenOf = (up: number): [number, string][] => execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(up)], { encoding: 'utf8' })
  .trim().split('\n').filter(Boolean).map((l) => {
    const [pid, ...args] = l.trim().split(/\s+/);
    return [Number(pid), args.join(' ')];
  });
