/**
 * What `npm run bench -- scale` measures on: a real `tandem up --workers N` (the compiled CLI,
 * bin/tandem.js) on free ports, with its own redis-server (started by tandem up, append-only file
 * fsynced on every write, as a user gets it) and a data folder of its own; CLI commands run as whole
 * processes against it; its workers' and Redis's pids found among tandem up's children; and a
 * memory sampler for a run (workers' peak RSS, Redis's used_memory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { MasterClient, readSecretFile, withDataDirRedisPassword } from '@tandem/shared';
import { repoRoot } from '../../apps/cli/src/processes.ts';
import { freePort, freePortPair } from '../../test/harness/wait.ts';

const bin = join(repoRoot, 'bin/tandem.js');

export interface CommandResult {
  ms: number;
  stdout: string;
  stderr: string;
  /** Date.now() when the command was spawned (to set against the job status's times). */
  startedAt: number;
}

export interface Up {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  /** A connection to its Redis (with the password tandem up made). */
  redis: Redis;
  master: MasterClient;
  /** Runs `tandem ARGS` (compiled) to its end; throws with its standard error if it fails. */
  tandem(args: string[]): Promise<CommandResult>;
  /** Runs any command with the cluster's environment, in the checkout. */
  run(cmd: string, args: string[]): Promise<CommandResult>;
  /** The pids of its workers and its redis-server, as they are now (tandem up restarts a dead one). */
  pids(): { workers: number[]; redis: number | null };
  stop(): Promise<void>;
}

/**
 * Runs a command to its end, timed from the spawn; rejects with its output if it exits other than 0,
 * or after `timeoutMs` (its process group SIGKILLed: a stuck job must not hold the benchmark forever).
 */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20 * 60_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const p = spawn(cmd, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    }, timeoutMs);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, stdout, stderr, startedAt });
      else reject(new Error(`${cmd} ${args.join(' ')} ${timedOut ? `did not finish within ${timeoutMs / 60_000} min` : `exited ${code}`}:\n${stderr.slice(-2000)}`));
    });
  });
}

/** The pids of a process's children (Linux, /proc). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

/**
 * A jobs folder under .tandem/bench/jobs with `files` copied in and @tandem/client installed from
 * the checkout's client/ (offline, as a user's folder has it), for TANDEM_JOBS_DIR.
 */
export function jobsFolder(files: string[]): string {
  const dir = join(repoRoot, '.tandem/bench/jobs');
  mkdirSync(dir, { recursive: true });
  for (const f of files) cpSync(f, join(dir, f.split('/').pop()!));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench-jobs', private: true, type: 'module' }, null, 2) + '\n');
  if (!existsSync(join(repoRoot, 'client/dist/index.js'))) execFileSync(process.execPath, [join(repoRoot, 'scripts/build-client.mjs')], { stdio: 'inherit' });
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-save', join(repoRoot, 'client')], { cwd: dir, stdio: 'pipe' });
  return dir;
}

/**
 * Starts `tandem up --workers N` in a process group of its own and waits until it says it is up
 * (the console answering). `extraEnv` is added to its environment and every command's. Without
 * `redis` it starts its own redis-server (as a user's tandem up does); with it, it uses that one.
 */
