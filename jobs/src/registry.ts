/**
 * The job types a process knows: the built-in ones, plus modules dropped into the configured jobs
 * folder (TANDEM_JOBS_DIR, any folder). Only files directly inside that folder are loaded, after
 * resolving links, so nothing outside it can be imported by naming it; a module's own imports
 * resolve from its folder (its node_modules, with @tandem/client installed there). Each type of the
 * folder carries the content hash of its file, which processes report (job-type-report.ts).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isJobType, type AnyJobType, type JobTypeDescription } from '@tandem/shared';
import { grep } from './grep.ts';
import { describeType, JobTypeError, parseParams, schemaProblems, type ParamValue } from './params.ts';
import { invertedindex } from './invertedindex.ts';
import { pagerank } from './pagerank/pagerank.ts';
import { wordcount } from './wordcount.ts';

export const builtins: AnyJobType[] = [wordcount, grep, invertedindex, pagerank];

export { JobTypeError };

const builtinNames = new Set(builtins.map((t) => t.name));

function checked(t: AnyJobType, where: string): AnyJobType {
  const problems = schemaProblems(t);
  if (problems.length) throw new JobTypeError(`${where}job type "${t.name}": ${problems.join('; ')}`);
  return t;
}

export interface Registry {
  names(): string[];
  get(name: string): AnyJobType | undefined;
  /** The job type, or a JobTypeError that lists the known ones. */
  require(name: string): AnyJobType;
  /** The job type; a name not (yet) known re-reads the jobs folder first, so a type added since is found without a restart. */
  lookup(name: string): Promise<AnyJobType>;
  /** Validated, defaulted params (strings or JSON values in, declared types out), or a JobTypeError naming each bad one. */
  parseParams(type: AnyJobType, params: Record<string, unknown>): Record<string, ParamValue>;
  /** Every job type as plain JSON (parameters included), by name. */
  describe(): JobTypeDescription[];
  /** The jobs folder's types: name -> content hash of the module file that defines it (built-ins are not listed). */
  hashes(): Record<string, string>;
  /**
   * Re-reads the jobs folder: new and changed files are imported (a changed file under a new URL,
   * `?v=<hash>`, so the new version is what runs), removed ones dropped. A folder that no longer
   * loads keeps the types as they were and is reported by `problem()`. True when something changed.
   */
  refresh(): Promise<boolean>;
  /** Why the last re-read of the jobs folder failed, or null. */
  problem(): string | null;
  /** Re-reads the folder every `ms` (an unref'd timer); returns the function that stops it. */
  watch(ms: number, onChange?: () => void): () => void;
}

const PLUGIN = /^[^.].*\.(m?js|ts)$/;
const runningTs = import.meta.url.endsWith('.ts');

/** The short content hash a type is reported and compared by. */
export const moduleHash = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/**
 * Imports a jobs-folder module by URL. `.ts` files go through tsx's tsImport (its own loader, for
 * this import only; the folder's package.json says `"type": "module"`, checked before, since tsx
 * reads TypeScript without it as CommonJS, which failed with "require() ES Module in a cycle");
 * `.js`/`.mjs` load with plain node, and through tsx when they import a TypeScript package.
 */
