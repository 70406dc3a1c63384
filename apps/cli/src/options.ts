/**
 * Connection flags shared by every command. Each flag has an environment variable behind it, and
 * its value is written back into that variable, so loadConfig() stays the one source of truth and
 * child processes started by `tandem up` inherit exactly what the user chose.
 */
import { Option, type Command } from 'commander';
import { configSchema, loadConfig, partitionsProblem, readSecretFile, withDataDirRedisPassword, type Config } from '@tandem/shared';

const flags: [flag: string, env: keyof Config, help: string][] = [
  ['--redis-url <url>', 'REDIS_URL', 'Redis address: redis://HOST:PORT, redis://:PASSWORD@HOST:PORT, rediss:// for TLS (see TANDEM_REDIS_CA)'],
  ['--prefix <prefix>', 'TANDEM_PREFIX', 'prefix of every Redis key, so several clusters can share one Redis'],
  ['--view-url <url>', 'TANDEM_VIEW_URL', 'the view service, which tells clients which master is primary'],
  ['--master-url <url>', 'TANDEM_MASTER_URL', 'talk to this master only, instead of asking the view service for the primary'],
  ['--jobs-dir <dir>', 'TANDEM_JOBS_DIR', 'folder of extra job-type modules (nothing outside it is loaded)'],
];

export function addConnectionOptions(cmd: Command): Command {
  for (const [flag, env, help] of flags) {
    const def = (configSchema.shape[env] as { def?: { defaultValue?: unknown } }).def?.defaultValue;
    const opt = new Option(flag, help).env(env);
    if (def !== undefined) opt.default(def);
    cmd.addOption(opt);
  }
  return cmd;
}

/**
 * Writes the parsed global flags into the environment and returns the validated config. On the
 * machine `tandem up` runs on, a local REDIS_URL without a password gets the password of the Redis
 * it started, from the data folder (unless `redisPasswordFile` is false: `tandem up` decides that
 * itself).
 */
export function configFrom(cmd: Command, settings: { redisPasswordFile?: boolean } = {}): Config {
  const opts = cmd.optsWithGlobals() as Record<string, unknown>;
  for (const [flag, env] of flags) {
    const name = flag.slice(2).split(' ')[0].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts[name] !== undefined) process.env[env] = String(opts[name]);
  }
  let cfg = loadConfig();
  if (settings.redisPasswordFile !== false) {
    const url = withDataDirRedisPassword(cfg.REDIS_URL, cfg.TANDEM_DATA_DIR);
    if (url !== cfg.REDIS_URL) {
      process.env.REDIS_URL = url;
      cfg = loadConfig();
    }
  }
  if (cfg.TANDEM_SECRET) return cfg;
  // On the machine `tandem up` runs on, its secret file; into the environment, so the processes
  // `tandem up` starts inherit it too.
  const secret = readSecretFile(cfg.TANDEM_DATA_DIR);
  if (!secret) return cfg;
  process.env.TANDEM_SECRET = secret;
  return loadConfig();
}

/** Parser for a flag that takes a whole number ≥ 1, with an error that names the flag. */
export function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number ≥ 1 (got "${v}")`);
    return n;
  };
}

/** Parser for --partitions, by the rule the master applies. */
export function partitionsFlag(v: string): number {
  const problem = partitionsProblem(v);
  if (problem) throw new Error(`--${problem}`);
  return Number(v);
}
