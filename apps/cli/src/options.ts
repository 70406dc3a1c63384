/**
 * The connection flags (global-flags.ts) into the validated config. Each flag has an environment
 * variable behind it, and its value is written back into that variable, so loadConfig() stays the one source of truth and
 * child processes started by `tandem up` inherit exactly what the user chose.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfig, partitionsProblem, readSecretFile, withDataDirRedisPassword, type Config } from '@tandem/shared';
import { connectionFlags } from './global-flags.ts';

export { addConnectionOptions, positiveInt } from './global-flags.ts';

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
  for (const [flag, env] of connectionFlags) {
    const name = flag.slice(2).split(' ')[0].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    // A default is loadConfig's to apply (TANDEM_VIEW_URL's follows TANDEM_TLS_CERT), so only a value given is written.
    const source = cmd.getOptionValueSourceWithGlobals(name);
    if (source !== 'default') flagToEnv(env as keyof Config, flag.split(' ')[0], opts[name], source);
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
