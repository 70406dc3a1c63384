/**
 * Connection flags shared by every command. Each flag has an environment variable behind it, and
 * its value is written back into that variable, so loadConfig() stays the one source of truth and
 * child processes started by `tandem up` inherit exactly what the user chose.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ConfigError, configSchema, loadConfig, partitionsProblem, readSecretFile, withDataDirRedisPassword, type Config } from '@tandem/shared';

const flags: [flag: string, env: keyof Config, help: string][] = [
  ['--redis-url <url>', 'REDIS_URL', 'Redis address: redis://HOST:PORT, redis://:PASSWORD@HOST:PORT, rediss:// for TLS (see TANDEM_REDIS_CA)'],
  ['--prefix <prefix>', 'TANDEM_PREFIX', 'prefix of every Redis key, so several clusters can share one Redis'],
  ['--view-url <url>', 'TANDEM_VIEW_URL', 'the view service, which tells clients which master is primary (https://127.0.0.1:7000 by default when TANDEM_TLS_CERT is set)'],
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

/** Variables whose value the user typed as a flag (env name → flag), so a config error names the flag. */
const typedAs = new Map<string, string>();

/**
 * Writes a command's own flag into its variable; `source` is commander's (getOptionValueSource):
 * a value typed on the command line is named by its flag in errors, one from the environment by its variable.
 */
export function flagToEnv(env: keyof Config, flag: string, value: unknown, source: string | undefined): void {
  if (value === undefined) return;
  process.env[env] = String(value);
  if (source === 'cli') typedAs.set(env, flag);
}

/** loadConfig, with each bad variable the user typed as a flag named by that flag. */
function loadConfigNamingFlags(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    let message = err.message;
    for (const [env, flag] of typedAs) message = message.replace(new RegExp(`^(\\s*)${env}=`, 'm'), `$1${flag} `);
    throw new ConfigError(message);
  }
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
    // A default is loadConfig's to apply (TANDEM_VIEW_URL's follows TANDEM_TLS_CERT), so only a value given is written.
    const source = cmd.getOptionValueSourceWithGlobals(name);
    if (source !== 'default') flagToEnv(env, flag.split(' ')[0], opts[name], source);
  }
  let cfg = loadConfigNamingFlags();
  if (settings.redisPasswordFile !== false) {
    const url = withDataDirRedisPassword(cfg.REDIS_URL, cfg.TANDEM_DATA_DIR);
    if (url !== cfg.REDIS_URL) {
      process.env.REDIS_URL = url;
      cfg = loadConfigNamingFlags();
    }
  }
  if (cfg.TANDEM_SECRET) return cfg;
  // On the machine `tandem up` runs on, its secret file; into the environment, so the processes
  // `tandem up` starts inherit it too.
  const secret = readSecretFile(cfg.TANDEM_DATA_DIR);
  if (!secret) return cfg;
  process.env.TANDEM_SECRET = secret;
  return loadConfigNamingFlags();
}

/** True when `flag` was typed on this command line (`--flag v` or `--flag=v`). */
const typed = (flag: string) => process.argv.some((a) => a === flag || a.startsWith(`${flag}=`));

/**
 * Parser for a flag that takes a whole number ≥ 1. Commander runs it on the flag's environment
 * variable too, so its error names the flag when it was typed and the variable `env` otherwise.
 */
export function positiveInt(name: string, env?: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${env && !typed(name) ? env : name} must be a whole number ≥ 1 (got "${v}")`);
    return n;
  };
}

/** Parser for --partitions, by the rule the master applies. */
export function partitionsFlag(v: string): number {
  const problem = partitionsProblem(v);
  if (problem) throw new Error(`--${problem}`);
  return Number(v);
}

/**
 * Refuses an output path that cannot be written (missing folder, not a folder, no permission, a
 * folder itself), before anything is submitted; `-` (standard output) is always fine.
 */
export function checkOutPath(out: string | undefined, flag = '--out'): void {
  if (out === undefined || out === '-') return;
  const dir = dirname(resolve(out));
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new Error(`${flag} ${out}: the folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`${flag} ${out}: ${dir} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`${flag} ${out}: the folder ${dir} is not writable`);
  }
  if (existsSync(out) && statSync(out).isDirectory()) throw new Error(`${flag} ${out}: is a folder; give a file name`);
}
