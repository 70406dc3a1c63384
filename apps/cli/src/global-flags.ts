/**
 * The connection flags and the flag parsers, without the config module (zod) or anything else
 * heavy: main.ts defines `tandem` with them, and `tandem --help` loads only this and commander.
 * options.ts turns the parsed flags into the validated config.
 */
import { Option, type Command } from 'commander';
import { CONNECTION_DEFAULTS } from '@tandem/shared/defaults';

/** Each flag, the setting (environment variable) behind it, and its help. */
export const connectionFlags: [flag: string, env: string, help: string][] = [
  ['--redis-url <url>', 'REDIS_URL', 'Redis address: redis://HOST:PORT, redis://:PASSWORD@HOST:PORT, rediss:// for TLS (see TANDEM_REDIS_CA)'],
  ['--prefix <prefix>', 'TANDEM_PREFIX', 'prefix of every Redis key, so several clusters can share one Redis'],
  ['--view-url <url>', 'TANDEM_VIEW_URL', 'the view service, which tells clients which master is primary (https://127.0.0.1:7000 by default when TANDEM_TLS_CERT is set)'],
  ['--master-url <url>', 'TANDEM_MASTER_URL', 'talk to this master only, instead of asking the view service for the primary'],
  ['--jobs-dir <dir>', 'TANDEM_JOBS_DIR', 'folder of extra job-type modules (nothing outside it is loaded)'],
];

export function addConnectionOptions(cmd: Command): Command {
  for (const [flag, env, help] of connectionFlags) {
    const def = (CONNECTION_DEFAULTS as Record<string, string>)[env];
    const opt = new Option(flag, help).env(env);
    if (def !== undefined) opt.default(def);
    cmd.addOption(opt);
  }
  return cmd;
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

/**
 * Parser for a flag that takes a whole number from `min` to `max` (no variable behind it).
 */
export function intInRange(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max} (got "${v}")`);
    return n;
  };
}

/**
 * `tandem up --redis-cluster`: at most 16 primaries. Every node is a redis-server on this one
 * machine that fsyncs its own append-only file on every write, so more only adds processes and
 * disk flushes, and shows nothing about sharding that 16 do not.
 */
export const MAX_CLUSTER_PRIMARIES = 16;
/** At most 2 replicas of each primary: one shows a failover, two an election among replicas; more is only load on one machine. */
export const MAX_CLUSTER_REPLICAS = 2;
