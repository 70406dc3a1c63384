/**
 * The job types a process knows: the built-in ones, plus modules dropped into the configured jobs
 * folder (TANDEM_JOBS_DIR). Only files directly inside that folder are loaded, after resolving
 * links, so nothing outside it can be imported by naming it.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isJobType, type AnyJobType, type JobTypeDescription } from '@tandem/shared';
import { grep } from './grep.ts';
import { describeType, JobTypeError, parseParams, schemaProblems, type ParamValue } from './params.ts';
import { invertedindex } from './invertedindex.ts';
import { pagerank } from './pagerank/pagerank.ts';
import { wordcount } from './wordcount.ts';

export const builtins: AnyJobType[] = [wordcount, grep, invertedindex, pagerank];

export { JobTypeError };

export interface Registry {
  names(): string[];
  get(name: string): AnyJobType | undefined;
  /** The job type, or a JobTypeError that lists the known ones. */
  require(name: string): AnyJobType;
  /** Validated, defaulted params (strings or JSON values in, declared types out), or a JobTypeError naming each bad one. */
  parseParams(type: AnyJobType, params: Record<string, unknown>): Record<string, ParamValue>;
  /** Every job type as plain JSON (parameters included), by name. */
  describe(): JobTypeDescription[];
}

const PLUGIN = /^[^.].*\.(m?js|ts)$/;

let tsxRegistered: Promise<boolean> | undefined;
/**
 * From the sources, tsx already loads everything. Compiled (dist/), plain node loads a .js job type
 * that imports nothing of Tandem's, but not a .ts one nor one importing @tandem/shared (whose package
 * points at its TypeScript): so tsx is registered for the jobs folder when it is installed.
 */
function registerTsx(): Promise<boolean> {
  if (import.meta.url.endsWith('.ts')) return Promise.resolve(true);
  tsxRegistered ??= import('tsx/esm/api').then(({ register }) => (register(), true), () => false);
  return tsxRegistered;
}

function checked(t: AnyJobType, where: string): AnyJobType {
  const problems = schemaProblems(t);
  if (problems.length) throw new JobTypeError(`${where}job type "${t.name}": ${problems.join('; ')}`);
  return t;
}

export async function loadRegistry(jobsDir?: string): Promise<Registry> {
  const types = new Map<string, AnyJobType>(builtins.map((t) => [t.name, checked(t, '')]));
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
      const tsx = await registerTsx();
      let mod: { default?: unknown };
      try {
        mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      } catch (err) {
        if (!tsx && (err as { code?: string }).code === 'ERR_UNKNOWN_FILE_EXTENSION') {
          throw new JobTypeError(`jobs folder: ${file} needs TypeScript loaded (it is .ts, or imports a @tandem package), and tsx is not installed; install it (npm install tsx) or compile the job type to .js importing no @tandem package`);
        }
        throw err;
      }
      const t = mod.default;
      if (!isJobType(t)) {
        throw new JobTypeError(`jobs folder: ${file} must export default a job type (name, formats, params, map, reduce, format; or an iterative one with shape: 'iterative', rounds and output)`);
      }
      if (types.has(t.name)) throw new JobTypeError(`jobs folder: ${file} defines job type "${t.name}", which already exists`);
      types.set(t.name, checked(t, `jobs folder: ${file}: `));
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
    parseParams,
    describe: () => [...types.keys()].sort().map((name) => describeType(types.get(name)!)),
  };
}