export async function startUp(workers: number, extraEnv: Record<string, string>, log: (s: string) => void, redis?: { url: string; pid: number }): Promise<Up> {
  // The build brought up to date first, so no command below rebuilds it (bin/tandem.js would).
  execFileSync(process.execPath, [bin, '--version'], { cwd: repoRoot, stdio: 'pipe' });
  const [masterPort, viewPort, consolePort, redisPort] = [await freePortPair(), await freePort(), await freePort(), await freePort()];
  mkdirSync(join(repoRoot, '.tandem/bench'), { recursive: true });
  const dataDir = mkdtempSync(join(repoRoot, '.tandem/bench/up-'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TANDEM_') && k !== 'REDIS_URL'));
  const env: NodeJS.ProcessEnv = {
    ...clean, REDIS_URL: redis?.url ?? `redis://127.0.0.1:${redisPort}`, TANDEM_DATA_DIR: dataDir,
    TANDEM_MASTER_PORT: String(masterPort), TANDEM_VIEW_PORT: String(viewPort), TANDEM_VIEW_URL: `http://127.0.0.1:${viewPort}`,
    TANDEM_CONSOLE_PORT: String(consolePort), TANDEM_METRICS_PORT: '0', TANDEM_LOG_LEVEL: 'warn', ...extraEnv,
  };
  const proc: ChildProcess = spawn(process.execPath, [bin, 'up', '--workers', String(workers)], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const killGroup = () => {
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tandem up was not up within 90 s:\n${out}`)), 90_000);
      const seen = (d: Buffer) => {
        out += d;
        if (out.includes('Ctrl-C stops everything')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', seen);
      proc.stderr!.on('data', seen);
      proc.once('exit', (code) => reject(new Error(`tandem up exited (${code}) before it was up:\n${out}`)));
    });
  } catch (err) {
    killGroup();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  // Only its warnings and errors from now on (TANDEM_LOG_LEVEL=warn), to the benchmark's output.
  proc.stdout!.removeAllListeners('data');
  proc.stderr!.removeAllListeners('data');
  proc.stdout!.on('data', (d) => log(`tandem up: ${String(d).trimEnd()}`));
  proc.stderr!.on('data', (d) => log(`tandem up: ${String(d).trimEnd()}`));
  const conn = new Redis(withDataDirRedisPassword(env.REDIS_URL!, dataDir), { maxRetriesPerRequest: null });
  const master = new MasterClient({ viewUrl: env.TANDEM_VIEW_URL!, secret: readSecretFile(dataDir) });
  const up: Up = {
    env, dataDir, redis: conn, master,
    tandem: (args) => runCommand(process.execPath, [bin, ...args], env),
    run: (cmd, args) => runCommand(cmd, args, env),
    pids() {
      const kids = childrenOf(proc.pid!);
      const workers = kids.filter((p) => cmdline(p).some((a) => /(^|\/)(worker\.js|worker\/src\/main\.ts)$/.test(a)));
      const redisPid = redis?.pid ?? kids.find((p) => cmdline(p)[0]?.startsWith('redis-server')) ?? null;
      return { workers, redis: redisPid };
    },
    async stop() {
      conn.disconnect();
      if (proc.exitCode === null) {
        proc.kill('SIGINT');
        const timer = setTimeout(killGroup, 30_000);
        await exited;
        clearTimeout(timer);
      }
      killGroup(); // anything it left behind
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return up;
}

/** Current and peak resident memory of a process, MiB (NaN once it is gone). */
export function rssMiB(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

export interface MemoryPeaks {
  /** Each worker's peak RSS during the run (its VmHWM, reset at the start when the kernel allows, and sampled VmRSS), MiB. */
  workers: number[];
  /** Each worker's RSS at the start, MiB. */
  workersBefore: number[];
  /** Redis's used_memory: the highest sampled during the run, and at its start, bytes. */
  redisPeak: number;
  redisBefore: number;
}

/**
 * Samples the workers' RSS and Redis's used_memory every `everyMs` until stopped. Each worker's
 * VmHWM is reset first (`5` into /proc/PID/clear_refs), so the peak it reports is this run's.
 */
export async function sampleMemory(workers: number[], redis: Redis, everyMs = 100): Promise<{ stop(): Promise<MemoryPeaks> }> {
  let reset = true;
  for (const p of workers) {
    try {
      writeFileSync(`/proc/${p}/clear_refs`, '5');
    } catch {
      reset = false;
    }
  }
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN);
  const workersBefore = workers.map((p) => rssMiB(p).rss);
  const peaks = [...workersBefore];
  const redisBefore = await used();
  let redisPeak = redisBefore;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      workers.forEach((p, i) => (peaks[i] = Math.max(peaks[i], rssMiB(p).rss || 0)));
      redisPeak = Math.max(redisPeak, await used());
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      redisPeak = Math.max(redisPeak, await used());
      const final = workers.map((p, i) => Math.max(peaks[i], reset ? rssMiB(p).hwm || 0 : 0));
      return { workers: final, workersBefore, redisPeak, redisBefore };
    },
  };
}
