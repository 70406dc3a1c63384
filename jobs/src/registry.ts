/**
 * The job types a process knows: the built-in ones, plus modules dropped into the configured jobs
 * folder (TANDEM_JOBS_DIR). Only files directly inside that folder are loaded, after resolving
 * links, so nothing outside it can be imported by naming it.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isJobType, type AnyJobType } from '@tandem/shared';
import { grep } from './grep.ts';
import { invertedindex } from './invertedindex.ts';
import { pagerank } from './pagerank/pagerank.ts';
import { wordcount } from './wordcount.ts';

export const builtins: AnyJobType[] = [wordcount, grep, invertedindex, pagerank];

export class JobTypeError extends Error {}

export interface Registry {
  names(): string[];
  get(name: string): AnyJobType | undefined;
  /** The job type, or a JobTypeError that lists the known ones. */
  require(name: string): AnyJobType;
  /** Validated, defaulted params, or a JobTypeError naming the parameter. */
  parseParams(type: AnyJobType, params: Record<string, unknown>): Record<string, unknown>;
}

const PLUGIN = /^[^.].*\.(m?js|ts)$/;

export async function loadRegistry(jobsDir?: string): Promise<Registry> {
  const types = new Map<string, AnyJobType>(builtins.map((t) => [t.name, t]));
  if (jobsDir) {
    let root: string;
    try {
      root = realpathSync(jobsDir);
    } catch {
      throw new JobTypeError(`jobs folder ${jobsDir} does not exist (TANDEM_JOBS_DIR)`);
    }
    for (const file of readdirSync(root).sort()) {
      if (!PLUGIN.test(file) || file.endsWith('.d.ts') || file.endsWith('.test.ts')) continue;
      const path = realpathSync(join(root, file));
      if (!path.startsWith(root + sep) || !statSync(path).isFile()) {
        throw new JobTypeError(`jobs folder: ${file} resolves outside ${root}; refusing to load it`);
      }
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      const t = mod.default;
      if (!isJobType(t)) {
        throw new JobTypeError(`jobs folder: ${file} must export default a job type (name, formats, params, map, reduce, format; or an iterative one with shape: 'iterative', rounds and output)`);
      }
      if (types.has(t.name)) throw new JobTypeError(`jobs folder: ${file} defines job type "${t.name}", which already exists`);
      types.set(t.name, t);
    }
  }
  return {
    names: () => [...types.keys()].sort(),
    get: (name) => types.get(name),
    require(name) {
      const t = types.get(name);
      if (!t) throw new JobTypeError(`unknown job type "${name}"; known types: ${[...types.keys()].sort().join(', ')}`);
      return t;
    },
    parseParams(type, params) {
      const r = type.params.safeParse(params);
      if (r.success) return r.data as Record<string, unknown>;
      const msgs = r.error.issues.map((i) => {
        const at = i.path.length ? `parameter "${i.path.join('.')}"` : 'parameters';
        const msg = i.code === 'unrecognized_keys' ? `unknown parameter(s) ${i.keys.map((x) => `"${x}"`).join(', ')}` : `${at}: ${i.message}`;
        return msg;
      });
      throw new JobTypeError(`job type "${type.name}": ${msgs.join('; ')}`);
    },
  };
}