async function importModule(path: string, url: string): Promise<unknown> {
  if (runningTs || !path.endsWith('.ts')) {
    try {
      return await import(url);
    } catch (err) {
      if (runningTs || (err as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    }
  }
  let api: typeof import('tsx/esm/api');
  try {
    api = await import('tsx/esm/api');
  } catch {
    throw new JobTypeError('it needs TypeScript loaded (it is .ts, or imports a TypeScript package), and tsx is not installed; install it (npm install tsx) or compile the job type to .js');
  }
  return api.tsImport(url, import.meta.url);
}

/** The `type` of the package.json nearest to `dir` (node's rule for what a .js or .ts file is), or null without one. */
function packageType(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    try {
      return (JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { type?: string }).type ?? 'commonjs';
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') return null;
    }
    if (dirname(d) === d) return null;
  }
}

/** The job type a module exports by default (a CommonJS module read by tsx nests it one level deeper). */
function defaultExport(mod: unknown): unknown {
  const d = (mod as { default?: unknown } | null)?.default;
  return !isJobType(d) && d && typeof d === 'object' && isJobType((d as { default?: unknown }).default) ? (d as { default: unknown }).default : d;
}

/** Says what went wrong importing a file, naming it, with the fix for a package that is not installed. */
function importProblem(file: string, root: string, err: unknown): JobTypeError {
  if (err instanceof JobTypeError) return new JobTypeError(`jobs folder: ${file}: ${err.message}`);
  const e = err as { code?: string; message?: string };
  const msg = String(e?.message ?? err).split('\n')[0];
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(msg);
  if (missing && !missing[1].startsWith('.') && !missing[1].startsWith('/')) {
    const pkg = missing[1].split('/').slice(0, missing[1].startsWith('@') ? 2 : 1).join('/');
    const how = pkg === '@tandem/client' ? `npm install <the Tandem checkout>/client` : `npm install ${pkg}`;
    return new JobTypeError(`jobs folder: ${file} imports ${pkg}, which is not installed in ${root}; run \`${how}\` there (a job type's imports resolve from its own folder)`);
  }
  return new JobTypeError(`jobs folder: ${file} does not load: ${msg}`);
}

interface Loaded {
  file: string;
  hash: string;
  type: AnyJobType;
}

/** Reads the folder: each file's hash, importing only those not in `cache` at that hash. */
async function readFolder(jobsDir: string, cache: Map<string, Loaded>): Promise<Loaded[]> {
  let root: string;
  try {
    root = realpathSync(jobsDir);
  } catch {
    throw new JobTypeError(`jobs folder ${jobsDir} does not exist (TANDEM_JOBS_DIR)`);
  }
  const out: Loaded[] = [];
  const seen = new Map<string, string>();
  for (const file of readdirSync(root).sort()) {
    if (!PLUGIN.test(file) || file.endsWith('.d.ts') || file.endsWith('.test.ts')) continue;
    const path = realpathSync(join(root, file));
    if (!path.startsWith(root + sep) || !statSync(path).isFile()) {
      throw new JobTypeError(`jobs folder: ${file} resolves outside ${root}; refusing to load it`);
    }
    if (path.endsWith('.ts') && packageType(root) !== 'module') {
      throw new JobTypeError(`jobs folder: ${file} is TypeScript, which Tandem loads as an ES module only: add "type": "module" to ${join(root, 'package.json')} (examples/jobs/package.json has it), or compile it to .js`);
    }
    const hash = moduleHash(readFileSync(path));
    const key = `${path}#${hash}`;
    let loaded = cache.get(key);
    if (!loaded) {
      let mod: unknown;
      try {
        mod = await importModule(path, `${pathToFileURL(path).href}?v=${hash}`);
      } catch (err) {
        throw importProblem(file, root, err);
      }
      const t = defaultExport(mod);
      if (!isJobType(t)) {
        throw new JobTypeError(`jobs folder: ${file} must export default a job type (name, formats, params, map, reduce, format; or an iterative one with shape: 'iterative', rounds and output); defineJobType from @tandem/client types one`);
      }
      loaded = { file, hash, type: checked(t, `jobs folder: ${file}: `) };
      cache.set(key, loaded);
    }
    const name = loaded.type.name;
    if (builtinNames.has(name)) throw new JobTypeError(`jobs folder: ${file} defines job type "${name}", which is a built-in type's name; rename it`);
    if (seen.has(name)) throw new JobTypeError(`jobs folder: ${file} defines job type "${name}", which ${seen.get(name)} already defines`);
    seen.set(name, file);
    out.push(loaded);
  }
  return out;
}

export async function loadRegistry(jobsDir?: string): Promise<Registry> {
  const base = builtins.map((t) => [t.name, checked(t, '')] as const);
  const cache = new Map<string, Loaded>();
  let folder: Loaded[] = jobsDir ? await readFolder(jobsDir, cache) : [];
  let types = new Map<string, AnyJobType>([...base, ...folder.map((l) => [l.type.name, l.type] as const)]);
  let problem: string | null = null;
  let refreshing: Promise<boolean> | null = null;
  const fingerprint = (ls: Loaded[]) => ls.map((l) => `${l.file}#${l.hash}`).join('\n');

  const refresh = (): Promise<boolean> => {
    if (!jobsDir) return Promise.resolve(false);
    refreshing ??= (async () => {
      try {
        const next = await readFolder(jobsDir, cache);
        problem = null;
        if (fingerprint(next) === fingerprint(folder)) return false;
        folder = next;
        types = new Map<string, AnyJobType>([...base, ...next.map((l) => [l.type.name, l.type] as const)]);
        // Drop cached modules no longer in the folder (their URLs stay in node's module map).
        const live = new Set(next.map((l) => `${realpathSync(join(jobsDir, l.file))}#${l.hash}`));
        for (const k of cache.keys()) if (!live.has(k)) cache.delete(k);
        return true;
      } catch (err) {
        problem = (err as Error).message;
        return false;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  };

  const registry: Registry = {
    names: () => [...types.keys()].sort(),
    get: (name) => types.get(name),
    require(name) {
      const t = types.get(name);
      if (!t) throw new JobTypeError(`unknown job type "${name}"; known types: ${[...types.keys()].sort().join(', ')}`);
      return t;
    },
    async lookup(name) {
      if (!types.has(name)) await refresh();
      return registry.require(name);
    },
    parseParams,
    describe: () => [...types.keys()].sort().map((name) => describeType(types.get(name)!)),
    hashes: () => Object.fromEntries(folder.map((l) => [l.type.name, l.hash])),
    refresh,
    problem: () => problem,
    watch(ms, onChange) {
      const timer = setInterval(() => void refresh().then((changed) => changed && onChange?.()), ms);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
  return registry;
}
