/**
 * The connection flags (global-flags.ts) into the validated config. Each flag has an environment
 * variable behind it, and its value is written back into that variable, so loadConfig() stays the one source of truth and
 * child processes started by `tandem up` inherit exactly what the user chose.
 */
import type { Command } from 'commander';
import { loadConfig, partitionsProblem, readSecretFile, type Config } from '@tandem/shared';
import { connectionFlags } from './global-flags.ts';

export { addConnectionOptions, positiveInt } from './global-flags.ts';

/** Writes the parsed global flags into the environment and returns the validated config. */
export function configFrom(cmd: Command): Config {
  const opts = cmd.optsWithGlobals() as Record<string, unknown>;
  for (const [flag, env] of connectionFlags) {
    const name = flag.slice(2).split(' ')[0].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts[name] !== undefined) process.env[env] = String(opts[name]);
  }
  const cfg = loadConfig();
  if (cfg.TANDEM_SECRET) return cfg;
  // On the machine `tandem up` runs on, its secret file; into the environment, so the processes
  // `tandem up` starts inherit it too.
  const secret = readSecretFile(cfg.TANDEM_DATA_DIR);
  if (!secret) return cfg;
  process.env.TANDEM_SECRET = secret;
  return loadConfig();
}

/** Parser for --partitions, by the rule the master applies. */
export function partitionsFlag(v: string): number {
  const problem = partitionsProblem(v);
  if (problem) throw new Error(`--${problem}`);
  return Number(v);
}
